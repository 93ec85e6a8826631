#!/usr/bin/env bash
# Builds a kind node image offline, or uses the official one.
#   scripts/build-node-image.sh             build what is missing; print the node image reference
#   scripts/build-node-image.sh --print     print the reference only (exit 1 if the image is not there)
#   scripts/build-node-image.sh --official  use kind's official kindest/node image (needs the internet)
# Environment: KIND_NODE_IMAGE=offline (default) | official, CDK8S_AUDIT_CACHE, DEBIAN_MIRROR.
#
# Offline, from the Go module proxy and Debian's packages only:
#  1. base image: a debootstrap rootfs (Debian bookworm) with Debian's systemd, containerd, runc, CNI
#     plugins, iptables…, plus kind's base-image files (entrypoint, systemd units, containerd config)
#     read from the sigs.k8s.io/kind module in the Go module cache; `docker import`.
#  2. kubelet, kubeadm, kubectl and the control-plane components built like scripts/build-k8s.sh
#     builds kube-apiserver (shared module and build cache); etcd and CoreDNS from their modules;
#     pause compiled from k8s.io/kubernetes' build/pause source.
#  3. the component images kubeadm expects (names from `kubeadm config images list`) and the CNI
#     image, built locally and preloaded into the node's containerd, as kind's node images are.
# The image carries a label with a key over everything that went into it; a second run with the same
# inputs finds it and returns in seconds.
set -euo pipefail
LOG_TAG=build-node-image
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=include/common.sh
source "$here/include/common.sh"
# shellcheck source=include/k8s-build.sh
source "$here/include/k8s-build.sh"
K8S_LOG_TAG=$LOG_TAG

mode=${KIND_NODE_IMAGE:-offline}
print_only=0
for a in "$@"; do
  case "$a" in
    --print) print_only=1 ;;
    --official) mode=official ;;
    --offline) mode=offline ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-node-image: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
case "$mode" in offline|official) ;; *) die "KIND_NODE_IMAGE must be offline or official, not $mode" ;; esac

V=$KIND_K8S_VERSION
NODE_IMAGE="cdk8s-audit/kind-node:v$V"
BASE_IMAGE="cdk8s-audit/kind-base:bookworm"
CNI_IMAGE="cdk8s-audit/kind-cni:v1"
# kind's default storage: rancher's local-path-provisioner (built from its Go module) with the helper pod
# on the base image; the manifest is kind's own, read from the kind module and pointed at these images.
LOCAL_PATH_VERSION="0.0.30"
STORAGE_IMAGE="cdk8s-audit/kind-local-path-provisioner:v$LOCAL_PATH_VERSION"
HELPER_IMAGE="cdk8s-audit/kind-helper:v1"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
FILES="$here/include/node-image"
BASE_PACKAGES=(
  systemd systemd-sysv dbus containerd runc containernetworking-plugins
  conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2 pigz
  bash ca-certificates jq procps
)
k8s_env
WORK="$K8S_CACHE/node-image"

