#!/usr/bin/env bash
# Builds kube-apiserver (every version in versions.env) and etcd from the Go module proxy,
# caching binaries, GOMODCACHE and GOCACHE outside the repository.
#   scripts/build-k8s.sh            build what is missing, print the binary paths
#   scripts/build-k8s.sh --print    print the paths only (exit 1 if a binary is missing)
# Environment: CDK8S_AUDIT_CACHE (default ~/.cache/cdk8s-audit), K8S_VERSIONS, ETCD_VERSION.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
K8S_VERSIONS=${K8S_VERSIONS_OVERRIDE:-$K8S_VERSIONS}
cache=${CDK8S_AUDIT_CACHE:-$HOME/.cache/cdk8s-audit}
bin="$cache/bin"
log() { printf '[build-k8s %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "${1:-}" = "--print" ]; then
  missing=0
  for v in $K8S_VERSIONS; do f="$bin/kube-apiserver-v$v"; [ -x "$f" ] || missing=1; echo "$f"; done
  f="$bin/etcd-v$ETCD_VERSION"; [ -x "$f" ] || missing=1; echo "$f"
  exit $missing
fi

if ! command -v go >/dev/null 2>&1; then
  echo "build-k8s: Go is not installed. Install Go 1.25 or newer (Debian: apt-get install golang-go," >&2
  echo "or the official toolchain) and run scripts/build-k8s.sh again." >&2
  exit 1
fi

mkdir -p "$bin" "$cache/work"
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=0

# One build at a time: a second caller waits for the first and then finds the binaries cached.
exec 9>"$cache/build.lock"
if ! flock -n 9; then log "another build holds $cache/build.lock; waiting"; flock 9; fi

build_apiserver() {
  local v=$1 out="$bin/kube-apiserver-v$1" dir="$cache/work/kube-apiserver-v$1"
  if [ -x "$out" ]; then log "kube-apiserver v$v cached: $out"; return; fi
  local start=$SECONDS minor=${v#*.}; minor=${minor%%.*}
  log "kube-apiserver v$v: resolving k8s.io/kubernetes and its staging modules"
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$v" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || { echo "build-k8s: could not download k8s.io/kubernetes@v$v" >&2; exit 1; }
  local goline godebug staging
  goline=$(grep -m1 '^go ' "$gomod")
  godebug=$(grep '^godebug ' "$gomod" || true)
  # The staging modules are replaced by local paths in kubernetes' own go.mod; a consumer must
  # replace each with its published v0.<minor>.<patch> module instead.
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod")
  {
    echo "module cdk8s-audit.local/kube-apiserver-build"
    echo; echo "$goline"; [ -n "$godebug" ] && echo "$godebug"
    echo; echo "require k8s.io/kubernetes v$v"
    echo; echo "replace ("
    for m in $staging; do echo "	$m => $m v0.${v#*.}"; done
    echo ")"
  } > go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
  log "kube-apiserver v$v: downloading modules"
  go mod tidy >/dev/null 2>"$dir/tidy.log" || { cat "$dir/tidy.log" >&2; exit 1; }
  log "kube-apiserver v$v: compiling (several minutes on 2 cores)"
  local pkg=k8s.io/component-base/version
  go build -trimpath -o "$out.tmp" -ldflags "-s -w \
    -X $pkg.gitVersion=v$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor \
    -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" \
    k8s.io/kubernetes/cmd/kube-apiserver
  mv "$out.tmp" "$out"
  log "kube-apiserver v$v built in $((SECONDS - start))s: $out ($(du -h "$out" | cut -f1))"
}

build_etcd() {
  local v=$ETCD_VERSION out="$bin/etcd-v$ETCD_VERSION" dir="$cache/work/etcd-v$ETCD_VERSION"
  if [ -x "$out" ]; then log "etcd v$v cached: $out"; return; fi
  local start=$SECONDS
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  log "etcd v$v: downloading modules"
  printf 'module cdk8s-audit.local/etcd-build\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$v" > go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy >/dev/null 2>"$dir/tidy.log" || { cat "$dir/tidy.log" >&2; exit 1; }
  log "etcd v$v: compiling"
  go build -trimpath -o "$out.tmp" -ldflags "-s -w" go.etcd.io/etcd/server/v3
  mv "$out.tmp" "$out"
  log "etcd v$v built in $((SECONDS - start))s: $out"
}

build_etcd
for v in $K8S_VERSIONS; do build_apiserver "$v"; done
log "cache: $(du -sh "$cache" | cut -f1) in $cache"
"$0" --print
