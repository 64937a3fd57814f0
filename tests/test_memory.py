"""Memory per book (docs/memory.md): the ``memory()`` accounting adds up, every default
book stays under ``BOOK_MEMORY_BOUND`` beyond its level arrays (also with every histogram
widened to int64), the scratch batch is cut back after a snapshot, and the latency modes
record what they say. Accounting only: no RSS or timing assertions (benches/memory.py
measures RSS)."""

from __future__ import annotations

import sys

import pytest

from fastfeed import BookFeed, Engine
from fastfeed._core import BOOK_MEMORY_BOUND, BookCore
from fastfeed._router import Router
from fastfeed.bench.workload import make_workload
from fastfeed.engine import LiveBook
from fastfeed.latency import (
    BOOK_LATENCY,
    CONNECTION_SIGNIFICANT_FIGURES,
    HIST_NAMES,
    book_latency_set,
    connection_latency_set,
)
from fastfeed.venues import Instrument

PARTS = ("levels", "latency", "scratch", "buffer", "objects")
I32_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def work():
    """A 1000-level-a-side Binance spot book and 60 depth events of ~30 changes."""
    return make_workload("binance", messages=60, depth=1000)


def live_book(work, mode: str = "coarse"):
    """A LiveBook as an engine holds it: snapshot loaded, fed through a router with a
    connection LatencySet attached (what Connection.add wires), rotated once."""
    book = LiveBook("binance", "BTCUSDT", Instrument("BTCUSDT", work.tick_size, work.step_size),
                    mode)
    conn = connection_latency_set()
    book._attach_latency(conn)
    router = Router("binance", None, [book])
    assert book.apply_snapshot(work.snapshot) == "live"
    for m in work.messages[:30]:
        router.route_payload(m)
    if book.latency is not None:
        book.last_intervals = book.latency.rotate()
    for m in work.messages[30:]:
        router.route_payload(m)
    assert book.is_live
    return book, conn, router


def hist_bytes(hists) -> int:
    return sum(h.nbytes + sys.getsizeof(h) for h in hists)


def test_parts_add_up(work) -> None:
    book, _, _ = live_book(work)
    m = book.memory()
    assert set(m) == {*PARTS, "total", "beyond_levels"}
    assert m["total"] == sum(m[p] for p in PARTS)
    assert m["beyond_levels"] == m["total"] - m["levels"]
    assert m["levels"] >= 2 * 1000 * 16            # 1000 levels a side, int64 price + size
    # latency: the set (4 live + 4 cumulative after the rotation) plus last_intervals
    assert len(book.latency.histograms()) == 8 and len(book.last_intervals) == 4
    assert m["latency"] == (book.latency.memory_bytes() + hist_bytes(book.last_intervals.values())
                            + sys.getsizeof(book.last_intervals))
    assert book.latency.memory_bytes() >= hist_bytes(book.latency.histograms())
    # coarse: 528 int32 counts each (1 ns..60 s at 1 significant figure)
    assert {(h.counts_len, h.word_size) for h in book.latency.histograms()} == {(528, 4)}
    assert m["buffer"] == sys.getsizeof([])         # live: nothing buffered


def test_default_book_stays_under_the_bound(work) -> None:
    book, _, _ = live_book(work)
    assert book.book_latency == "coarse"
    assert book.memory()["beyond_levels"] <= BOOK_MEMORY_BOUND


def test_bound_holds_with_every_histogram_widened(work) -> None:
    """The worst case: every one of the 12 histograms (live, cumulative, last intervals)
    has widened to int64 counts."""
    book, _, _ = live_book(work)
    for name in HIST_NAMES:
        getattr(book.latency, name).record_value(1_000, 2**31)
    book.last_intervals = book.latency.rotate()
    for name in HIST_NAMES:
        getattr(book.latency, name).record_value(1_000, 2**31)
    hists = book.latency.histograms() + list(book.last_intervals.values())
    assert len(hists) == 12 and all(h.word_size == 8 for h in hists)
    assert book.memory()["beyond_levels"] <= BOOK_MEMORY_BOUND


