#!/usr/bin/env bash
# Install the Debian packages the attestation tests need, only when missing (idempotent):
# softhsm2 (SoftHSM 2, libsofthsm2.so and softhsm2-util; the PKCS#11 tests make their own
# token under a SOFTHSM2_CONF in a temporary folder) and openssl (the tests recompute
# RFC 6920 key ids with it). Needs root, or sudo without a password.
set -euo pipefail

packages=(softhsm2 openssl)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
say() { printf '==> %s\n' "$*" >&2; }

if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  say "apt-get update"
  "${sudo[@]}" apt-get update -qq
fi
say "installing ${missing[*]}"
install() { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
if ! install; then
  say "apt-get update (package not found in the current lists)"
  "${sudo[@]}" apt-get update -qq
  install
fi
