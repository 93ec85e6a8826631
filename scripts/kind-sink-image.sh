#!/usr/bin/env bash
# Builds the sink image (templates/sink/Dockerfile) for the kind suite.
#   scripts/kind-sink-image.sh TAG      e.g. cdk8s-audit-sink:0.1.0 (the image the manifests name)
#   scripts/kind-sink-image.sh --node-base   only the offline base (Debian + this machine's node), printed:
#                                       for `cdk8s-audit sink image --base IMAGE` without a registry
# Environment: KIND_NODE_IMAGE=offline (default) | official, CDK8S_AUDIT_CACHE.
#
# official: `docker build -f templates/sink/Dockerfile` as the template says (its build stage runs
#   `npm ci` in a node:20 image from Docker Hub: needs a registry).
# offline: the same image without a registry. Its run stage is the template's, verbatim; the base
#   (NODE_IMAGE) is the node image's Debian base plus this machine's node binary, and the build stage's
#   output — compiled lib/ plus `npm install --omit=dev` of the dependencies and cdk8s/constructs at the
#   locked versions — is assembled on this machine (npm --offline, from the cache `npm ci` filled) and
#   copied in. Run `npm run build` first (npm run test:kind does).
set -euo pipefail
LOG_TAG=kind-sink-image
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=include/common.sh
source "$here/include/common.sh"

tag=${1:-}
[ -n "$tag" ] || { echo "usage: scripts/kind-sink-image.sh TAG | --node-base" >&2; exit 2; }
node_base_only=false
[ "$tag" = --node-base ] && node_base_only=true
mode=${KIND_NODE_IMAGE:-offline}
dockerfile="$repo/templates/sink/Dockerfile"
[ -f "$dockerfile" ] || die "$dockerfile is missing"
require_docker
start=$SECONDS

if [ "$mode" = official ]; then
  $node_base_only && die "--node-base is for offline builds (KIND_NODE_IMAGE=offline); online, the Dockerfile's own node:20 base is used"
  log "docker build -f templates/sink/Dockerfile -t $tag (online)"
  (cd "$repo" && docker build -q -f templates/sink/Dockerfile -t "$tag" . >/dev/null) || die "docker build of the sink image failed"
  log "built $tag in $((SECONDS - start))s"; echo "$tag"; exit 0
fi
[ "$mode" = offline ] || die "KIND_NODE_IMAGE must be offline or official, not $mode"

base=cdk8s-audit/kind-base:bookworm
docker image inspect "$base" >/dev/null 2>&1 || die "$base is missing; run scripts/build-node-image.sh first"
node_bin=$(command -v node) || die "node is not installed on this machine (Node.js 20+ is needed)"
if ! $node_base_only; then
  [ -f "$repo/lib/cli/main.js" ] || die "lib/ is not built; run npm run build"
  [ -d "$repo/node_modules" ] || die "node_modules is missing; run npm ci"
fi
work="$CDK8S_AUDIT_CACHE/sink-image"
lock kind-sink-image
rm -rf "$work"; mkdir -p "$work/runtime"

# 1. NODE_IMAGE: the Debian base with this machine's node (the same major as the template's node:20).
node_v=$("$node_bin" --version)
node_image="cdk8s-audit/node:$node_v"
node_key=$( (sha256sum "$node_bin"; docker image inspect -f '{{.Id}}' "$base") | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "cdk8s-audit.key" }}' "$node_image" 2>/dev/null)" != "$node_key" ]; then
  mkdir -p "$work/node"; cp "$node_bin" "$work/node/node"
  printf 'FROM %s\nCOPY node /usr/local/bin/node\nRUN node --version\nENTRYPOINT []\nCMD ["node"]\nLABEL cdk8s-audit.key=%s\n' "$base" "$node_key" > "$work/node/Dockerfile"
  docker build -q -t "$node_image" "$work/node" >/dev/null 2>"$work/node/build.log" || { cat "$work/node/build.log" >&2; die "docker build $node_image failed"; }
  log "built $node_image"
fi
if $node_base_only; then rm -rf "$work/node"; echo "$node_image"; exit 0; fi

# 2. The build stage's output, as the template's build stage assembles /runtime.
cp "$repo/package-lock.json" "$work/runtime/"
cp -r "$repo/lib" "$work/runtime/lib"
(cd "$repo" && node -e 'const fs = require("fs"); const p = require("./package.json");
  for (const n of ["cdk8s", "constructs"]) p.dependencies[n] = p.devDependencies[n];
  delete p.devDependencies; delete p.peerDependencies; delete p.scripts;
  fs.writeFileSync(process.argv[1], JSON.stringify(p, null, 2));' "$work/runtime/package.json")
(cd "$work/runtime" && npm install --omit=dev --ignore-scripts --offline --no-audit --no-fund >/dev/null 2>"$work/npm.log") \
  || { cat "$work/npm.log" >&2; die "npm install --offline failed: the npm cache lacks a package; run npm ci once with the registry reachable"; }
node "$work/runtime/lib/cli/main.js" sink serve --help >/dev/null || die "the assembled runtime cannot load the CLI"

# 3. Dockerfile: a build stage holding that /runtime, then the template's run stage verbatim.
grep -q '^# ---- run ----' "$dockerfile" || die "templates/sink/Dockerfile has no '# ---- run ----' stage marker"
{
  echo "ARG NODE_IMAGE"
  echo "FROM \${NODE_IMAGE} AS build"
  echo "COPY runtime /runtime"
  sed -n '/^# ---- run ----/,$p' "$dockerfile"
} > "$work/Dockerfile"
docker build -q --build-arg "NODE_IMAGE=$node_image" -t "$tag" "$work" >/dev/null 2>"$work/build.log" \
  || { cat "$work/build.log" >&2; die "docker build $tag failed"; }
rm -rf "$work/runtime" "$work/node"
log "built $tag offline in $((SECONDS - start))s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MiB", $1/1048576}'))"
echo "$tag"
