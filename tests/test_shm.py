"""Shared-memory books, in one process: layout, publisher hooks, reader, lifecycle errors.

Multi-process tests (torn reads, crash/restart, the C reader, end to end) are in
test_shm_mp.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from fastfeed._shm import SegmentWriter, layout, segment_size
from fastfeed.feed import BookFeed
from fastfeed.shm import (
    BookNotPublished,
    BookRestarting,
    NotASegment,
    Publisher,
    Reader,
    SegmentDirectory,
    SegmentFull,
    SegmentInUse,
    segment_path,
)


def snapshot(last_id, bids, asks):
    return json.dumps({"lastUpdateId": last_id, "bids": bids, "asks": asks}).encode()


def depth_update(first, last, bids, asks, event_ms=1_700_000_000_000):
    return json.dumps({"e": "depthUpdate", "E": event_ms, "s": "BTCUSDT", "U": first,
                       "u": last, "b": bids, "a": asks}).encode()


def live_feed(levels=30):
    feed = BookFeed("binance", "BTCUSDT", "0.01", "0.001")
    feed.start_sync()
    bids = [[f"{100 - i * 0.5:.2f}", f"{1 + i}.000"] for i in range(levels)]
    asks = [[f"{101 + i * 0.5:.2f}", f"{2 + i}.500"] for i in range(levels)]
    assert feed.apply_snapshot(snapshot(100, bids, asks)) == "live"
    return feed


def top(feed, depth):
    return (np.asarray(feed.book.bids_int())[:depth], np.asarray(feed.book.asks_int())[:depth])


def test_layout_constants_and_sizes():
    lay = layout()
    assert lay["header_size"] == 128 and lay["dir_entry_size"] == 64
    assert lay["version"] == 2 and lay["trades"] == 32
    # the market block: a seqlock line, the BBO line, the trade count line, 32 trades of 48
    assert lay["market_size"] == 64 + 64 + 64 + 32 * 48 == 1728
    # slots start on a page; a top-20 slot is 128 + 20 * 32 = 768 bytes of book (12 cache
    # lines), then its market block
    slot = 768 + 1728
    assert segment_size(1, 20) == 4096 + slot
    assert segment_size(1024, 20) == 128 + 64 * 1024 + (4096 - 128) + slot * 1024


def test_publisher_creates_0600_segment_and_unlinks_on_close(name):
    old = os.umask(0)
    try:
        pub = Publisher(name, capacity=4, depth=5)
    finally:
        os.umask(old)
    path = segment_path(name)
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_size == segment_size(4, 5)
    pub.close()
    assert not os.path.exists(path)
    pub.close()     # idempotent


@pytest.mark.parametrize("bad", ["", "a/b", "../x", ".hidden", "x" * 300, "sp ace", "-x"])
def test_bad_names_are_refused(bad):
    with pytest.raises(ValueError, match="bad shared-memory name"):
        Publisher(bad)
    with pytest.raises(ValueError, match="bad shared-memory name"):
        Reader(bad)


def test_name_clash_with_live_publisher_and_foreign_file(name):
    pub = Publisher(name, capacity=2, depth=3)
    with pytest.raises(SegmentInUse, match=f"live publisher \\(pid {os.getpid()}\\)"):
        Publisher(name)
    pub.close()
    with open(segment_path(name), "wb") as f:
        f.write(b"not a segment" * 100)
    with pytest.raises(SegmentInUse, match="not a fastfeed segment"):
        Publisher(name)
    with pytest.raises(NotASegment):
        Reader(name)


def test_missing_segment_is_a_clear_error(name):
    with pytest.raises(FileNotFoundError, match="is the publisher running"):
        Reader(name)


def test_book_is_published_after_snapshot_and_each_message(name):
    pub = Publisher(name, capacity=4, depth=20)
    feed = live_feed(levels=30)
    assert pub.attach(feed) == 0
    r = Reader(name)
    assert r.books() == [("binance", "BTCUSDT")]
    s = r.book("binance", "BTCUSDT")
    assert s.state == "live" and s.is_live and s.update_id == 100
    bids, asks = top(feed, 20)
    assert s.bids_int.dtype == np.int64 and s.bids_int.shape == (20, 2)
    assert np.array_equal(s.bids_int, bids) and np.array_equal(s.asks_int, asks)
    assert s.best_bid() == (100.0, 1.0) and s.best_ask() == (101.0, 2.5)
    assert s.bids[1].tolist() == [99.5, 2.0]
    n0 = s.updates
    feed.apply_message(depth_update(101, 102, [["100.20", "7.000"]], [["101.00", "0"]]))
    s = r.book("binance", "BTCUSDT")
    assert s.updates == n0 + 1 and s.update_id == 102
    # a Binance book counts 10**-8 units (docs/venues.md#instrument-scales)
    assert s.bids_int[0].tolist() == [100_20000000, 7_00000000]
    assert s.asks_int[0].tolist() == [101_50000000, 3_50000000]     # 101.00 deleted
    assert s.exchange_ts_ns == 1_700_000_000_000 * 1_000_000
    bids, asks = top(feed, 20)
    assert np.array_equal(s.bids_int, bids) and np.array_equal(s.asks_int, asks)
    pub.close()


def test_state_changes_are_published(name):
    pub = Publisher(name, capacity=4, depth=5)
    feed = live_feed(levels=3)
    pub.attach(feed)
    r = Reader(name)
    feed.apply_message(depth_update(105, 106, [], []))         # gap: 101..104 missing
    assert r.book("binance", "BTCUSDT").state == "gap"
    feed.start_sync()
    assert r.book("binance", "BTCUSDT").state == "syncing"
    feed.mark_stale("test")
    assert r.book("binance", "BTCUSDT").state == "stale"
    feed.close()
    assert r.book("binance", "BTCUSDT").state == "closed"
    pub.close()
    assert r.health()["status"] == "closed"


def test_depth_truncates_and_short_books(name):
    pub = Publisher(name, capacity=4, depth=3)
    feed = live_feed(levels=10)
    pub.attach(feed)
    s = Reader(name).book("binance", "BTCUSDT")
    assert s.bids_int.tolist() == [[100_00000000, 1_00000000], [99_50000000, 2_00000000],
                                   [99_00000000, 3_00000000]]
    feed2 = BookFeed("binance", "ETHUSDT", "0.01", "0.001")
    pub.attach(feed2)
    s2 = Reader(name).book("binance", "ETHUSDT")
    assert s2.bids_int.shape == (0, 2) and s2.state == "syncing" and s2.best_bid() is None
    pub.close()


def test_directory_full_and_long_names(name):
    pub = Publisher(name, capacity=2, depth=2)
    pub.writer.slot_of("binance", "A")
    pub.writer.slot_of("binance", "B")
    assert pub.writer.slot_of("binance", "A") == 0          # existing entries still resolve
    with pytest.raises(SegmentFull, match="full \\(2 books\\)"):
        pub.writer.slot_of("binance", "C")
    with pytest.raises(ValueError, match="symbol"):
        pub.writer.slot_of("binance", "X" * 32)
    pub.close()


def test_second_live_book_for_a_slot_is_refused_closed_one_replaced(name):
    pub = Publisher(name, capacity=2, depth=2)
    a = live_feed(3)
    b = live_feed(3)
    pub.attach(a)
    with pytest.raises(ValueError, match="already published"):
        pub.attach(b)
    a.close()
    assert pub.attach(b) == 0
    a.apply_message(depth_update(101, 101, [["1.00", "1"]], []))    # closed: ignored anyway
    assert Reader(name).book("binance", "BTCUSDT").state == "live"
    pub.close()


def test_close_detaches_books_before_unmapping(name):
    pub = Publisher(name, capacity=2, depth=5)
    feed = live_feed(3)
    pub.attach(feed)
    pub.close()
    # the core no longer points into the unmapped segment: this must not crash
    feed.apply_message(depth_update(101, 101, [["100.10", "1.000"]], []))
    assert feed.book.best_bid()[0] == 100.10


def test_writer_rejects_bad_geometry():
    with pytest.raises(ValueError, match="capacity"):
        SegmentWriter(0, 0, 20, 1, 1)
    with pytest.raises(ValueError, match="depth"):
        SegmentWriter(0, 1, 0, 1, 1)


def test_wait_times_out_and_wakes_on_update(name):
    pub = Publisher(name, capacity=2, depth=5)
    slot = pub.writer.slot_of("binance", "BTCUSDT")
    r = Reader(name)
    n = r.updates("binance", "BTCUSDT")
    assert r.wait("binance", "BTCUSDT", after=n, timeout=0.05) is None
    t = threading.Timer(0.05, pub.writer._hammer, args=(slot, 1, 7))
    t.start()
    s = r.wait("binance", "BTCUSDT", after=n, timeout=5)
    t.join()
    assert s is not None and s.updates == n + 1 and s.update_id == 7
    pub.close()


def test_disabled_recheck_flag_is_debug_only(name):
    pub = Publisher(name, capacity=1, depth=5)
    pub.writer.slot_of("binance", "BTCUSDT")
    r = Reader(name)
    assert r.view._recheck is True
    r.view._recheck = False
    assert r.view._check_reads(0, 100)["reads"] == 100      # no writer: nothing torn
    pub.close()


def test_reader_does_not_import_engine_or_uvloop():
    code = ("import sys, fastfeed.shm; "
            "bad = [m for m in ('fastfeed.engine', 'uvloop', 'picows') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ})
    assert out.stdout.strip() == "[]"


# -- the market block: newest trades and the venue's best bid/offer -----------------------

def agg_trade(a, price, qty, maker):
    return json.dumps({"e": "aggTrade", "E": 1_700_000_000_000 + a, "s": "BTCUSDT", "a": a,
                       "p": price, "q": qty, "f": a, "l": a, "T": 1_700_000_000_000 + a,
                       "m": maker, "M": True}).encode()


def test_trades_are_published_newest_32_oldest_first(name):
    from fastfeed.shm import TRADES
    from fastfeed.trades import TradeFeed
    pub = Publisher(name, capacity=4, depth=5)
    try:
        feed = live_feed()
        pub.attach(feed)
        trades = TradeFeed("binance", "BTCUSDT", "0.01", "0.001")
        pub.attach_trades(trades)
        with Reader(name) as r:
            assert r.market("binance", "BTCUSDT").trades_total == 0
            for a in range(1, 41):
                trades.apply_message(agg_trade(a, f"{100 + a}.01", "0.5", a % 2 == 0))
            m = r.market("binance", "BTCUSDT")
            assert m.trades_total == 40 and m.trade_state == "live"
            got = r.trades("binance", "BTCUSDT")
            assert len(got) == TRADES == 32
            assert got["trade_id"].tolist() == list(range(9, 41))          # oldest first
            held = trades.trades()[-32:]
            for field in ("trade_id", "price", "size", "side", "exchange_ns", "recv_ns"):
                assert got[field].tolist() == held[field].tolist(), field
            assert (m.price_decimals, m.size_decimals) == (trades.price_decimals,
                                                           trades.size_decimals)
            # a lost trade: the state is published with the next write
            trades.apply_message(agg_trade(45, "150.01", "0.5", True))
            m = r.market("binance", "BTCUSDT")
            assert m.trade_state == "gap" and m.trades_total == 41
            # the book shares the slot; with no BBO stream the book's top is the BBO
            assert r.bbo("binance", "BTCUSDT") == (10000 * 10**6, 1 * 10**8,
                                                   10100 * 10**6, int(2.5 * 10**8))
            assert r.market("binance", "BTCUSDT").bbo_updates == 0
    finally:
        pub.close()


def test_a_trade_stream_without_a_book_gets_a_slot_with_its_scales(name):
    from fastfeed.trades import TradeFeed
    pub = Publisher(name, capacity=2, depth=5)
    try:
        trades = TradeFeed("binance", "BTCUSDT", "0.01", "0.001")
        pub.attach_trades(trades)
        trades.apply_message(agg_trade(1, "100.01", "0.5", False))
        with Reader(name) as r:
            assert r.books() == [("binance", "BTCUSDT")]
            snap = r.book("binance", "BTCUSDT")
            assert snap.updates == 0 and snap.price_decimals == trades.price_decimals
            assert r.bbo("binance", "BTCUSDT") is None
            assert r.trades("binance", "BTCUSDT")["price"].tolist() == [100_01 * 10**6]
        other = TradeFeed("binance", "BTCUSDT", "0.01", "0.001")
        with pytest.raises(ValueError, match="already published"):
            pub.attach_trades(other)
        trades.close()
        pub.attach_trades(other)        # the closed stream's block is taken over
    finally:
        pub.close()


@pytest.mark.parametrize(("tick", "bid", "ask", "spread"), [
    ("0.01", "43210.12000000", "43210.13000000", "0.01000000"),   # Binance: 8 decimals
    ("0.00000001", "0.00001234", "0.00001240", "0.00000006"),
    # 2**53 + 1 ticks: a float prints the bid ...94 and the spread 0.00000001
    ("0.00000001", "90071992.54740993", "90071992.54740995", "0.00000002"),
])
def test_summary_and_top_print_exact_decimal_text(name, tick, bid, ask, spread):
    # docs/shm.md, "fastfeed top": prices are the int64 ticks' exact decimal text, never
    # a float, in the table and in --json
    from fastfeed.cli import _top_rows
    from fastfeed.shm import best_levels, summary
    feed = BookFeed("binance", "BTCUSDT", tick, "0.00000001")
    feed.start_sync()
    assert feed.apply_snapshot(snapshot(5, [[bid, "0.00001234"]], [[ask, "2"]])) == "live"
    pub = Publisher(name, capacity=2, depth=5)
    pub.attach(feed)
    with Reader(name) as r:
        assert best_levels(r.book("binance", "BTCUSDT")) == (
            (int(bid.replace(".", "")), 1234), (int(ask.replace(".", "")), 2_00000000))
        (b,) = json.loads(json.dumps(summary(r)))["books"]
        assert (b["bid"], b["ask"], b["spread"]) == (bid, ask, spread)
        assert (b["bid_size"], b["ask_size"]) == ("0.00001234", "2.00000000")
        assert (b["price_decimals"], b["size_decimals"]) == (8, 8)
        (row,) = _top_rows(summary(r), {})
        assert row[1:4] == [bid, ask, spread]
    pub.close()


def test_a_bbo_stream_is_published_and_preferred_to_the_book_top(name):
    from fastfeed.quotes import BboFeed
    pub = Publisher(name, capacity=2, depth=5)
    try:
        feed = live_feed()
        pub.attach(feed)
        bbo = BboFeed("binance", "BTCUSDT", "0.01", "0.001")
        pub.attach_bbo(bbo)
        with Reader(name) as r:
            book_top = r.bbo("binance", "BTCUSDT")      # no BBO yet: the book's top
            assert r.market("binance", "BTCUSDT").bbo_updates == 0
            bbo.apply_message(json.dumps({"u": 7, "s": "BTCUSDT", "b": "100.10", "B": "1.5",
                                          "a": "100.20", "A": "2.5"}).encode())
            m = r.market("binance", "BTCUSDT")
            assert m.bbo_updates == 1 and m.bbo_update_id == 7
            latest = bbo.bbo()
            want = (latest.bid_price, latest.bid_size, latest.ask_price, latest.ask_size)
            assert r.bbo("binance", "BTCUSDT") == want != book_top
    finally:
        pub.close()


def _eth_feed():
    feed = BookFeed("binance", "ETHUSDT", "0.01", "0.001")
    feed.start_sync()
    assert feed.apply_snapshot(snapshot(7, [["50.00", "1.000"]], [["51.00", "2.000"]])) == "live"
    return feed


@contextmanager
def two_member_directory(name: str) -> Iterator[tuple[SegmentDirectory, list[str],
                                                      list[Publisher]]]:
    """A segment directory ``name`` of members ``name-w0`` and ``name-w1``, and a list the
    test puts the members' publishers in; the directory and every publisher listed are
    closed after."""
    members = [f"{name}-w0", f"{name}-w1"]
    directory = SegmentDirectory(name, members)
    pubs: list[Publisher] = []
    try:
        yield directory, members, pubs
    finally:
        directory.close()
        for p in pubs:
            p.close()


def restarted(pub: Publisher, *books: BookFeed) -> Publisher:
    """``pub``'s publisher restarted: its ``books`` and it closed, a new one (no book
    attached yet) under the same name."""
    for book in books:
        book.close()
    pub.close()
    return Publisher(pub.name, capacity=4, depth=5)


def test_segment_directory_reads_every_member_and_follows_a_replacement(name):
    with two_member_directory(name) as (directory, members, pubs):
        with pytest.raises(SegmentInUse):       # a live directory's name is taken
            SegmentDirectory(name, members)
        with pytest.raises(ValueError, match="itself"):
            SegmentDirectory(f"{name}-x", [f"{name}-x"])
        pubs.append(Publisher(members[0], capacity=4, depth=5))
        btc = live_feed(levels=3)
        pubs[0].attach(btc)
        r = Reader(name)
        assert r.is_directory and r.segments() == members
        assert r.books() == [("binance", "BTCUSDT")]             # w1 not created yet
        health = r.health()
        assert health["status"] == "degraded" and health["pid"] == os.getpid()
        assert [m["status"] for m in health["members"]] == ["ok", "missing"]
        with pytest.raises(ValueError, match="directory"):
            r.view                                              # noqa: B018
        with pytest.raises(BookNotPublished):
            r.book("binance", "ETHUSDT")
        pubs.append(Publisher(members[1], capacity=4, depth=5))
        eth = _eth_feed()
        pubs[1].attach(eth)
        # an unknown book is looked for in every member: found without a refresh call
        assert r.book("binance", "ETHUSDT").bids_int.tolist() == [[50_00000000, 1_00000000]]
        assert r.segment_of("binance", "ETHUSDT") == members[1]
        assert r.segment_of("binance", "BTCUSDT") == members[0]
        assert r.books() == [("binance", "BTCUSDT"), ("binance", "ETHUSDT")]
        for p in pubs:
            p.heartbeat()
        assert r.health()["status"] == "ok" and r.health()["books"] == 2
        # member 1 restarts: a new segment under the same name; book() follows it alone
        # (the old one's heartbeat is silent) and sees the new book
        old_gen = r.health()["members"][1]["generation"]
        pubs[1] = restarted(pubs[1], eth)
        eth2 = _eth_feed()
        eth2.apply_message(depth_update(8, 8, [["50.00", "3.000"]], []).replace(
            b"BTCUSDT", b"ETHUSDT"))
        pubs[1].attach(eth2)
        snap = r.book("binance", "ETHUSDT")
        assert snap.state == "live" and snap.update_id == 8
        assert snap.bids_int.tolist() == [[50_00000000, 3_00000000]]
        assert r.health()["members"][1]["generation"] not in (old_gen, None)
        from fastfeed.shm import summary
        assert {(b["symbol"], b["segment"]) for b in summary(r)["books"]} == \
            {("BTCUSDT", members[0]), ("ETHUSDT", members[1])}
        directory.close()
        assert r.health()["status"] == "closed"
        assert not os.path.exists(segment_path(name))
        assert all(os.path.exists(segment_path(m)) for m in members)  # live: left alone
        r.close()


def test_a_restarted_members_book_is_restarting_until_its_new_publisher_publishes_it(name):
    # docs/shm.md, "Segment directory": a book the replaced publisher had is not a bare
    # KeyError while the new one has not attached it; one never published stays unknown
    from fastfeed.shm import summary
    with two_member_directory(name) as (_, members, pubs):
        pubs.extend(Publisher(m, capacity=4, depth=5) for m in members)
        eth = _eth_feed()
        pubs[0].attach(live_feed(levels=3))
        pubs[1].attach(eth)
        r = Reader(name)
        assert r.book("binance", "ETHUSDT").state == "live" and r.restarting() == []
        pubs[1] = restarted(pubs[1], eth)       # back without the book yet
        with pytest.raises(BookRestarting, match="not published yet by the new publisher "
                           f"of segment '{members[1]}'") as restarting:
            r.book("binance", "ETHUSDT")
        assert restarting.value.segment == members[1]
        assert isinstance(restarting.value, KeyError)       # `except KeyError` still works
        assert r.restarting() == [("binance", "ETHUSDT")]
        assert r.books() == [("binance", "BTCUSDT")]
        rows = {b["symbol"]: b for b in summary(r)["books"]}
        assert rows["ETHUSDT"]["state"] == "restarting"
        assert rows["ETHUSDT"]["segment"] == members[1] and rows["BTCUSDT"]["state"] == "live"
        with pytest.raises(BookNotPublished) as unknown:
            r.book("binance", "XRPUSDT")
        assert not isinstance(unknown.value, BookRestarting)
        assert str(unknown.value) == f"binance:XRPUSDT is not published in {name!r}"
        # the new publisher attaches it: readable again (syncing until its snapshot)
        pubs[1].attach(BookFeed("binance", "ETHUSDT", "0.01", "0.001"))
        assert r.book("binance", "ETHUSDT").state == "syncing"
        assert r.restarting() == [] and r.segment_of("binance", "ETHUSDT") == members[1]
        r.close()


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_dead_members_books_read_stale_until_its_successor_publishes(name, monkeypatch):
    # docs/shm.md, "Telling live from dead": the dead worker's last copy still says
    # `live`; the reader's state, summary() and top say `stale`
    from fastfeed.shm import summary
    with two_member_directory(name) as (_, members, pubs):
        pubs.append(Publisher(members[0], capacity=4, depth=5))
        gone = _dead_pid()
        with monkeypatch.context() as m:        # member 1's publisher: a pid now gone
            m.setattr(os, "getpid", lambda: gone)
            pubs.append(Publisher(members[1], capacity=4, depth=5))
        eth = _eth_feed()
        pubs[0].attach(live_feed(levels=3))
        pubs[1].attach(eth)
        r = Reader(name)
        assert r.health()["members"][1]["status"] == "dead"
        assert r.book("binance", "ETHUSDT").state == "live"      # the publisher's last word
        assert r.state("binance", "ETHUSDT") == "stale"
        assert r.state("binance", "BTCUSDT") == "live"
        rows = {b["symbol"]: b["state"] for b in summary(r)["books"]}
        assert rows == {"ETHUSDT": "stale", "BTCUSDT": "live"}
        pubs[1] = restarted(pubs[1], eth)       # the successor, alive, publishes it again
        assert {b["symbol"]: b["state"] for b in summary(r)["books"]}["ETHUSDT"] == \
            "restarting"
        pubs[1].attach(_eth_feed())
        assert r.state("binance", "ETHUSDT") == "live"
        assert {b["symbol"]: b["state"] for b in summary(r)["books"]} == \
            {"ETHUSDT": "live", "BTCUSDT": "live"}
        r.close()


def test_a_silent_publishers_books_read_stale_and_a_closed_book_stays_closed(name,
                                                                              monkeypatch):
    import fastfeed.shm as shm
    pub = Publisher(name, capacity=2, depth=5)
    feed = live_feed(levels=3)
    pub.attach(feed)
    try:
        with Reader(name) as r:
            assert r.state("binance", "BTCUSDT") == "live"
            monkeypatch.setattr(shm, "STALE_AFTER", -1.0)     # any heartbeat is too old
            assert r.health()["status"] == "stale"
            assert r.state("binance", "BTCUSDT") == "stale"
            assert [b["state"] for b in shm.summary(r)["books"]] == ["stale"]
            feed.close()
            assert r.state("binance", "BTCUSDT") == "closed"
            monkeypatch.undo()
            pub.heartbeat()
            assert r.state("binance", "BTCUSDT") == "closed"
    finally:
        pub.close()


def test_reopen_reports_the_old_publishers_books_restarting_until_published(name):
    pub = Publisher(name, capacity=2, depth=5)
    r = Reader(name)
    try:
        feed = live_feed(levels=3)
        pub.attach(feed)
        assert r.book("binance", "BTCUSDT").state == "live"
        pub = restarted(pub, feed)
        r.reopen()
        with pytest.raises(BookRestarting) as restarting:
            r.book("binance", "BTCUSDT")
        assert restarting.value.segment == name and r.restarting() == [("binance", "BTCUSDT")]
        pub.attach(live_feed(levels=3))
        assert r.book("binance", "BTCUSDT").state == "live" and r.restarting() == []
    finally:
        r.close()
        pub.close()
