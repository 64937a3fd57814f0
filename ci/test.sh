#!/usr/bin/env bash
# The test command (README, CI): creates .venv if needed, builds and installs fastfeed with
# its test extra, then runs the linters, the type checker, the stub check and the test suite
# (ci/test-groups.sh: the in-process group, then the end-to-end group, each on 2 workers).
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
# shellcheck source=ci/test-groups.sh
source ci/test-groups.sh
# the in-process tests (CPU-bound, independent), then the end-to-end ones (mostly waiting on
# sockets and child processes: two at a time take 180 s instead of 300 s), each group on 2
# workers; pytest's 5 (nothing collected, e.g. a -k that matches only the other group) is
# not a failure here
rc=0
echo "== pytest (in-process, 2 workers)"
"$VENV/bin/python" -m pytest -n 2 "${IN_PROCESS[@]}" "$@" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || exit "$rc"
rc=0
echo "== pytest (end to end, 2 workers)"
"$VENV/bin/python" -m pytest -n 2 "${END_TO_END[@]}" "$@" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || exit "$rc"
