#!/usr/bin/env bash
# Install what the webhook tests need from Debian, only when missing (idempotent):
# kubectl (Debian's kubernetes-client) for `kubectl kustomize deploy/kubernetes`, and
# openssl for deploy/kubernetes/tls/make-certs.sh. A kubectl already on PATH (e.g. the
# Cloud SDK's `kubectl` package, which conflicts with kubernetes-client) is used as it is.
# Needs root, or sudo without a password, only when something is missing.
set -euo pipefail

missing=()
if ! command -v kubectl >/dev/null 2>&1 || ! kubectl kustomize --help >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
say() { printf '==> %s\n' "$*" >&2; }
install() { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
  say "apt-get update"
  "${sudo[@]}" apt-get update -qq
fi
say "installing ${missing[*]}"
if ! install; then
  say "apt-get update (package not found in the current lists)"
  "${sudo[@]}" apt-get update -qq
  install
fi
kubectl kustomize --help >/dev/null
