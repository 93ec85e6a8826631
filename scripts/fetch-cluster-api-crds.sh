#!/usr/bin/env bash
# Fetches the KubeadmControlPlane CRDs of Cluster API (sigs.k8s.io/cluster-api, the version in
# versions.env) from the Go module proxy into the cache, for test/e2e/cluster-api.test.ts.
#   scripts/fetch-cluster-api-crds.sh           fetch what is missing, print the CRD directory
#   scripts/fetch-cluster-api-crds.sh --print   print the directory only (exit 1 if it is missing)
# Idempotent: a second run finds the files cached and takes well under a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=include/k8s-build.sh
source "$here/include/k8s-build.sh"
K8S_LOG_TAG=fetch-cluster-api-crds
k8s_env
dest="$K8S_CACHE/cluster-api/v$CLUSTER_API_VERSION/crd"
crds="controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml"

if [ "${1:-}" = "--print" ]; then
  echo "$dest"
  [ -s "$dest/$crds" ]
  exit
fi
if [ -s "$dest/$crds" ]; then echo "$dest"; exit 0; fi

k8s_require_go
dir=$(go mod download -json "sigs.k8s.io/cluster-api@v$CLUSTER_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -d "$dir/controlplane/kubeadm/config/crd/bases" ] || k8s_die "could not download sigs.k8s.io/cluster-api@v$CLUSTER_API_VERSION from the Go module proxy"
mkdir -p "$dest.tmp"
cp "$dir"/controlplane/kubeadm/config/crd/bases/*.yaml "$dest.tmp/"
chmod u+w "$dest.tmp"/*.yaml
rm -rf "$dest" && mv "$dest.tmp" "$dest"
k8s_log "Cluster API v$CLUSTER_API_VERSION KubeadmControlPlane CRDs in $dest"
echo "$dest"
