#!/usr/bin/env bash
# Builds kube-apiserver (every version in versions.env), etcd and the Go YAML checker from the Go module proxy,
# caching binaries, GOMODCACHE and GOCACHE outside the repository.
#   scripts/build-k8s.sh            build what is missing, print the binary paths
#   scripts/build-k8s.sh --print    print the paths only (exit 1 if a binary is missing)
# Environment: CDK8S_AUDIT_CACHE (default ~/.cache/cdk8s-audit), K8S_VERSIONS_OVERRIDE.
# The build functions live in scripts/include/k8s-build.sh (shared with scripts/build-node-image.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=include/k8s-build.sh
source "$here/include/k8s-build.sh"
K8S_VERSIONS=${K8S_VERSIONS_OVERRIDE:-$K8S_VERSIONS}
k8s_env

if [ "${1:-}" = "--print" ]; then
  absent=0
  for v in $K8S_VERSIONS; do f="$K8S_BIN/kube-apiserver-v$v"; [ -x "$f" ] || absent=1; echo "$f"; done
  f="$K8S_BIN/etcd-v$ETCD_VERSION"; [ -x "$f" ] || absent=1; echo "$f"
  exit $absent
fi

k8s_require_go
k8s_lock
k8s_build_etcd "$ETCD_VERSION"
for v in $K8S_VERSIONS; do k8s_build "$v" kube-apiserver; done
# The YAML checker test/e2e/go-yaml.test.ts runs (sigs.k8s.io/yaml), from the same module and build cache.
bash "$here/build-go-yaml-check.sh" >/dev/null
k8s_log "cache: $(du -sh "$K8S_CACHE" | cut -f1) in $K8S_CACHE"
"$0" --print
