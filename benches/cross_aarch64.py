"""aarch64 without an aarch64 machine (docs/architecture.md, "Decoder fast paths",
portability; run by ``ci/cross-aarch64.sh``).

1. Every compiled module, cythonized by ``setup.py`` (the speed build) and compiled with
   setup.py's flags plus Python's CFLAGS (no ``-march``), by zig's clang for
   ``aarch64-linux-gnu``: ``_parse`` (the only module with SIMD code) to an object at
   setup.py's ``-O3``, the others through clang's front end (``-fsyntax-only``: every
   type check and warning, no code generation). Any diagnostic fails. ``--x86-clang`` also
   runs the front end over every module for ``x86_64-linux-gnu`` (clang-only warnings;
   the wheels are built with gcc).
2. ``tests/simd_harness.c`` (``include/ff_simd.h``'s classify and ``ff_tight_level``)
   built for aarch64 as a freestanding static executable and run in the unicorn emulator
   at the NEON level, and built for this machine and called in-process at SSE2 (the
   x86-64 level with the same bitmap loop), over real Binance depth events (``make_workload``), the fuzzer's seeds and
   mutations (``benches/fuzz.py``), random bytes and random level arrays: the bitmaps
   must equal a numpy oracle and the NEON matches must equal SSE2's byte for byte.
3. The harness again with a bug planted in its NEON code: the comparison must catch it.

``python -m benches.cross_aarch64 [--payloads N] [--jobs N] [--x86-clang] [--json]``.
Needs the ``cross`` extra (ziglang, unicorn, pyelftools), a host C compiler and an
x86-64 Linux host.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import json
import os
import platform
import random
import re
import runpy
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

REPO = Path(__file__).resolve().parents[1]
INCLUDE = REPO / "src" / "fastfeed" / "include"
HARNESS = REPO / "tests" / "simd_harness.c"
ARM = "aarch64-linux-gnu"
X86 = "x86_64-linux-gnu"
#: the module with SIMD code: compiled to an object (the others: front end only)
FULL = "_parse"
#: pyconfig.h macros that describe the x86-64 build machine's FPU, not the target:
#: undefined for aarch64 (only CPython's internal pycore_pymath.h reads them)
_X86_ONLY = re.compile(r"^#define\s+(\w*(?:X87|X64|X86|I386|AMD64)\w*)", re.M)
# ff_tight_level reads lp[0 .. 72) (ff_simd.h) and is tried up to 64 bytes before the
# end of the last whole block: 8 bytes after a payload are read
_PAD = 8


def level_code(name: str) -> int:
    """ff_simd.h's FF_SIMD_* code of a level name (``_parse._SIMD_NAMES``: by code)."""
    from fastfeed import _parse

    return list(_parse._SIMD_NAMES).index(name)     # type: ignore[attr-defined]


# -- 1: the modules --------------------------------------------------------------------

def extensions(cythonize: bool = True) -> list[Any]:
    """setup.py's extensions of the speed build, without building them: cythonized (their
    sources the .c files), or with ``cythonize=False`` only their flags (no Cython
    needed)."""
    import setuptools

    got: dict[str, Any] = {}
    saved = {k: os.environ.pop(k) for k in ("FASTFEED_DEBUG", "FASTFEED_SANITIZE")
             if k in os.environ}
    fake = types.ModuleType("Cython.Build")
    fake.cythonize = lambda exts, **kw: exts     # type: ignore[attr-defined]
    stub = {} if cythonize else {"Cython": types.ModuleType("Cython"), "Cython.Build": fake}
    real, cwd = setuptools.setup, os.getcwd()
    setuptools.setup = lambda **kw: got.update(kw)  # type: ignore[assignment]
    # setup.py stamps the kind of the generated C (src/fastfeed/.cython-kind); with the
    # fake cythonize nothing was generated, so the stamp must stay what it was
    stamp = REPO / "src" / "fastfeed" / ".cython-kind"
    kind = stamp.read_text() if stamp.exists() else None
    try:
        os.chdir(REPO)                  # setup.py's source paths are relative
        with mock.patch.dict(sys.modules, stub):
            runpy.run_path(str(REPO / "setup.py"), run_name="__main__")
    finally:
        setuptools.setup = real
        os.chdir(cwd)
        os.environ.update(saved)
        if not cythonize:
            if kind is None:
                stamp.unlink(missing_ok=True)
            else:
                stamp.write_text(kind)
    return list(got["ext_modules"])


