"""The compiled LatencyHistogram against the hdrhistogram package (0.10.8) it mirrors.

The reference for every property is the package's own pure-Python ``record_value``,
``get_value_at_percentile``, ``get_mean_value``, ``encode``/``decode`` and
``HistogramLogReader``. No timing assertions here (see benches/).
"""

from __future__ import annotations

import asyncio
import io
import math
import sys

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed._benchkit import bench_baseline, bench_record, bench_record_pair
from fastfeed._hist import LatencyHistogram
from fastfeed.latency import HIST_NAMES, HlogWriter, LatencySet, format_ns, summary

HIGHEST = 60_000_000_000
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)

# Bucket edges of the default layout (sub-buckets of 2048, unit 1): 2**k - 1, 2**k, 2**k + 1.
EDGES = sorted(
    {0, 1, 2, 1023, 1024, 2047, 2048, 2049, HIGHEST - 1, HIGHEST, HIGHEST + 1}
    | {(1 << k) + d for k in range(1, 36) for d in (-1, 0, 1)}
)

samples = st.lists(
    st.one_of(
        st.integers(0, 2_047),
        st.integers(0, 10**6),
        st.integers(0, HIGHEST),
        st.sampled_from(EDGES),
        st.integers(HIGHEST + 1, I64_MAX),
        st.integers(I64_MIN, -1),
    ),
    max_size=200,
)
percentile_points = st.one_of(
    st.sampled_from([0.0, 50.0, 99.9, 100.0]),
    st.floats(min_value=-5.0, max_value=105.0, allow_nan=False),
)
ALL_PS = [0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100]



def slow_ok(n: int) -> settings:
    """Hypothesis settings: n examples, no deadline (the package reference is slow)."""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def clamp(v: int, highest: int = HIGHEST) -> int:
    """What LatencyHistogram records for v (negative -> 0, > highest -> highest)."""
    return 0 if v < 0 else min(v, highest)


def ref_of(values: list[int], lowest: int = 1, highest: int = HIGHEST, sig: int = 3) -> HdrHistogram:
    """The package's histogram of the clamped values, filled by its own record_value."""
    ref = HdrHistogram(lowest, highest, sig)
    for v in values:
        assert ref.record_value(clamp(v, highest))
    return ref


def ref_counts(ref: HdrHistogram) -> np.ndarray:
    """The package's counts as int64."""
    return np.frombuffer(ref.counts, dtype=np.uint64).astype(np.int64)


def assert_same(h: LatencyHistogram, ref: HdrHistogram) -> None:
    """Counts at every index, total, min and max agree."""
    assert h.counts_len == ref.counts_len
    np.testing.assert_array_equal(h.counts_array(), ref_counts(ref))
    assert h.total_count == ref.get_total_count()
    if ref.get_total_count():
        assert h.min == ref.min_value
        assert h.max == ref.max_value
    else:
        assert (h.min, h.max) == (0, 0)


# ---------------------------------------------------------------- layout


def test_default_layout_matches_package() -> None:
    h = LatencyHistogram()
    ref = HdrHistogram(1, HIGHEST, 3)
    for attr in ("unit_magnitude", "sub_bucket_count", "sub_bucket_half_count",
                 "sub_bucket_half_count_magnitude", "sub_bucket_mask", "bucket_count",
                 "counts_len"):
        assert getattr(h, attr) == getattr(ref, attr), attr
    assert (h.lowest, h.highest, h.significant_figures) == (1, HIGHEST, 3)
    assert h.counts_len == 27648


@slow_ok(150)
@given(
    lowest=st.integers(1, 10**6),
    span=st.integers(2, 2**30),
    sig=st.integers(1, 4),
    values=st.lists(st.integers(0, 2**40), max_size=50),
)
def test_any_layout_matches_package(lowest: int, span: int, sig: int, values: list[int]) -> None:
    highest = lowest * span
    h = LatencyHistogram(lowest, highest, sig)
    ref = HdrHistogram(lowest, highest, sig)
    for attr in ("unit_magnitude", "sub_bucket_count", "sub_bucket_mask", "bucket_count",
                 "counts_len"):
        assert getattr(h, attr) == getattr(ref, attr), attr
    for v in values:
        c = clamp(v, highest)
        assert h.counts_index(c) == ref.get_counts_array_index(c)
        h.record_value(v)
        assert ref.record_value(c)
    assert_same(h, ref)


