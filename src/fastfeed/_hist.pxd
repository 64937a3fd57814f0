# cython: language_level=3
"""HDR-compatible latency histogram recorded from compiled code.

The bucket layout is exactly HdrHistogram's (the same ``counts_index`` as the
``hdrhistogram`` 0.10.8 Python package), so the counts can be handed to that package
to encode ``HISTFAAA...`` blobs and ``.hlog`` interval logs.

``record`` is defined here (inline) so that modules which ``cimport`` this type call
it without a vtable lookup: one clz, a shift, an increment and two compares.

Threading: a histogram is not synchronised. Record from one thread (the event-loop
thread) and swap/read it from the same thread.
"""

from libc.stdint cimport int64_t, uint64_t

cimport cython


# ff_clz64: count of leading zero bits; v must be non-zero (callers OR in sub_bucket_mask).
from fastfeed._cdefs cimport ff_clz64


@cython.final
cdef class LatencyHistogram:
    # numpy int64 array owning the counts; `counts` points into it (swapped on rotation)
    cdef object _counts_arr
    cdef int64_t* counts
    cdef readonly int64_t lowest
    cdef readonly int64_t highest
    cdef readonly int significant_figures
    cdef readonly int unit_magnitude
    cdef readonly int sub_bucket_half_count_magnitude
    cdef readonly int64_t sub_bucket_count
    cdef readonly int64_t sub_bucket_half_count
    cdef readonly int64_t sub_bucket_mask
    cdef readonly int bucket_count
    cdef readonly Py_ssize_t counts_len
    cdef int64_t _total
    cdef int64_t _min          # raw (exact) smallest recorded value, INT64_MAX when empty
    cdef int64_t _max          # raw (exact) largest recorded value, 0 when empty
    cdef readonly int64_t overflow_count
    cdef readonly int64_t negative_count
    # wall-clock seconds since the epoch bounding the interval (set by swap_interval)
    cdef public double start_time
    cdef public double end_time

    cdef inline Py_ssize_t index_for(self, int64_t value) noexcept nogil:
        """Counts index of a value in [0, highest] (HdrHistogram's counts_index)."""
        cdef int bucket = (64 - ff_clz64(<uint64_t>(value | self.sub_bucket_mask))
                           - self.unit_magnitude - (self.sub_bucket_half_count_magnitude + 1))
        cdef int64_t sub = value >> (bucket + self.unit_magnitude)
        return <Py_ssize_t>((<int64_t>(bucket + 1) << self.sub_bucket_half_count_magnitude)
                            + sub - self.sub_bucket_half_count)

    cdef inline void record(self, int64_t value_ns) noexcept nogil:
        """Count one value. Negative -> recorded as 0 (+negative_count);
        above highest -> recorded as highest (+overflow_count)."""
        if value_ns < 0:
            self.negative_count += 1
            value_ns = 0
        elif value_ns > self.highest:
            self.overflow_count += 1
            value_ns = self.highest
        self.counts[self.index_for(value_ns)] += 1
        self._total += 1
        if value_ns < self._min:
            self._min = value_ns
        if value_ns > self._max:
            self._max = value_ns

    cdef void add_c(self, LatencyHistogram other) noexcept nogil
    cdef void reset_c(self) noexcept nogil
    cdef int64_t value_at_percentile_c(self, double percentile) noexcept nogil
    cdef int64_t value_from_index(self, Py_ssize_t index) noexcept nogil
    cdef int64_t lowest_equivalent(self, int64_t value) noexcept nogil
    cdef int64_t highest_equivalent(self, int64_t value) noexcept nogil
    cdef int64_t median_equivalent(self, int64_t value) noexcept nogil
