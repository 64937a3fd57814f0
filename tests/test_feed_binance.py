"""BookFeed on Binance spot and USD-M payloads: sync procedure, gaps, rejects, exactness.

The invariant that matters: whenever the feed says ``live``, its book equals the true
book at the feed's ``last_update_id``, level by level.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastfeed import BookFeed, DecodeRejected
from feedgen import BinanceStream, Market


def book_ints(feed):
    bids = [tuple(map(int, row)) for row in feed.book.bids_int()]
    asks = [tuple(map(int, row)) for row in feed.book.asks_int()]
    return bids, asks


def truth(feed, stream):
    """The generator's book at the feed's id in the feed's units (the generator counts
    ticks and lots; a Binance book counts 10**-8 units: docs/venues.md#instrument-scales)."""
    bids, asks = stream.history[feed.last_update_id]
    pt, ss = feed.price_tick, feed.size_step
    return [(p * pt, q * ss) for p, q in bids], [(p * pt, q * ss) for p, q in asks]


def assert_exact(feed, stream):
    assert feed.state == "live"
    assert book_ints(feed) == truth(feed, stream)


def make(usdm=False, combined=False, seed=1):
    m = Market(seed=seed)
    stream = BinanceStream(m, usdm=usdm, combined=combined)
    feed = BookFeed("binance-usdm" if usdm else "binance", "BTCUSDT",
                    tick_size="0.01", step_size="0.00000001")
    return feed, stream


@pytest.mark.parametrize("usdm", [False, True])
@pytest.mark.parametrize("combined", [False, True])
def test_snapshot_then_stream_is_exact(usdm, combined):
    feed, stream = make(usdm, combined)
    assert feed.state == "syncing"
    assert feed.apply_snapshot(stream.snapshot()) == "live"
    assert_exact(feed, stream)
    for _ in range(200):
        payload, _, _ = stream.event()
        feed.apply_message(payload)
        assert_exact(feed, stream)
    assert feed.messages == 200
    assert feed.gaps == 0


@pytest.mark.parametrize("usdm", [False, True])
def test_events_buffered_before_snapshot_are_replayed(usdm):
    feed, stream = make(usdm)
    early = [stream.event()[0] for _ in range(3)]
    snapshot = stream.snapshot()            # taken in the middle of the buffered stream
    late = [stream.event()[0] for _ in range(4)]
    for payload in early + late:
        feed.apply_message(payload)
    assert feed.state == "syncing"
    assert feed.buffered == 7
    assert feed.apply_snapshot(snapshot) == "live"
    assert_exact(feed, stream)
    # spot drops u <= lastUpdateId; USD-M keeps the event with u == lastUpdateId
    assert feed.old_messages == (2 if usdm else 3)


def test_snapshot_older_than_stream_is_refused():
    feed, stream = make()
    stale = stream.snapshot()
    stream.event()                          # never seen by the feed
    feed.apply_message(stream.event()[0])
    assert feed.apply_snapshot(stale) == "too_old"
    assert feed.state == "syncing"
    assert feed.apply_snapshot(stream.snapshot()) == "live"
    assert_exact(feed, stream)


@pytest.mark.parametrize("usdm", [False, True])
def test_dropped_message_is_a_gap_and_a_new_snapshot_heals(usdm):
    feed, stream = make(usdm)
    feed.apply_snapshot(stream.snapshot())
    feed.apply_message(stream.event()[0])
    stream.event()                          # dropped
    feed.apply_message(stream.event()[0])
    assert feed.state == "gap"
    assert feed.gaps == 1
    assert "gap" in feed.last_gap_reason
    feed.apply_message(stream.event()[0])   # buffered for the resync
    assert feed.apply_snapshot(stream.snapshot()) == "live"
    assert feed.resyncs == 1
    assert_exact(feed, stream)


def test_duplicate_is_ignored():
    feed, stream = make()
    feed.apply_snapshot(stream.snapshot())
    payload = stream.event()[0]
    feed.apply_message(payload)
    feed.apply_message(payload)
    assert feed.old_messages == 1
    assert_exact(feed, stream)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10**6), usdm=st.booleans(),
       faults=st.lists(st.sampled_from(["ok", "ok", "ok", "drop", "dup", "swap"]),
                       min_size=1, max_size=40))