def test_invalid_layouts() -> None:
    with pytest.raises(ValueError):
        LatencyHistogram(0)
    with pytest.raises(ValueError):
        LatencyHistogram(10, 15)
    with pytest.raises(ValueError):
        LatencyHistogram(1, 1000, 0)
    with pytest.raises(ValueError):
        LatencyHistogram(1, 1000, 6)
    with pytest.raises(ValueError):
        LatencyHistogram().counts_index(-1)
    with pytest.raises(ValueError):
        LatencyHistogram().counts_index(HIGHEST + 1)


# ---------------------------------------------------------------- main equality property


@slow_ok(500)
@given(values=samples, extra_ps=st.lists(percentile_points, min_size=1, max_size=2))
def test_counts_and_percentiles_equal_package(values: list[int], extra_ps: list[float]) -> None:
    h = LatencyHistogram()
    for v in values:
        h.record_value(v)
    ref = ref_of(values)
    assert_same(h, ref)
    assert h.overflow_count == sum(v > HIGHEST for v in values)
    assert h.negative_count == sum(v < 0 for v in values)
    # One package walk for the fixed grid, plus its per-call walk on drawn points.
    expected = ref.get_percentile_to_value_dict(ALL_PS)
    got = h.percentiles(ALL_PS)
    # (the package's dict walk omits every key when the histogram is empty)
    assert got == {float(p): expected.get(p, 0) for p in ALL_PS}
    if not values:
        assert all(ref.get_value_at_percentile(p) == 0 for p in (0, 50, 100))
    for p in extra_ps:
        assert h.value_at_percentile(p) == ref.get_value_at_percentile(p), p
    # the package fed our counts answers as its reference does
    mine = h.to_hdr()
    assert mine.get_min_value() == ref.get_min_value()
    assert mine.get_max_value() == ref.get_max_value()
    assert mine.get_total_count() == ref.get_total_count()


@pytest.mark.slow      # the package reference under the sanitizers' malloc: half a minute
@slow_ok(25)
@given(values=st.lists(st.one_of(st.integers(0, 10**5), st.sampled_from(EDGES[:40])),
                       min_size=1, max_size=100))
def test_mean_stddev_equal_package(values: list[int]) -> None:
    h = LatencyHistogram()
    h.record_array(np.array(values, dtype=np.int64))
    ref = ref_of(values)
    assert h.mean() == ref.get_mean_value()
    assert h.stddev() == pytest.approx(ref.get_stddev(), rel=1e-12, abs=1e-9)


def test_get_value_at_percentile_direct_many_points() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.lognormal(9, 2, 3000), rng.integers(0, HIGHEST, 50)])
    values = values.astype(np.int64)
    h = LatencyHistogram()
    h.record_array(values)
    ref = ref_of(values.tolist())
    assert_same(h, ref)
    for p in [0, 0.0, 1e-9, 0.5, 50, 50.0, 66.6, 99, 99.9, 99.99, 99.999, 100, 100.0, 120, -3]:
        assert h.value_at_percentile(p) == ref.get_value_at_percentile(p), p
    assert h.mean() == ref.get_mean_value()
    with pytest.raises(ValueError):
        h.value_at_percentile(math.nan)


def test_empty() -> None:
    h = LatencyHistogram()
    ref = HdrHistogram(1, HIGHEST, 3)
    assert h.total_count == 0 and h.min == 0 and h.max == 0
    assert h.percentiles() == {50.0: 0, 90.0: 0, 99.0: 0, 99.9: 0, 100.0: 0}
    assert h.value_at_percentile(50) == ref.get_value_at_percentile(50)
    assert h.mean() == 0.0 and h.stddev() == 0.0
    t = h.to_hdr()
    assert t.get_total_count() == 0 and t.get_min_value() == ref.get_min_value()
    assert t.get_max_value() == 0 and t.min_value == sys.maxsize
    d = HdrHistogram.decode(h.encode())
    assert d.get_total_count() == 0
    assert LatencyHistogram.decode(h.encode()).total_count == 0


# ---------------------------------------------------------------- edges, clamping


@pytest.mark.parametrize("v", EDGES)
def test_each_edge_value(v: int) -> None:
    h = LatencyHistogram()
    h.record_value(v)
    ref = ref_of([v])
    assert_same(h, ref)
    assert h.count_at_index(h.counts_index(clamp(v))) == 1
    assert h.percentiles((0, 100)) == {
        0.0: ref.get_value_at_percentile(0), 100.0: ref.get_value_at_percentile(100)}


