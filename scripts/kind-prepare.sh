#!/usr/bin/env bash
# Everything the kind suite needs, idempotent and cached (a second run takes seconds):
#   1. a Docker engine (scripts/install-docker.sh; needs root the first time)
#   2. kind from the Go module proxy (scripts/install-kind.sh)
#   3. the node image: built offline (scripts/build-node-image.sh), or kind's official image with
#      KIND_NODE_IMAGE=official where a registry is reachable
# Prints how long each step took.
set -euo pipefail
LOG_TAG=kind-prepare
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=include/common.sh
source "$here/include/common.sh"
step() {
  local name=$1 start=$SECONDS; shift
  log "== $name"
  "$@" >/dev/null
  log "== $name: $((SECONDS - start))s"
}
if docker_ok && [ "$(id -u)" != 0 ]; then
  log "Docker answers; not root, so scripts/install-docker.sh is skipped"
else
  step "Docker engine" bash "$here/install-docker.sh"
fi
step "kind" bash "$here/install-kind.sh"
step "node image (${KIND_NODE_IMAGE:-offline})" bash "$here/build-node-image.sh"
