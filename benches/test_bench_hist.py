"""pytest-benchmark suite for the latency histogram.

Run ``pytest benches/test_bench_hist.py --benchmark-enable``; with the default
``--benchmark-disable`` each benchmark body runs once as a smoke test.
"""

from __future__ import annotations

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from fastfeed._benchkit import bench_baseline, bench_record
from fastfeed._hist import LatencyHistogram

HIGHEST = 60_000_000_000
N = 100_000


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    """µs-scale lognormal latencies in ns."""
    rng = np.random.default_rng(1)
    return np.ascontiguousarray(rng.lognormal(np.log(3_000), 0.6, N).astype(np.int64))


@pytest.fixture(scope="module")
def filled(values: np.ndarray) -> LatencyHistogram:
    """A histogram holding ``values``."""
    h = LatencyHistogram()
    h.record_array(values)
    return h


def test_record_c_loop(benchmark, values: np.ndarray) -> None:
    """N records from a nogil C loop (divide by N for ns per record)."""
    h = LatencyHistogram()
    benchmark(bench_record, h, values)
    assert h.total_count >= N


def test_baseline_c_loop(benchmark, values: np.ndarray) -> None:
    """The same loop with a volatile store instead of the record."""
    assert benchmark(bench_baseline, values) >= 0


def test_record_value_from_python(benchmark) -> None:
    """One LatencyHistogram.record_value call from Python."""
    h = LatencyHistogram()
    benchmark(h.record_value, 3_141)
    assert h.total_count >= 1


def test_hdrh_record_value_from_python(benchmark) -> None:
    """One hdrhistogram record_value call (pure Python), for comparison."""
    ref = HdrHistogram(1, HIGHEST, 3)
    assert benchmark(ref.record_value, 3_141)


def test_percentiles(benchmark, filled: LatencyHistogram) -> None:
    """Five percentiles by C walk."""
    res = benchmark(filled.percentiles)
    assert res[50.0] <= res[99.9] <= res[100.0]


def test_swap_interval(benchmark, values: np.ndarray) -> None:
    """Interval rotation (buffer swap + fresh zeroed buffer)."""
    h = LatencyHistogram()
    h.record_array(values)
    iv = benchmark(h.swap_interval)
    assert iv.total_count in (0, N)


def test_encode(benchmark, filled: LatencyHistogram) -> None:
    """to_hdr + the package's encode (HISTFAAA blob)."""
    assert benchmark(filled.encode).startswith(b"HISTFAAA")
