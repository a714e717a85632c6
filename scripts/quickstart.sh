#!/usr/bin/env bash
# Quick start: set gate up and run its main job on the embedded defaults (no cloud account).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
gate=.venv/bin/gate
digest=$(python3 -c 'import json;print(json.load(open("samples/compliant-metadata.json"))["platforms"][0]["manifest_digest"])')

echo; echo "== 1. A tag-only image from Docker Hub: denied before anything is fetched"
"$gate" eval nginx:latest || true

echo; echo "== 2. The bundled compliant sample (digest, approved registry, non-root, scanned): allowed"
"$gate" eval "us-docker.pkg.dev/gate-samples/apps/hello@$digest" \
  --metadata samples/compliant-metadata.json --scan samples/trivy-clean.json --now 2026-11-29T12:00:00Z

echo; echo "== The policies in force"
"$gate" policies
