//go:build tools

// Package tools pins the programs that scripts/e2e-build.sh builds from this
// module, so that go.mod and go.sum record every module they need. The build
// tag keeps it out of any ordinary build: these are main packages.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
