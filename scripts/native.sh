#!/usr/bin/env bash
# Build and install gate_regorus (native/gate_regorus) into .venv: gate's binding to the
# regorus interpreter, which evaluates without holding the GIL. Needs Rust (cargo); the
# wheel is cached in $GATE_CACHE/wheels by a hash of the crate's sources, so only the first
# run (or a change to the crate) compiles (about two minutes on two cores). Without cargo,
# gate runs on regorus's own binding (one image at a time per worker) and this says so.
set -euo pipefail
cd "$(dirname "$0")/.."

GATE_CACHE=${GATE_CACHE:-$HOME/.cache/gate}
crate=native/gate_regorus
say() { printf '==> %s\n' "$*" >&2; }

key=$(cd "$crate" && cat Cargo.toml Cargo.lock pyproject.toml src/*.rs | sha256sum | cut -c1-16)
wheels="$GATE_CACHE/wheels/gate_regorus-$key"
if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
  if ! command -v cargo >/dev/null 2>&1; then
    say "cargo not found: gate_regorus not built; the embedded engine uses regorus's own binding (install Rust with rustup to build it)"
    exit "${GATE_NATIVE_REQUIRED:-0}"
  fi
  say "building gate_regorus (Rust, about two minutes the first time)"
  mkdir -p "$wheels.tmp"
  CARGO_TARGET_DIR="$GATE_CACHE/cargo-target" .venv/bin/pip wheel --quiet --disable-pip-version-check \
    --no-deps -w "$wheels.tmp" "./$crate"
  rm -rf "$wheels" && mv "$wheels.tmp" "$wheels"
fi
.venv/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheels"/*.whl
