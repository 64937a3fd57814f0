#!/usr/bin/env bash
# The main job (README): creates .venv if needed, builds and installs fastfeed, then runs
# `fastfeed demo` against the built-in exchange simulator. Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FASTFEED_VENV:-.venv}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e .
exec "$VENV/bin/fastfeed" demo "$@"
