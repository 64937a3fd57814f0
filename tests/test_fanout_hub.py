"""The publisher's compiled side (fastfeed._fanout.FanHub) against the reference codec.

Every message the hub builds is decoded with the pure-Python reference
(fastfeed.fanout.wire) and re-encoded byte for byte; a book rebuilt from the messages by
the rules of docs/wire.md must equal the publishing book after every flush, whatever the
log capacity, the flush points, the refusals and the resyncs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastfeed import BookFeed, TradeFeed
from fastfeed._fanout import KIND_DELTA, KIND_SNAPSHOT, KIND_TRADES, FanHub
from fastfeed.fanout import wire
from feedgen import BinanceStream, CoinbaseStream, Market


def make_feed():
    stream = BinanceStream(Market(seed=7))
    feed = BookFeed("binance", "BTCUSDT", tick_size="0.01", step_size="0.00000001")
    return feed, stream


def feed_levels(feed):
    bids = [tuple(map(int, r)) for r in feed.book.bids_int()]
    asks = [tuple(map(int, r)) for r in feed.book.asks_int()]
    return bids, asks


class Rebuilder:
    """docs/wire.md "Rebuilding a book exactly", fed every message in publish order (a
    consumer that misses nothing): deltas must be contiguous, snapshots start epochs."""

    def __init__(self):
        self.bids, self.asks = {}, {}
        self.epoch = self.seq = None
        self.state = None
        self.messages = []

    def take(self, slot, kind, payload):
        msg = wire.decode(payload)
        assert msg.kind == kind
        # the compiled encoder and the reference encoder agree byte for byte
        again = wire.encode(
            msg.kind, state=msg.state, book=msg.book_id, price_decimals=msg.price_decimals,
            size_decimals=msg.size_decimals, epoch=msg.epoch, seq=msg.seq,
            first_update_id=msg.first_update_id, last_update_id=msg.last_update_id,
            exchange_ns=msg.exchange_ns, recv_ns=msg.recv_ns, publish_ns=msg.publish_ns,
            messages=msg.messages, flags=msg.flags,
            bids=list(zip(msg.bid_prices.tolist(), msg.bid_sizes.tolist(), strict=True)),
            asks=list(zip(msg.ask_prices.tolist(), msg.ask_sizes.tolist(), strict=True)))
        assert again == payload
        assert msg.book_id == wire.book_id("binance", "BTCUSDT")
        self.messages.append(msg)
        if msg.kind == wire.SNAPSHOT:
            if msg.flags & wire.FLAG_REPLACED:
                assert self.epoch is None or msg.epoch > self.epoch
                assert msg.seq == 0
            else:
                assert msg.epoch == self.epoch and msg.seq in (self.seq, self.seq + 1)
            self.bids = dict(zip(msg.bid_prices.tolist(), msg.bid_sizes.tolist(), strict=True))
            self.asks = dict(zip(msg.ask_prices.tolist(), msg.ask_sizes.tolist(), strict=True))
            assert list(self.bids) == sorted(self.bids, reverse=True)   # best first
            assert list(self.asks) == sorted(self.asks)
        else:
            assert msg.epoch == self.epoch and msg.seq == self.seq + 1
            for side, px, sz in ((self.bids, msg.bid_prices, msg.bid_sizes),
                                 (self.asks, msg.ask_prices, msg.ask_sizes)):
                for p, s in zip(px.tolist(), sz.tolist(), strict=True):
                    if s:
                        side[p] = s
                    else:
                        side.pop(p, None)
        self.epoch, self.seq, self.state = msg.epoch, msg.seq, msg.state_name
        return True

    def levels(self):
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())

    def take_framed(self, data, subjects):
        """Every ``PUB <subject> <len>\\r\\n<payload>\\r\\n`` of one framed flush, in
        order, through :meth:`take` (the subject must be the message kind's)."""
        i = 0
        while i < len(data):
            eol = data.index(b"\r\n", i)
            verb, subj, size = data[i:eol].split(b" ")
            assert verb == b"PUB"
            payload = data[eol + 2:eol + 2 + int(size)]
            assert len(payload) == int(size)
            assert data[eol + 2 + int(size):eol + 4 + int(size)] == b"\r\n"
            kind = payload[6]
            assert subj == subjects[1 if kind == wire.SNAPSHOT else 0]
            self.take(0, kind, payload)
            i = eol + 4 + int(size)
        return i


def live_on(hub):
    """A book attached to ``hub`` and loaded from a snapshot, its first flush taken by a
    Rebuilder: ``(feed, stream, rebuilder)``."""
    feed, stream = make_feed()
    r = Rebuilder()
    hub.attach(feed)
    feed.apply_snapshot(stream.snapshot())
    hub.drain(r.take)
    return feed, stream, r


def attached_live(hub, n):
    """``n`` books attached to ``hub`` and loaded from a snapshot (nothing drained yet):
    their ``(feed, stream)``."""
    feeds = [make_feed() for _ in range(n)]
    for feed, stream in feeds:
        hub.attach(feed)
        feed.apply_snapshot(stream.snapshot())
    return feeds


SUBJECTS = (b"ff.book.binance.BTCUSDT", b"ff.snap.binance.BTCUSDT")


def test_attach_publishes_a_snapshot_that_starts_an_epoch():
    feed, _ = make_feed()
    hub = FanHub()
    woken = []
    hub.on_wake = lambda: woken.append(1)
    hub.attach(feed)
    assert woken == [1] and hub.armed and hub.dirty == 1
    r = Rebuilder()
    assert hub.drain(r.take) == 2
    msg, marker = r.messages
    assert msg.kind == wire.SNAPSHOT and msg.flags == wire.FLAG_REPLACED
    assert msg.state_name == "syncing" and msg.seq == 0 and not hub.armed
    # the epoch announced on the delta stream at once, without levels (docs/wire.md)
    assert (marker.kind, marker.epoch, marker.seq, len(marker.bid_prices)) == (
        wire.DELTA, msg.epoch, 1, 0)
    with pytest.raises(ValueError, match="already published"):
        hub.attach(feed)


def test_deltas_rebuild_the_book_and_wake_once_per_flush():
    hub = FanHub()
    woken = []
    hub.on_wake = lambda: woken.append(1)
    feed, stream, r = live_on(hub)
    assert r.state == "live" and r.levels() == feed_levels(feed)
    for _ in range(5):
        for _ in range(10):
            feed.apply_message(stream.event(n_changes=5)[0])
        hub.drain(r.take)
        assert r.levels() == feed_levels(feed)
        last = r.messages[-1]
        assert last.kind == wire.DELTA and last.messages == 10
        assert last.last_update_id == feed.last_update_id
    assert len(woken) == 6     # attach (the snapshot came before its flush), then one per
    #                            flush: not one per message


def test_overflow_sends_the_whole_book_as_the_next_seq():
    hub = FanHub(8)
    feed, stream, r = live_on(hub)
    seq = r.seq
    feed.apply_message(stream.event(n_changes=20)[0])     # 20 changes > 8 a side
    hub.drain(r.take)
    last = r.messages[-1]
    assert last.kind == wire.SNAPSHOT and last.seq == seq + 1 and last.flags == 0
    assert hub.overflows == 1 and r.levels() == feed_levels(feed)


def test_refused_publish_keeps_the_book_dirty_and_the_seq_unspent():
    hub = FanHub()
    feed, stream, r = live_on(hub)
    feed.apply_message(stream.event(n_changes=3)[0])
    assert hub.drain(lambda slot, kind, payload: False) == 0
    assert hub.armed and hub.dirty == 1
    feed.apply_message(stream.event(n_changes=3)[0])
    hub.drain(r.take)
    last = r.messages[-1]
    assert last.kind == wire.DELTA and last.messages == 2 and r.levels() == feed_levels(feed)


def test_state_change_is_an_empty_delta_and_resync_a_new_epoch():
    hub = FanHub()
    feed, stream, r = live_on(hub)
    epoch = r.epoch
    feed.mark_stale("connection lost")
    hub.drain(r.take)
    last = r.messages[-1]
    assert last.kind == wire.DELTA and last.state_name == "stale"
    assert len(last.bid_prices) == len(last.ask_prices) == 0
    feed.start_sync()
    feed.apply_snapshot(stream.snapshot())
    hub.drain(r.take)
    snap, marker = r.messages[-2:]
    assert snap.kind == wire.SNAPSHOT and snap.flags == wire.FLAG_REPLACED
    assert snap.epoch > epoch and snap.state_name == "live"
    assert (marker.kind, marker.epoch, marker.seq) == (wire.DELTA, snap.epoch, 1)
    assert r.levels() == feed_levels(feed)


def test_periodic_snapshot_carries_the_last_delta_seq():
    hub = FanHub()
    feeds = attached_live(hub, 3)
    sent = []
    hub.drain(lambda slot, kind, payload: sent.append((slot, kind)) or True)
    feeds[0][0].apply_message(feeds[0][1].event(n_changes=2)[0])
    sent.clear()
    start, armed = hub.request_snapshots(0, 2)
    assert (start, armed) == (2, False)    # already armed by the applied message
    msgs = []
    hub.drain(lambda slot, kind, payload: msgs.append((slot, wire.decode(payload))) or True)
    kinds = [(slot, m.kind, m.seq) for slot, m in msgs]
    assert kinds == [(0, KIND_DELTA, 2), (0, KIND_SNAPSHOT, 2), (1, KIND_SNAPSHOT, 1)]
    start, _ = hub.request_snapshots(start, 2)      # wraps: books 2 and 0
    assert start == 1


def test_touch_all_starts_every_book_anew_and_detach_forgets():
    hub = FanHub()
    feeds = attached_live(hub, 2)
    hub.drain(lambda *a: True)
    assert hub.touch_all(True)
    hub.detach(feeds[1][0])
    msgs = []
    hub.drain(lambda slot, kind, payload: msgs.append(wire.decode(payload)) or True)
    assert [(m.kind, m.flags, m.seq) for m in msgs] == [(KIND_SNAPSHOT, wire.FLAG_REPLACED, 0),
                                                          (KIND_DELTA, 0, 1)]
    assert hub.books == 1
    hub.attach(feeds[1][0])         # the freed slot is reused
    assert hub.books == 2 and hub.core(1) is feeds[1][0]


def test_coinbase_in_band_snapshot_starts_an_epoch():
    stream = CoinbaseStream({"BTC-USD": Market(seed=2)})
    feed = BookFeed("coinbase", "BTC-USD", tick_size="0.01", step_size="0.00000001")
    hub = FanHub()
    got = []
    hub.attach(feed)
    feed.apply_message(stream.snapshot("BTC-USD"))
    for _ in range(20):
        feed.apply_message(stream.update(["BTC-USD"], n_changes=4))
    hub.drain(lambda slot, kind, payload: got.append(wire.decode(payload)) or True)
    # one loop turn held the in-band snapshot and the updates after it: one snapshot
    assert [(m.kind, m.flags, m.state_name) for m in got] == [
        (KIND_SNAPSHOT, wire.FLAG_REPLACED, "live"), (KIND_DELTA, 0, "live")]
    bids = sorted(zip(got[0].bid_prices.tolist(), got[0].bid_sizes.tolist(), strict=True), reverse=True)
    assert bids == [tuple(map(int, r)) for r in feed.book.bids_int()]


@settings(max_examples=150, deadline=None)
@given(cap=st.integers(1, 48),
       ops=st.lists(st.one_of(st.tuples(st.just("msg"), st.integers(1, 12)),
                              st.tuples(st.just("drain"), st.booleans()),
                              st.tuples(st.just("resync"), st.just(0)),
                              st.tuples(st.just("periodic"), st.just(0))),
                    min_size=1, max_size=60))
@pytest.mark.parametrize("framed", [False, True], ids=["callable", "framed"])
def test_any_interleaving_rebuilds_exactly(framed, cap, ops):
    feed, stream = make_feed()
    hub = FanHub(cap)
    r = Rebuilder()
    slot = hub.attach(feed)
    hub.set_subjects(slot, *SUBJECTS)
    feed.apply_snapshot(stream.snapshot())
    for op, arg in ops:
        if op == "msg":
            feed.apply_message(stream.event(n_changes=arg)[0])
        elif op == "drain":
            if framed:
                # an early flush of the book joins the same buffer (the publisher's burst
                # path); the link being full means no drain at all
                (hub.drain_one_framed(slot) if arg else hub.drain_framed())
                r.take_framed(hub.take_framed(), SUBJECTS)
                assert hub.take_framed() == b"" and hub.framed_bytes == 0
                assert r.levels() == feed_levels(feed)
                assert r.state == feed.state
            elif arg:
                hub.drain(r.take)
                assert r.levels() == feed_levels(feed)
                assert r.state == feed.state
            else:
                hub.drain(lambda *a: False)         # the link is full: nothing changes
        elif op == "resync":
            feed.start_sync()
            feed.apply_snapshot(stream.snapshot())
        else:
            hub.request_snapshots(0, 1)
    if framed:
        hub.drain_framed()
        r.take_framed(hub.take_framed(), SUBJECTS)
    else:
        hub.drain(r.take)
    assert r.levels() == feed_levels(feed) and not hub.armed
    assert hub.messages == len(r.messages)
    assert hub.deltas + hub.snapshots == hub.messages


def bn_trade(t, p="97250.01", q="0.00100"):
    ev = {"e": "trade", "E": 1700000000001 + t, "s": "BTCUSDT", "t": t, "p": p, "q": q,
          "T": 1700000000000 + t, "m": t % 2 == 0, "M": True}
    return json.dumps(ev).encode()


def test_trades_go_out_as_recorded_and_overwritten_ones_are_counted():
    tf = TradeFeed("binance", "BTCUSDT", tick_size="0.01", step_size="0.00001", capacity=8)
    hub = FanHub()
    raw, got = [], []

    def take(slot, kind, payload):
        raw.append(payload)
        got.append(wire.decode(payload))
        return True

    tf.apply_message(bn_trade(1))           # before attaching: not published
    hub.attach_trades(tf)
    hub.drain(take)
    assert [(m.kind, m.seq, len(m.trades), m.state_name) for m in got] == [
        (KIND_TRADES, 1, 0, "live")]        # the stream's state, no trades yet
    for t in range(2, 7):
        tf.apply_message(bn_trade(t, p=f"97250.{t:02d}"))
    hub.drain(take)
    msg = got[-1]
    assert msg.seq == 2 and msg.lost == 0 and msg.trades["trade_id"].tolist() == [2, 3, 4, 5, 6]
    ring = tf.trades()[-5:]
    for name in ("recv_ns", "exchange_ns", "trade_id", "price", "size", "side"):
        assert msg.trades[name].tolist() == ring[name].tolist()
    # the compiled message is the reference encoding of the ring's newest trades
    assert raw[-1] == wire.encode_trades(
        state=1, book=wire.book_id("binance", "BTCUSDT"), price_decimals=tf.price_decimals,
        size_decimals=tf.size_decimals, epoch=msg.epoch, seq=2, trades=ring,
        publish_ns=msg.publish_ns)
    for t in range(7, 20):                  # 13 trades into a ring of 8 before a flush
        tf.apply_message(bn_trade(t))
    hub.drain(take)
    msg = got[-1]
    assert msg.seq == 3 and msg.lost == 5 and msg.trades["trade_id"].tolist() == list(range(12, 20))
    assert hub.lost_trades == 5
    tf.close()
    hub.drain(take)
    assert (got[-1].seq, len(got[-1].trades), got[-1].state_name) == (4, 0, "closed")


def test_wire_rejects_what_is_not_a_message():
    good = wire.encode(wire.DELTA, state=1, book=5, price_decimals=2, size_decimals=8,
                       epoch=1, seq=1, bids=[(100, 1)])
    assert wire.decode(good).bid_prices.tolist() == [100]
    cases = {b"x" * 10: "shorter", b"FFNX" + good[4:]: "magic",
             good[:4] + b"\x02\x00" + good[6:]: "version", good[:6] + b"\x09" + good[7:]: "kind",
             good[:7] + b"\x09" + good[8:]: "state", good + b"\x00" * 8: "header says",
             good[:-8]: "header says"}
    for data, what in cases.items():
        with pytest.raises(wire.WireError, match=what):
            wire.decode(data)
    trades = wire.encode_trades(state=1, book=5, price_decimals=2, size_decimals=8, epoch=1,
                                seq=1, trades=np.zeros(2, dtype=wire.TRADE_DTYPE))
    assert len(wire.decode(trades).trades) == 2
    with pytest.raises(wire.WireError, match="trades message"):
        wire.decode(trades[:-1])
    assert wire.normalise_symbol("btc/usd") == "BTC_USD"
    assert wire.subject("ff", "book", "kraken", "BTC/USD") == "ff.book.kraken.BTC_USD"
    assert wire.stream_name("my-app", "snap") == "MY_APP_SNAP"


def test_a_publish_that_raises_leaves_the_dirty_list_consistent():
    hub = FanHub()
    feeds = attached_live(hub, 3)
    calls = []

    def explode(slot, kind, payload):
        calls.append(slot)
        if len(calls) == 3:            # the second book's snapshot
            raise RuntimeError("boom")
        return True

    with pytest.raises(RuntimeError, match="boom"):
        hub.drain(explode)
    assert hub.dirty == 2 and hub.armed       # the failed book and the one after it
    for feed, stream in feeds:                # touching them again lists nobody twice
        feed.apply_message(stream.event(n_changes=2)[0])
    assert hub.dirty == 3
    got = []
    hub.drain(lambda slot, kind, payload: got.append(slot) or True)
    # book 0 a delta; books 1 and 2 their snapshot and its epoch announcement
    assert sorted(got) == [0, 1, 1, 2, 2] and hub.dirty == 0 and not hub.armed


def test_a_burst_sends_a_book_early_instead_of_overflowing():
    # a loop turn holding more changes than the log: with on_full the book is sent as
    # deltas mid-turn (exact, contiguous); without, it overflows into a snapshot
    for early in (True, False):
        hub = FanHub(64)
        feed, stream, r = live_on(hub)
        if early:
            hub.on_full = lambda slot, hub=hub, r=r: hub.drain_one(slot, r.take)
        for _ in range(80):                  # 80 x 5 changes in one "turn"
            feed.apply_message(stream.event(n_changes=5)[0])
        hub.drain(r.take)
        kinds = [m.kind for m in r.messages[2:]]
        assert r.levels() == feed_levels(feed) and not hub.armed and hub.dirty == 0
        if early:
            assert hub.early_flushes >= 2 and hub.overflows == 0, hub.early_flushes
            assert set(kinds) == {wire.DELTA} and len(kinds) == hub.early_flushes + 1
        else:
            assert hub.overflows == 1 and kinds == [wire.SNAPSHOT]


def test_framed_drain_skips_and_reports_a_message_above_max_payload():
    big, stream = make_feed()
    small = TradeFeed("binance", "BTCUSDT", tick_size="0.01", step_size="0.00001")
    hub = FanHub()
    b = hub.attach(big)
    t = hub.attach_trades(small)
    hub.set_subjects(b, *SUBJECTS)
    hub.set_subjects(t, b"ff.trade.binance.BTCUSDT", b"ff.trade.binance.BTCUSDT")
    big.apply_snapshot(stream.snapshot())          # 80 levels: 1,368 bytes
    small.apply_message(bn_trade(1))
    hub.max_payload = 1000
    assert hub.drain_framed() == 2                 # the announcement and the trades
    data = hub.take_framed()
    subjects = [line.split(b" ")[1] for line in data.split(b"\r\n") if line.startswith(b"PUB ")]
    assert subjects == [SUBJECTS[0], b"ff.trade.binance.BTCUSDT"]
    size = 88 + 16 * (len(big.book.bids_int()) + len(big.book.asks_int()))
    events = hub.take_events()
    assert ("too_large", b, size) in events and hub.too_large == 1
    # each slot's first published state is reported once, not again
    assert sorted(e[1] for e in events if e[0] == "state") == [b, t]
    assert not hub.armed and hub.take_events() == []
    small.apply_message(bn_trade(2))
    hub.drain_framed()
    assert hub.take_events() == [] and hub.trade_messages == 2


def test_framed_drain_needs_subjects_and_callable_drain_a_callable():
    feed, _ = make_feed()
    hub = FanHub()
    hub.attach(feed)
    with pytest.raises(RuntimeError, match="set_subjects"):
        hub.drain_framed()
    assert hub.armed and hub.dirty == 1            # nothing was lost
    with pytest.raises(TypeError):
        hub.drain(None)
    with pytest.raises(ValueError, match="bad subject"):
        hub.set_subjects(0, b"ff.book x", b"ff.snap.x")
