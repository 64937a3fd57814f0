# cython: language_level=3
"""HDR-compatible latency histogram recorded from compiled code (values in ns).

``LatencyHistogram`` keeps an int64 counts array with exactly HdrHistogram's bucket
layout (``sub_bucket_count``, ``unit_magnitude``, ``bucket_count``, ``counts_len`` and
``counts_index`` computed as by the ``hdrhistogram`` 0.10.8 package). Compiled callers
``cimport`` it and call ``hist.record(ns)`` (inline, ``noexcept nogil``); Python code uses
``record_value``. Percentiles, mean and stddev are C walks over the counts that give the
same answers as the package; ``to_hdr()`` hands the counts to the package for encoding.

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
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint64_t
from libc.string cimport memcpy


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


cdef inline int64_t* _ptr(object arr):
    cdef int64_t[::1] view = arr
    return &view[0]


@cython.final
cdef class LatencyHistogram:
    """Latency histogram in nanoseconds with HdrHistogram's exact bucket layout.

    ``LatencyHistogram(lowest=1, highest=60_000_000_000, significant_figures=3)``: 1 ns
    to 60 s at 3 significant digits by default (27648 int64 counters, 216 KiB).
    Not synchronised: record and read from one thread.
    """

    def __init__(self, int64_t lowest=1, int64_t highest=60_000_000_000,
                 int significant_figures=3):
        if lowest < 1:
            raise ValueError(f"lowest must be >= 1, got {lowest}")
        if highest < 2 * lowest:
            raise ValueError(f"highest must be >= 2 * lowest, got {highest}")
        if significant_figures < 1 or significant_figures > 5:
            raise ValueError(f"significant_figures must be in 1..5, got {significant_figures}")
        if highest > (1 << 62):
            raise ValueError(f"highest must be <= 2**62, got {highest}")
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
        self._counts_arr = np.zeros(self.counts_len, dtype=np.int64)
        self.counts = _ptr(self._counts_arr)
        self._total = 0
        self._min = INT64_MAX
        self._max = 0
        self.overflow_count = 0
        self.negative_count = 0
        self.start_time = time.time()
        self.end_time = 0.0

    # ---------------------------------------------------------------- C helpers

    cdef void add_c(self, LatencyHistogram other) noexcept nogil:
        """Add other's counts (same layout, checked by the caller)."""
        cdef Py_ssize_t i
        cdef int64_t* dst = self.counts
        cdef int64_t* src = other.counts
        for i in range(self.counts_len):
            dst[i] += src[i]
        self._total += other._total
        if other._min < self._min:
            self._min = other._min
        if other._max > self._max:
            self._max = other._max
        self.overflow_count += other.overflow_count
        self.negative_count += other.negative_count

    cdef void reset_c(self) noexcept nogil:
        """Zero the counts and the scalar state (not the timestamps)."""
        cdef Py_ssize_t i
        for i in range(self.counts_len):
            self.counts[i] = 0
        self._total = 0
        self._min = INT64_MAX
        self._max = 0
        self.overflow_count = 0
        self.negative_count = 0

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
            running += self.counts[i]
            if running >= target:
                v = self.value_from_index(i)
                if percentile != 0.0:
                    return self.highest_equivalent(v)
                return self.lowest_equivalent(v)
        return 0

    # ---------------------------------------------------------------- Python API

    def record_value(self, value):
        """Record one value in ns (same rules as the compiled ``record``; Python ints
        beyond int64 are clamped too)."""
        cdef int64_t v
        if value > INT64_MAX:
            v = INT64_MAX
        elif value < INT64_MIN:
            v = INT64_MIN
        else:
            v = value
        self.record(v)

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
        return self.counts[index]

    def counts_array(self):
        """A copy of the counts as an int64 numpy array of length ``counts_len``."""
        return self._counts_arr.copy()

    def reset(self):
        """Forget everything recorded; the interval start time becomes now."""
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
        """An independent copy (counts, totals, clamping counters, timestamps)."""
        cdef LatencyHistogram h = LatencyHistogram(
            self.lowest, self.highest, self.significant_figures)
        memcpy(h.counts, self.counts, <size_t>self.counts_len * sizeof(int64_t))
        h._total = self._total
        h._min = self._min
        h._max = self._max
        h.overflow_count = self.overflow_count
        h.negative_count = self.negative_count
        h.start_time = self.start_time
        h.end_time = self.end_time
        return h

    def swap_interval(self):
        """Return what was recorded since the last swap (or reset) and start afresh.

        Cheap: the counts buffer moves to the returned histogram and this one gets a
        fresh zeroed buffer (no copy). The returned histogram's ``start_time`` is the
        previous swap time and its ``end_time`` is now (seconds since the epoch).
        Compiled code holding a reference to this object keeps recording into it.
        """
        cdef LatencyHistogram iv = LatencyHistogram(
            self.lowest, self.highest, self.significant_figures)
        cdef double now = time.time()
        # iv was built with a zeroed buffer: exchange buffers and scalar state.
        iv._counts_arr, self._counts_arr = self._counts_arr, iv._counts_arr
        iv.counts, self.counts = self.counts, iv.counts
        iv._total, iv._min, iv._max = self._total, self._min, self._max
        iv.overflow_count, iv.negative_count = self.overflow_count, self.negative_count
        iv.start_time = self.start_time
        iv.end_time = now
        self._total = 0
        self._min = INT64_MAX
        self._max = 0
        self.overflow_count = 0
        self.negative_count = 0
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
            c = self.counts[i]
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
            c = self.counts[i]
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
        ctypes.memmove(ctypes.addressof(h.counts), <size_t>self.counts,
                       self.counts_len * 8)
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
                f"total_count={self._total}, overflow_count={self.overflow_count}, "
                f"negative_count={self.negative_count})")