def test_scratch_is_cut_back_after_a_deep_snapshot() -> None:
    deep = make_workload("binance", messages=2, depth=5000)
    fresh = BookCore("binance", "BTCUSDT", 2, 5)
    book = BookCore("binance", "BTCUSDT", 2, 5)
    assert book.apply_snapshot(deep.snapshot) == "live"
    assert book.book.bid_depth == 5000
    assert book.memory()["scratch"] == fresh.memory()["scratch"]
    assert fresh.memory()["scratch"] <= 4096         # 64 levels + 16 segments


def test_sync_buffer_is_accounted_and_released(work) -> None:
    book = BookFeed("binance", "BTCUSDT", work.tick_size, work.step_size)
    empty = book.memory()["buffer"]
    for m in work.messages[1:11]:
        book.apply_message(m)                       # no snapshot yet: buffered
    assert book.buffered == 10
    assert book.memory()["buffer"] >= empty + sum(len(m) for m in work.messages[1:11])
    book.apply_snapshot(work.snapshot)
    assert book.is_live and book.memory()["buffer"] == empty


def test_bookfeed_counts_its_own_router(work) -> None:
    feed = BookFeed("binance", "BTCUSDT", work.tick_size, work.step_size)
    core = BookCore("binance", "BTCUSDT", 2, 5)
    r = feed.router.memory()
    assert r["scratch"] > 0 and r["objects"] > 0
    assert feed.memory()["scratch"] == core.memory()["scratch"] + r["scratch"]


@pytest.mark.parametrize("mode", sorted(BOOK_LATENCY))
def test_modes_record_into_the_book_and_its_connection(work, mode: str) -> None:
    book, conn, _ = live_book(work, mode)
    applied = book.messages - book.old_messages
    # the connection sees every sample at full precision, whatever the book keeps
    assert conn.recv_to_apply.significant_figures == CONNECTION_SIGNIFICANT_FIGURES
    assert conn.recv_to_apply.total_count == applied
    assert conn.exchange_to_recv.total_count == applied
    if BOOK_LATENCY[mode] is None:
        assert book.latency is None and book.recv_to_apply is None
        assert book.memory()["latency"] == sys.getsizeof(book.last_intervals)
        return
    assert book.recv_to_apply.significant_figures == BOOK_LATENCY[mode]
    assert book.latency.cumulative("recv_to_apply").total_count == applied


def test_resync_duration_reaches_the_connection(work) -> None:
    book, conn, _ = live_book(work)
    book.start_sync("gap")
    assert book.apply_snapshot(work.snapshot) == "live"
    assert conn.resync_duration.total_count == 1
    assert book.latency.cumulative("resync_duration").total_count == 1


def test_detached_book_stops_recording_into_the_connection(work) -> None:
    book = BookFeed("binance", "BTCUSDT", work.tick_size, work.step_size)
    conn = connection_latency_set()
    book._attach_latency(conn)
    book.apply_snapshot(work.snapshot)
    for m in work.messages[:10]:
        book.apply_message(m)
    seen = conn.recv_to_apply.total_count
    assert seen == book.recv_to_apply.total_count > 0
    book._attach_latency(None)
    for m in work.messages[10:20]:
        book.apply_message(m)
    assert conn.recv_to_apply.total_count == seen
    assert book.recv_to_apply.total_count > seen


def test_coarse_values_are_within_a_sixteenth() -> None:
    ls = book_latency_set("coarse")
    assert ls is not None
    for v in (1, 15, 17, 999, 3_000, 12_345, 987_654, 2_500_000_000):
        h = ls.recv_to_apply
        h.reset()
        h.record_value(v)
        p = h.value_at_percentile(50.0)
        assert v <= p <= v + v / 16, v


def test_unknown_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="book_latency must be one of"):
        BookCore("binance", "BTCUSDT", 2, 5, book_latency="fine")
    with pytest.raises(ValueError, match="book_latency must be one of"):
        Engine(book_latency="fine")