def test_live_implies_exact_under_faults(seed, usdm, faults):
    feed, stream = make(usdm, seed=seed)
    feed.apply_snapshot(stream.snapshot())
    pending = None
    for fault in faults:
        payload = stream.event(n_changes=3, ids=2)[0]
        if fault == "drop":
            continue
        batch = [payload]
        if fault == "dup":
            batch = [payload, payload]
        elif fault == "swap":
            if pending is None:
                pending = payload
                continue
            batch = [payload, pending]
            pending = None
        for p in batch:
            feed.apply_message(p)
            if feed.state == "live":
                assert book_ints(feed) == truth(feed, stream)
        if feed.state != "live":
            assert feed.apply_snapshot(stream.snapshot()) in ("live", "gap")
            if feed.state == "live":
                assert_exact(feed, stream)


def test_malformed_frame_is_rejected_with_a_reason_and_counted():
    feed, stream = make()
    feed.apply_snapshot(stream.snapshot())
    with pytest.raises(DecodeRejected, match=r"malformed|truncated"):
        feed.apply_message(b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":')
    assert feed.rejected == 1
    assert feed.state == "live"             # nothing applied; the next event tells
    lenient = BookFeed("binance", "BTCUSDT", "0.01", "0.00000001", strict=False)
    lenient.apply_message(b"not json")
    assert lenient.rejected == 1 and lenient.last_reject


def test_too_precise_price_rejects_the_whole_message_and_marks_gap():
    feed, stream = make()
    feed.apply_snapshot(stream.snapshot())
    before = book_ints(feed)
    bad = json.dumps({"e": "depthUpdate", "E": 1, "s": "BTCUSDT",
                      "U": stream.m.update_id + 1, "u": stream.m.update_id + 1,
                      "b": [["100.00000000", "1.00000000"]],
                      "a": [["100.005000001", "1.00000000"]]}).encode()   # 9 decimals
    with pytest.raises(DecodeRejected, match=r"price .*more decimals than the scale allows \(8\)"):
        feed.apply_message(bad)
    assert book_ints(feed) == before        # not half-applied
    assert feed.state == "gap"


def test_off_grid_levels_are_applied_exactly_and_counted():
    # docs/venues.md#instrument-scales: finer than tickSize 0.01 but within Binance's 8
    # decimals is a level off the grid: kept exactly, counted, the book stays live
    feed, stream = make()
    feed.apply_snapshot(stream.snapshot())
    assert (feed.price_decimals, feed.price_tick) == (8, 10**6)
    u = stream.m.update_id + 1
    msg = json.dumps({"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": u, "u": u,
                      "b": [["1.00500000", "1.00000000"], ["1.00000000", "2.00000000"]],
                      "a": [["200000.00300000", "0.50000000"]]}).encode()
    assert feed.apply_message(msg) == 3
    assert feed.state == "live" and feed.gaps == 0
    assert feed.off_grid_levels == 2 and feed.off_grid_snapshot_levels == 0
    assert feed.counters()["off_grid_levels"] == 2
    assert [1_00500000, 1_00000000] == [p for p, _ in book_ints(feed)[0][-2:]]
    assert book_ints(feed)[1][-1] == (200000_00300000, 50000000)


def test_other_symbols_and_control_messages_are_ignored():
    feed, stream = make()
    feed.apply_snapshot(stream.snapshot())
    other = BinanceStream(Market(seed=9), symbol="ETHUSDT").event()[0]
    assert feed.apply_message(other) == 0
    assert feed.apply_message(b'{"result":null,"id":1}') == 0
    assert_exact(feed, stream)


def test_in_band_venue_refuses_rest_snapshot():
    feed = BookFeed("coinbase", "BTC-USD", "0.01", "0.00000001")
    with pytest.raises(TypeError, match="in-band"):
        feed.apply_snapshot(b"{}")


def test_unknown_venue_and_bad_tick_are_clear_errors():
    with pytest.raises(ValueError, match="unknown venue"):
        BookFeed("kraken-x", "BTCUSD", "0.01", "0.01")
    with pytest.raises(ValueError):
        BookFeed("binance", "BTCUSDT", "0", "0.01")


def test_sync_buffer_is_bounded_and_overflow_restarts_the_window():
    feed, stream = make()
    feed.max_buffer_messages = 5
    early_snapshot = stream.snapshot()
    for _ in range(7):
        feed.apply_message(stream.event()[0])
    assert feed.rejects == {"buffer_overflow": 1}
    assert feed.buffered == 2               # the window restarted at the 6th event
    assert feed.apply_snapshot(early_snapshot) == "too_old"
    assert feed.apply_snapshot(stream.snapshot()) == "live"
    assert_exact(feed, stream)


def test_offline_callback_errors_propagate():
    feed, stream = make()
    feed.apply_snapshot(stream.snapshot())
    feed.callback = lambda f: 1 / 0
    with pytest.raises(ZeroDivisionError):
        feed.apply_message(stream.event()[0])
    assert feed.state == "live"             # the update was applied before the callback