def compiler_env(tmp: Path) -> dict[str, str]:
    """The compilers' environment: a fresh zig cache in ``tmp`` (a cached object would not
    print its warnings again), no sanitizer runtime preloaded."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    env["ZIG_GLOBAL_CACHE_DIR"] = env["ZIG_LOCAL_CACHE_DIR"] = str(tmp / "zig-cache")
    return env


def python_flags() -> tuple[list[str], list[str]]:
    """What setuptools puts before an extension's own flags: Python's CFLAGS and CCSHARED,
    less ``-g`` (debug info only costs time) and any flag naming a CPU (dropped, returned
    second: a wheel must not carry one)."""
    flags = shlex.split(sysconfig.get_config_var("CFLAGS") or "")
    flags += shlex.split(sysconfig.get_config_var("CCSHARED") or "")
    cpu = [f for f in flags if f.startswith(("-march", "-mtune", "-mcpu", "-mavx", "-msse"))]
    return [f for f in flags if f not in cpu and f != "-g"], cpu


def ext_flags(ext: Any) -> list[str]:
    """An extension's macros, include dirs (and Python's) and extra compile args, in
    setuptools' order."""
    out = [f"-D{n}" if v is None else f"-D{n}={v}" for n, v in ext.define_macros]
    out += [f"-I{REPO / d}" for d in ext.include_dirs]
    out.append(f"-I{sysconfig.get_paths()['include']}")
    return out + list(ext.extra_compile_args)


def pyconfig_overlay(tmp: Path) -> tuple[Path, list[str]]:
    """A header force-included for aarch64: this Python's pyconfig.h less its x86-only
    macros (returned second). Sizes and alignments are checked by :func:`pyconfig_probe`."""
    real = Path(sysconfig.get_paths()["include"]) / "pyconfig.h"
    names = _X86_ONLY.findall(real.read_text())
    h = tmp / "pyconfig_aarch64.h"
    h.write_text(f'#include "{real}"\n' + "".join(f"#undef {n}\n" for n in names))
    return h, names


def pyconfig_probe(tmp: Path) -> Path:
    """A C file asserting every SIZEOF_* / ALIGNOF_* of this Python's pyconfig.h on the
    target (x86-64 and aarch64 Linux are both LP64: none should differ)."""
    text = (Path(sysconfig.get_paths()["include"]) / "pyconfig.h").read_text()
    lines = ["#include <pyconfig.h>", "#include <stddef.h>", "#include <stdint.h>",
             "#include <stdio.h>", "#include <sys/types.h>", "#include <pthread.h>",
             "#include <time.h>", "#include <wchar.h>"]
    for kind, name in re.findall(r"^#define\s+(SIZEOF|ALIGNOF)_(\w+)\s+\d+", text, re.M):
        ctype = {"VOID_P": "void *", "_BOOL": "_Bool"}.get(name) or (
            name.lower() if name.endswith("_T") else name.lower().replace("_", " "))
        op = "sizeof" if kind == "SIZEOF" else "_Alignof"
        lines.append(f'_Static_assert({op}({ctype}) == {kind}_{name}, '
                     f'"{kind}_{name} of this pyconfig.h is wrong here");')
    c = tmp / "pyconfig_probe.c"
    c.write_text("\n".join(lines) + "\n")
    return c


def zig(*args: str) -> list[str]:
    """zig's C compiler (the ziglang wheel) as a command."""
    return [sys.executable, "-m", "ziglang", *args]


@dataclass
class Job:
    """One compiler run: ``cmd``, or with ``syntax_only`` clang's front end of it."""

    label: str
    cmd: list[str]
    syntax_only: bool = False


