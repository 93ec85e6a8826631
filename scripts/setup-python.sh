#!/usr/bin/env bash
# The Python side of the jsii build: a venv outside the repository with pytest, the cdk8s / constructs /
# cdk8s-plus-28 Python packages at the versions the npm side uses, and the cdk8s_audit wheel that
# scripts/build-jsii.sh built. Idempotent: packages already at the wanted version are not fetched again,
# and the wheel is reinstalled only when it changed. Prints the venv's python path on stdout's last line.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CDK8S_AUDIT_CACHE:-$HOME/.cache/cdk8s-audit}
venv=${CDK8S_AUDIT_VENV:-$cache/venv}
wheel_dir=${CDK8S_AUDIT_JSII_DIR:-$cache/jsii}/dist/python
py=${PYTHON:-python3}
command -v "$py" >/dev/null || { echo "setup-python: $py not found; install Python 3.9+ (e.g. apt-get install python3 python3-venv)" >&2; exit 1; }

# Versions from the npm lock file: the Python packages of cdk8s libraries carry the same versions, and the
# jsii runtime must match the jsii-pacmak that generated the bindings.
read -r cdk8s_v constructs_v plus_v pacmak_v < <(node -e '
  const l = require(process.argv[1]).packages;
  const v = (n) => l["node_modules/" + n].version;
  console.log(v("cdk8s"), v("constructs"), v("cdk8s-plus-28"), v("jsii-pacmak"));
' "$repo/package-lock.json")
wanted=("pytest==9.2.0" "jsii==$pacmak_v" "cdk8s==$cdk8s_v" "constructs==$constructs_v" "cdk8s-plus-28==$plus_v")

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
vpy=$venv/bin/python
stamp=$venv/.cdk8s-audit-deps
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${wanted[*]}" ]; then
  "$vpy" -m pip install --disable-pip-version-check -q "${wanted[@]}"
  echo "${wanted[*]}" > "$stamp"
fi

whl=$(ls "$wheel_dir"/cdk8s_audit-*.whl 2>/dev/null | head -1 || true)
[ -n "$whl" ] || { echo "setup-python: no cdk8s_audit wheel in $wheel_dir; run bash scripts/build-jsii.sh first" >&2; exit 1; }
sum=$(sha256sum "$whl" | cut -d' ' -f1)
if [ ! -f "$venv/.cdk8s-audit-wheel" ] || [ "$(cat "$venv/.cdk8s-audit-wheel")" != "$sum" ]; then
  "$vpy" -m pip install --disable-pip-version-check -q --no-deps --force-reinstall "$whl"
  echo "$sum" > "$venv/.cdk8s-audit-wheel"
fi
echo "$vpy"
