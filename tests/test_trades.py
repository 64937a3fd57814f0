"""TradeFeed (docs/venues.md, "Trades"): the issue's API, the ring buffer, the id rules
of every venue, rejects, and a property test against the pure-Python stream twin
(``fastfeed.reference.trades``)."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import DecodeRejected, TradeFeed
from fastfeed._trades import MAX_MISSING
from fastfeed.feed import instrument_scales
from fastfeed.reference.trades import TradeStream

T0 = 1700000000000     # ms


def _dumps(o: Any) -> bytes:
    return json.dumps(o, separators=(",", ":")).encode()


def bn_trade(t: int, p: str = "97250.01", q: str = "0.00100", m: bool = False,
             s: str = "BTCUSDT", combined: bool = False) -> bytes:
    ev = {"e": "trade", "E": T0 + t + 1, "s": s, "t": t, "p": p, "q": q, "T": T0 + t,
          "m": m, "M": True}
    return _dumps({"stream": s.lower() + "@trade", "data": ev} if combined else ev)


def bn_agg(a: int, f: int, last: int, p: str = "97250.01", q: str = "0.00100",
           m: bool = True, s: str = "BTCUSDT", usdm: bool = False) -> bytes:
    if usdm:
        return _dumps({"stream": s.lower() + "@aggTrade", "data": {
            "e": "aggTrade", "E": T0 + a + 1, "a": a, "s": s, "p": p, "q": q, "nq": q,
            "f": f, "l": last, "T": T0 + a, "m": m, "st": 1}})
    return _dumps({"e": "aggTrade", "E": T0 + a + 1, "s": s, "a": a, "p": p, "q": q,
                   "f": f, "l": last, "T": T0 + a, "m": m, "M": True})


def cx_match(trade_id: int, p: str = "400.23", size: str = "5.23512", side: str = "sell",
             product: str = "BTC-USD", kind: str = "match") -> bytes:
    return _dumps({"type": kind, "trade_id": trade_id, "sequence": 50 + trade_id,
                   "maker_order_id": "ac928c66", "taker_order_id": "132fb6ae",
                   "time": f"2014-11-07T08:19:27.{trade_id % 1000000:06d}Z",
                   "product_id": product, "size": size, "price": p, "side": side})


def at_trade(tid: str, p: str = "21921.73", size: str = "0.5", side: str = "BUY",
             product: str = "BTC-USD", ms: int = 0) -> dict[str, str]:
    return {"trade_id": tid, "product_id": product, "price": p, "size": size, "side": side,
            "time": f"2023-02-09T20:19:35.{ms % 1000:03d}Z"}


def at_msg(seq: int, *events: tuple[str, list[dict[str, str]]],
           channel: str = "market_trades") -> bytes:
    return _dumps({"channel": channel, "client_id": "", "timestamp": "2023-02-09T20:19:35Z",
                   "sequence_num": seq,
                   "events": [{"type": typ, "trades": trades} for typ, trades in events]})


def at_heartbeat(seq: int) -> bytes:
    return _dumps({"channel": "heartbeats", "client_id": "", "timestamp": "2023-02-09T20:19:35Z",
                   "sequence_num": seq, "events": [{"current_time": "x",
                                                    "heartbeat_counter": seq}]})


def ids(tf: TradeFeed) -> list[int]:
    return [int(x) for x in tf.trades()["trade_id"]]


# ---------------------------------------------------------------------------------------
# the API of the issue
# ---------------------------------------------------------------------------------------

def test_issue_api_binance() -> None:
    tf = fastfeed.TradeFeed("binance", "BTCUSDT", tick_size="0.01", step_size="0.00001")
    # Binance values are kept at 8 decimals whatever the tick (docs/venues.md#instrument-scales)
    assert (tf.price_decimals, tf.size_decimals) == (8, 8)
    assert (tf.state, tf.gaps, tf.stream) == ("live", 0, None)
    before = time.time_ns()
    assert tf.apply_message(bn_trade(7, "97250.01", "0.00100", m=True)) == 1
    assert tf.apply_message(bn_trade(8, "97250.02", "1.5", combined=True)) == 1
    after = time.time_ns()
    arr = tf.trades()
    assert isinstance(arr, np.ndarray) and arr.dtype == fastfeed.TRADE_DTYPE
    assert arr.dtype.names == ("recv_ns", "exchange_ns", "trade_id", "price", "size", "side")
    assert [arr.dtype[n] for n in arr.dtype.names] == [np.dtype(np.int64)] * 5 + [
        np.dtype(np.int8)]
    assert arr["trade_id"].tolist() == [7, 8]
    assert arr["price"].tolist() == [9725001000000, 9725002000000]
    assert arr["size"].tolist() == [100000, 150000000]
    assert arr["side"].tolist() == [-1, 1]            # m true: the taker sold
    assert arr["exchange_ns"].tolist() == [(T0 + 7) * 10**6, (T0 + 8) * 10**6]  # T, not E
    # receive time is wall time (ns since the epoch), monotonic in arrival order
    assert all(before - 10**9 <= r <= after + 10**9 for r in arr["recv_ns"].tolist())
    assert arr["recv_ns"][0] <= arr["recv_ns"][1]
    assert (tf.state, tf.gaps, tf.stream, tf.recorded, tf.held) == ("live", 0, "trade", 2, 2)


def test_trade_dtype_layout() -> None:
    dt = fastfeed.TRADE_DTYPE
    assert dt.itemsize == 48
    assert [dt.fields[n][1] for n in dt.names] == [0, 8, 16, 24, 32, 40]


def test_trades_returns_a_copy() -> None:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001")
    tf.apply_message(bn_trade(1))
    arr = tf.trades()
    arr["price"][0] = 0
    assert tf.trades()["price"][0] == 9725001000000


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match="unknown venue"):
        TradeFeed("nowhere", "BTC/USD", "0.1", "0.1")
    with pytest.raises(ValueError, match="has no trade stream 'trade'"):
        TradeFeed("binance-usdm", "BTCUSDT", "0.1", "0.001", stream="trade")
    with pytest.raises(ValueError, match="capacity must be at least 1"):
        TradeFeed("binance", "BTCUSDT", "0.1", "0.001", capacity=0)
    with pytest.raises(ValueError, match="increment"):
        TradeFeed("binance", "BTCUSDT", "0", "0.001")
    with pytest.raises(AttributeError):
        TradeFeed("binance", "BTCUSDT", "0.1", "0.001").tick_sise = "0.1"  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------
# ring buffer
# ---------------------------------------------------------------------------------------

def test_ring_overwrites_oldest_first_and_counts() -> None:
    tf = TradeFeed("binance-usdm", "BTCUSDT", "0.10", "0.001", capacity=3)
    for a in range(10, 15):
        assert tf.apply_message(bn_agg(a, 10 * a, 10 * a + 1, p="97250.10", usdm=True)) == 1
    assert ids(tf) == [12, 13, 14]
    assert (tf.recorded, tf.held, tf.overwritten, tf.capacity) == (5, 3, 2, 3)
    assert [int(x) for x in tf.trades(since=3)["trade_id"]] == [13, 14]
    assert [int(x) for x in tf.trades(since=0)["trade_id"]] == [12, 13, 14]   # 0, 1 are gone
    assert len(tf.trades(since=5)) == 0 and len(tf.trades(since=99)) == 0


def test_ring_of_one() -> None:
    tf = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001", capacity=1)
    for i in (1, 2, 3):
        tf.apply_message(cx_match(i))
    assert ids(tf) == [3] and tf.overwritten == 2


# ---------------------------------------------------------------------------------------
# id rules per venue (docs/venues.md, "Trades")
# ---------------------------------------------------------------------------------------

def test_aggtrade_gap_and_missing_range() -> None:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001")
    tf.apply_message(bn_agg(100, 1000, 1001))
    tf.apply_message(bn_agg(101, 1002, 1002))
    assert tf.apply_message(bn_agg(104, 1010, 1011)) == 1      # 102, 103 lost
    assert (tf.state, tf.gaps, tf.missing) == ("gap", 1, [(102, 103)])
    assert "trade id gap: 101 then 104" in (tf.last_gap_reason or "")
    tf.apply_message(bn_agg(105, 1012, 1012))
    assert ids(tf) == [100, 101, 104, 105]
    assert tf.id_jumps == 0                  # f/l follow on 104 -> 105; 101 -> 104 is the gap
    assert tf.clear_gaps() == [(102, 103)]
    assert (tf.state, tf.missing, tf.gaps) == ("live", [], 1)


def test_spot_aggtrade_fill_ranges_observed_usdm_not() -> None:
    spot = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001")
    usdm = TradeFeed("binance-usdm", "BTCUSDT", "0.01", "0.00001")
    for a, f, last in ((1, 10, 11), (2, 13, 13), (3, 14, 15)):    # 12 skipped
        spot.apply_message(bn_agg(a, f, last))
        usdm.apply_message(bn_agg(a, f, last, usdm=True))
    assert (spot.id_jumps, spot.state) == (1, "live")
    assert (usdm.id_jumps, usdm.state) == (0, "live")    # USD-M f..l have holes by design


def test_spot_trade_id_jump_is_counted_not_a_gap() -> None:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001", stream="trade")
    for t in (1, 2, 5, 6):
        tf.apply_message(bn_trade(t))
    assert (tf.state, tf.gaps, tf.id_jumps, tf.missing) == ("live", 0, 1, [])
    assert ids(tf) == [1, 2, 5, 6]


def test_duplicates_and_old_ids_ignored() -> None:
    tf = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001")
    assert tf.apply_message(cx_match(10, kind="last_match")) == 1
    assert tf.apply_message(cx_match(11)) == 1
    assert tf.apply_message(cx_match(11)) == 0
    assert tf.apply_message(cx_match(9)) == 0
    assert tf.apply_message(cx_match(12)) == 1
    assert (ids(tf), tf.duplicates, tf.state) == ([10, 11, 12], 2, "live")


def test_exchange_trade_id_gap() -> None:
    tf = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001")
    tf.apply_message(cx_match(734680345))
    tf.apply_message(cx_match(734680348, side="buy"))
    assert (tf.state, tf.missing) == ("gap", [(734680346, 734680347)])
    assert tf.trades()["side"].tolist() == [1, -1]   # maker side sell/buy: taker bought/sold


def test_exchange_other_product_and_messages() -> None:
    tf = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001")
    assert tf.apply_message(cx_match(5, product="ETH-USD")) == 0
    assert tf.apply_message(b'{"type":"heartbeat","sequence":90,"last_trade_id":20,'
                            b'"product_id":"BTC-USD","time":"2014-11-07T08:19:28Z"}') == 0
    assert tf.apply_message(b'{"type":"subscriptions","channels":[]}') == 0
    assert (tf.unknown_symbol, tf.recorded, tf.rejected) == (1, 0, 0)


def test_at_newest_first_events_come_out_oldest_first() -> None:
    tf = TradeFeed("coinbase", "BTC-USD", "0.01", "0.00000001")
    n = tf.apply_message(at_msg(0, ("snapshot", [at_trade("103", ms=3), at_trade("102", ms=2),
                                                 at_trade("101", ms=1)])))
    assert n == 3 and ids(tf) == [101, 102, 103]
    assert tf.trades()["exchange_ns"].tolist() == sorted(tf.trades()["exchange_ns"].tolist())
    # a resubscribe's snapshot repeats trades held: they are dropped, the new one kept
    assert tf.apply_message(at_msg(1, ("snapshot", [at_trade("104"), at_trade("103"),
                                                    at_trade("102")]))) == 1
    assert (ids(tf), tf.duplicates) == ([101, 102, 103, 104], 2)
    assert tf.trades()["side"].tolist() == [-1] * 4     # BUY is the maker: the taker sold


def test_at_sequence_num_gap_and_heartbeats() -> None:
    tf = TradeFeed("coinbase", "BTC-USD", "0.01", "0.00000001")
    tf.apply_message(at_msg(5, ("update", [at_trade("1")])))
    tf.apply_message(at_heartbeat(6))
    tf.apply_message(at_msg(7, ("update", [at_trade("2")])))
    assert (tf.state, tf.connection_sequence) == ("live", 7)
    tf.apply_message(at_msg(9, ("update", [at_trade("3")])))       # 8 lost
    assert (tf.state, tf.gaps, tf.sequence_gaps, tf.missing) == ("gap", 1, 1, [(-1, -1)])
    assert tf.last_gap_reason == "sequence_num jumped from 7 to 9"
    assert ids(tf) == [1, 2, 3]


def test_at_uuid_ids_are_minus_one_and_unchecked() -> None:
    tf = TradeFeed("coinbase", "BTC-USD", "0.01", "0.00000001")
    tf.apply_message(at_msg(0, ("update", [at_trade("ba2a0a48-8f38"), at_trade("x-1")])))
    tf.apply_message(at_msg(1, ("update", [at_trade("ba2a0a48-8f38")])))
    assert ids(tf) == [-1, -1, -1] and tf.duplicates == 0 and tf.state == "live"


def test_binance_stream_is_fixed_by_the_first_trade() -> None:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001")
    tf.apply_message(bn_agg(1, 1, 1))
    assert tf.apply_message(bn_trade(2)) == 0     # another id space: never mixed in
    assert (tf.stream, tf.other_stream, ids(tf)) == ("aggTrade", 1, [1])
    usdm = TradeFeed("binance-usdm", "BTCUSDT", "0.01", "0.00001")
    assert usdm.stream == "aggTrade"              # the venue's only trade stream
    assert usdm.apply_message(bn_trade(2)) == 0 and usdm.other_stream == 1


# ---------------------------------------------------------------------------------------
# rejects
# ---------------------------------------------------------------------------------------

def test_strict_reject_raises_counts_and_appends_nothing() -> None:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001")
    tf.apply_message(bn_agg(1, 1, 1))
    with pytest.raises(DecodeRejected, match=r"price at byte \d+: '97250.015000001' has more "
                                             r"decimals than the scale allows \(8\)"):
        tf.apply_message(bn_agg(2, 2, 2, p="97250.015000001"))
    assert (ids(tf), tf.rejects, tf.state, tf.missing) == ([1], {"bad_decimal": 1}, "gap",
                                                           [(2, 2)])
    with pytest.raises(DecodeRejected, match="truncated JSON at byte 16"):
        tf.apply_message(b'{"e":"aggTrade",')
    assert tf.rejects == {"bad_decimal": 1, "truncated": 1}
    # the lost id is accounted for: the next trade continues without a second gap
    assert tf.apply_message(bn_agg(3, 3, 3)) == 1 and tf.gaps == 1


def test_lenient_rejects_and_venue_error() -> None:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001", strict=False)
    assert tf.apply_message(bn_trade(1, q="1e-5")) == 0
    assert tf.apply_message(b'{"code":-1121,"msg":"Invalid symbol."}') == 0
    assert tf.rejects == {"bad_decimal": 1, "venue_error": 1}
    assert "venue error" in (tf.last_reject or "")
    assert (tf.state, tf.missing) == ("gap", [(1, 1)])   # a rejected trade is a known loss


def test_at_unreadable_message_is_a_loss_of_unknown_trades() -> None:
    tf = TradeFeed("coinbase", "BTC-USD", "0.01", "0.00000001", strict=False)
    tf.apply_message(at_msg(0, ("update", [at_trade("1")])))
    tf.apply_message(b'{"channel":"market_trades","events":[')
    assert (tf.state, tf.missing, tf.rejects) == ("gap", [(-1, -1)], {"truncated": 1})
    ex = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001", strict=False)
    ex.apply_message(cx_match(1))
    ex.apply_message(b'{"type":"match",')
    assert ex.state == "live"                      # trade ids will show what it held
    ex.apply_message(cx_match(3))
    assert (ex.state, ex.missing) == ("gap", [(2, 2)])


def test_callback_and_close() -> None:
    tf = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001")
    seen: list[int] = []
    tf.callback = lambda core: seen.append(core.recorded)
    tf.apply_message(cx_match(1))
    tf.apply_message(cx_match(1))                # nothing recorded: no call
    tf.apply_message(cx_match(2))
    assert seen == [1, 2]
    tf.close()
    assert tf.apply_message(cx_match(3)) == 0 and tf.state == "closed" and ids(tf) == [1, 2]


def test_missing_ranges_are_bounded() -> None:
    tf = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001", capacity=4)
    ref = TradeStream("coinbase-exchange", "BTC-USD", 2, 8, capacity=4)
    for i in range(MAX_MISSING + 5):
        payload = cx_match(2 * i)
        assert tf.apply_message(payload) == ref.apply_message(payload)
    assert len(tf.missing) == MAX_MISSING and tf.gaps == MAX_MISSING + 4
    assert tf.missing[-1] == (2 * (MAX_MISSING - 1) + 1, 2 * (MAX_MISSING + 4) - 1)
    assert tf.missing == ref.missing


# ---------------------------------------------------------------------------------------
# property: the compiled stream equals its pure-Python twin, message by message
# ---------------------------------------------------------------------------------------

def _step(draw: st.DrawFn, venue: str, state: dict[str, int]) -> bytes:
    """One payload for ``venue``: mostly the next trade id, sometimes a jump, a repeat,
    an older id, a bad decimal, another symbol or stream, garbage, other messages."""
    r = draw(st.integers(0, 19))
    last = state["id"]
    if r < 11:
        tid = last + 1
    elif r < 13:
        tid = last + draw(st.integers(2, 5))
    elif r < 15:
        tid = max(last - draw(st.integers(0, 3)), 0)
    else:
        tid = last + 1
    state["id"] = max(last, tid)
    price = draw(st.sampled_from(["97250.01", "97250.0100", "97250.015", "5", "1e3"])
                 if r == 15 else st.sampled_from(["97250.01", "1.5", "0.10"]))
    symbol = "ETH-USD" if r == 16 else None
    if r == 17:
        return draw(st.sampled_from([b"{", b'{"x":1}', b"[]", b'{"type":"error"}']))
    if venue in ("binance", "binance-usdm"):
        s = "ETHUSDT" if symbol else "BTCUSDT"
        if r == 18 and venue == "binance":
            return bn_trade(tid, p=price, s=s)
        if venue == "binance" and state.get("trade"):
            return bn_trade(tid, p=price, s=s, combined=bool(r % 2))
        f = state["fill"] + draw(st.sampled_from([1, 1, 1, 2]))
        state["fill"] = f + 1
        return bn_agg(tid, f, f + 1, p=price, s=s, m=bool(r % 2), usdm=venue == "binance-usdm")
    if venue == "coinbase-exchange":
        if r == 18:
            return b'{"type":"heartbeat","sequence":9,"product_id":"BTC-USD"}'
        return cx_match(tid, p=price, product=symbol or "BTC-USD",
                        kind="last_match" if r == 19 else "match")
    # coinbase: an envelope with one or two events of 1..3 trades, newest first
    seq = state["seq"] + (draw(st.sampled_from([1, 1, 1, 1, 2, 0])))
    state["seq"] = seq
    if r == 18:
        return at_heartbeat(seq)
    events = []
    for _ in range(draw(st.integers(1, 2))):
        trades = []
        for _ in range(draw(st.integers(1, 3))):
            t = state["id"] + draw(st.sampled_from([1, 1, 2, 0, -1]))
            state["id"] = max(state["id"], t)
            tid_text = draw(st.sampled_from([str(max(t, 0)), str(max(t, 0)), "ba2a-0a48"]))
            trades.append(at_trade(tid_text, p=price,
                                   product=draw(st.sampled_from(["BTC-USD", "BTC-USD",
                                                                 "ETH-USD"])),
                                   side=draw(st.sampled_from(["BUY", "SELL"]))))
        events.append((draw(st.sampled_from(["update", "snapshot"])), trades[::-1]))
    return at_msg(seq, *events)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, str | None, int, list[bytes]]:
    venue = draw(st.sampled_from(["binance", "binance-usdm", "coinbase", "coinbase-exchange"]))
    stream = draw(st.sampled_from([None, "trade", "aggTrade"])) if venue == "binance" else None
    state = {"id": draw(st.integers(0, 10**6)), "fill": 10**7, "seq": 0,
             "trade": int(stream == "trade" or (stream is None and draw(st.booleans())))}
    capacity = draw(st.sampled_from([1, 2, 3, 5, 64]))
    steps = [_step(draw, venue, state) for _ in range(draw(st.integers(1, 25)))]
    return venue, stream, capacity, steps


def _observed(tf: TradeFeed) -> dict[str, Any]:
    arr = tf.trades()
    return {
        "trades": list(zip(arr["exchange_ns"].tolist(), arr["trade_id"].tolist(),
                           arr["price"].tolist(), arr["size"].tolist(), arr["side"].tolist(),
                           strict=True)),
        "state": tf.state, "stream": tf.stream, "missing": tf.missing,
        "counts": (tf.recorded, tf.overwritten, tf.messages, tf.duplicates, tf.gaps,
                   tf.id_jumps, tf.other_stream, tf.rejected, tf.sequence_gaps,
                   tf.unknown_symbol, tf.last_trade_id),
    }


def _reference(ref: TradeStream) -> dict[str, Any]:
    return {
        "trades": ref.trades(), "state": ref.state, "stream": ref.stream,
        "missing": ref.missing,
        "counts": (ref.recorded, ref.overwritten, ref.messages, ref.duplicates, ref.gaps,
                   ref.id_jumps, ref.other_stream, ref.rejected, ref.sequence_gaps,
                   ref.unknown_symbol, ref.last_trade_id),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_stream_matches_reference(case: tuple[str, str | None, int, list[bytes]]) -> None:
    venue, stream, capacity, steps = case
    tick, step = "0.01", "0.00000001"
    tf = TradeFeed(venue, "BTC-USD" if venue.startswith("coinbase") else "BTCUSDT", tick, step,
                   stream=stream, capacity=capacity, strict=False)
    ref = TradeStream(venue, tf.symbol, *instrument_scales(venue, tick, step), stream=stream,
                      capacity=capacity)
    for i, payload in enumerate(steps):
        n = tf.apply_message(payload)
        assert n == ref.apply_message(payload), (i, payload)
        assert _observed(tf) == _reference(ref), (i, payload)
