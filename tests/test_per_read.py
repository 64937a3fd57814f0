"""Per-read work (docs/architecture.md, "Per read, not per frame"): a book's copy into
shared memory and a per-read callback run once for everything one socket read applied,
never between two of its messages; a REST snapshot's replay counts as one read."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fastfeed.feed import BookFeed
from fastfeed.shm import Publisher, Reader
from test_shm import depth_update, live_feed, snapshot, top


@pytest.fixture
def name():
    return f"ff-test-read-{os.getpid()}"


def updates(first, n):
    """n contiguous Binance events from update id ``first``, each moving the best bid."""
    return [depth_update(first + i, first + i, [[f"{100 + (i + 1) * 0.01:.2f}", "1.000"]], [])
            for i in range(n)]


def test_a_read_publishes_to_shared_memory_once_with_its_final_book(name):
    feed = live_feed()
    pub = Publisher(name, capacity=2, depth=5)
    try:
        pub.attach(feed)
        with Reader(name) as r:
            before = r.updates("binance", "BTCUSDT")
            assert feed.apply_read(updates(101, 3)) == 3
            assert r.updates("binance", "BTCUSDT") == before + 1
            snap = r.book("binance", "BTCUSDT")
            bids, asks = top(feed, 5)
            assert np.array_equal(snap.bids_int, bids) and np.array_equal(snap.asks_int, asks)
            assert snap.update_id == 103
            for m in updates(104, 3):       # a message pushed alone is a read of its own
                feed.apply_message(m)
            assert r.updates("binance", "BTCUSDT") == before + 4
            assert r.book("binance", "BTCUSDT").update_id == 106
    finally:
        pub.close()


@pytest.mark.parametrize("per_read", [False, True])
def test_a_per_read_callback_runs_once_a_read(per_read):
    feed = live_feed()
    seen = []
    feed.callback = lambda book: seen.append(book.last_update_id)
    feed.callback_per_read = per_read
    feed.apply_read(updates(101, 3))
    assert seen == ([103] if per_read else [101, 102, 103])
    feed.apply_read([])                     # a read that applied nothing: no call
    feed.apply_message(updates(104, 1)[0])
    assert seen[-1] == 104 and len(seen) == (2 if per_read else 4)
    # a read whose messages are all stale applies nothing and calls nothing
    feed.apply_read(updates(101, 2))
    assert len(seen) == (2 if per_read else 4)


def test_a_snapshot_replay_is_one_read(name):
    feed = BookFeed("binance", "BTCUSDT", "0.01", "0.001")
    pub = Publisher(name, capacity=2, depth=5)
    calls = []
    try:
        pub.attach(feed)
        feed.callback = lambda book: calls.append(book.last_update_id)
        feed.callback_per_read = True
        feed.start_sync()
        for m in updates(101, 4):
            feed.apply_message(m)           # buffered while syncing: nothing applied
        assert calls == [] and feed.buffered == 4
        bids = [[f"{100 - i * 0.5:.2f}", "1.000"] for i in range(10)]
        asks = [[f"{101 + i * 0.5:.2f}", "2.000"] for i in range(10)]
        with Reader(name) as r:
            assert feed.apply_snapshot(snapshot(100, bids, asks)) == "live"
            assert calls == [104]           # the replay's four messages: one call
            snap = r.book("binance", "BTCUSDT")
            assert snap.update_id == 104 and snap.state == "live"
            assert np.array_equal(snap.bids_int, top(feed, 5)[0])
    finally:
        pub.close()
