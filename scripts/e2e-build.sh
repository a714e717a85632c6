#!/usr/bin/env bash
# Build the binaries the end-to-end tests (tests/e2e) run, or reuse them when already built:
#   kube-apiserver and kubectl  from k8s.io/kubernetes, module test/e2e/go.mod
#   etcd                        from go.etcd.io/etcd/server/v3, module test/e2e/etcd/go.mod
# Everything comes from the Go module proxy at the versions pinned (with go.sum) in those
# modules. The binaries go to a cache outside the clone, one folder per pinned version:
#   ${GATE_E2E_CACHE:-~/.cache/gate/e2e}/kubernetes-<version>/{kube-apiserver,kubectl}
#   ${GATE_E2E_CACHE:-~/.cache/gate/e2e}/etcd-<version>/etcd
# A binary that is present and reports its version is kept; a run with everything present
# builds nothing. Idempotent; prints what it does. The last line of output names the
# folders (tests/e2e finds them by the same rule, or by GATE_E2E_KUBE_DIR and GATE_E2E_ETCD_DIR).
#
# Cold (empty Go build cache, modules already downloaded), on 2 cores: see docs/e2e.md.
# Options: --force rebuilds even when the binaries are there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

force=false
[ "${1:-}" = "--force" ] && force=true

export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { say "go not found (expected /usr/local/go/bin/go)"; exit 1; }
# The machine's own Go (1.26); the modules need no newer one. -mod=readonly: go.mod and
# go.sum are committed and tidy, so the build never changes them.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
jobs=${GATE_E2E_BUILD_JOBS:-2}
export GOMAXPROCS=$jobs

mod_version() { sed -n "s#^require $2 \\(v[^ ]*\\)\$#\\1#p" "$1"; }
k8s_version=$(mod_version test/e2e/go.mod k8s.io/kubernetes)
etcd_version=$(mod_version test/e2e/etcd/go.mod go.etcd.io/etcd/server/v3)
[ -n "$k8s_version" ] && [ -n "$etcd_version" ] || { say "cannot read the pinned versions"; exit 1; }

cache=${GATE_E2E_CACHE:-$HOME/.cache/gate/e2e}
k8s_dir=$cache/kubernetes-$k8s_version
etcd_dir=$cache/etcd-$etcd_version
mkdir -p "$k8s_dir" "$etcd_dir"

# kubectl version and /version report the release rather than v0.0.0-master: the same -X
# flags as Kubernetes' own hack/lib/version.sh sets.
major=${k8s_version#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
version_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major"
  version_ldflags+=" -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

# The version a binary reports (kubectl has no --version flag); empty when it does not run.
version_of() {
  case "$(basename "$1")" in
    kubectl) "$1" version --client 2>/dev/null | head -1 ;;
    *) "$1" --version 2>/dev/null | head -1 ;;
  esac
}
usable() { [ -x "$1" ] && [ -n "$(version_of "$1")" ]; }

# build MODULE_DIR PACKAGE OUTPUT LDFLAGS
build() {
  local module=$1 package=$2 out=$3 ldflags=$4 start
  if ! $force && usable "$out"; then
    say "reusing $out ($(version_of "$out"))"
    return
  fi
  say "building $package -> $out (go build -p $jobs -trimpath; minutes the first time)"
  start=$(date +%s)
  (cd "$module" && go build -p "$jobs" -trimpath -ldflags "-s -w$ldflags" -o "$out.tmp.$$" "$package")
  mv -f "$out.tmp.$$" "$out"
  say "built $(basename "$out") in $(($(date +%s) - start)) s ($(version_of "$out"))"
}

say "Go: $(go version); cache: $cache"
say "pinned: k8s.io/kubernetes $k8s_version, go.etcd.io/etcd/server/v3 $etcd_version"
build test/e2e/etcd go.etcd.io/etcd/server/v3 "$etcd_dir/etcd" ""
build test/e2e k8s.io/kubernetes/cmd/kube-apiserver "$k8s_dir/kube-apiserver" "$version_ldflags"
build test/e2e k8s.io/kubernetes/cmd/kubectl "$k8s_dir/kubectl" "$version_ldflags"

env_line="GATE_E2E_KUBE_DIR=$k8s_dir GATE_E2E_ETCD_DIR=$etcd_dir"
echo "$env_line" > "$cache/env"
echo "$env_line"