def _front_end(cmd: list[str], env: dict[str, str]) -> list[str] | str:
    # zig cc cannot run -fsyntax-only (ziglang/zig#17361: it then looks for the object);
    # its own clang -cc1 line, from -###, can. A str: why there is none.
    out = subprocess.run([*cmd, "-###"], capture_output=True, text=True, env=env)
    cc1 = [shlex.split(ln) for ln in out.stderr.splitlines() if '"-cc1"' in ln]
    if out.returncode or len(cc1) != 1 or "-emit-obj" not in cc1[0]:
        return f"no clang -cc1 line from {shlex.join([*cmd, '-###'])}:\n{out.stderr}"
    i = cc1[0].index("-o")
    del cc1[0][i:i + 2]
    return [("-fsyntax-only" if a == "-emit-obj" else a) for a in cc1[0]]


def run_jobs(jobs: list[Job], env: dict[str, str], workers: int) -> list[dict[str, Any]]:
    """Run the jobs on ``workers`` threads: per job its label, seconds and diagnostics."""
    def one(j: Job) -> dict[str, Any]:
        t0 = time.perf_counter()
        cmd = _front_end(j.cmd, env) if j.syntax_only else j.cmd
        if isinstance(cmd, str):
            rc, output = 1, cmd
        else:
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            rc, output = p.returncode, (p.stdout + p.stderr).strip()
        return {"label": j.label, "seconds": round(time.perf_counter() - t0, 1),
                "rc": rc, "output": output}
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, jobs))


def module_jobs(exts: list[Any], tmp: Path, x86_clang: bool) -> tuple[list[Job], list[str]]:
    """Compiler runs for every module (aarch64; x86-64 too with ``x86_clang``) and the
    pyconfig probe; second: the x86-only pyconfig.h macros undefined for aarch64."""
    base, _ = python_flags()
    overlay, undefined = pyconfig_overlay(tmp)
    probe = pyconfig_probe(tmp)
    # -g0: zig adds debug info unless told not to
    arm = zig("cc", "-target", ARM, "-g0", "-include", str(overlay), *base)
    jobs = [Job("pyconfig.h sizes (aarch64)",
                [*arm, f"-I{sysconfig.get_paths()['include']}", "-c", str(probe),
                 "-o", str(tmp / "probe.o")], syntax_only=True)]
    for ext in exts:
        name = ext.name.rsplit(".", 1)[1]
        src = str(REPO / ext.sources[0])
        full = name == FULL
        jobs.append(Job(f"{name} (aarch64, {'-c' if full else 'front end'})",
                        arm + ext_flags(ext) + ["-c", src, "-o", str(tmp / f"{name}.o")],
                        syntax_only=not full))
        if x86_clang:
            jobs.append(Job(f"{name} (x86-64 clang, front end)",
                            zig("cc", "-target", X86, "-g0", *base) + ext_flags(ext)
                            + ["-c", src, "-o", str(tmp / f"{name}.x86.o")], syntax_only=True))
    # the biggest first: the pool then ends with the short ones
    jobs.sort(key=lambda j: not j.label.startswith(FULL + " (aarch64"))
    return jobs, undefined


# -- 2: the harness --------------------------------------------------------------------

