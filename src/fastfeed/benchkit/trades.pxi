# Included by _benchkit.pyx. Timed loop over a trade stream's compiled path: decode +
# convert + id checks + ring record (OfflineTradeCore.route, what apply_message runs),
# the loop and the clock in C.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int64_t

from fastfeed._cdefs cimport ff_monotonic_ns
from fastfeed._trades cimport OfflineTradeCore


def bench_trades(OfflineTradeCore core, list payloads) -> tuple:
    """Route every payload once through ``core``: ``(total ns, trades recorded)``, timed
    with the monotonic clock in C. One receive stamp serves the whole run (the listener's
    per-frame clock read is not part of decoding and recording)."""
    cdef Py_ssize_t i
    cdef Py_ssize_t n = len(payloads)
    cdef bytes p
    cdef long long recorded = 0
    cdef int64_t t0, t1
    for p in payloads:              # bytes only: checked before the clock starts
        pass
    t0 = ff_monotonic_ns()
    for i in range(n):
        p = <bytes>payloads[i]
        recorded += core.route(PyBytes_AS_STRING(p), PyBytes_GET_SIZE(p), t0)
    t1 = ff_monotonic_ns()
    return t1 - t0, recorded