def test_one_and_highest() -> None:
    h = LatencyHistogram()
    h.record_value(1)
    h.record_value(HIGHEST)
    assert h.min == 1 and h.max == HIGHEST
    assert h.overflow_count == 0 and h.negative_count == 0
    assert h.counts_index(1) == 1
    assert h.counts_index(HIGHEST) == HdrHistogram(1, HIGHEST, 3).get_counts_array_index(HIGHEST)
    assert h.counts_index(HIGHEST) < h.counts_len


def test_above_highest_is_clamped_and_counted() -> None:
    h = LatencyHistogram()
    for v in (HIGHEST + 1, 10**15, I64_MAX, 10**30):
        h.record_value(v)
    h.record_value(-(10**30))
    assert h.negative_count == 1 and h.count_at_index(0) == 1
    assert h.total_count == 5 and h.overflow_count == 4
    assert h.max == HIGHEST
    assert h.count_at_index(h.counts_index(HIGHEST)) == 4


def test_negative_is_recorded_as_zero_and_counted() -> None:
    h = LatencyHistogram()
    for v in (-1, -(10**12), I64_MIN):
        h.record_value(v)
    h.record_value(5)
    assert h.total_count == 4 and h.negative_count == 3
    assert h.count_at_index(0) == 3 and h.min == 0 and h.max == 5
    assert h.value_at_percentile(50) == 0


def test_record_array_same_as_record_value() -> None:
    rng = np.random.default_rng(1)
    vals = rng.integers(-(10**6), HIGHEST * 2, 5000, dtype=np.int64)
    a, b = LatencyHistogram(), LatencyHistogram()
    a.record_array(vals)
    for v in vals.tolist():
        b.record_value(v)
    np.testing.assert_array_equal(a.counts_array(), b.counts_array())
    assert (a.total_count, a.min, a.max, a.overflow_count, a.negative_count) == (
        b.total_count, b.min, b.max, b.overflow_count, b.negative_count)


# ---------------------------------------------------------------- encode / decode


@slow_ok(60)
@given(values=samples)
def test_encoded_blob_decodes_with_package(values: list[int]) -> None:
    h = LatencyHistogram()
    for v in values:
        h.record_value(v)
    ref = ref_of(values)
    blob = h.encode()
    assert blob.startswith(b"HISTFAAA")
    assert blob == ref.encode()
    dec = HdrHistogram.decode(blob)
    np.testing.assert_array_equal(ref_counts(dec), ref_counts(ref))
    assert dec.get_total_count() == len(values)
    back = LatencyHistogram.decode(blob)
    np.testing.assert_array_equal(back.counts_array(), h.counts_array())
    assert back.total_count == h.total_count


def test_to_hdr_answers_and_from_hdr_round_trip() -> None:
    rng = np.random.default_rng(3)
    vals = rng.lognormal(10, 1.5, 2000).astype(np.int64)
    h = LatencyHistogram()
    h.record_array(vals)
    t = h.to_hdr()
    assert t.get_mean_value() == h.mean()
    assert t.get_stddev() == pytest.approx(h.stddev(), rel=1e-12)
    assert t.get_value_at_percentile(99.9) == h.value_at_percentile(99.9)
    r = LatencyHistogram.from_hdr(t)
    np.testing.assert_array_equal(r.counts_array(), h.counts_array())
    assert (r.total_count, r.min, r.max) == (h.total_count, h.min, h.max)
    small = LatencyHistogram.from_hdr(HdrHistogram(1, 1000, 3))
    assert (small.lowest, small.highest, small.total_count) == (1, 1000, 0)
    with pytest.raises(ValueError):
        LatencyHistogram.from_hdr(HdrHistogram(1, 1000, 3, word_size=4))


# ---------------------------------------------------------------- add / copy / swap


@slow_ok(50)
@given(a=samples, b=samples)
def test_add_equals_recording_both(a: list[int], b: list[int]) -> None:
    ha, hb = LatencyHistogram(), LatencyHistogram()
    for v in a:
        ha.record_value(v)
    for v in b:
        hb.record_value(v)
    ha.add(hb)
    assert_same(ha, ref_of(a + b))
    assert ha.overflow_count == sum(v > HIGHEST for v in a + b)
    assert ha.negative_count == sum(v < 0 for v in a + b)


def test_add_layout_mismatch() -> None:
    with pytest.raises(ValueError):
        LatencyHistogram().add(LatencyHistogram(1, 1_000_000, 3))
    with pytest.raises(ValueError):
        LatencyHistogram().add(LatencyHistogram(1, HIGHEST, 2))