def harness_jobs(tmp: Path, parse: Any, arm: bool = True) -> tuple[list[Job], dict[str, Path]]:
    """Builds of tests/simd_harness.c with the ``_parse`` extension's own compile args:
    the host's and (``arm``) aarch64's, also with the planted bug."""
    base, _ = python_flags()
    opt = list(parse.extra_compile_args)
    stub = tmp / "stub"
    (stub / "py").mkdir(parents=True, exist_ok=True)
    (stub / "libc").mkdir(exist_ok=True)
    # ff_simd.h needs only Py_ssize_t from Python.h; no libc on aarch64 but memcpy/memset
    (stub / "py" / "Python.h").write_text("#include <stddef.h>\ntypedef ptrdiff_t Py_ssize_t;\n")
    (stub / "libc" / "string.h").write_text(
        "#include <stddef.h>\nvoid* memcpy(void*, const void*, size_t);\n"
        "void* memset(void*, int, size_t);\n")
    inc = [f"-I{stub / 'py'}", f"-I{INCLUDE}"]
    zcc = (zig("cc", "-target", ARM, "-g0", *base) + opt + inc
           + [f"-I{stub / 'libc'}", "-DFF_HARNESS_FREESTANDING=1", "-nostdlib", "-static",
              "-fno-stack-protector", "-Wl,-e,ff_harness_run"])
    host_cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    out = {"neon": tmp / "harness.elf", "planted": tmp / "harness-planted.elf",
           "host": tmp / "harness.so"}
    jobs = [Job("harness (host)", host_cc + base + opt + inc
                + ["-shared", str(HARNESS), "-o", str(out["host"])])]
    if arm:
        jobs += [
            Job("harness (aarch64)", [*zcc, str(HARNESS), "-o", str(out["neon"])]),
            Job("harness (aarch64, planted bug)",
                [*zcc, "-DFF_HARNESS_PLANT=1", str(HARNESS), "-o", str(out["planted"])])]
    return jobs, out


HLEVEL = np.dtype([("pos", "<i8"), ("r", "<i4"), ("p_off", "<i4"), ("p_len", "<i4"),
                   ("s_off", "<i4"), ("s_len", "<i4"), ("pad", "<i4"), ("p_pre", "<i8"),
                   ("s_pre", "<i8")])
HJOB = np.dtype([("off", "<i8"), ("len", "<i8"), ("bits", "<i8")])


