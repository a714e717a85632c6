#!/usr/bin/env bash
# Run every check and test gate has: lint and type checks, the Rego checks (opa fmt,
# opa check --strict, regal lint, opa test with coverage, gate test), and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
bash scripts/ci-deps.sh
GATE_TOOLS=${GATE_TOOLS:-$HOME/.cache/gate/bin}
export PATH="$GATE_TOOLS:$PWD/.venv/bin:$PATH"
export GATE_FIXTURES=${GATE_FIXTURES:-$(cd .. && pwd)/shared/fixtures}

step() { printf '\n==> %s\n' "$*"; }

step "ruff"
ruff check gate tests bench
ruff format --check gate tests bench
step "mypy"
mypy
step "opa fmt"
opa fmt --list --fail policies
step "opa check --strict"
opa check --strict policies
step "regal lint"
regal lint policies
step "opa test --coverage (at least 95% of policy lines)"
opa test --coverage --format=json policies > .opa-coverage.json || { opa test policies -v; exit 1; }
python3 - <<'PY'
import json, sys
cov = json.load(open(".opa-coverage.json"))["coverage"]
print(f"policy line coverage: {cov:.1f}%")
sys.exit(0 if cov >= 95 else 1)
PY
step "gate test (the same Rego tests on the embedded engine)"
gate test policies
step "gate lint and hadolint on gate's own Dockerfile"
gate lint Dockerfile
hadolint Dockerfile
step "pytest"
pytest -q -p no:cacheprovider --ignore=tests/e2e "$@"
step "e2e: kube-apiserver + etcd from pinned Go modules (cached in ~/.cache/gate/e2e), gate as a registered webhook"
bash scripts/e2e.sh
