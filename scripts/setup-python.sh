#!/usr/bin/env bash
# The Python side of the jsii build: a venv outside the repository with pytest, the cdk8s / constructs /
# cdk8s-plus-28 Python packages at the versions the npm side uses, and the cdk8s_audit package that
# scripts/build-jsii.sh generated. Idempotent: packages already at the wanted versions are not fetched
# again, and cdk8s_audit is reinstalled only when it changed. Prints the venv's python on the last line.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CDK8S_AUDIT_CACHE:-$HOME/.cache/cdk8s-audit}
venv=${CDK8S_AUDIT_VENV:-$cache/venv}
pydist=${CDK8S_AUDIT_JSII_DIR:-$cache/jsii}/dist/python
py=${PYTHON:-python3}
command -v "$py" >/dev/null || { echo "setup-python: $py not found; install Python 3.9+ (e.g. apt-get install python3 python3-venv)" >&2; exit 1; }

# Versions from the npm lock file: the Python packages of cdk8s libraries carry the same versions, and the
# jsii runtime must match the jsii-pacmak that generated the bindings; setuptools is the generated package's
# build system (its pyproject.toml), so installing it needs no build venv of its own.
read -r cdk8s_v constructs_v plus_v pacmak_v < <(node -e '
  const l = require(process.argv[1]).packages;
  const v = (n) => l["node_modules/" + n].version;
  console.log(v("cdk8s"), v("constructs"), v("cdk8s-plus-28"), v("jsii-pacmak"));
' "$repo/package-lock.json")
wanted=("pytest==9.2.0" "setuptools==75.3.2" "jsii==$pacmak_v" "cdk8s==$cdk8s_v" "constructs==$constructs_v" "cdk8s-plus-28==$plus_v")

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
vpy=$venv/bin/python
stamp=$venv/.cdk8s-audit-deps
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${wanted[*]}" ]; then
  "$vpy" -m pip install --disable-pip-version-check -q "${wanted[@]}"
  echo "${wanted[*]}" > "$stamp"
fi

[ -f "$pydist/pyproject.toml" ] || ls "$pydist"/cdk8s_audit-*.whl >/dev/null 2>&1 || {
  echo "setup-python: no cdk8s_audit package in $pydist; run bash scripts/build-jsii.sh first" >&2
  exit 1
}
# what build-jsii.sh generated it from (the package dir itself gains build/ when pip installs from it)
sum=$(cat "$pydist/../.built-from" 2>/dev/null || find "$pydist" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
if [ "$(cat "$venv/.cdk8s-audit-package" 2>/dev/null)" != "$sum" ]; then
  if [ -f "$pydist/pyproject.toml" ]; then target=$pydist; else target=$(ls "$pydist"/cdk8s_audit-*.whl | head -1); fi
  "$vpy" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation --force-reinstall "$target"
  echo "$sum" > "$venv/.cdk8s-audit-package"
fi
echo "$vpy"
