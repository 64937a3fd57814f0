# Included by _benchkit.pyx. Timed loop over a BBO or ticker stream's compiled path:
# decode + convert + staleness + ring record (QuoteCore.route, what apply_message runs),
# the loop and the clock in C.

from fastfeed._quotes cimport QuoteCore


def bench_quotes(QuoteCore core, list payloads) -> tuple:
    """Route every payload once through ``core`` (an offline BboFeed / TickerFeed):
    ``(total ns, records made)``, timed with the monotonic clock in C, one receive stamp
    for the whole run (as bench_trades)."""
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
