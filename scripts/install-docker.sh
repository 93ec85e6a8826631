#!/usr/bin/env bash
# Installs and starts a Docker engine from Debian's packages, for the kind suite.
#   sudo bash scripts/install-docker.sh
# Idempotent: a second run checks and returns. Where this host's capability bounding set lacks
# CAP_SYS_RESOURCE (some VMs/sandboxes), `docker run --privileged` fails because Docker asks runc for
# every capability; the script then registers a runtime wrapper as Docker's default runtime that
# drops CAP_SYS_RESOURCE from the OCI config (the bundle's config.json and `runc exec --process`)
# and hands over to runc. Where the host has the capability, nothing is wrapped.
# Without systemd, dockerd is started in the background, logging to $CDK8S_AUDIT_CACHE/dockerd.log.
set -euo pipefail
LOG_TAG=install-docker
# shellcheck source=include/common.sh
source "$(dirname "$0")/include/common.sh"

WRAPPER=/usr/local/libexec/cdk8s-audit/runc-drop-sys-resource
RUNTIME_NAME=cdk8s-audit-runc
DAEMON_JSON=/etc/docker/daemon.json
CAP_SYS_RESOURCE=24

need_root install-docker.sh
lock install-docker

# 1. Packages.
pkgs=(docker.io jq iptables ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq -o DPkg::Lock::Timeout=600 || die "apt-get update failed (Debian's package mirror must be reachable)"
  # policy-rc.d 101: the package scripts must not try to start services (there may be no init system).
  prc=/usr/sbin/policy-rc.d; made_prc=0
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; made_prc=1; fi
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null || { [ $made_prc = 1 ] && rm -f "$prc"; die "apt-get install ${missing[*]} failed"; }
  [ $made_prc = 1 ] && rm -f "$prc"
else
  log "packages present: ${pkgs[*]}"
fi
command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
runc_bin=$(command -v runc) || die "runc not found (Debian package runc)"

# 2. The runtime wrapper, only where the host lacks CAP_SYS_RESOURCE.
want_wrapper=0
if host_has_cap $CAP_SYS_RESOURCE; then
  log "host has CAP_SYS_RESOURCE: Docker's own runc is used"
else
  want_wrapper=1
  log "host lacks CAP_SYS_RESOURCE (CapBnd $(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)): registering $RUNTIME_NAME"
  mkdir -p "$(dirname "$WRAPPER")"
  tmp=$(mktemp)
  cat > "$tmp" <<EOF
#!/bin/bash
# Installed by cdk8s-audit scripts/install-docker.sh. This host's capability bounding set lacks
# CAP_SYS_RESOURCE, so an OCI config that asks for it cannot start. Drop it from the config runc is
# given (create/run: <bundle>/config.json; exec: the --process file), then run the real runc.
RUNC=$runc_bin
EOF
  cat >> "$tmp" <<'EOF'
JQ_FILTER='def drop: if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end;
  def caps: if type == "object" then with_entries(.value |= drop) else . end;
  if has("process") then .process.capabilities |= caps else .capabilities |= caps end'
strip() {
  local f=$1 t
  [ -f "$f" ] || return 0
  grep -q CAP_SYS_RESOURCE "$f" || return 0
  t="$f.cdk8s-audit.$$"
  /usr/bin/jq -c "$JQ_FILTER" "$f" > "$t" && cat "$t" > "$f"
  rm -f "$t"
}
cmd="" bundle="" process="" prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b) bundle=$a ;;
    --process|-p) process=$a ;;
  esac
  case "$a" in
    --bundle=*) bundle=${a#--bundle=} ;;
    --process=*) process=${a#--process=} ;;
    create|run|exec) [ -z "$cmd" ] && cmd=$a ;;
  esac
  prev=$a
done
case "$cmd" in
  create|run) strip "${bundle:-.}/config.json" ;;
  exec) [ -n "$process" ] && strip "$process" ;;
esac
exec "$RUNC" "$@"
EOF
  install -m 0755 "$tmp" "$WRAPPER"; rm -f "$tmp"
fi

# 3. daemon.json: register (or drop) the wrapper as the default runtime, keeping other settings.
mkdir -p /etc/docker
cur='{}'; [ -s "$DAEMON_JSON" ] && cur=$(cat "$DAEMON_JSON")
echo "$cur" | jq -e . >/dev/null 2>&1 || die "$DAEMON_JSON is not valid JSON; fix or remove it"
if [ $want_wrapper = 1 ]; then
  new=$(echo "$cur" | jq --arg n "$RUNTIME_NAME" --arg p "$WRAPPER" '.runtimes[$n] = {path: $p} | .["default-runtime"] = $n')
else
  new=$(echo "$cur" | jq --arg n "$RUNTIME_NAME" 'if .["default-runtime"] == $n then del(.["default-runtime"]) else . end | if .runtimes then .runtimes |= del(.[$n]) else . end | if .runtimes == {} then del(.runtimes) else . end')
fi
changed=0
if [ "$(echo "$cur" | jq -S .)" != "$(echo "$new" | jq -S .)" ]; then
  echo "$new" | jq . > "$DAEMON_JSON.tmp" && mv "$DAEMON_JSON.tmp" "$DAEMON_JSON"
  changed=1; log "wrote $DAEMON_JSON"
fi

# 4. Start dockerd (or make a running one reload its runtimes).
have_systemd=0
[ -d /run/systemd/system ] && have_systemd=1
dockerd_pid=$(pgrep -x dockerd | head -1 || true)
if [ -n "$dockerd_pid" ]; then
  if [ $changed = 1 ]; then log "dockerd running (pid $dockerd_pid): reloading runtimes (SIGHUP)"; kill -HUP "$dockerd_pid"; sleep 1; fi
elif [ $have_systemd = 1 ]; then
  log "starting docker with systemctl"
  systemctl enable --now docker.service >/dev/null 2>&1 || systemctl start docker.service || die "systemctl start docker failed; see journalctl -u docker"
else
  logf="$CDK8S_AUDIT_CACHE/dockerd.log"
  log "no systemd: starting dockerd in the background (log: $logf)"
  # setsid: its own session; 8>&-: it must not inherit this script's lock.
  setsid nohup dockerd >>"$logf" 2>&1 </dev/null 8>&- &
  disown || true
fi

# 5. Wait for the socket.
for _ in $(seq 1 60); do docker_ok && break; sleep 1; done
docker_ok || die "dockerd did not answer within 60 s; see ${logf:-journalctl -u docker}"
rt=$(docker info --format '{{.DefaultRuntime}}')
log "Docker $(docker version --format '{{.Server.Version}}') ready; default runtime $rt, cgroup v$(docker info --format '{{.CgroupVersion}}'), storage $(docker info --format '{{.Driver}}')"
if [ $want_wrapper = 1 ] && [ "$rt" != "$RUNTIME_NAME" ]; then
  die "dockerd's default runtime is $rt, not $RUNTIME_NAME; restart dockerd so it reads $DAEMON_JSON"
fi
