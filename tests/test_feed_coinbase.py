"""BookFeed on Coinbase envelopes: in-band snapshots, several products per message, the
per-connection sequence, and the unsequenced Exchange feed."""

from __future__ import annotations

import json

import pytest

from fastfeed import BookFeed, DecodeRejected
from feedgen import CoinbaseStream, Market, fmt


def book_ints(feed):
    return ([tuple(map(int, r)) for r in feed.book.bids_int()],
            [tuple(map(int, r)) for r in feed.book.asks_int()])


def feed_for(product, strict=True):
    return BookFeed("coinbase", product, tick_size="0.01", step_size="0.00000001",
                    strict=strict)


def test_snapshot_then_multi_product_updates_are_exact():
    stream = CoinbaseStream({"BTC-USD": Market(seed=1), "ETH-USD": Market(seed=2)})
    btc, eth = feed_for("BTC-USD"), feed_for("ETH-USD")
    for payload in (stream.snapshot("BTC-USD"), stream.snapshot("ETH-USD")):
        btc.apply_message(payload)
        eth.apply_message(payload)
    assert btc.state == eth.state == "live"
    for i in range(100):
        payload = stream.update(["BTC-USD", "ETH-USD"] if i % 3 else ["ETH-USD"])
        btc.apply_message(payload)
        eth.apply_message(payload)
        if i % 10 == 0:
            hb = stream.heartbeat()
            btc.apply_message(hb)
            eth.apply_message(hb)
        assert book_ints(btc) == stream.markets["BTC-USD"].truth()
        assert book_ints(eth) == stream.markets["ETH-USD"].truth()
    assert btc.gaps == eth.gaps == 0
    assert btc.connection_sequence == stream.seq


def test_sequence_jump_marks_gap_and_next_snapshot_heals():
    stream = CoinbaseStream({"BTC-USD": Market(seed=3)})
    feed = feed_for("BTC-USD")
    feed.apply_message(stream.snapshot("BTC-USD"))
    feed.apply_message(stream.update(["BTC-USD"]))
    stream.update(["BTC-USD"])                       # lost envelope
    feed.apply_message(stream.update(["BTC-USD"]))
    assert feed.state == "gap"
    assert "sequence_num" in feed.last_gap_reason
    feed.apply_message(stream.update(["BTC-USD"]))   # ignored until a snapshot arrives
    assert feed.rejects.get("before_snapshot") == 2
    feed.apply_message(stream.snapshot("BTC-USD"))   # what a resubscribe delivers
    assert feed.state == "live"
    assert feed.resyncs == 1
    assert book_ints(feed) == stream.markets["BTC-USD"].truth()


def test_updates_before_snapshot_are_not_applied():
    stream = CoinbaseStream({"BTC-USD": Market(seed=4)})
    feed = feed_for("BTC-USD")
    feed.apply_message(stream.update(["BTC-USD"]))
    assert feed.state == "syncing"
    assert feed.book.bid_depth == 0


def test_bad_side_and_bad_decimal_rejected_with_reason():
    stream = CoinbaseStream({"BTC-USD": Market(seed=5)})
    feed = feed_for("BTC-USD")
    feed.apply_message(stream.snapshot("BTC-USD"))
    bad = json.loads(stream.update(["BTC-USD"]))
    bad["events"][0]["updates"][0]["side"] = "ask"
    with pytest.raises(DecodeRejected, match="side"):
        feed.apply_message(json.dumps(bad).encode())
    assert feed.state == "gap"          # that envelope is lost for every product on it
    feed.apply_message(stream.snapshot("BTC-USD"))
    assert feed.state == "live"
    bad = json.loads(stream.update(["BTC-USD"]))
    bad["events"][0]["updates"][0]["price_level"] = "1.001"
    with pytest.raises(DecodeRejected, match="price"):
        feed.apply_message(json.dumps(bad).encode())
    assert feed.state == "gap"          # a rejected update leaves the book incomplete
    assert feed.rejected == 2
    assert feed.rejects == {"bad_side": 1, "bad_decimal": 1}


def exchange_snapshot(product, market):
    bids, asks = market.truth()
    return json.dumps({"type": "snapshot", "product_id": product,
                       "bids": [[fmt(p, 2, 2), fmt(q, 8, 8)] for p, q in bids],
                       "asks": [[fmt(p, 2, 2), fmt(q, 8, 8)] for p, q in asks]}).encode()


def exchange_update(product, market):
    changes = market.step(5)
    return json.dumps({"type": "l2update", "product_id": product,
                       "changes": [["buy" if s == "b" else "sell", fmt(p, 2, 2), fmt(q, 8, 8)]
                                   for s, p, q in changes],
                       "time": "2023-02-09T20:32:50.714964Z"}).encode()


def test_coinbase_exchange_snapshot_and_l2update_are_exact():
    market = Market(seed=6)
    feed = BookFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001")
    feed.apply_message(exchange_snapshot("BTC-USD", market))
    assert feed.state == "live"
    for _ in range(100):
        feed.apply_message(exchange_update("BTC-USD", market))
        assert book_ints(feed) == market.truth()
    feed.apply_message(b'{"type":"heartbeat","sequence":90,"last_trade_id":20,'
                       b'"product_id":"BTC-USD","time":"2023-02-09T20:32:50.714964Z"}')
    assert feed.state == "live"


def test_coinbase_exchange_unreadable_message_marks_gap():
    market = Market(seed=7)
    feed = BookFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001", strict=False)
    feed.apply_message(exchange_snapshot("BTC-USD", market))
    feed.apply_message(b'{"type":"l2update","product_id":"BTC-USD","changes":[["buy","1')
    assert feed.state == "gap"          # no sequence numbers: a lost update is undetectable
    assert feed.rejected == 1


@pytest.mark.parametrize(("second", "reason"), [
    (1, "sequence_num 1 repeated"),
    (0, "sequence_num went back from 1 to 0"),
    (5, "sequence_num jumped from 1 to 5"),
])
def test_sequence_break_reasons_say_what_happened(second, reason):
    def env(seq, kind, qty):
        return json.dumps({
            "channel": "l2_data", "client_id": "", "timestamp": "2023-02-09T20:32:50.714964855Z",
            "sequence_num": seq, "events": [{"type": kind, "product_id": "BTC-USD", "updates": [
                {"side": "bid", "event_time": "2023-02-09T20:32:50.714964855Z",
                 "price_level": "100.00", "new_quantity": qty}]}]}).encode()
    feed = feed_for("BTC-USD", strict=False)
    feed.apply_message(env(0, "snapshot", "1"))
    feed.apply_message(env(1, "update", "2"))
    assert feed.state == "live"
    feed.apply_message(env(second, "update", "3"))
    assert feed.state == "gap" and feed.last_gap_reason == reason
