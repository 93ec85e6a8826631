# shellcheck shell=bash
# Shared by scripts/build-k8s.sh and scripts/build-node-image.sh: builds Kubernetes commands, etcd
# and other Go binaries from the Go module proxy into "$K8S_BIN/<command>-v<version>", with
# GOMODCACHE and GOCACHE outside the repository so every script shares one module and build cache.
# Source it, then call k8s_env once.

k8s_log() { printf '[%s %s] %s\n' "${K8S_LOG_TAG:-build-k8s}" "$(date +%H:%M:%S)" "$*" >&2; }
k8s_die() { printf '%s: %s\n' "${K8S_LOG_TAG:-build-k8s}" "$*" >&2; exit 1; }

# The commands k8s.io/kubernetes builds that these scripts know about.
K8S_KNOWN_CMDS="kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl"

k8s_env() {
  CDK8S_AUDIT_CACHE=${CDK8S_AUDIT_CACHE:-$HOME/.cache/cdk8s-audit}
  K8S_CACHE=$CDK8S_AUDIT_CACHE
  K8S_BIN="$K8S_CACHE/bin"
  mkdir -p "$K8S_BIN" "$K8S_CACHE/work"
  export GOMODCACHE="$K8S_CACHE/gomod" GOCACHE="$K8S_CACHE/gocache" GOFLAGS="-mod=mod -buildvcs=false"
  export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=0
}

k8s_require_go() {
  command -v go >/dev/null 2>&1 && return 0
  echo "${K8S_LOG_TAG:-build-k8s}: Go is not installed. Install Go 1.25 or newer (Debian: apt-get install golang-go," >&2
  echo "or the official toolchain) and run the script again." >&2
  exit 1
}

# One Go build at a time (the build cache is shared): a second caller waits for the first and then
# finds the binaries cached. Uses file descriptor 9.
k8s_lock() {
  exec 9>"$K8S_CACHE/build.lock"
  if ! flock -n 9; then k8s_log "another build holds $K8S_CACHE/build.lock; waiting"; flock 9; fi
}

# k8s_module_dir VERSION: the module directory of k8s.io/kubernetes@vVERSION in GOMODCACHE
# (downloaded if needed).
k8s_module_dir() {
  local v=$1 dir
  dir=$(go mod download -json "k8s.io/kubernetes@v$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -d "$dir" ] || k8s_die "could not download k8s.io/kubernetes@v$v from the Go module proxy"
  echo "$dir"
}

# k8s_wrapper_module VERSION DIR: a module in DIR that requires k8s.io/kubernetes vVERSION, replaces
# every staging module with its published v0.<minor>.<patch>, and imports every known command so one
# `go mod tidy` serves all of them.
k8s_wrapper_module() {
  local v=$1 dir=$2 gomod goline godebug staging m
  mkdir -p "$dir"
  if [ -f "$dir/go.sum" ] && [ -f "$dir/.tidy-ok" ]; then return 0; fi
  gomod=$(go mod download -json "k8s.io/kubernetes@v$v" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || k8s_die "could not download k8s.io/kubernetes@v$v from the Go module proxy"
  goline=$(grep -m1 '^go ' "$gomod")
  godebug=$(grep '^godebug ' "$gomod" || true)
  # The staging modules are replaced by local paths in kubernetes' own go.mod; a consumer must
  # replace each with its published v0.<minor>.<patch> module instead.
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod")
  {
    echo "module cdk8s-audit.local/kubernetes-build"
    echo; echo "$goline"; [ -n "$godebug" ] && echo "$godebug"
    echo; echo "require k8s.io/kubernetes v$v"
    echo; echo "replace ("
    for m in $staging; do echo "	$m => $m v0.${v#*.}"; done
    echo ")"
  } > "$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for m in $K8S_KNOWN_CMDS; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$m"; done
    printf ')\n'
  } > "$dir/tools.go"
  k8s_log "Kubernetes v$v: downloading modules"
  (cd "$dir" && go mod tidy >/dev/null 2>"$dir/tidy.log") || { cat "$dir/tidy.log" >&2; k8s_die "go mod tidy failed for Kubernetes v$v"; }
  touch "$dir/.tidy-ok"
}

# k8s_build VERSION CMD...: builds the missing "$K8S_BIN/CMD-vVERSION" in one `go build` (the
# commands share most packages, and the linker runs in parallel).
k8s_build() {
  local v=$1; shift
  local c missing=() pkgs=() start=$SECONDS minor=${v#*.} dir="$K8S_CACHE/work/kubernetes-v$v"
  minor=${minor%%.*}
  for c in "$@"; do
    case " $K8S_KNOWN_CMDS " in *" $c "*) ;; *) k8s_die "unknown command $c (known: $K8S_KNOWN_CMDS)";; esac
    if [ -x "$K8S_BIN/$c-v$v" ]; then k8s_log "$c v$v cached: $K8S_BIN/$c-v$v"; else missing+=("$c"); pkgs+=("k8s.io/kubernetes/cmd/$c"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  k8s_wrapper_module "$v" "$dir"
  k8s_log "Kubernetes v$v: compiling ${missing[*]} (minutes on 2 cores; progress in the Go build cache)"
  local out="$dir/out" p1 p2
  rm -rf "$out"; mkdir -p "$out"
  p1=k8s.io/component-base/version p2=k8s.io/client-go/pkg/version
  local ld="-s -w"
  for p in $p1 $p2; do
    ld="$ld -X $p.gitVersion=v$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$dir" && go build -trimpath -o "$out/" -ldflags "$ld" "${pkgs[@]}") || k8s_die "go build failed for ${missing[*]} v$v"
  for c in "${missing[@]}"; do
    [ -x "$out/$c" ] || k8s_die "go build did not produce $c"
    mv "$out/$c" "$K8S_BIN/$c-v$v"
    k8s_log "$c v$v: $K8S_BIN/$c-v$v ($(du -h "$K8S_BIN/$c-v$v" | cut -f1))"
  done
  k8s_log "Kubernetes v$v: ${missing[*]} built in $((SECONDS - start))s"
}

