#!/usr/bin/env bash
# Debug job (CI, or by hand): builds fastfeed with FASTFEED_DEBUG=1 (bounds/wraparound/
# initialized checks, -O0 -g) plus AddressSanitizer and UndefinedBehaviorSanitizer into
# .venv-debug and runs the unit and corpus tests with the sanitizer runtime preloaded,
# then the aarch64 check (ci/cross-aarch64.sh).
# Extra arguments go to pytest, e.g. `bash ci/debug.sh -k book -x`.
#
# Test selection (ci/test-groups.sh): the IN_PROCESS group. Left out: END_TO_END (the
# simulator/engine/nats-server over sockets) and anything marked `slow`: they are slow under
# ASan and go through the same compiled code the unit tests cover.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FASTFEED_DEBUG_VENV:-.venv-debug}
PY=${PYTHON:-python3}

# shellcheck source=ci/test-groups.sh
source ci/test-groups.sh
TESTS=("${IN_PROCESS[@]}")

ASAN_LIB=$(gcc -print-file-name=libasan.so)
if [ ! -e "$ASAN_LIB" ] || [ "${ASAN_LIB#/}" = "$ASAN_LIB" ]; then
    echo "ci/debug.sh: gcc has no libasan.so (install libasan / gcc)" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip

# Build from a copy of the sources: an in-tree build writes the generated .c files (debug
# directives) and the .so files into src/ and build/, where .venv's editable speed build
# lives. The copy is a regular (non-editable) install into $VENV's site-packages.
COPY="$VENV/fastfeed-src"
rm -rf "$COPY"
mkdir -p "$COPY"
tar -cf - --exclude='*.so' --exclude='*.c' --exclude=__pycache__ \
    pyproject.toml setup.py README.md src | tar -xf - -C "$COPY"
echo "== build (FASTFEED_DEBUG=1 FASTFEED_SANITIZE=address,undefined)"
FASTFEED_DEBUG=1 FASTFEED_SANITIZE=address,undefined \
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$COPY[test,bench]"

# Guard against a silently unsanitized build (e.g. the setup.py switch broken).
site=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['platlib'])")
for so in "$site"/fastfeed/_*.so; do
    libs=$(ldd "$so")   # not piped into grep -q: its early exit fails the pipe (pipefail)
    if [[ $libs != *libasan* ]]; then
        echo "ci/debug.sh: $so is not linked with ASan" >&2
        exit 1
    fi
done

echo "== pytest (ASan + UBSan)"
# CPython is not instrumented: the ASan runtime must be loaded first (libubsan comes in as a
# dependency of the extensions). Leak detection off: CPython's own never-freed allocations
# would bury any report. PYTHONMALLOC=malloc sends Python objects (e.g. the bytes payloads
# the parser reads) through malloc, so ASan sees overruns of them too. UBSan aborts on the
# first error (the build also has -fno-sanitize-recover=undefined); CPython's CFLAGS carry
# -fwrapv, so signed overflow is defined here and UBSan does not flag it. HYPOTHESIS_PROFILE=ci
# runs every property test at a tenth of its examples (tests/conftest.py); the timeout is raised because
# the -O0 sanitized code is several times slower. Two xdist workers (the job has the machine
# to itself in CI; `bash ci/debug.sh -n 0` runs in one process): ~200 s instead of ~300 s.
# pytest's fd-level capture would swallow the report of a worker killed by a sanitizer, so:
# ASan writes its reports to files (printed below; any report fails the job), and
# --capture=sys leaves fd 2 alone for UBSan, which ignores log_path when running under ASan.
LOGS="$(cd "$VENV" && pwd)/sanitizer-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
sanitized_pytest() {
    LD_PRELOAD="$ASAN_LIB" \
    ASAN_OPTIONS="detect_leaks=0:log_path=$LOGS/asan" \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    PYTHONMALLOC=malloc \
    HYPOTHESIS_PROFILE=ci \
        "$VENV/bin/python" -m pytest -m "not slow" --timeout=600 -n 2 --capture=sys "$@"
}
rc=0
sanitized_pytest "${TESTS[@]}" "$@" || rc=$?
# The SIMD levels of the level-array fast path (docs/architecture.md, "Decoder fast paths")
# are covered by the run above: the decode suites run at the default level (avx2 where the
# CPU has it), and tests/test_simd_dispatch.py switches to every level this machine has
# in-process and compares each with the general decoder, so the sanitizers see every
# level's code without re-running the decode suites once per level (~45 s a level).
reports=("$LOGS"/*)
if [ -e "${reports[0]}" ]; then
    echo "== sanitizer reports (${#reports[@]}, in $LOGS)"
    cat "${reports[0]}"   # the first in full; of the rest, what and where
    for r in "${reports[@]:1}"; do
        echo "---- $r"
        grep -m 3 -E "ERROR: |runtime error|#0 |SUMMARY" "$r" || true
    done
    [ "$rc" -ne 0 ] || rc=1
fi
# aarch64: every module cross-compiled, the NEON level run under emulation
# (ci/cross-aarch64.sh; docs/architecture.md, "Decoder fast paths"), in this venv: its
# fastfeed (the ASan build) supplies the input generators
echo "== ci/cross-aarch64.sh"
FASTFEED_CROSS_VENV="$VENV" FASTFEED_CROSS_PRELOAD="$ASAN_LIB" bash ci/cross-aarch64.sh || rc=$?
exit "$rc"
