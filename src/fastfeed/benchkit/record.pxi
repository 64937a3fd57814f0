# Included by _benchkit.pyx: the recording's hot-path cost (benches/recording.py).

from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport int64_t

from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns
from fastfeed._record cimport RecordBuffer


def bench_record_frames(RecordBuffer buf not None, list payloads, long long repeats) -> tuple:
    """Append every payload ``repeats`` times with ``add_frame``, exactly as the listener
    does per message (the buffer's ``on_full`` seals as the recorder would); returns
    ``(ns, frames)``."""
    cdef Py_ssize_t i, n = len(payloads)
    cdef long long r
    cdef bytes p
    cdef int64_t t0 = monotonic_ns(), t
    for r in range(repeats):
        for i in range(n):
            p = <bytes>payloads[i]
            t = monotonic_ns()      # the listener stamps every frame
            buf.add_frame(1, t, PyBytes_AS_STRING(p), len(p), i == n - 1)
    return monotonic_ns() - t0, repeats * n


def bench_stamp_only(list payloads, long long repeats) -> tuple:
    """The same loop without ``add_frame`` (its clock reads and list walk): the baseline
    ``bench_record_frames`` is compared with."""
    cdef Py_ssize_t i, n = len(payloads)
    cdef long long r
    cdef int64_t t0 = monotonic_ns(), acc = 0
    for r in range(repeats):
        for i in range(n):
            acc += monotonic_ns() + len(<bytes>payloads[i])
    if acc == -1:       # never: keeps the clock reads in the loop
        print(acc)
    return monotonic_ns() - t0, repeats * n
