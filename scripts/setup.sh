#!/usr/bin/env bash
# Set up gate on a fresh machine: a virtualenv with gate installed (editable) and its
# native binding gate_regorus (scripts/native.sh, needs Rust), and with --dev the test
# tools: pinned Python dev requirements, OPA and Regal built from their Go modules at
# pinned versions (cached in $GATE_TOOLS, default ~/.cache/gate/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

OPA_VERSION=v1.22.3
GATE_TOOLS=${GATE_TOOLS:-$HOME/.cache/gate/bin}
export PATH="$GATE_TOOLS:$PATH:/usr/local/go/bin:$HOME/go/bin"
dev=false
[ "${1:-}" = "--dev" ] && dev=true

say() { printf '==> %s\n' "$*" >&2; }

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
req=requirements.txt
$dev && req=requirements-dev.txt
say "installing $req and gate"
.venv/bin/pip install --quiet --disable-pip-version-check -r "$req" -e .
# The tests need gate_regorus (GATE_NATIVE_REQUIRED=1: no cargo is an error).
$dev && export GATE_NATIVE_REQUIRED=1
bash scripts/native.sh

$dev || exit 0

mkdir -p "$GATE_TOOLS"
if ! "$GATE_TOOLS/opa" version 2>/dev/null | grep -q "^Version: ${OPA_VERSION#v}$"; then
  say "building OPA $OPA_VERSION with go install (a few minutes the first time)"
  GOBIN="$GATE_TOOLS" go install "github.com/open-policy-agent/opa@$OPA_VERSION"
fi
regal_version=$(sed -n 's/^require github.com\/open-policy-agent\/regal \(v[^ ]*\)$/\1/p' tools/regal/go.mod)
if [ ! -x "$GATE_TOOLS/regal" ] || [ "$(cat "$GATE_TOOLS/regal.version" 2>/dev/null)" != "$regal_version" ]; then
  say "building Regal $regal_version from tools/regal (a few minutes the first time)"
  (cd tools/regal && go build -o "$GATE_TOOLS/regal" github.com/open-policy-agent/regal)
  echo "$regal_version" > "$GATE_TOOLS/regal.version"
fi
