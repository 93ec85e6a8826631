#!/usr/bin/env bash
# Installs kind from the Go module proxy: `go install sigs.k8s.io/kind@v$KIND_VERSION` (versions.env)
# into $CDK8S_AUDIT_CACHE/bin/kind-v$KIND_VERSION, sharing the Go module and build cache with
# scripts/build-k8s.sh.
#   scripts/install-kind.sh          install if missing; print the binary's path
#   scripts/install-kind.sh --print  print the path only (exit 1 if missing)
set -euo pipefail
LOG_TAG=install-kind
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=include/common.sh
source "$here/include/common.sh"
# shellcheck source=include/k8s-build.sh
source "$here/include/k8s-build.sh"
K8S_LOG_TAG=install-kind
k8s_env
out="$K8S_BIN/kind-v$KIND_VERSION"

if [ "${1:-}" = "--print" ]; then echo "$out"; [ -x "$out" ]; exit; fi
if [ -x "$out" ]; then log "kind v$KIND_VERSION cached: $out"; echo "$out"; exit 0; fi
k8s_require_go
lock install-kind
if [ -x "$out" ]; then echo "$out"; exit 0; fi
start=$SECONDS
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log "go install sigs.k8s.io/kind@v$KIND_VERSION"
GOBIN="$tmp" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@v$KIND_VERSION" \
  || die "go install sigs.k8s.io/kind@v$KIND_VERSION failed (the Go module proxy must be reachable)"
mv "$tmp/kind" "$out"
log "kind v$KIND_VERSION installed in $((SECONDS - start))s: $out ($("$out" version))"
echo "$out"