@dataclass
class Batch:
    """Payloads laid out as the harness reads them."""

    buf: bytes
    jobs: np.ndarray
    nbits: int
    payloads: list[bytes]

    @classmethod
    def of(cls, payloads: list[bytes], rng: random.Random) -> Batch:
        """Each payload at a random alignment, 8 random bytes after it."""
        buf = bytearray()
        jobs = np.zeros(len(payloads), HJOB)
        nbits = 0
        for k, p in enumerate(payloads):
            buf += rng.randbytes(rng.randrange(16))
            jobs[k] = (len(buf), len(p), nbits)
            buf += p + rng.randbytes(_PAD)
            nbits += 2 * (len(p) // 64 + 1)
        return cls(bytes(buf), jobs, nbits, payloads)

    def oracle(self) -> np.ndarray:
        """The bitmaps in numpy: bit b of word k is byte 64k + b a '"' / not '0'..'9'."""
        out = np.zeros(self.nbits, "<u8")
        for (off, n, at) in self.jobs.tolist():
            nb = n // 64
            if not nb:
                continue
            a = np.frombuffer(self.buf, np.uint8, 64 * nb, off)
            out[at:at + nb] = np.packbits(a == 0x22, bitorder="little").view("<u8")
            nd = (a - np.uint8(0x30)) > 9
            out[at + nb + 1:at + 2 * nb + 1] = np.packbits(nd, bitorder="little").view("<u8")
        return out


@dataclass
class Result:
    """One harness run: the bitmaps, ff_tight_level's result per byte, the matches."""

    bits: np.ndarray
    r: np.ndarray
    levels: np.ndarray


class HostHarness:
    """The harness built for this machine, called in process."""

    def __init__(self, so: Path) -> None:
        self.lib = ctypes.CDLL(str(so))
        self.lib.ff_harness_run.restype = ctypes.c_int64
        self.lib.ff_harness_run.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                                            ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                                            ctypes.c_void_p]

    def available(self, level: str) -> bool:
        """Does this machine run ``level``?"""
        return bool(self.lib.ff_harness_available(level_code(level)))

    def run(self, level: str, b: Batch) -> Result:
        """The batch at ``level``."""
        bits = np.zeros(b.nbits, "<u8")
        r = np.zeros(len(b.buf), np.int8)
        lv = np.zeros(len(b.buf) // 9 + len(b.jobs), HLEVEL)
        n = self.lib.ff_harness_run(level_code(level), b.buf, b.jobs.ctypes.data, len(b.jobs),
                                    bits.ctypes.data, r.ctypes.data, lv.ctypes.data)
        return Result(bits, r, lv[:n])


class Arm64Harness:
    """The aarch64 harness in unicorn: its PT_LOAD segments mapped as the ELF says, the
    batch at fixed addresses, ``ff_harness_run`` called with a return address the run
    stops at."""

    _STACK, _STOP, _DATA = 0x7F00_0000, 0x7FF0_0000, 0x1_0000_0000

    def __init__(self, elf: Path) -> None:
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
        from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc, arm64_const

        self.c = arm64_const
        self.mu = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        with open(elf, "rb") as f:
            e = ELFFile(f)
            for seg in e.iter_segments():
                if seg["p_type"] != "PT_LOAD":
                    continue
                lo = seg["p_vaddr"] & ~0xFFF
                hi = (seg["p_vaddr"] + seg["p_memsz"] + 0xFFF) & ~0xFFF
                self.mu.mem_map(lo, hi - lo)
                self.mu.mem_write(seg["p_vaddr"], seg.data())
            sym = e.get_section_by_name(".symtab")
            assert isinstance(sym, SymbolTableSection), f"{elf}: no symbol table"
            found = sym.get_symbol_by_name("ff_harness_run")
            assert found, f"{elf}: no ff_harness_run"
            self.entry = found[0]["st_value"]
        self.mu.mem_map(self._STACK, 1 << 20)
        self.mu.mem_map(self._STOP, 0x1000)
        self.mu.mem_write(self._STOP, b"\x00\x00\x20\xd4")          # brk #0
        # FP/SIMD on at EL1 (CPACR_EL1.FPEN), else the first NEON instruction traps
        self.mu.reg_write(arm64_const.UC_ARM64_REG_CPACR_EL1, 3 << 20)
        self.mapped = 0

    def run(self, level: str, b: Batch) -> Result:
        """The batch at ``level`` (``"neon"``)."""
        lv_cap = len(b.buf) // 9 + len(b.jobs)
        parts = [b.buf, b.jobs.tobytes(), bytes(8 * b.nbits), bytes(len(b.buf)),
                 bytes(HLEVEL.itemsize * lv_cap)]
        addrs, at = [], self._DATA
        for p in parts:
            addrs.append(at)
            at += (len(p) + 0xFFFF) & ~0xFFF
        size = at - self._DATA
        if self.mapped:
            self.mu.mem_unmap(self._DATA, self.mapped)
        self.mu.mem_map(self._DATA, size)
        self.mapped = size
        for a, p in zip(addrs, parts, strict=True):
            self.mu.mem_write(a, p)
        c = self.c
        regs = [level_code(level), addrs[0], addrs[1], len(b.jobs), addrs[2], addrs[3], addrs[4]]
        for k, v in enumerate(regs):
            self.mu.reg_write(c.UC_ARM64_REG_X0 + k, v)
        self.mu.reg_write(c.UC_ARM64_REG_SP, self._STACK + (1 << 20) - 64)
        self.mu.reg_write(c.UC_ARM64_REG_X30, self._STOP)
        self.mu.emu_start(self.entry, self._STOP)
        n = self.mu.reg_read(c.UC_ARM64_REG_X0)

        def read(k: int, dtype: Any, count: int) -> np.ndarray:
            return np.frombuffer(bytes(self.mu.mem_read(addrs[k], np.dtype(dtype).itemsize
                                                        * count)), dtype)
        return Result(read(2, "<u8", b.nbits), read(3, np.int8, len(b.buf)),
                      read(4, HLEVEL, n))


# -- inputs ----------------------------------------------------------------------------

def _decimal(rng: random.Random) -> str:
    # around ff_tight_decimal's limits: 0..9 digits each side, sometimes no '.'
    def digits() -> str:
        return "".join(rng.choice("0123456789") for _ in range(rng.choice(range(10))))
    s = digits()
    return s + "." + digits() if rng.random() < 0.7 else s


def payloads(n: int, seed: int) -> dict[str, list[bytes]]:
    """About ``n`` payloads by kind: real Binance depth events (spot raw, USD-M
    combined) and snapshots, the fuzzer's seeds and mutations of them, random level arrays
    and random bytes (every byte value; the structure bytes and digit bounds often).
    Each also gives its tail copy (levels.pxi's last 80 bytes, zero-padded), as the
    fast path reads it."""
    from benches import fuzz
    from fastfeed.bench.workload import make_workload

    rng = random.Random(f"cross-aarch64:{seed}")
    q = max(n // 5, 1)
    out: dict[str, list[bytes]] = {}
    real: list[bytes] = []
    for venue, combined in (("binance", False), ("binance-usdm", True)):
        w = make_workload(venue, messages=q // 2, seed=seed, combined=combined)
        real += w.messages + ([w.snapshot] if w.snapshot else [])
    out["real"] = real
    seeds = fuzz.PATHS_SEEDS["binance-depth"] + fuzz.PATHS_SEEDS["binance-snapshot"]
    out["fuzz"] = [fuzz.dump(s).encode() for s in seeds] + [
        fuzz.payload(seeds, rng) for _ in range(q)]
    out["levels"] = [("[" + ",".join(
        f'["{_decimal(rng)}","{_decimal(rng)}"]' for _ in range(rng.randrange(1, 40)))
        + "]").encode() for _ in range(q)]
    # 4 of 5 byte values mapped onto the structure bytes, the digits and their neighbours
    alphabet = b'0123456789."[],:/ \x00\x7f\x80\xff'
    table = bytes(alphabet[b % len(alphabet)] if b < 205 else b for b in range(256))
    out["random"] = [rng.randbytes(rng.randrange(1, 1200)).translate(table) for _ in range(q)]
    out["tails"] = [p[-80:] + bytes(80) for ps in list(out.values()) for p in ps
                    if len(p) >= 80]
    return out


# -- the comparison ----------------------------------------------------------------------

def check(b: Batch, host: HostHarness, neon: Result | None) -> tuple[list[str], list[str], Result]:
    """The batch at SSE2, the x86-64 level with the same bitmap loop (and ``neon``, the
    emulated run's result), against the numpy oracle's bitmaps and SSE2's matches: the
    differences, the levels compared and SSE2's result. (AVX2 is another algorithm, a
    matcher with no bitmaps: tests/test_simd_dispatch.py checks it.)"""
    want = b.oracle()
    ref = host.run("sse2", b)
    errs = compare(b, want, ref, ref, "sse2")
    levels = ["sse2"]
    if neon is not None:
        errs += compare(b, want, ref, neon, "neon (emulated)")
        levels.append("neon")
    return errs, levels, ref


def planted_caught(host: HostHarness, planted: Path, b: Batch) -> bool:
    """Does the comparison catch the harness built with FF_HARNESS_PLANT?"""
    errs, _, _ = check(b, host, Arm64Harness(planted).run("neon", b))
    return bool(errs)


def compare(b: Batch, want_bits: np.ndarray, ref: Result, got: Result, what: str) -> list[str]:
    """Differences of ``got`` from the oracle bitmaps and from ``ref``'s matches."""
    errs: list[str] = []
    if not np.array_equal(got.bits, want_bits):
        w = int(np.flatnonzero(got.bits != want_bits)[0])
        k = int(np.searchsorted(b.jobs["bits"], w, "right")) - 1
        off, n, at = b.jobs[k].tolist()
        nb = n // 64
        kind, blk = ("quote", w - at) if w - at <= nb else ("non-digit", w - at - nb - 1)
        errs.append(f"{what}: {kind} word {blk} of payload {k} ({n} bytes): "
                    f"{int(got.bits[w]):#018x}, want {int(want_bits[w]):#018x}; block "
                    f"{b.buf[off + 64 * blk:off + 64 * blk + 64]!r}")
    if not np.array_equal(got.r, ref.r):
        i = int(np.flatnonzero(got.r != ref.r)[0])
        errs.append(f"{what}: ff_tight_level at byte {i} returned {int(got.r[i])}, the "
                    f"reference {int(ref.r[i])}: {b.buf[i:i + 72]!r}")
    elif got.levels.tobytes() != ref.levels.tobytes():
        k = int(np.flatnonzero(got.levels != ref.levels)[0])
        errs.append(f"{what}: level {k} differs: {got.levels[k]} vs {ref.levels[k]}")
    return errs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--payloads", type=int, default=2500,
                    help="about this many payloads (default 2500), plus their tail copies")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="compilers at a time (default: every core)")
    ap.add_argument("--x86-clang", action="store_true",
                    help="also every module through clang's front end for x86-64")
    ap.add_argument("--json", action="store_true", help="the report as JSON")
    args = ap.parse_args(argv)
    if platform.machine() not in ("x86_64", "AMD64") or sys.platform != "linux":
        print(f"cross_aarch64: needs an x86-64 Linux host, not {sys.platform} "
              f"{platform.machine()}", file=sys.stderr)
        return 2
    t_all = time.perf_counter()
    report: dict[str, Any] = {}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ff-cross-") as td:
        tmp = Path(td)
        env = compiler_env(tmp)
        t0 = time.perf_counter()
        exts = extensions()
        report["cythonize_seconds"] = round(time.perf_counter() - t0, 1)
        _, cpu = python_flags()
        report["cpu_flags_dropped"] = cpu
        jobs, undefined = module_jobs(exts, tmp, args.x86_clang)
        hjobs, built = harness_jobs(tmp, next(e for e in exts if e.name.endswith("." + FULL)))
        t0 = time.perf_counter()
        runs = run_jobs(jobs + hjobs, env, args.jobs)
        report["compile_seconds"] = round(time.perf_counter() - t0, 1)
        report["pyconfig_undefined"] = undefined
        report["compiled"] = [{k: r[k] for k in ("label", "seconds")} for r in runs]
        for r in runs:
            if r["rc"] or r["output"]:
                errors.append(f"{r['label']}: exit {r['rc']}\n{r['output']}")
        if not errors:
            t0 = time.perf_counter()
            kinds = payloads(args.payloads, args.seed)
            all_p = [p for ps in kinds.values() for p in ps]
            rng = random.Random(args.seed)
            batch = Batch.of(all_p, rng)
            report["inputs"] = {k: len(v) for k, v in kinds.items()}
            report["input_bytes"] = len(batch.buf)
            report["blocks"] = sum(n // 64 for n in batch.jobs["len"].tolist())
            report["inputs_seconds"] = round(time.perf_counter() - t0, 1)
            host = HostHarness(built["host"])
            t0 = time.perf_counter()
            neon = Arm64Harness(built["neon"]).run("neon", batch)
            report["emulate_seconds"] = round(time.perf_counter() - t0, 2)
            errs, report["levels_compared"], ref = check(batch, host, neon)
            errors += errs
            report["offsets_tried"] = int(sum(max(0, 64 * (n // 64) - 63)
                                              for n in batch.jobs["len"].tolist()))
            report["levels_matched"] = len(ref.levels)
            # the comparison must be able to fail: the planted NEON bug
            caught = planted_caught(host, built["planted"], Batch.of(kinds["real"][:50], rng))
            report["planted_bug_caught"] = caught
            if not caught:
                errors.append("the bug planted in the NEON code (FF_HARNESS_PLANT) was not "
                              "caught: the comparison is blind (tests/simd_harness.c)")
    report["seconds"] = round(time.perf_counter() - t_all, 1)
    report["errors"] = errors
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for k, v in report.items():
            if k not in ("compiled", "errors"):
                print(f"{k}: {v}")
        for r in report["compiled"]:
            print(f"  {r['seconds']:5.1f} s  {r['label']}")
        for e in errors:
            print(f"FAIL {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
