# cython: language_level=3
"""Cython declarations of the shared C helpers in ``src/fastfeed/include/*.h``.

Declarations only (no module behind this file): ``from fastfeed._cdefs cimport ...``
makes the generated C ``#include`` the header; setup.py puts ``src/fastfeed/include`` on
every extension's include path.
"""

from libc.stdint cimport int64_t, uint64_t


cdef extern from "ff_bits.h":
    # Trailing / leading zero bits of a 64-bit word; v must be non-zero.
    int ff_ctz64(uint64_t v) noexcept nogil
    int ff_clz64(uint64_t v) noexcept nogil


cdef extern from "ff_clock.h":
    # CLOCK_MONOTONIC in ns: what the hot path stamps frames with.
    int64_t ff_monotonic_ns() noexcept nogil
    # CLOCK_REALTIME in ns since the Unix epoch.
    int64_t ff_wall_ns() noexcept nogil
    # Compiler barrier: no memory access moves across it (benchmark loops).
    void ff_barrier() noexcept nogil


cdef extern from "ff_swar.h":
    # 10**k, k in 0..19.
    const uint64_t FF_POW10[20]
    # INT64_MAX // 10**e, e in 0..18: m * 10**e fits int64 iff m <= FF_I64_LIM[e].
    const uint64_t FF_I64_LIM[19]
    # Leading digits of p[0..min(avail, maxd)) accumulated into *acc; how many were taken.
    Py_ssize_t ff_take_digits(const char* p, Py_ssize_t avail, Py_ssize_t maxd,
                              uint64_t* acc) noexcept nogil
    # First index >= i of p[i..n) that is not '0' (n if none).
    Py_ssize_t ff_skip_zeros(const char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil
    # First index >= i of a '"', a '\\' or a control character, or n.
    Py_ssize_t ff_scan_string(const char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil
    # Pre-parse of a short plain decimal string (24 readable bytes at s): its length and
    # *pre = (mantissa << 5) | fraction digits, or -1 (see the header).
    Py_ssize_t ff_pre_decimal(const char* s, uint64_t* pre) noexcept nogil
    # A JSON integer of 1..18 digits at p[i..n): index after it (value in *out) or -1.
    Py_ssize_t ff_fast_uint(const char* p, Py_ssize_t i, Py_ssize_t n,
                            int64_t* out) noexcept nogil
