#!/usr/bin/env bash
# Install the Debian packages the integration tests need, only when missing (idempotent):
# docker-registry (Distribution 2.8, /usr/bin/docker-registry; the tests start it
# themselves on 127.0.0.1 with storage in a temporary folder) and apache2-utils
# (htpasswd -B for the basic-auth registry). Needs root, or sudo without a password.
set -euo pipefail

packages=(docker-registry apache2-utils)
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

# Update the package lists only if they are absent or the install cannot find a package.
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  say "apt-get update"
  "${sudo[@]}" apt-get update -qq
fi
say "installing ${missing[*]}"
# policy-rc.d 101: the package must not start docker-registry as a system service.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  created_policy=true
fi
install() { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
if ! install; then
  say "apt-get update (package not found in the current lists)"
  "${sudo[@]}" apt-get update -qq
  install
fi
$created_policy && "${sudo[@]}" rm -f "$policy"
# In case a service manager started it anyway, stop the system service (tests use their own).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  "${sudo[@]}" systemctl stop docker-registry || true
fi
command -v docker-registry >/dev/null
