//go:build tools

// Package tools pins the etcd program that scripts/e2e-build.sh builds.
package tools

import _ "go.etcd.io/etcd/server/v3"
