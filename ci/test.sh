#!/usr/bin/env bash
# The test command (README, CI): creates .venv if needed, builds and installs fastfeed with
# its test extra, then runs the linters, the type checker and the test suite.
# Extra arguments go to pytest, e.g. `bash ci/test.sh -k book -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FASTFEED_VENV:-.venv}
PY=${PYTHON:-python3}
export PATH="$PWD/$VENV/bin:$PATH"   # cython-lint runs pycodestyle from PATH
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[test,bench]"
echo "== ruff"
"$VENV/bin/ruff" check src tests benches
echo "== cython-lint"
"$VENV/bin/cython-lint" src/fastfeed/*.pyx src/fastfeed/*.pxd
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest"
"$VENV/bin/python" -m pytest "$@"