def test_copy_is_independent() -> None:
    h = LatencyHistogram()
    h.record_value(100)
    h.record_value(-1)
    c = h.copy()
    h.record_value(5000)
    assert c.total_count == 2 and c.negative_count == 1 and c.max == 100
    assert h.total_count == 3
    assert c.start_time == h.start_time


def test_swap_interval_semantics() -> None:
    h = LatencyHistogram()
    for v in (10, 20, -5, HIGHEST + 7):
        h.record_value(v)
    i1 = h.swap_interval()
    assert i1 is not h
    assert i1.total_count == 4 and i1.negative_count == 1 and i1.overflow_count == 1
    assert (i1.min, i1.max) == (0, HIGHEST)
    assert h.total_count == 0 and h.overflow_count == 0 and h.negative_count == 0
    assert not h.counts_array().any() and (h.min, h.max) == (0, 0)
    assert i1.end_time >= i1.start_time and h.start_time == i1.end_time
    h.record_value(30)
    i2 = h.swap_interval()
    assert i2.total_count == 1 and i2.min == 30
    assert i2.start_time == i1.end_time
    # the first interval was not touched by later records
    assert i1.total_count == 4
    both = i1.copy()
    both.add(i2)
    assert_same(both, ref_of([10, 20, -5, HIGHEST + 7, 30]))
    empty = h.swap_interval()
    assert empty.total_count == 0


def test_reset() -> None:
    h = LatencyHistogram()
    h.record_value(-1)
    h.record_value(HIGHEST * 2)
    h.reset()
    assert (h.total_count, h.min, h.max, h.overflow_count, h.negative_count) == (0, 0, 0, 0, 0)
    assert not h.counts_array().any()


# ---------------------------------------------------------------- word size 4 (int32 counts)

I32_MAX = 2**31 - 1


@slow_ok(100)
@given(
    sig=st.integers(1, 3),
    weighted=st.lists(st.tuples(st.one_of(st.integers(0, 10**7), st.sampled_from(EDGES),
                                          st.integers(I64_MIN, -1)),
                                st.sampled_from([1, 2, 1000, I32_MAX - 1, I32_MAX, 2**31])),
                      max_size=12),
)
def test_word4_equals_package_and_word8(sig: int, weighted: list[tuple[int, int]]) -> None:
    """int32 counts (widened on demand) answer exactly as int64 counts and the package."""
    h4 = LatencyHistogram(1, HIGHEST, sig, word_size=4)
    h8 = LatencyHistogram(1, HIGHEST, sig)
    ref = HdrHistogram(1, HIGHEST, sig)
    for v, n in weighted:
        h4.record_value(v, n)
        h8.record_value(v, n)
        assert ref.record_value(clamp(v), n)
    assert_same(h4, ref)
    np.testing.assert_array_equal(h4.counts_array(), h8.counts_array())
    assert h4.negative_count == h8.negative_count
    # widened exactly when some bucket passed INT32_MAX
    assert h4.word_size == (8 if h8.counts_array().max(initial=0) > I32_MAX else 4)
    assert h4.saturated_count == 0
    assert h4.encode() == h8.encode() == ref.encode()
    assert h4.percentiles(ALL_PS) == h8.percentiles(ALL_PS)


def test_word4_widens_from_the_compiled_record_at_the_boundary() -> None:
    h = LatencyHistogram(word_size=4)
    assert (h.word_size, h.nbytes) == (4, h.counts_len * 4)
    h.record_value(3_000, I32_MAX - 1)
    bench_record(h, np.array([3_000], dtype=np.int64))      # the inline record
    assert h.word_size == 4 and h.count_at_index(h.counts_index(3_000)) == I32_MAX
    bench_record(h, np.array([3_000, 3_000, 7], dtype=np.int64))
    assert (h.word_size, h.nbytes) == (8, h.counts_len * 8)
    assert h.count_at_index(h.counts_index(3_000)) == I32_MAX + 2
    assert h.count_at_index(h.counts_index(7)) == 1
    assert h.total_count == I32_MAX + 3 and h.saturated_count == 0
    dec = HdrHistogram.decode(h.encode())
    assert dec.get_count_at_value(3_000) == I32_MAX + 2


