#!/usr/bin/env bash
# Quick start: set gate up, evaluate the samples on the embedded defaults, then run the
# admission webhook locally and send it two AdmissionReviews (no cloud account needed).
# The webhook keeps serving at the end: Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
gate=.venv/bin/gate
digest=sha256:17ba705e6e26aa201bbda278d9a077a125f955cd3c2195d939c6faf821584542
port=${GATE_QUICKSTART_PORT:-8080}

echo; echo "== 1. gate eval: a tag-only Docker Hub image is denied before anything is fetched"
"$gate" eval nginx:latest || true

echo; echo "== 2. gate eval: the bundled compliant sample (digest, approved registry, non-root, scanned)"
"$gate" eval "us-docker.pkg.dev/gate-samples/apps/hello@$digest" \
  --metadata samples/compliant-metadata.json --scan samples/trivy-clean.json --now 2026-11-29T12:00:00Z

echo; echo "== 3. gate serve: the admission webhook on http://127.0.0.1:$port (local trial: plain HTTP,"
echo "      the sample's facts for every image; in a cluster it serves HTTPS, see docs/webhook.md)"
"$gate" serve --insecure-http --bind "127.0.0.1:$port" --workers 1 \
  --metadata samples/compliant-metadata.json --scan samples/trivy-clean.json &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
.venv/bin/python - "$port" samples/admissionreview-pod-tag.json samples/admissionreview-pod-compliant.json <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(150):
    try:
        urllib.request.urlopen(f"{base}/readyz", timeout=1)
        break
    except OSError:
        time.sleep(0.2)
for path in sys.argv[2:]:
    print(f"\n-- POST /validate with {path}")
    request = urllib.request.Request(f"{base}/validate", data=open(path, "rb").read(),
                                     headers={"Content-Type": "application/json"})
    response = json.load(urllib.request.urlopen(request, timeout=30))["response"]
    print("allowed:", response["allowed"])
    print(response.get("status", {}).get("message", ""))
PY
echo; echo "gate is serving on http://127.0.0.1:$port (/validate, /healthz, /readyz, /metrics); Ctrl-C stops it."
wait $server
