# shellcheck shell=bash
# Helpers shared by the kind scripts: logging, errors, the cache directory and a per-script lock.

CDK8S_AUDIT_CACHE=${CDK8S_AUDIT_CACHE:-$HOME/.cache/cdk8s-audit}
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '[%s %s] %s\n' "${LOG_TAG:-cdk8s-audit}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "${LOG_TAG:-cdk8s-audit}" "$*" >&2; exit 1; }

# lock NAME: hold "$CDK8S_AUDIT_CACHE/NAME.lock" for the rest of the script (fd 8); a concurrent run
# waits, then finds the work done.
lock() {
  mkdir -p "$CDK8S_AUDIT_CACHE"
  exec 8>"$CDK8S_AUDIT_CACHE/$1.lock"
  if ! flock -n 8; then log "another run holds $CDK8S_AUDIT_CACHE/$1.lock; waiting"; flock 8; fi
}

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (it installs Debian packages / writes /etc/docker); run it with sudo"
}

# host_has_cap NUMBER: whether the capability is in this process's bounding set.
host_has_cap() {
  local bnd
  bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
  [ $(( (0x$bnd >> $1) & 1 )) -eq 1 ]
}

docker_ok() { docker info >/dev/null 2>&1; }

require_docker() {
  command -v docker >/dev/null 2>&1 || die "docker is not installed; run: sudo bash scripts/install-docker.sh"
  docker_ok || die "the Docker engine does not answer (docker info failed); run: sudo bash scripts/install-docker.sh"
}
