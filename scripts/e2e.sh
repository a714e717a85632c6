#!/usr/bin/env bash
# End-to-end tests against a real kube-apiserver (tests/e2e): build the pinned binaries, or
# reuse them from ~/.cache/gate/e2e (scripts/e2e-build.sh), then run pytest on tests/e2e.
# Extra arguments go to pytest. With CI=true a missing binary fails the run, never skips.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '==> %s\n' "$*" >&2; }

[ -x .venv/bin/python ] || bash scripts/setup.sh --dev
export PATH="$PWD/.venv/bin:$PATH"
bash scripts/e2e-build.sh
say "pytest tests/e2e"
exec pytest -q -p no:cacheprovider tests/e2e "$@"
