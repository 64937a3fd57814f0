#!/usr/bin/env bash
# The test command (README, CI): creates .venv if needed, builds and installs fastfeed with
# its test extra, then runs the linters, the type checker, the stub check and the test suite.
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
"$VENV/bin/cython-lint" src/fastfeed/*.pyx src/fastfeed/*.pxd src/fastfeed/*/*.pxi
echo "== mypy"
"$VENV/bin/mypy"
echo "== stubtest"
# The .pyi stubs against the built modules (every src/fastfeed/*.pyx, so new ones are covered);
# Cython artefacts and known mismatches are in the allowlist.
mods=()
for pyx in src/fastfeed/*.pyx; do mods+=("fastfeed.$(basename "$pyx" .pyx)"); done
"$VENV/bin/python" -m mypy.stubtest --mypy-config-file pyproject.toml \
    --allowlist ci/stubtest-allowlist.txt "${mods[@]}"
echo "== pytest"
"$VENV/bin/python" -m pytest "$@"
