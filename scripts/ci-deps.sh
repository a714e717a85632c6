#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only those missing (idempotent):
#   docker-registry  Distribution 2.8 (/usr/bin/docker-registry); the tests start it
#                    themselves on 127.0.0.1 with storage in a temporary folder
#   apache2-utils    htpasswd -B, for the basic-auth registry
#   softhsm2         SoftHSM 2 (libsofthsm2.so, softhsm2-util) for the PKCS#11 tests
#   openssl          RFC 6920 key ids in the attestation tests; deploy/kubernetes/tls
#   valgrind         callgrind, for bench/instructions.py (instructions per decision)
#   kubernetes-client  kubectl, for `kubectl kustomize deploy/kubernetes` (skipped when a
#                    kubectl with kustomize is already on PATH, e.g. the Cloud SDK's)
# Needs root, or sudo without a password, only when something is missing.
set -euo pipefail
say() { printf '==> %s\n' "$*" >&2; }

missing=()
for package in docker-registry apache2-utils softhsm2 openssl valgrind; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ! command -v kubectl >/dev/null 2>&1 || ! kubectl kustomize --help >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  say "apt-get update"
  "${sudo[@]}" apt-get update -qq
fi
say "installing ${missing[*]}"
# policy-rc.d 101: no package may start a system service (docker-registry would).
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  created_policy=true
fi
install() { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
if ! install; then
  say "apt-get update (a package was not found in the current lists)"
  "${sudo[@]}" apt-get update -qq
  install
fi
$created_policy && "${sudo[@]}" rm -f "$policy"
# In case a service manager started it anyway, stop the system service (tests use their own).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  "${sudo[@]}" systemctl stop docker-registry || true
fi
command -v docker-registry >/dev/null
kubectl kustomize --help >/dev/null
