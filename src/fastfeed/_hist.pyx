# cython: language_level=3
"""HDR-compatible latency histogram recorded from compiled code (values in ns).

``LatencyHistogram`` keeps a counts array with exactly HdrHistogram's bucket
layout (``sub_bucket_count``, ``unit_magnitude``, ``bucket_count``, ``counts_len`` and
``counts_index`` computed as by the ``hdrhistogram`` 0.10.8 package). Compiled callers
``cimport`` it and call ``hist.record(ns)`` (inline, ``noexcept nogil``); Python code uses
``record_value``. Percentiles, mean and stddev are C walks over the counts that give the
same answers as the package; ``to_hdr()`` hands the counts to the package for encoding.

Counts are int64 (``word_size=8``, the default) or int32 (``word_size=4``: half the
memory). A word-4 histogram widens itself to int64 the first time a bucket would pass
INT32_MAX, so no count is ever saturated or wrapped; a reset or a new interval
(``swap_interval``) starts at word size 4 again (docs/memory.md). The encoded blobs are
the same for both word sizes.

Out-of-range values are never dropped: values above ``highest`` are recorded as
``highest`` and counted in ``overflow_count``; negative values (clock skew) are recorded
as 0 and counted in ``negative_count``. Those two counters are not part of the HDR
format and are lost by ``to_hdr()``/``encode()``.
"""

import ctypes
import math
import sys
import time

import numpy as np

cimport cython
from libc.stdint cimport INT32_MAX, INT64_MAX, INT64_MIN, int32_t, int64_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset


def _bucket_count(highest, sub_bucket_count, unit_magnitude):
    # Same loop as hdrh.histogram.get_bucket_count.
    smallest_untrackable_value = sub_bucket_count << unit_magnitude
    buckets_needed = 1
    while smallest_untrackable_value <= highest:
        if smallest_untrackable_value > sys.maxsize // 2:
            return buckets_needed + 1
        smallest_untrackable_value <<= 1
        buckets_needed += 1
    return buckets_needed


cdef int _alloc_counts(LatencyHistogram h, int word_size) except -1:
    """Give h a zeroed counts buffer of word_size 4 or 8 (its old one is the caller's)."""
    cdef void* p = calloc(<size_t>h.counts_len, <size_t>word_size)
    if p == NULL:
        raise MemoryError(f"no memory for {h.counts_len} histogram counts")
    if word_size == 4:
        h.counts32 = <int32_t*>p
        h.counts = NULL
    else:
        h.counts = <int64_t*>p
        h.counts32 = NULL
    return 0


cdef inline void _free_counts(int64_t* counts, int32_t* counts32) noexcept nogil:
    free(counts)
    free(counts32)


