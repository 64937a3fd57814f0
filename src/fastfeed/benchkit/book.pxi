# Included by _benchkit.pyx: timing loop for the L2 book (fastfeed._book).

from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc

from fastfeed._book cimport L2Book
from fastfeed._types cimport Delta

import time as _time

import numpy as _np

_perf_counter_ns = _time.perf_counter_ns


def bench_apply_deltas(L2Book book not None, sides, prices, sizes, counts=None):
    """Apply rows through the cdef ``apply_deltas``; return elapsed ns.

    For benchmarks: the rows are converted to a C ``Delta`` array first (not timed), so
    the figure is the book alone, as the listener drives it. All rows go in one call,
    or, with ``counts`` (ints summing to the row count), one call per count, as the
    listener calls it once per message (``counts`` of 1: the one-by-one path). No
    validation is done beyond what ``apply_deltas`` itself does (negative sizes, bad
    sides).
    """
    cdef const int64_t[::1] s = _np.ascontiguousarray(sides, dtype=_np.int64)
    cdef const int64_t[::1] p = _np.ascontiguousarray(prices, dtype=_np.int64)
    cdef const int64_t[::1] q = _np.ascontiguousarray(sizes, dtype=_np.int64)
    cdef Py_ssize_t n = s.shape[0], i, k, at = 0
    cdef Delta* d
    cdef const int64_t[::1] c = _np.ascontiguousarray(
        [n] if counts is None else counts, dtype=_np.int64)
    if p.shape[0] != n or q.shape[0] != n:
        raise ValueError("sides, prices and sizes must have the same length")
    if _np.any(_np.asarray(c) < 0) or int(_np.sum(c)) != n:
        raise ValueError(f"counts must be >= 0 and sum to the row count {n}")
    d = <Delta*>malloc((n if n > 0 else 1) * sizeof(Delta))
    if d == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            d[i].side = <uint8_t>s[i]
            d[i].price = p[i]
            d[i].size = q[i]
        t0 = _perf_counter_ns()
        for k in range(c.shape[0]):
            book.apply_deltas(d + at, c[k])
            at += c[k]
        return _perf_counter_ns() - t0
    finally:
        free(d)
