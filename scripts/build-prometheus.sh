#!/usr/bin/env bash
# Builds promtool and prometheus from the Go module github.com/prometheus/prometheus (version in
# versions.env) into the shared cache, next to kube-apiserver, with the same GOMODCACHE and GOCACHE.
# The web UI's assets are not compiled in: without the `builtinassets` build tag (upstream .promu.yml
# sets it) the UI is served from disk, which the tests never ask for; rules, the query API and
# promtool are unaffected. Service discovery is left out too (remove_all_sd): only static_configs work.
#   scripts/build-prometheus.sh            build what is missing, print the binary paths
#   scripts/build-prometheus.sh --print    print the paths only (exit 1 if a binary is missing)
# Environment: CDK8S_AUDIT_CACHE (default ~/.cache/cdk8s-audit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=include/k8s-build.sh
source "$here/include/k8s-build.sh"
K8S_LOG_TAG=build-prometheus
k8s_env

mv_=$PROMETHEUS_MODULE_VERSION
# Module v0.3MM.P is release 3.MM.P (upstream tags both).
minor=${mv_#0.3}; minor=${minor%%.*}; release="3.$((10#$minor)).${mv_##*.}"
cmds="promtool prometheus"

if [ "${1:-}" = "--print" ]; then
  absent=0
  for c in $cmds; do f="$K8S_BIN/$c-v$release"; [ -x "$f" ] || absent=1; echo "$f"; done
  exit $absent
fi

missing=()
for c in $cmds; do [ -x "$K8S_BIN/$c-v$release" ] || missing+=("$c"); done
if [ ${#missing[@]} -eq 0 ]; then "$0" --print; exit 0; fi

k8s_require_go
k8s_lock
start=$SECONDS
dir="$K8S_CACHE/work/prometheus-v$release"
mkdir -p "$dir"
if [ ! -f "$dir/.tidy-ok" ]; then
  printf 'module cdk8s-audit.local/prometheus-build\n\ngo 1.25\n\nrequire github.com/prometheus/prometheus v%s\n' "$mv_" > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "github.com/prometheus/prometheus/cmd/prometheus"\n\t_ "github.com/prometheus/prometheus/cmd/promtool"\n)\n' > "$dir/tools.go"
  k8s_log "Prometheus v$release (module v$mv_): downloading modules"
  (cd "$dir" && go mod tidy >/dev/null 2>"$dir/tidy.log") || { cat "$dir/tidy.log" >&2; k8s_die "go mod tidy failed for github.com/prometheus/prometheus v$mv_"; }
  touch "$dir/.tidy-ok"
fi
p=github.com/prometheus/common/version
ld="-s -w -X $p.Version=$release -X $p.Revision=module-v$mv_ -X $p.Branch=release -X $p.BuildUser=cdk8s-audit -X $p.BuildDate=19700101-00:00:00"
out="$dir/out"; rm -rf "$out"; mkdir -p "$out"
pkgs=(); for c in "${missing[@]}"; do pkgs+=("github.com/prometheus/prometheus/cmd/$c"); done
k8s_log "Prometheus v$release: compiling ${missing[*]} (minutes on 2 cores)"
# netgo as upstream's .promu.yml; no builtinassets (see above); remove_all_sd leaves out the service
# discovery plugins (upstream plugins/*.go) and the cloud SDKs they pull in: the tests use static_configs.
(cd "$dir" && go build -trimpath -tags netgo,remove_all_sd -o "$out/" -ldflags "$ld" "${pkgs[@]}") || k8s_die "go build failed for ${missing[*]} v$release"
for c in "${missing[@]}"; do
  [ -x "$out/$c" ] || k8s_die "go build did not produce $c"
  mv "$out/$c" "$K8S_BIN/$c-v$release"
  k8s_log "$c v$release: $K8S_BIN/$c-v$release ($(du -h "$K8S_BIN/$c-v$release" | cut -f1))"
done
k8s_log "Prometheus v$release: ${missing[*]} built in $((SECONDS - start))s"
"$0" --print
