#!/usr/bin/env bash
# `npm run test:python`: builds the Python package with jsii (scripts/build-jsii.sh), installs it and its
# dependencies into a venv outside the repository (scripts/setup-python.sh), then runs the pytest suite
# (test/python: the example app from Python, compared byte for byte with the TypeScript synth).
# Needs lib/ (npm run build), as the TypeScript side of the comparison runs the example app on it.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}
t0=$SECONDS
bash scripts/build-jsii.sh >/dev/null
t1=$SECONDS
py=$(bash scripts/setup-python.sh | tail -1)
t2=$SECONDS
"$py" -m pytest -q -p no:cacheprovider test/python
echo "test:python: jsii build $((t1 - t0))s, Python setup $((t2 - t1))s, pytest $((SECONDS - t2))s" >&2