def test_word4_add_widens_when_a_sum_would_overflow() -> None:
    a = LatencyHistogram(word_size=4)
    a.record_value(50, I32_MAX)
    b = LatencyHistogram(word_size=4)
    b.record_value(60, 5)
    a.add(b)
    assert a.word_size == 4                      # no bucket passed INT32_MAX
    b.record_value(50)
    a.add(b)
    assert a.word_size == 8
    assert a.count_at_index(a.counts_index(50)) == I32_MAX + 1
    assert a.count_at_index(a.counts_index(60)) == 10
    wide = LatencyHistogram()                    # word 8 into word 4 and back
    wide.record_value(50, 3)
    n = LatencyHistogram(word_size=4)
    n.add(wide)
    wide.add(n)
    assert (n.word_size, n.count_at_index(n.counts_index(50))) == (4, 3)
    assert wide.count_at_index(wide.counts_index(50)) == 6


def test_word4_copy_swap_reset_keep_or_restore_the_word_size() -> None:
    h = LatencyHistogram(1, HIGHEST, 1, word_size=4)
    assert h.initial_word_size == 4 and h.counts_len == 528
    h.record_value(10, 2**31)
    assert h.word_size == 8
    c = h.copy()
    assert c.word_size == 8 and c.initial_word_size == 4
    np.testing.assert_array_equal(c.counts_array(), h.counts_array())
    iv = h.swap_interval()                       # the widened buffer leaves with the interval
    assert (iv.word_size, iv.total_count) == (8, 2**31)
    assert (h.word_size, h.total_count) == (4, 0)
    h.record_value(10, 2**31)
    h.reset()
    assert (h.word_size, h.total_count) == (4, 0) and not h.counts_array().any()
    with pytest.raises(ValueError):
        LatencyHistogram(word_size=2)
    with pytest.raises(ValueError):
        h.record_value(1, -1)


# ---------------------------------------------------------------- .hlog


def read_all(path: str) -> tuple[HistogramLogReader, list[HdrHistogram]]:
    """Every interval of an .hlog via the package's reader."""
    reader = HistogramLogReader(path, HdrHistogram(1, HIGHEST, 3))
    out = []
    while (h := reader.get_next_interval_histogram()) is not None:
        out.append(h)
    reader.close()
    return reader, out


def test_hlog_round_trip_with_package_reader(tmp_path) -> None:
    path = str(tmp_path / "lat.hlog")
    t0 = 1_790_000_000.25
    rng = np.random.default_rng(5)
    written = []
    with HlogWriter(path, start_time=t0, comment="unit test") as w:
        assert w.base_time == t0
        for k in range(4):
            h = LatencyHistogram()
            h.record_array(rng.lognormal(9, 1, 500 + k).astype(np.int64))
            h.start_time, h.end_time = t0 + 10 * k, t0 + 10 * (k + 1)
            w.write_interval(h, tag="recv_to_apply" if k % 2 else None)
            written.append(h)
    text = open(path, encoding="utf-8").read()
    assert "#[StartTime: 1790000000.250 (seconds since epoch), 2026-" in text
    assert "#[BaseTime: 1790000000.250 (seconds since epoch)]" in text
    assert '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"' in text
    reader, got = read_all(path)
    assert reader.get_start_time_sec() == pytest.approx(t0)
    assert len(got) == 4
    for k, (h, r) in enumerate(zip(written, got, strict=True)):
        np.testing.assert_array_equal(ref_counts(r), h.counts_array())
        assert r.get_total_count() == h.total_count
        assert r.get_tag() == ("recv_to_apply" if k % 2 else None)
        assert r.get_start_time_stamp() == pytest.approx((t0 + 10 * k) * 1000, abs=1)
        assert r.get_end_time_stamp() == pytest.approx((t0 + 10 * (k + 1)) * 1000, abs=1)


def test_hlog_interval_line_format_and_tag_validation() -> None:
    buf = io.StringIO()
    w = HlogWriter(buf, start_time=100.0)
    h = LatencyHistogram()
    h.record_value(2_500_000)
    w.write_interval(h, start=101.5, end=103.0, tag="x")
    w.write_interval(h.to_hdr(), start=103.0, end=104.0)
    # starts before base time: logged as starting at base time
    w.write_interval(h, start=99.0, end=100.5)
    lines = buf.getvalue().splitlines()
    assert lines[-3].startswith("Tag=x,1.500,1.500,2.501,HISTFAAA")
    assert lines[-2].startswith("3.000,1.000,2.501,HISTFAAA")
    assert lines[-1].startswith("0.000,0.500,")
    for bad in ("", "a,b", "a b"):
        with pytest.raises(ValueError):
            w.write_interval(h, start=101, end=102, tag=bad)
    with pytest.raises(ValueError):
        w.write_interval(h, start=105, end=104)
    w.close()
    assert not buf.closed


