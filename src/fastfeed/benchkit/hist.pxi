# Included by _benchkit.pyx: timing loops for the latency histogram (fastfeed._hist).

from libc.stdint cimport int64_t

from fastfeed._hist cimport LatencyHistogram, record_into

import time as _time

# A volatile sink for the baseline loop (keeps the compiler from removing it). The same
# helper _hist.pyx used for this loop; it moves to a shared header under include/ with
# the C helpers.
cdef extern from *:
    """
    static volatile long long ff_bench_sink;
    #define ff_bench_sink_store(v) (ff_bench_sink = (long long)(v))
    """
    void ff_bench_sink_store(int64_t v) noexcept nogil


def bench_record(LatencyHistogram hist not None, const int64_t[::1] values not None):
    """Total ns to ``hist.record`` every value in a nogil C loop (benchmarks)."""
    cdef Py_ssize_t i, n = values.shape[0]
    t0 = _time.perf_counter_ns()
    with nogil:
        for i in range(n):
            hist.record(values[i])
    return _time.perf_counter_ns() - t0


def bench_record_pair(LatencyHistogram book, LatencyHistogram connection,
                      const int64_t[::1] values not None):
    """Total ns to record every value as ``BookCore`` does: ``record_into`` the book's
    histogram and its connection's (either may be None)."""
    cdef Py_ssize_t i, n = values.shape[0]
    t0 = _time.perf_counter_ns()
    with nogil:
        for i in range(n):
            record_into(book, values[i])
            record_into(connection, values[i])
    return _time.perf_counter_ns() - t0


def bench_baseline(const int64_t[::1] values not None):
    """Total ns for the same loop with the record replaced by a volatile store."""
    cdef Py_ssize_t i, n = values.shape[0]
    t0 = _time.perf_counter_ns()
    with nogil:
        for i in range(n):
            ff_bench_sink_store(values[i])
    return _time.perf_counter_ns() - t0
