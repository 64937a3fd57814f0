"""Stub for the compiled HDR-compatible latency histogram (values in ns)."""

from collections.abc import Iterable
from typing import final

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

@final
class LatencyHistogram:
    """Latency histogram in nanoseconds with HdrHistogram's exact bucket layout."""

    initial_word_size: int
    lowest: int
    highest: int
    significant_figures: int
    unit_magnitude: int
    sub_bucket_half_count_magnitude: int
    sub_bucket_count: int
    sub_bucket_half_count: int
    sub_bucket_mask: int
    bucket_count: int
    counts_len: int
    overflow_count: int
    negative_count: int
    saturated_count: int
    start_time: float
    end_time: float

    def __init__(
        self, lowest: int = 1, highest: int = 60_000_000_000, significant_figures: int = 3,
        word_size: int = 8,
    ) -> None: ...
    def record_value(self, value: int, count: int = 1) -> None:
        """Record one value in ns ``count`` times (negative -> 0, above highest -> highest;
        both counted)."""
    def record_array(self, values: npt.NDArray[np.int64]) -> None:
        """Record every value of a contiguous int64 array."""
    @property
    def total_count(self) -> int:
        """Number of values recorded."""
    @property
    def min(self) -> int:
        """Exact smallest recorded value after clamping (0 when empty)."""
    @property
    def max(self) -> int:
        """Exact largest recorded value after clamping (0 when empty)."""
    def counts_index(self, value: int) -> int:
        """Counts-array index of a value in [0, highest]."""
    def count_at_index(self, index: int) -> int:
        """Count stored at a counts-array index."""
    def counts_array(self) -> npt.NDArray[np.int64]:
        """A copy of the counts."""
    @property
    def word_size(self) -> int:
        """Bytes per count now: 4 (int32) or 8 (int64)."""
    @property
    def nbytes(self) -> int:
        """Bytes of the counts buffer."""
    def reset(self) -> None:
        """Forget everything recorded."""
    def add(self, other: LatencyHistogram) -> None:
        """Add a histogram with the same layout."""
    def copy(self) -> LatencyHistogram:
        """An independent copy."""
    def swap_interval(self) -> LatencyHistogram:
        """Return the counts since the last swap and start afresh (buffer swap, no copy)."""
    def value_at_percentile(self, percentile: float) -> int:
        """Value at a percentile, identical to hdrh's get_value_at_percentile."""
    def percentiles(self, ps: Iterable[float] = (50, 90, 99, 99.9, 100)) -> dict[float, int]:
        """{float(p): value} for each percentile."""
    def mean(self) -> float:
        """Mean in ns, identical to hdrh's get_mean_value."""
    def stddev(self) -> float:
        """Standard deviation in ns, as hdrh's get_stddev."""
    def to_hdr(self) -> HdrHistogram:
        """An hdrh HdrHistogram with the same counts, total, min, max and timestamps."""
    @classmethod
    def from_hdr(cls, h: HdrHistogram) -> LatencyHistogram:
        """Build from a compatible hdrh histogram."""
    @classmethod
    def decode(cls, blob: bytes | str) -> LatencyHistogram:
        """Decode a HISTFAAA... blob."""
    def encode(self) -> bytes:
        """The compressed base64 HISTFAAA... blob."""
