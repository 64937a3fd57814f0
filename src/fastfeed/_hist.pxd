# cython: language_level=3
"""HDR-compatible latency histogram recorded from compiled code.

The bucket layout is exactly HdrHistogram's (the same ``counts_index`` as the
``hdrhistogram`` 0.10.8 Python package), so the counts can be handed to that package
to encode ``HISTFAAA...`` blobs and ``.hlog`` interval logs.

``record`` is defined here (inline) so that modules which ``cimport`` this type call
it without a vtable lookup: one clz, a shift, an increment and a few compares.
``record_into`` is the same behind a None check, for histograms a caller may not keep.

Threading: a histogram is not synchronised. Record from one thread (the event-loop
thread) and swap/read it from the same thread.
"""

from libc.stdint cimport INT32_MAX, int32_t, int64_t, uint64_t

cimport cython


# ff_clz64: count of leading zero bits; v must be non-zero (callers OR in sub_bucket_mask).
from fastfeed._cdefs cimport ff_clz64


@cython.final
cdef class LatencyHistogram:
    # The counts (``counts_len`` of them), owned here (calloc/free): int32 while
    # ``counts32`` is set (word size 4), int64 in ``counts`` otherwise. A word-4 histogram
    # widens itself to int64 the first time a bucket would pass INT32_MAX (exact, never
    # saturated; docs/memory.md). Exactly one of the two pointers is non-NULL.
    cdef int64_t* counts
    cdef int32_t* counts32
    cdef readonly int initial_word_size    # the width a reset or a new interval starts at
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
    # samples a full int32 bucket could not count because widening found no memory
    cdef readonly int64_t saturated_count
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

    cdef inline int64_t count_at(self, Py_ssize_t i) noexcept nogil:
        """The count at index i, whatever the word size."""
        if self.counts32 != NULL:
            return self.counts32[i]
        return self.counts[i]

    cdef inline void record(self, int64_t value_ns) noexcept nogil:
        """Count one value. Negative -> recorded as 0 (+negative_count);
        above highest -> recorded as highest (+overflow_count)."""
        cdef Py_ssize_t i
        if value_ns < 0:
            self.negative_count += 1
            value_ns = 0
        elif value_ns > self.highest:
            self.overflow_count += 1
            value_ns = self.highest
        i = self.index_for(value_ns)
        if self.counts32 == NULL:
            self.counts[i] += 1
        elif self.counts32[i] != INT32_MAX:
            self.counts32[i] += 1
        else:
            self.add_at_wide(i, 1)      # cold: widen to int64 first
        self._total += 1
        if value_ns < self._min:
            self._min = value_ns
        if value_ns > self._max:
            self._max = value_ns

    cdef void add_at_wide(self, Py_ssize_t i, int64_t n) noexcept nogil
    cdef int widen_c(self) noexcept nogil
    cdef void add_c(self, LatencyHistogram other) noexcept nogil
    cdef void reset_c(self) noexcept nogil
    cdef int64_t value_at_percentile_c(self, double percentile) noexcept nogil
    cdef int64_t value_from_index(self, Py_ssize_t index) noexcept nogil
    cdef int64_t lowest_equivalent(self, int64_t value) noexcept nogil
    cdef int64_t highest_equivalent(self, int64_t value) noexcept nogil
    cdef int64_t median_equivalent(self, int64_t value) noexcept nogil


cdef inline void record_into(LatencyHistogram h, int64_t value_ns) noexcept nogil:
    """``h.record(value_ns)`` unless h is None (a book or connection that keeps none)."""
    if h is not None:
        h.record(value_ns)
