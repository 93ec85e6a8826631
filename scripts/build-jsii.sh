#!/usr/bin/env bash
# Compiles the constructs entry (src/constructs.ts) with jsii and builds the Python package with jsii-pacmak.
# The npm package keeps its own package.json and tsconfig: this stages a jsii package outside the repository
#   $CDK8S_AUDIT_JSII_DIR (default ~/.cache/cdk8s-audit/jsii)/pkg   a copy of src/, package.json with the jsii
#                                                                    section, the .jsii assembly, lib/
#   .../dist/python                                                  the Python package's sources (cdk8s_audit)
# Idempotent and cached: jsii runs only when src/ or the package metadata changed, pacmak only when the
# assembly did. scripts/setup-python.sh installs the generated package into the test venv.
#   bash scripts/build-jsii.sh                    assembly + Python package sources (jsii-pacmak --code-only)
#   bash scripts/build-jsii.sh --wheel            assembly + wheel and sdist in .../dist/python (as published;
#                                                 slower: pacmak makes a venv for setuptools, build and twine)
#   bash scripts/build-jsii.sh --assembly-only    assembly only
#   bash scripts/build-jsii.sh --api-md FILE      assembly, then API.md from jsii-docgen into FILE (no pacmak)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${CDK8S_AUDIT_JSII_DIR:-$HOME/.cache/cdk8s-audit/jsii}
pkg=$work/pkg
mode=python
api_md=
case "${1:-}" in
  '') ;;
  --assembly-only) mode=assembly ;;
  --wheel) mode=wheel ;;
  --api-md) mode=docs; api_md=$(realpath -m "${2:?--api-md needs a file}") ;;
  *) echo "usage: build-jsii.sh [--assembly-only | --wheel | --api-md FILE]" >&2; exit 2 ;;
esac
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}
bin=$repo/node_modules/.bin
[ -x "$bin/jsii" ] || { echo "build-jsii: $bin/jsii missing; run npm ci" >&2; exit 1; }
mkdir -p "$pkg"
cd "$repo"

# The staged package.json: the npm one's identity and dependencies, the jsii entry as main/types, the
# non-jsii dependencies bundled (jsii requires it), the jsii peers (cdk8s, constructs, cdk8s-plus-28).
manifest=$(node - "$repo" <<'JS'
const fs = require('fs');
const repo = process.argv[2];
const npm = JSON.parse(fs.readFileSync(`${repo}/package.json`, 'utf8'));
const peers = ['cdk8s', 'constructs', 'cdk8s-plus-28'];
const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]));
console.log(JSON.stringify({
  name: npm.name,
  version: npm.version,
  description: npm.description,
  license: npm.license,
  // jsii requires both; the npm package.json names neither yet (set them there before publishing to PyPI)
  author: npm.author ?? { name: 'cdk8s-audit authors', organization: false },
  repository: npm.repository ?? { type: 'git', url: 'https://example.invalid/cdk8s-audit.git' },
  main: 'lib/constructs.js',
  types: 'lib/constructs.d.ts',
  files: ['lib/**/*.js', 'lib/**/*.d.ts', '.jsii', 'LICENSE', 'README.md'],
  dependencies: npm.dependencies,
  bundledDependencies: Object.keys(npm.dependencies),
  // the lowest versions the peer ranges allow are what jsii records; dev dependencies pin what we test with
  peerDependencies: pick(npm.peerDependencies, peers),
  devDependencies: pick(npm.devDependencies, peers),
  jsii: {
    outdir: 'dist',
    tsconfig: 'tsconfig.jsii.json',
    validateTsconfig: 'minimal',
    targets: { python: { module: 'cdk8s_audit', distName: 'cdk8s-audit' } },
  },
}, null, 2));
JS
)
tsconfig=$(node -e '
  const ts = require(process.argv[1]);
  console.log(JSON.stringify({ compilerOptions: ts.compilerOptions, include: ["src/**/*.ts"] }, null, 2));
' "$repo/tsconfig.json")

# Skip jsii when nothing it reads changed.
key=$( { find src -type f -name '*.ts' -print0 | sort -z | xargs -0 sha256sum; echo "$manifest$tsconfig"; cat LICENSE README.md; \
  node -p 'require("jsii/package.json").version'; } | sha256sum | cut -d' ' -f1)
if [ -f "$pkg/.jsii" ] && [ "$(cat "$pkg/.built-from" 2>/dev/null)" = "$key" ]; then
  echo "build-jsii: assembly up to date" >&2
else
  rm -rf "$pkg/src" "$pkg/lib" "$pkg/.jsii" "$pkg/.built-from"
  cp -R src "$pkg/src"
  cp LICENSE README.md "$pkg/"
  ln -sfn "$repo/node_modules" "$pkg/node_modules"
  echo "$manifest" > "$pkg/package.json"
  echo "$tsconfig" > "$pkg/tsconfig.jsii.json"
  t0=$SECONDS
  (cd "$pkg" && "$bin/jsii")
  echo "$key" > "$pkg/.built-from"
  echo "build-jsii: jsii compiled the constructs entry in $((SECONDS - t0))s" >&2
fi

if [ "$mode" = docs ]; then
  t0=$SECONDS
  tmp=$(mktemp -d)
  (cd "$pkg" && "$bin/jsii-docgen" --language typescript --output "$tmp/API.md" >&2)
  mkdir -p "$(dirname "$api_md")" && mv "$tmp/API.md" "$api_md" && rm -rf "$tmp"
  echo "build-jsii: jsii-docgen wrote $api_md in $((SECONDS - t0))s" >&2
  exit 0
fi
[ "$mode" = assembly ] && exit 0

# pacmak when the assembly changed (the tarball it bundles into the package holds lib/, built with it).
built="$(cat "$pkg/.built-from") $mode"
if [ "$(cat "$work/dist/.built-from" 2>/dev/null)" = "$built" ]; then
  echo "build-jsii: Python package up to date" >&2
else
  t0=$SECONDS
  rm -rf "$work/dist"
  flags=(--targets python --outdir "$work/dist")
  [ "$mode" = wheel ] || flags+=(--code-only)
  (cd "$pkg" && "$bin/jsii-pacmak" "${flags[@]}" >&2)
  echo "$built" > "$work/dist/.built-from"
  echo "build-jsii: jsii-pacmak generated the Python package in $((SECONDS - t0))s" >&2
fi
echo "$work/dist/python"