# ---------------------------------------------------------------- LatencySet / helpers


def test_latency_set_rotate_keeps_cumulative() -> None:
    ls = LatencySet()
    live = ls.recv_to_apply
    ls.recv_to_apply.record_value(1000)
    ls.record_exchange_to_recv(5_000, 2_000)  # venue clock ahead: negative, clamped
    ls.record_exchange_to_recv(2_000, 5_000)
    iv = ls.rotate()
    assert set(iv) == set(HIST_NAMES)
    assert iv["recv_to_apply"].total_count == 1
    assert iv["exchange_to_recv"].negative_count == 1
    assert iv["exchange_to_recv"].max == 3_000
    assert ls.recv_to_apply is live and live.total_count == 0
    live.record_value(2000)
    iv2 = ls.rotate()
    assert iv2["recv_to_apply"].total_count == 1
    live.record_value(3000)
    cum = ls.cumulative("recv_to_apply")
    assert cum.total_count == 3 and (cum.min, cum.max) == (1000, 3000)
    assert ls.cumulative("exchange_to_recv").negative_count == 1
    s = ls.summaries()
    assert s["recv_to_apply"]["count"] == 3 and s["resync_duration"]["count"] == 0
    ls.reset()
    assert ls.cumulative("recv_to_apply").total_count == 0


def test_run_rotation_task(tmp_path) -> None:
    ls = LatencySet()
    path = str(tmp_path / "rot.hlog")
    seen: list[dict[str, LatencyHistogram]] = []

    async def on_interval(iv: dict[str, LatencyHistogram]) -> None:
        seen.append(iv)

    async def main() -> None:
        with HlogWriter(path) as w:
            task = asyncio.create_task(
                ls.run_rotation(0.01, on_interval=on_interval, writer=w))
            for _ in range(3):
                ls.recv_to_apply.record_value(777)
                await asyncio.sleep(0.012)
            while len(seen) < 3:
                await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    total = sum(iv["recv_to_apply"].total_count for iv in seen)
    assert total + ls.recv_to_apply.total_count == 3
    _, got = read_all(path)
    assert sum(r.get_total_count() for r in got) == total
    assert {r.get_tag() for r in got} <= {"recv_to_apply"}
    with pytest.raises(ValueError):
        asyncio.run(ls.run_rotation(0))


def test_summary_keys_and_package_input() -> None:
    h = LatencyHistogram()
    h.record_array(np.arange(1, 10_001, dtype=np.int64))
    h.record_value(-1)
    s = summary(h)
    ref = ref_of([*range(1, 10_001), 0])
    assert s["count"] == 10_001 and s["negative"] == 1 and s["overflow"] == 0
    assert s["p50"] == ref.get_value_at_percentile(50)
    assert s["p99.9"] == ref.get_value_at_percentile(99.9)
    assert s["max"] == ref.get_max_value() >= s["p99.9"]
    assert s["mean"] == ref.get_mean_value()
    s2 = summary(h.to_hdr())
    assert {k: s2[k] for k in s2} == {k: s[k] for k in s2}


@pytest.mark.parametrize(
    ("v", "text"),
    [(0, "0 ns"), (812, "812 ns"), (999.4, "999 ns"), (999.6, "1.0 µs"), (3_412, "3.4 µs"),
     (999_949, "999.9 µs"), (999_960, "1.00 ms"), (1_204_000, "1.20 ms"),
     (2_500_000_000, "2.50 s"), (-3_400, "-3.4 µs"), (math.nan, "nan")],
)
def test_format_ns(v: float, text: str) -> None:
    assert format_ns(v) == text


def test_bench_helpers_smoke() -> None:
    vals = np.arange(100, dtype=np.int64)
    h = LatencyHistogram()
    assert bench_record(h, vals) >= 0 and bench_baseline(vals) >= 0
    assert h.total_count == 100
    # record_into skips a histogram a book or connection does not keep (None)
    book, conn = LatencyHistogram(1, HIGHEST, 1, word_size=4), LatencyHistogram(word_size=4)
    assert bench_record_pair(book, conn, vals) >= 0
    assert bench_record_pair(None, conn, vals) >= 0 and bench_record_pair(book, None, vals) >= 0
    assert (book.total_count, conn.total_count) == (200, 200)
