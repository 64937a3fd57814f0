"""Build the compiled core: every ``src/fastfeed/*.pyx`` becomes an extension.

``FASTFEED_DEBUG=1`` at build time turns bounds/wraparound/initialized checks back on and
enables line tracing (for coverage and profilers); the default is the speed build, without
debug info unless ``FASTFEED_DEBUGINFO=1``.

``FASTFEED_SANITIZE=address,undefined`` (any ``-fsanitize=`` list) compiles and links every
extension with those sanitizers, ``-fno-omit-frame-pointer`` and, for ``undefined``,
``-fno-sanitize-recover=undefined`` (UB aborts instead of printing and going on). Use it with
``FASTFEED_DEBUG=1`` (as ``ci/debug.sh`` does). CPython itself is not instrumented, so the
runtime must be preloaded when running: ``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``
and ``ASAN_OPTIONS=detect_leaks=0`` (see ``ci/debug.sh``). gcc/clang only.
"""

import os
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTFEED_DEBUG", "") not in ("", "0")
HERE = Path(__file__).parent
SRC = HERE / "src" / "fastfeed"

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
    "linetrace": DEBUG,
    "profile": DEBUG,
}

# The speed build drops the -g CPython's CFLAGS carry: debug info has no run-time cost but
# takes ~40 % of the compile time (_parse.c: 35 s with, 21 s without).
# FASTFEED_DEBUGINFO=1 keeps it, for line-level profiles (perf, callgrind_annotate).
DEBUGINFO = os.environ.get("FASTFEED_DEBUGINFO", "") not in ("", "0")
if sys.platform == "win32":
    compile_args: list[str] = ["/O2"]
elif DEBUG:
    compile_args = ["-O0", "-g"]
else:
    compile_args = ["-O3"] if DEBUGINFO else ["-O3", "-g0"]
link_args: list[str] = []
SANITIZE = os.environ.get("FASTFEED_SANITIZE", "").strip()
if SANITIZE:
    san = [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer"]
    if "undefined" in SANITIZE.split(","):
        san.append("-fno-sanitize-recover=undefined")
    compile_args = compile_args + san
    link_args = [f"-fsanitize={SANITIZE}"]
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if DEBUG:
    macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]

# Only build a subset when FASTFEED_ONLY=_book,_parse is set (speeds up iterating on one module).
only = {m.strip() for m in os.environ.get("FASTFEED_ONLY", "").split(",") if m.strip()}

extensions = [
    Extension(
        f"fastfeed.{pyx.stem}",
        [str(pyx.relative_to(HERE))],
        include_dirs=[numpy.get_include(), str(SRC), str(SRC / "include")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=macros,
    )
    for pyx in sorted(SRC.glob("*.pyx"))
    if not only or pyx.stem in only
]

JOBS = os.cpu_count() or 1

# The generated .c files depend on the directives: regenerate them all when the last
# cythonize in this tree was of the other kind (or unknown), not on every debug build (pip
# runs setup.py twice, for metadata and for the wheel: forcing both doubled a debug build's
# cythonize).
KIND = "debug" if DEBUG else "speed"
KIND_STAMP = SRC / ".cython-kind"
generated = any(SRC.glob("_*.c"))
force = generated and (not KIND_STAMP.exists() or KIND_STAMP.read_text() != KIND)


class ParallelBuildExt(build_ext):
    """Compile the extensions on every core unless ``-j`` says otherwise (a ``pip install``
    passes no ``-j``: the 15 modules otherwise compile one after another)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = JOBS


setup(
    cmdclass={"build_ext": ParallelBuildExt},
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        include_path=[str(HERE / "src")],
        annotate=os.environ.get("FASTFEED_ANNOTATE", "") not in ("", "0"),
        force=force,
        nthreads=JOBS,
    ),
)
KIND_STAMP.write_text(KIND)