@cython.final
cdef class LatencyHistogram:
    """Latency histogram in nanoseconds with HdrHistogram's exact bucket layout.

    ``LatencyHistogram(lowest=1, highest=60_000_000_000, significant_figures=3,
    word_size=8)``: 1 ns to 60 s at 3 significant digits by default (27648 counters:
    216 KiB as int64, 108 KiB with ``word_size=4``, which widens itself to int64 when a
    bucket would pass INT32_MAX). Not synchronised: record and read from one thread.
    """

    def __dealloc__(self):
        _free_counts(self.counts, self.counts32)

    def __init__(self, int64_t lowest=1, int64_t highest=60_000_000_000,
                 int significant_figures=3, int word_size=8):
        if lowest < 1:
            raise ValueError(f"lowest must be >= 1, got {lowest}")
        if highest < 2 * lowest:
            raise ValueError(f"highest must be >= 2 * lowest, got {highest}")
        if significant_figures < 1 or significant_figures > 5:
            raise ValueError(f"significant_figures must be in 1..5, got {significant_figures}")
        if highest > (1 << 62):
            raise ValueError(f"highest must be <= 2**62, got {highest}")
        if word_size != 4 and word_size != 8:
            raise ValueError(f"word_size must be 4 or 8, got {word_size}")
        # Float math on purpose: identical to hdrh.histogram.HdrHistogram.__init__.
        unit_magnitude = int(math.floor(math.log(lowest) / math.log(2)))
        largest_value_single_unit_res = 2 * math.pow(10, significant_figures)
        subb_count_mag = int(math.ceil(math.log(largest_value_single_unit_res) / math.log(2)))
        half_mag = subb_count_mag - 1 if subb_count_mag > 1 else 0
        sub_bucket_count = int(math.pow(2, half_mag + 1))
        self.lowest = lowest
        self.highest = highest
        self.significant_figures = significant_figures
        self.unit_magnitude = unit_magnitude
        self.sub_bucket_half_count_magnitude = half_mag
        self.sub_bucket_count = sub_bucket_count
        self.sub_bucket_half_count = sub_bucket_count // 2
        self.sub_bucket_mask = (sub_bucket_count - 1) << unit_magnitude
        self.bucket_count = _bucket_count(highest, sub_bucket_count, unit_magnitude)
        self.counts_len = (self.bucket_count + 1) * (sub_bucket_count // 2)
        self.initial_word_size = word_size
        _free_counts(self.counts, self.counts32)    # (__init__ called twice)
        self.counts = NULL
        self.counts32 = NULL
        _alloc_counts(self, word_size)
        self._total = 0
        self._min = INT64_MAX
        self._max = 0
        self.overflow_count = 0
        self.negative_count = 0
        self.saturated_count = 0
        self.start_time = time.time()
        self.end_time = 0.0

    # ---------------------------------------------------------------- C helpers

    cdef int widen_c(self) noexcept nogil:
        """int32 counts -> int64, in place of the old buffer (0; -1 if out of memory)."""
        cdef Py_ssize_t i
        cdef int64_t* wide
        if self.counts32 == NULL:
            return 0
        wide = <int64_t*>calloc(<size_t>self.counts_len, sizeof(int64_t))
        if wide == NULL:
            return -1
        for i in range(self.counts_len):
            wide[i] = self.counts32[i]
        free(self.counts32)
        self.counts32 = NULL
        self.counts = wide
        return 0

    cdef void add_at_wide(self, Py_ssize_t i, int64_t n) noexcept nogil:
        """Add n at index i after widening; out of memory: the bucket stays full and the
        samples are counted in ``saturated_count`` (still in the total)."""
        if self.widen_c() != 0:
            self.saturated_count += n
            self.counts32[i] = INT32_MAX
            return
        self.counts[i] += n

    cdef void add_c(self, LatencyHistogram other) noexcept nogil:
        """Add other's counts (same layout, checked by the caller). A word-4 histogram
        widens first if any sum would pass INT32_MAX."""
        cdef Py_ssize_t i
        cdef int64_t c
        if self.counts32 != NULL:
            for i in range(self.counts_len):
                if <int64_t>self.counts32[i] + other.count_at(i) > INT32_MAX:
                    self.widen_c()      # (out of memory: the loops below saturate)
                    break
        if self.counts32 != NULL:
            for i in range(self.counts_len):
                c = <int64_t>self.counts32[i] + other.count_at(i)
                if c > INT32_MAX:
                    self.saturated_count += c - INT32_MAX
                    c = INT32_MAX
                self.counts32[i] = <int32_t>c
        else:
            for i in range(self.counts_len):
                self.counts[i] += other.count_at(i)
        self._total += other._total
        if other._min < self._min:
            self._min = other._min
        if other._max > self._max:
            self._max = other._max
        self.overflow_count += other.overflow_count
        self.negative_count += other.negative_count
        self.saturated_count += other.saturated_count

    cdef void reset_c(self) noexcept nogil:
        """Zero the counts (keeping their word size) and the scalar state (not the
        timestamps)."""
        if self.counts32 != NULL:
            memset(self.counts32, 0, <size_t>self.counts_len * sizeof(int32_t))
        else:
            memset(self.counts, 0, <size_t>self.counts_len * sizeof(int64_t))
        self._total = 0
        self._min = INT64_MAX
        self._max = 0
        self.overflow_count = 0
        self.negative_count = 0
        self.saturated_count = 0

    cdef int64_t value_from_index(self, Py_ssize_t index) noexcept nogil:
        """Lowest value of the bucket at a counts index."""
        cdef int64_t bucket = (index >> self.sub_bucket_half_count_magnitude) - 1
        cdef int64_t sub = (index & (self.sub_bucket_half_count - 1)) + self.sub_bucket_half_count
        if bucket < 0:
            sub -= self.sub_bucket_half_count
            bucket = 0
        return sub << (bucket + self.unit_magnitude)

    cdef int64_t lowest_equivalent(self, int64_t value) noexcept nogil:
        """Smallest value in the same bucket as value."""
        cdef int bucket = (64 - ff_clz64(<uint64_t>(value | self.sub_bucket_mask))
                           - self.unit_magnitude - (self.sub_bucket_half_count_magnitude + 1))
        cdef int64_t sub = value >> (bucket + self.unit_magnitude)
        return sub << (bucket + self.unit_magnitude)

    cdef int64_t highest_equivalent(self, int64_t value) noexcept nogil:
        """Largest value in the same bucket as value."""
        cdef int bucket = (64 - ff_clz64(<uint64_t>(value | self.sub_bucket_mask))
                           - self.unit_magnitude - (self.sub_bucket_half_count_magnitude + 1))
        cdef int64_t sub = value >> (bucket + self.unit_magnitude)
        cdef int64_t lowest = sub << (bucket + self.unit_magnitude)
        if sub >= self.sub_bucket_count:
            bucket += 1
        return lowest + ((<int64_t>1) << (self.unit_magnitude + bucket)) - 1

    cdef int64_t median_equivalent(self, int64_t value) noexcept nogil:
        """Middle of value's bucket (what HdrHistogram's mean/stddev use)."""
        cdef int bucket = (64 - ff_clz64(<uint64_t>(value | self.sub_bucket_mask))
                           - self.unit_magnitude - (self.sub_bucket_half_count_magnitude + 1))
        cdef int64_t sub = value >> (bucket + self.unit_magnitude)
        cdef int64_t lowest = sub << (bucket + self.unit_magnitude)
        if sub >= self.sub_bucket_count:
            bucket += 1
        return lowest + (((<int64_t>1) << (self.unit_magnitude + bucket)) >> 1)

    cdef int64_t value_at_percentile_c(self, double percentile) noexcept nogil:
        """hdrh's get_value_at_percentile, as a C walk (0 when empty)."""
        cdef double requested = percentile if percentile < 100.0 else 100.0
        cdef int64_t target = <int64_t>((requested * <double>self._total / 100.0) + 0.5)
        cdef int64_t running = 0
        cdef Py_ssize_t i
        cdef int64_t v
        if target < 1:
            target = 1
        for i in range(self.counts_len):
            running += self.count_at(i)
            if running >= target:
                v = self.value_from_index(i)
                if percentile != 0.0:
                    return self.highest_equivalent(v)
                return self.lowest_equivalent(v)
        return 0

    # ---------------------------------------------------------------- Python API

    def record_value(self, value, count=1):
        """Record one value in ns, ``count`` times (same rules as the compiled
        ``record``; Python ints beyond int64 are clamped too)."""
        cdef int64_t v
        cdef int64_t n
        cdef Py_ssize_t i
        if value > INT64_MAX:
            v = INT64_MAX
        elif value < INT64_MIN:
            v = INT64_MIN
        else:
            v = value
        if count == 1:
            self.record(v)
            return
        if count < 0 or count > INT64_MAX - self._total:
            raise ValueError(f"count must be in [0, {INT64_MAX - self._total}], got {count}")
        n = count
        if n == 0:
            return
        if v < 0:
            self.negative_count += n
            v = 0
        elif v > self.highest:
            self.overflow_count += n
            v = self.highest
        i = self.index_for(v)
        if self.counts32 == NULL:
            self.counts[i] += n
        elif <int64_t>self.counts32[i] + n <= INT32_MAX:
            self.counts32[i] += <int32_t>n
        else:
            self.add_at_wide(i, n)
        self._total += n
        if v < self._min:
            self._min = v
        if v > self._max:
            self._max = v

    def record_array(self, const int64_t[::1] values not None):
        """Record every value of a contiguous int64 array (one nogil C loop)."""
        cdef Py_ssize_t i
        with nogil:
            for i in range(values.shape[0]):
                self.record(values[i])

    @property
    def total_count(self):
        """Number of values recorded (including clamped ones)."""
        return self._total

    @property
    def min(self):
        """Exact smallest recorded value after clamping (0 when empty).

        HdrHistogram's ``get_min_value`` reports the bucket's lowest equivalent instead.
        """
        return self._min if self._total else 0

    @property
    def max(self):
        """Exact largest recorded value after clamping (0 when empty).

        HdrHistogram's ``get_max_value`` (and ``percentiles((100,))``) report the bucket's
        highest equivalent instead, which can be slightly larger.
        """
        return self._max

    def counts_index(self, int64_t value):
        """Counts-array index of a value in [0, highest] (HdrHistogram's layout)."""
        if value < 0 or value > self.highest:
            raise ValueError(f"value {value} outside [0, {self.highest}]")
        return self.index_for(value)

    def count_at_index(self, Py_ssize_t index):
        """Count stored at a counts-array index."""
        if index < 0 or index >= self.counts_len:
            raise IndexError(index)
        return self.count_at(index)

    def counts_array(self):
        """A copy of the counts as an int64 numpy array of length ``counts_len``."""
        out = np.empty(self.counts_len, dtype=np.int64)
        cdef int64_t[::1] dst = out
        cdef Py_ssize_t i
        if self.counts32 == NULL:
            memcpy(&dst[0], self.counts, <size_t>self.counts_len * sizeof(int64_t))
        else:
            for i in range(self.counts_len):
                dst[i] = self.counts32[i]
        return out

    @property
    def word_size(self):
        """Bytes per count now: 4 (int32) or 8 (int64; a word-4 histogram that widened)."""
        return 4 if self.counts32 != NULL else 8

    @property
    def nbytes(self):
        """Bytes of the counts buffer (``counts_len * word_size``)."""
        return self.counts_len * (4 if self.counts32 != NULL else 8)

    def reset(self):
        """Forget everything recorded; the interval start time becomes now. A widened
        histogram goes back to its initial word size."""
        cdef int64_t* old = self.counts
        cdef int32_t* old32 = self.counts32
        if self.word_size != self.initial_word_size:
            _alloc_counts(self, self.initial_word_size)
            _free_counts(old, old32)
        self.reset_c()
        self.start_time = time.time()
        self.end_time = 0.0

    def _check_layout(self, LatencyHistogram other):
        if (other.lowest != self.lowest or other.highest != self.highest
                or other.significant_figures != self.significant_figures):
            raise ValueError(
                "histogram layouts differ: "
                f"({self.lowest}, {self.highest}, {self.significant_figures}) vs "
                f"({other.lowest}, {other.highest}, {other.significant_figures})"
            )

    def add(self, LatencyHistogram other not None):
        """Add another histogram with the same (lowest, highest, significant_figures)."""
        self._check_layout(other)
        self.add_c(other)
        if other._total:
            if other.start_time and (not self.start_time or other.start_time < self.start_time):
                self.start_time = other.start_time
            if other.end_time > self.end_time:
                self.end_time = other.end_time

    def copy(self):
        """An independent copy (counts at the same word size, totals, clamping counters,
        timestamps)."""
        cdef LatencyHistogram h = LatencyHistogram(
            self.lowest, self.highest, self.significant_figures, self.initial_word_size)
        if self.counts32 != NULL:
            memcpy(h.counts32, self.counts32, <size_t>self.counts_len * sizeof(int32_t))
        else:
            if h.widen_c() != 0:
                raise MemoryError("no memory to copy a histogram")
            memcpy(h.counts, self.counts, <size_t>self.counts_len * sizeof(int64_t))
        h._total = self._total
        h._min = self._min
        h._max = self._max
        h.overflow_count = self.overflow_count
        h.negative_count = self.negative_count
        h.saturated_count = self.saturated_count
        h.start_time = self.start_time
        h.end_time = self.end_time
        return h

    def swap_interval(self):
        """Return what was recorded since the last swap (or reset) and start afresh.

        Cheap: the counts buffer moves to the returned histogram and this one gets a
        fresh zeroed buffer at its initial word size (no copy). The returned
        histogram's ``start_time`` is the previous swap time and its ``end_time`` is now
        (seconds since the epoch). Compiled code holding a reference to this object
        keeps recording into it.
        """
        cdef LatencyHistogram iv = LatencyHistogram(
            self.lowest, self.highest, self.significant_figures, self.initial_word_size)
        cdef double now = time.time()
        # iv was built with a zeroed buffer: exchange buffers and scalar state.
        iv.counts, self.counts = self.counts, iv.counts
        iv.counts32, self.counts32 = self.counts32, iv.counts32
        iv._total, iv._min, iv._max = self._total, self._min, self._max
        iv.overflow_count, iv.negative_count = self.overflow_count, self.negative_count
        iv.saturated_count = self.saturated_count
        iv.start_time = self.start_time
        iv.end_time = now
        self._total = 0
        self._min = INT64_MAX
        self._max = 0
        self.overflow_count = 0
        self.negative_count = 0
        self.saturated_count = 0
        self.start_time = now
        self.end_time = 0.0
        return iv

    def value_at_percentile(self, double percentile):
        """Value at a percentile, identical to hdrh's ``get_value_at_percentile``."""
        if math.isnan(percentile):
            raise ValueError("percentile is NaN")
        return self.value_at_percentile_c(percentile)

    def percentiles(self, ps=(50, 90, 99, 99.9, 100)):
        """``{float(p): value}`` for each percentile, same answers as hdrh's
        ``get_value_at_percentile`` (highest equivalent value; lowest for p == 0)."""
        out = {}
        for p in ps:
            out[float(p)] = self.value_at_percentile(p)
        return out

    def mean(self):
        """Mean in ns, identical to hdrh's ``get_mean_value`` (bucket midpoints)."""
        if not self._total:
            return 0.0
        cdef Py_ssize_t i
        cdef int64_t c
        acc = 0
        for i in range(self.counts_len):
            c = self.count_at(i)
            if c:
                # Python ints: count * midpoint can exceed int64; the sum must be exact.
                acc += c * self.median_equivalent(
                    self.highest_equivalent(self.value_from_index(i)))
        return float(acc) / self._total

    def stddev(self):
        """Standard deviation in ns, as hdrh's ``get_stddev`` (bucket midpoints)."""
        if not self._total:
            return 0.0
        cdef double mean = self.mean()
        cdef double dev
        cdef double acc = 0.0
        cdef Py_ssize_t i
        cdef int64_t c
        for i in range(self.counts_len):
            c = self.count_at(i)
            if c:
                dev = <double>self.median_equivalent(
                    self.highest_equivalent(self.value_from_index(i))) - mean
                acc += (dev * dev) * <double>c
        return math.sqrt(acc / self._total)

    def to_hdr(self):
        """An ``hdrh.histogram.HdrHistogram`` with the same counts, total, min and max.

        Start/end timestamps are copied (in ms, as the package expects). The package's
        answers (percentiles, mean, stddev, encode) then match this histogram's.
        """
        from hdrh.histogram import HdrHistogram

        h = HdrHistogram(self.lowest, self.highest, self.significant_figures)
        if h.counts_len != self.counts_len:  # pragma: no cover - layout mirrors hdrh
            raise RuntimeError("hdrh layout mismatch")
        if self.counts32 == NULL:
            ctypes.memmove(ctypes.addressof(h.counts), <size_t>self.counts,
                           self.counts_len * 8)
        else:
            wide = self.counts_array()
            ctypes.memmove(ctypes.addressof(h.counts), wide.ctypes.data, self.counts_len * 8)
        h.total_count = self._total
        h.min_value = self._min if self._total else sys.maxsize
        h.max_value = self._max
        h.set_start_time_stamp(self.start_time * 1000.0)
        h.set_end_time_stamp(self.end_time * 1000.0)
        return h

    @classmethod
    def from_hdr(cls, h):
        """Build from an ``hdrh`` histogram with 8-byte counters and a compatible
        layout. min/max become the bucket bounds the package reports."""
        cdef LatencyHistogram out = LatencyHistogram(
            h.lowest_trackable_value, h.highest_trackable_value, h.significant_figures)
        if h.counts_len != out.counts_len or h.word_size != 8:
            raise ValueError("incompatible hdrh histogram")
        n = min(out.counts_len, h.encoder.payload.counts_len)
        ctypes.memmove(<size_t>out.counts, ctypes.addressof(h.counts), n * 8)
        out._total = h.total_count
        if h.total_count:
            out._min = h.min_value
            out._max = h.max_value
        start = h.get_start_time_stamp()
        out.start_time = start / 1000.0 if 0 < start < sys.maxsize else 0.0
        out.end_time = h.get_end_time_stamp() / 1000.0
        return out

    @classmethod
    def decode(cls, blob):
        """Decode a ``HISTFAAA...`` blob (as produced by ``encode``)."""
        from hdrh.histogram import HdrHistogram

        return cls.from_hdr(HdrHistogram.decode(blob))

    def encode(self):
        """The compressed, base64 ``HISTFAAA...`` blob (via the hdrhistogram package)."""
        return self.to_hdr().encode()

    def __repr__(self):
        return (f"LatencyHistogram(lowest={self.lowest}, highest={self.highest}, "
                f"significant_figures={self.significant_figures}, "
                f"word_size={self.word_size}, "
                f"total_count={self._total}, overflow_count={self.overflow_count}, "
                f"negative_count={self.negative_count})")
