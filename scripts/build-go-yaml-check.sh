#!/usr/bin/env bash
# Builds test/go-yaml-check (decodes YAML with sigs.k8s.io/yaml as Kubernetes components do) from the
# Go module proxy into the shared cache; test/e2e/go-yaml.test.ts runs it on every file cdk8s-audit
# writes for Go. Idempotent: the binary's name carries a hash of the checker's sources, so an
# unchanged checker is not rebuilt and a changed one is.
#   scripts/build-go-yaml-check.sh           build if missing, print the binary's path
#   scripts/build-go-yaml-check.sh --print   print the path only (exit 1 if it is not built)
# Environment: CDK8S_AUDIT_CACHE (default ~/.cache/cdk8s-audit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=include/k8s-build.sh
source "$here/include/k8s-build.sh"
K8S_LOG_TAG=build-go-yaml-check
k8s_env

src="$here/../test/go-yaml-check"
hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
bin="$K8S_BIN/go-yaml-check-$hash"

if [ "${1:-}" = "--print" ]; then echo "$bin"; [ -x "$bin" ]; exit; fi
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

k8s_require_go
# Its own lock (fd 7): build-k8s.sh may call this script while holding build.lock.
exec 7>"$K8S_CACHE/go-yaml-check.lock"
flock 7
if [ ! -x "$bin" ]; then
  k8s_log "building go-yaml-check ($hash)"
  # -mod=readonly: go.sum in the repository pins every module.
  (cd "$src" && GOFLAGS=-buildvcs=false go build -mod=readonly -trimpath -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
