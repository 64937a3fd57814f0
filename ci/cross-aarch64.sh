#!/usr/bin/env bash
# The aarch64 check (CI: the end of ci/debug.sh; or by hand): every compiled module
# cross-compiled for aarch64-linux-gnu by zig's clang, and the NEON level of
# include/ff_simd.h run in the unicorn emulator against the x86-64 levels
# (benches/cross_aarch64.py; docs/architecture.md, "Decoder fast paths"). Installs the
# `cross` extra's packages (pyproject.toml) into $VENV, which must already hold fastfeed
# (the input generators import it).
#   FASTFEED_CROSS_VENV     the venv (default .venv, ci/test.sh's)
#   FASTFEED_CROSS_PRELOAD  a sanitizer runtime the venv's fastfeed needs preloaded
#                           (ci/debug.sh's ASan build); the compilers run without it
# Extra arguments go to the driver, e.g. `bash ci/cross-aarch64.sh --x86-clang`.
# Only an x86-64 Linux host runs it (the SSE2 reference runs natively; zig and unicorn
# wheels): anywhere else it says so and skips; on x86-64 Linux any failure fails.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FASTFEED_CROSS_VENV:-.venv}
PRELOAD=${FASTFEED_CROSS_PRELOAD:-}

host="$(uname -s) $(uname -m)"
if [ "$host" != "Linux x86_64" ]; then
    echo "ci/cross-aarch64.sh: SKIPPED: the aarch64 check runs on x86-64 Linux only," \
         "this is $host (nothing was checked for aarch64)" >&2
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "ci/cross-aarch64.sh: no $VENV/bin/python (run ci/test.sh first, or set" \
         "FASTFEED_CROSS_VENV)" >&2
    exit 1
fi
# the `cross` extra, and the build requirements (setup.py cythonizes in this venv)
read -ra reqs < <("$VENV/bin/python" -c 'import tomllib
with open("pyproject.toml", "rb") as f:
    t = tomllib.load(f)
print(*t["project"]["optional-dependencies"]["cross"], *t["build-system"]["requires"])')
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${reqs[@]}"

run=("$VENV/bin/python" -m benches.cross_aarch64)
if [ -n "$PRELOAD" ]; then
    run=(env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 "${run[@]}")
fi
SECONDS=0
"${run[@]}" "$@"
echo "== ci/cross-aarch64.sh took ${SECONDS}s"