label_of() { docker image inspect -f "{{ index .Config.Labels \"cdk8s-audit.key\" }}" "$1" 2>/dev/null || true; }
kind_module_dir() {
  local d
  d=$(go mod download -json "sigs.k8s.io/kind@v$KIND_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -d "$d" ] || die "could not download sigs.k8s.io/kind@v$KIND_VERSION from the Go module proxy"
  echo "$d"
}
sha() { sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------
# Official image (needs a registry): the node image the pinned kind release defaults to.
if [ "$mode" = official ]; then
  command -v go >/dev/null 2>&1 || die "Go is needed to read kind's default image from its module; install Go 1.25+"
  img=$(sed -n 's/^const Image = "\(.*\)"$/\1/p' "$(kind_module_dir)/pkg/apis/config/defaults/image.go")
  [ -n "$img" ] || die "could not read kind v$KIND_VERSION's default node image"
  if [ $print_only = 1 ]; then echo "$img"; docker image inspect "$img" >/dev/null 2>&1; exit; fi
  require_docker
  if docker image inspect "$img" >/dev/null 2>&1; then log "official node image present: $img"
  else log "pulling $img"; docker pull "$img" >&2 || die "docker pull $img failed: no registry reachable? Use KIND_NODE_IMAGE=offline"; fi
  # The suite drives the cluster with a kubectl of the suite's version, built like the offline image's.
  k8s_lock; k8s_build "$V" kubectl
  echo "$img"; exit 0
fi

# The key over every input of the offline image: this script, its files, the versions.
input_key() {
  cat "$0" "$here/include/k8s-build.sh" "$here/include/common.sh" "$FILES"/* | sha
  echo "$V $KIND_VERSION $DEBIAN_SUITE ${BASE_PACKAGES[*]}"
}
KEY=$(input_key | sha)
BASE_KEY=$( (sed -n '/^build_base()/,/^}/p' "$0"; echo "$KIND_VERSION $DEBIAN_SUITE ${BASE_PACKAGES[*]}") | sha)

if [ $print_only = 1 ]; then
  echo "$NODE_IMAGE"
  [ "$(label_of "$NODE_IMAGE")" = "$KEY" ]; exit
fi

require_docker
if [ "$(label_of "$NODE_IMAGE")" = "$KEY" ]; then log "node image cached: $NODE_IMAGE"; echo "$NODE_IMAGE"; exit 0; fi
k8s_require_go
lock build-node-image
if [ "$(label_of "$NODE_IMAGE")" = "$KEY" ]; then echo "$NODE_IMAGE"; exit 0; fi
total_start=$SECONDS
mkdir -p "$WORK"
KIND_DIR=$(kind_module_dir)

# ---------------------------------------------------------------------------------------------
# 1. Base image.
build_base() {
  local root="$WORK/rootfs" kb="$KIND_DIR/images/base/files" start=$SECONDS
  command -v debootstrap >/dev/null || {
    [ "$(id -u)" = 0 ] || die "debootstrap is missing: sudo apt-get install debootstrap"
    log "installing debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 debootstrap >/dev/null || die "apt-get install debootstrap failed"
  }
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  rm -rf "$root"; mkdir -p "$root" "$K8S_CACHE/debs"
  log "base: debootstrap $DEBIAN_SUITE (${#BASE_PACKAGES[@]} packages; log $WORK/debootstrap.log)"
  debootstrap --variant=minbase --include="$(IFS=,; echo "${BASE_PACKAGES[*]}")" --cache-dir="$K8S_CACHE/debs" \
      "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (Debian's mirror $DEBIAN_MIRROR must be reachable)"; }
  log "base: adding kind v$KIND_VERSION's base-image files from $kb"
  install -m 0755 "$kb"/usr/local/bin/* "$root/usr/local/bin/"
  mkdir -p "$root/kind"; cp -r "$kb/kind/." "$root/kind/"
  chmod 0755 "$root/kind" "$root/kind/bin" "$root"/kind/bin/*
  mkdir -p "$root/etc/containerd" "$root/etc/systemd/system/kubelet.service.d" "$root/etc/kubernetes/manifests"
  install -m 0644 "$kb/etc/crictl.yaml" "$root/etc/"
  install -m 0644 "$kb"/etc/sysctl.d/* "$root/etc/sysctl.d/"
  install -m 0644 "$kb/etc/default/kubelet" "$root/etc/default/kubelet"
  for u in containerd.service kubelet.service kubelet.slice undo-mount-hacks.service; do
    install -m 0644 "$kb/etc/systemd/system/$u" "$root/etc/systemd/system/$u"
  done
  install -m 0644 "$kb"/etc/systemd/system/kubelet.service.d/* "$root/etc/systemd/system/kubelet.service.d/"
  # Debian's containerd is /usr/bin/containerd; kind's config without the fuse-overlayfs proxy
  # snapshotter (rootless only, not packaged by Debian).
  sed -i 's#/usr/local/bin/containerd#/usr/bin/containerd#' "$root/etc/systemd/system/containerd.service"
  awk '/^\[/{skip = ($0 ~ /^\[proxy_plugins/)} !skip' "$kb/etc/containerd/config.toml" > "$root/etc/containerd/config.toml"
  # Kubelet >= 1.35 refuses cgroup v1 hosts unless told otherwise; no effect on cgroup v2.
  sed -i 's#^KUBELET_EXTRA_ARGS=\(.*\)$#KUBELET_EXTRA_ARGS=\1 --fail-cgroupv1=false#' "$root/etc/default/kubelet"
  grep -q -- '--fail-cgroupv1=false' "$root/etc/default/kubelet" || die "could not set --fail-cgroupv1 in /etc/default/kubelet"
  # As kind's base Dockerfile: only the units a node needs.
  find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
        "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
        "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >> "$root/etc/systemd/journald.conf"
  chroot "$root" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
  chroot "$root" systemctl mask systemd-binfmt.service >/dev/null 2>&1
  # containerd's base runtime spec, as kind's: ctr's default spec + the product-files hook, no rlimits.
  chroot "$root" ctr oci spec \
    | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
    | jq 'del(.process.rlimits)' > "$root/etc/containerd/cri-base.json"
  # kind's node layout keeps CNI plugins in /opt/cni/bin.
  mkdir -p "$root/opt/cni/bin"
  for p in "$root"/usr/lib/cni/*; do ln -sf "/usr/lib/cni/$(basename "$p")" "$root/opt/cni/bin/"; done
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
         "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/*.log
  log "base: docker import $BASE_IMAGE ($(du -sh "$root" | cut -f1))"
  tar -C "$root" --numeric-owner -c . | docker import - "$BASE_IMAGE-rootfs" >/dev/null || die "docker import failed"
  # docker import cannot set STOPSIGNAL; a one-line build on the local image can (no registry involved).
  mkdir -p "$WORK/base-ctx"
  cat > "$WORK/base-ctx/Dockerfile" <<DOCKERFILE
FROM $BASE_IMAGE-rootfs
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
LABEL cdk8s-audit.key=$BASE_KEY
DOCKERFILE
  docker build -q -t "$BASE_IMAGE" "$WORK/base-ctx" >/dev/null 2>"$WORK/base-ctx/build.log" || { cat "$WORK/base-ctx/build.log" >&2; die "docker build $BASE_IMAGE failed"; }
  docker rmi "$BASE_IMAGE-rootfs" >/dev/null 2>&1 || true
  rm -rf "$root"
  log "base: built in $((SECONDS - start))s"
}
if [ "$(label_of "$BASE_IMAGE")" = "$BASE_KEY" ]; then log "base image cached: $BASE_IMAGE"; else build_base; fi

# ---------------------------------------------------------------------------------------------
# 2. Binaries (one Go build at a time: shares scripts/build-k8s.sh's lock).
k8s_lock
k8s_build "$V" kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl
images=$("$K8S_BIN/kubeadm-v$V" config images list --kubernetes-version "v$V" 2>/dev/null) \
  || die "kubeadm config images list failed"
img_for() { echo "$images" | grep -E "/$1:" | head -1; }
ETCD_IMG=$(img_for etcd); PAUSE_IMG=$(img_for pause); COREDNS_IMG=$(img_for coredns)
etcd_v=${ETCD_IMG##*:}; etcd_v=${etcd_v%-*}
coredns_v=${COREDNS_IMG##*:}; coredns_v=${coredns_v#v}
pause_v=${PAUSE_IMG##*:}
[ -n "$etcd_v" ] && [ -n "$coredns_v" ] && [ -n "$pause_v" ] || die "unexpected kubeadm image list: $images"
k8s_build_etcd "$etcd_v"

go_build_module coredns github.com/coredns/coredns "$coredns_v" 1.25.0 "$FILES/coredns-main.go" \
  "-s -w -X github.com/coredns/coredns/coremain.GitCommit=v$coredns_v" "the plugins kubeadm's Corefile uses"

build_pause() {
  local v=$1 out="$K8S_BIN/pause-$1" src
  if [ -x "$out" ]; then log "pause $v cached: $out"; return; fi
  if ! command -v gcc >/dev/null || { ! [ -f /usr/lib/x86_64-linux-gnu/libc.a ] && ! [ -f /usr/lib/libc.a ]; }; then
    [ "$(id -u)" = 0 ] || die "gcc and a static libc are needed to compile pause: sudo apt-get install gcc libc6-dev"
    log "installing gcc libc6-dev (to compile pause)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 gcc libc6-dev >/dev/null || die "apt-get install gcc libc6-dev failed"
  fi
  src="$(k8s_module_dir "$V")/build/pause/linux/pause.c"
  [ -f "$src" ] || die "pause source not found at $src"
  gcc -Os -Wall -static -DVERSION="v$v-cdk8s-audit" -o "$out.tmp" "$src" || die "compiling pause failed (static glibc: apt-get install libc6-dev)"
  mv "$out.tmp" "$out"
  log "pause $v compiled from $src"
}
build_pause "$pause_v"

go_build_module local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_VERSION" 1.23.0 \
  github.com/rancher/local-path-provisioner "-s -w"

# kind's default storage manifest (the Go string constant in pkg/build/nodeimage/const_storage.go of the
# pinned kind), with its two image references pointed at the images built here.
storage_manifest() {
  local src="$KIND_DIR/pkg/build/nodeimage/const_storage.go" out
  [ -f "$src" ] || die "kind's storage manifest source $src is missing"
  out=$(awk '/^const defaultStorageManifest = `/{on=1; sub(/^const defaultStorageManifest = `/, ""); } on{ if ($0 ~ /^`$/) { exit } print }' "$src" \
    | sed -e "s#\` + storageProvisionerImage + \`#$STORAGE_IMAGE#g" -e "s#\` + storageHelperImage + \`#$HELPER_IMAGE#g")
  case "$out" in *"$STORAGE_IMAGE"*"$HELPER_IMAGE"*) ;; *) die "could not read kind's storage manifest from $src" ;; esac
  case "$out" in *'` +'*) die "kind's storage manifest in $src references images this script does not know" ;; esac
  echo "$out"
}

# ---------------------------------------------------------------------------------------------
# 3. Component images, saved to one archive for the node's containerd.
build_images() {
  local ctx="$WORK/images" start=$SECONDS name tag refs=()
  rm -rf "$ctx"; mkdir -p "$ctx"
  # image <ref> <from> <binary> <path in image>
  image() {
    local ref=$1 from=$2 src=$3 dst=$4 d
    d="$ctx/$(echo "$ref" | tr '/:' '__')"; mkdir -p "$d"
    cp "$src" "$d/bin"
    {
      echo "FROM $from"
      echo "COPY bin $dst"
      echo "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"
      echo "LABEL cdk8s-audit.key=$KEY"
      case "$ref" in *pause*) echo 'ENTRYPOINT ["/pause"]'; echo 'USER 65535:65535' ;; esac
      case "$ref" in *coredns*) echo 'ENTRYPOINT ["/coredns"]' ;; esac
    } > "$d/Dockerfile"
    docker build -q -t "$ref" "$d" >/dev/null 2>"$d/build.log" || { cat "$d/build.log" >&2; die "docker build $ref failed"; }
    refs+=("$ref")
  }
  for name in kube-apiserver kube-controller-manager kube-scheduler; do
    image "$(img_for "$name")" scratch "$K8S_BIN/$name-v$V" "/usr/local/bin/$name"
  done
  # kube-proxy runs iptables/nft/conntrack: it needs the base image's userland.
  image "$(img_for kube-proxy)" "$BASE_IMAGE" "$K8S_BIN/kube-proxy-v$V" /usr/local/bin/kube-proxy
  image "$ETCD_IMG" scratch "$K8S_BIN/etcd-v$etcd_v" /usr/local/bin/etcd
  image "$PAUSE_IMG" scratch "$K8S_BIN/pause-$pause_v" /pause
  image "$COREDNS_IMG" scratch "$K8S_BIN/coredns-v$coredns_v" /coredns
  # The CNI daemon: the base image's shell and ip, kubectl, the script.
  mkdir -p "$ctx/cni"; install -m 0755 "$K8S_BIN/kubectl-v$V" "$ctx/cni/kubectl"; install -m 0755 "$FILES/cni.sh" "$ctx/cni/cdk8s-audit-cni"
  printf 'FROM %s\nCOPY kubectl cdk8s-audit-cni /usr/local/bin/\nENTRYPOINT ["/usr/local/bin/cdk8s-audit-cni"]\nLABEL cdk8s-audit.key=%s\n' "$BASE_IMAGE" "$KEY" > "$ctx/cni/Dockerfile"
  docker build -q -t "$CNI_IMAGE" "$ctx/cni" >/dev/null 2>"$ctx/cni/build.log" || { cat "$ctx/cni/build.log" >&2; die "docker build $CNI_IMAGE failed"; }
  refs+=("$CNI_IMAGE")
  image "$STORAGE_IMAGE" "$BASE_IMAGE" "$K8S_BIN/local-path-provisioner-v$LOCAL_PATH_VERSION" /usr/local/bin/local-path-provisioner
  # The helper pod runs kind's setup/teardown shell scripts: the base image has sh, mkdir and rm.
  docker tag "$BASE_IMAGE" "$HELPER_IMAGE"; refs+=("$HELPER_IMAGE")
  log "images: saving ${#refs[@]} images"
  docker save "${refs[@]}" -o "$WORK/images.tar"
  printf '%s\n' "${refs[@]}" > "$WORK/images.txt"
  # The registry-named tags were only needed for the archive.
  for tag in "${refs[@]}"; do case "$tag" in cdk8s-audit/*) ;; *) docker rmi "$tag" >/dev/null 2>&1 || true ;; esac; done
  log "images: built in $((SECONDS - start))s ($(du -h "$WORK/images.tar" | cut -f1))"
}
build_images

# ---------------------------------------------------------------------------------------------
# 4. Node image: base + node binaries + manifests + preloaded images.
build_node() {
  local start=$SECONDS c="cdk8s-audit-node-build-$$"
  docker rm -f "$c" >/dev/null 2>&1 || true
  trap 'docker rm -f "$c" >/dev/null 2>&1 || true' EXIT
  docker run -d --name "$c" --privileged --entrypoint=sleep "$BASE_IMAGE" infinity >/dev/null \
    || die "docker run --privileged failed; on hosts without CAP_SYS_RESOURCE run scripts/install-docker.sh (runtime wrapper)"
  for b in kubelet kubeadm kubectl; do docker cp "$K8S_BIN/$b-v$V" "$c:/usr/bin/$b"; done
  docker exec "$c" mkdir -p /kind/manifests
  sed "s#CNI_IMAGE#$CNI_IMAGE#" "$FILES/cni.yaml" | docker exec -i "$c" sh -c 'cat > /kind/manifests/default-cni.yaml'
  storage_manifest | docker exec -i "$c" sh -c 'cat > /kind/manifests/default-storage.yaml'
  echo "v$V" | docker exec -i "$c" sh -c 'cat > /kind/version'
  docker exec "$c" sed -i "s#sandbox_image = .*#sandbox_image = \"$PAUSE_IMG\"#" /etc/containerd/config.toml
  # Pods may not ask for a lower oom_score_adj than containerd's own: lowering it needs CAP_SYS_RESOURCE,
  # which a node container lacks where the host lacks it (runc then fails every sandbox). Where
  # containerd runs at systemd's -999 this changes nothing.
  docker exec "$c" sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
  docker exec "$c" grep -q 'restrict_oom_score_adj = true' /etc/containerd/config.toml || die "could not set restrict_oom_score_adj"
  log "node: importing images into the node's containerd"
  docker exec -d "$c" sh -c 'containerd > /var/log/containerd-build.log 2>&1'
  local ok=0
  for _ in $(seq 1 60); do docker exec "$c" ctr version >/dev/null 2>&1 && { ok=1; break; }; sleep 1; done
  [ $ok = 1 ] || { docker exec "$c" cat /var/log/containerd-build.log >&2 || true; die "containerd did not start in the build container"; }
  docker exec -i "$c" ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests - < "$WORK/images.tar" >/dev/null \
    || die "ctr images import failed"
  docker exec "$c" ctr --namespace=k8s.io images list -q | grep -v '^sha256:\|^import-' | sed 's/^/  /' >&2
  docker exec "$c" sh -c 'kill $(pidof containerd); while pidof containerd >/dev/null; do sleep 0.2; done; rm -f /var/log/containerd-build.log'
  docker commit \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
    --change "LABEL cdk8s-audit.key=$KEY" "$c" "$NODE_IMAGE" >/dev/null
  docker rm -f "$c" >/dev/null; trap - EXIT
  log "node: $NODE_IMAGE built in $((SECONDS - start))s ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.0f MiB", $1/1048576}'))"
}
build_node
rm -f "$WORK/images.tar"
# Earlier builds of these images, now untagged (only images this script labelled).
docker image prune -f --filter label=cdk8s-audit.key >/dev/null 2>&1 || true
log "done in $((SECONDS - total_start))s: $NODE_IMAGE"
echo "$NODE_IMAGE"