# go_build_module NAME MODULE VERSION GO_DIRECTIVE PACKAGE LDFLAGS [NOTE]: "$K8S_BIN/NAME-vVERSION",
# built from PACKAGE (an import path in MODULE, or a .go file that becomes the main package) in a
# wrapper module requiring MODULE vVERSION. A wrapper rather than `go install MODULE@VERSION`
# because go install refuses modules whose go.mod has replace directives (etcd's has), and a main
# of our own lets CoreDNS link only the plugins it needs. `go mod tidy` raises GO_DIRECTIVE if the
# module needs a newer Go. NOTE, if given, is shown with the compiling step.
go_build_module() {
  local name=$1 module=$2 v=$3 goline=$4 pkg=$5 ld=$6 note="${7:+ ($7)}"
  local out="$K8S_BIN/$name-v$v" dir="$K8S_CACHE/work/$name-v$v" start=$SECONDS
  if [ -x "$out" ]; then k8s_log "$name v$v cached: $out"; return; fi
  rm -rf "$dir"; mkdir -p "$dir"
  printf 'module cdk8s-audit.local/%s-build\n\ngo %s\n\nrequire %s v%s\n' "$name" "$goline" "$module" "$v" > "$dir/go.mod"
  case "$pkg" in
    *.go) cp "$pkg" "$dir/main.go"; pkg=. ;;
    *) printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$dir/tools.go" ;;
  esac
  k8s_log "$name v$v: downloading modules"
  (cd "$dir" && go mod tidy >/dev/null 2>"$dir/tidy.log") || { cat "$dir/tidy.log" >&2; k8s_die "go mod tidy failed for $name v$v"; }
  k8s_log "$name v$v: compiling$note"
  (cd "$dir" && go build -trimpath -o "$out.tmp" -ldflags "$ld" "$pkg") || k8s_die "go build failed for $name v$v"
  mv "$out.tmp" "$out"
  k8s_log "$name v$v built in $((SECONDS - start))s: $out"
}

# k8s_build_etcd VERSION: "$K8S_BIN/etcd-vVERSION", the etcd server.
k8s_build_etcd() {
  go_build_module etcd go.etcd.io/etcd/server/v3 "$1" 1.24 go.etcd.io/etcd/server/v3 "-s -w"
}
