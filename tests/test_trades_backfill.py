"""TradeCore.backfill (docs/venues.md, "Backfill"): REST trades fill the missing id
ranges only, once each, appended in id order after the live ones; against the reference
twin (``fastfeed.reference.trades.TradeStream.backfill``) on generated scenarios."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed import DecodeRejected, TradeFeed
from fastfeed.feed import instrument_scales
from fastfeed.reference.trades import TradeStream

T0 = 1_700_000_000_000


def ws_agg(a: int, price: str = "100.00", m: bool = False) -> bytes:
    return json.dumps({"e": "aggTrade", "E": T0 + a, "s": "BTCUSDT", "a": a, "p": price,
                       "q": "0.5", "f": 10 * a, "l": 10 * a, "T": T0 + a, "m": m}).encode()


def rest_agg(ids: list[int], price: str = "101.00") -> bytes:
    return json.dumps([{"a": a, "p": price, "q": "0.25", "f": 10 * a, "l": 10 * a,
                        "T": T0 + a, "m": a % 2 == 0, "M": True} for a in ids]).encode()


def cx_match(tid: int) -> bytes:
    return json.dumps({"type": "match", "trade_id": tid, "sequence": 1000 + tid,
                       "time": "2026-01-01T00:00:00.000001Z", "product_id": "BTC-USD",
                       "size": "0.1", "price": "50000.00", "side": "sell"}).encode()


def cx_rest(ids: list[int]) -> bytes:
    # newest first, as the venue pages them
    return json.dumps([{"time": "2026-01-01T00:00:00.5Z", "trade_id": t, "price": "49999.99",
                        "size": "0.2", "side": "buy"} for t in sorted(ids, reverse=True)]).encode()


def feed_with(ids: list[int], **kw: Any) -> TradeFeed:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001", stream="aggTrade", strict=False, **kw)
    for a in ids:
        tf.apply_message(ws_agg(a))
    return tf


def test_only_missing_ids_are_recorded_in_id_order_after_the_live_ones() -> None:
    tf = feed_with([1, 2, 5, 6, 10])
    assert tf.missing == [(3, 4), (7, 9)] and tf.state == "gap"
    seen = tf.recorded
    # 2, 5, 6 are held; 11 is beyond everything missing; the body's order does not matter
    n = tf.backfill(rest_agg([8, 2, 3, 4, 5, 6, 7, 11]))
    assert n == 4 and tf.backfilled == 4 and tf.recorded == seen + 4
    new = tf.trades(since=seen)
    assert new["trade_id"].tolist() == [3, 4, 7, 8]
    assert tf.price_decimals == tf.size_decimals == 8            # Binance's value scale
    assert new["price"].tolist() == [101 * 10**8] * 4
    assert new["size"].tolist() == [25 * 10**6] * 4
    assert new["side"].tolist() == [1, -1, 1, -1]       # m: buyer is maker → taker sold
    assert new["exchange_ns"].tolist() == [(T0 + a) * 10**6 for a in (3, 4, 7, 8)]
    assert tf.trades()["trade_id"].tolist() == [1, 2, 5, 6, 10, 3, 4, 7, 8]
    assert tf.missing == [(9, 9)] and tf.state == "gap"
    assert tf.backfill(rest_agg([9])) == 1
    assert tf.missing == [] and tf.state == "live"
    assert tf.counters()["backfilled"] == 5
    assert tf.last_trade_id == 10                       # the live stream's ids go on
    tf.apply_message(ws_agg(11))
    assert tf.state == "live" and tf.gaps == 2


def test_a_repeated_page_records_nothing() -> None:
    tf = feed_with([1, 5])
    assert tf.backfill(rest_agg([2, 3])) == 2
    assert tf.backfill(rest_agg([2, 3])) == 0
    assert tf.backfill(rest_agg([4, 4, 4])) == 1        # a duplicate row in one page: once
    assert tf.missing == [] and tf.backfilled == 3


def test_a_heal_in_the_middle_splits_the_range() -> None:
    tf = feed_with([1, 10])
    assert tf.backfill(rest_agg([5, 6])) == 2
    assert tf.missing == [(2, 4), (7, 9)]
    assert tf.backfill(rest_agg([2, 4, 9])) == 3
    assert tf.missing == [(3, 3), (7, 8)]


def test_an_unreadable_payload_is_healed_by_the_ids_around_it() -> None:
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001", stream="aggTrade", strict=False)
    tf.apply_message(ws_agg(1))
    tf.apply_message(b'{"e":"aggTrade"')                # unreadable: the ids will show it
    tf.apply_message(ws_agg(4))
    assert tf.missing == [(2, 3)]
    assert tf.backfill(rest_agg([2, 3])) == 2 and tf.state == "live"


def test_a_stream_the_endpoint_does_not_serve_is_refused() -> None:
    # Binance spot @trade ids are not aggTrade ids (docs/venues.md, "Backfill")
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001", stream="trade", strict=False)
    with pytest.raises(ValueError, match="binance trade stream has no REST backfill"):
        tf.backfill(rest_agg([1]))


def test_nothing_missing_records_nothing() -> None:
    tf = feed_with([1, 2, 3])
    assert tf.backfill(rest_agg([1, 2, 3, 4])) == 0
    assert tf.backfilled == 0 and tf.trades()["trade_id"].tolist() == [1, 2, 3]


def test_coinbase_exchange_pages_newest_first() -> None:
    tf = TradeFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001", strict=False)
    for t in (100, 101, 105):
        tf.apply_message(cx_match(t))
    assert tf.missing == [(102, 104)]
    assert tf.backfill(cx_rest([105, 104, 103, 102, 101])) == 3
    out = tf.trades(since=3)
    assert out["trade_id"].tolist() == [102, 103, 104]
    assert out["side"].tolist() == [-1, -1, -1]          # maker bought: the taker sold
    assert out["price"].tolist() == [4999999 * 10 ** (tf.price_decimals - 2)] * 3
    assert tf.state == "live"


def test_bad_bodies_raise_and_record_nothing() -> None:
    tf = feed_with([1, 5])
    for body, text in [(b"[", "truncated JSON"),
                       (rest_agg([2], price="101.000000001"), "price"),  # finer than the scale
                       (b'{"code":-1121,"msg":"Invalid symbol."}', "venue error")]:
        with pytest.raises(DecodeRejected, match=text):
            tf.backfill(body)
    assert tf.backfilled == 0 and tf.missing == [(2, 4)] and tf.recorded == 2


def test_venues_and_closed_streams_without_backfill() -> None:
    at = TradeFeed("coinbase", "BTC-USD", "0.01", "0.00000001", strict=False)
    with pytest.raises(ValueError, match="coinbase has no REST trade backfill"):
        at.backfill(b"[]")
    tf = feed_with([1, 5])
    tf.close()
    assert tf.backfill(rest_agg([2])) == 0


def test_the_callback_runs_after_a_backfill() -> None:
    tf = feed_with([1, 5])
    calls: list[int] = []
    tf.callback = lambda core: calls.append(core.backfilled)
    tf.backfill(rest_agg([3]))
    assert calls == [1]


def test_a_full_ring_overwrites_the_oldest_as_live() -> None:
    tf = feed_with([1, 2, 6], capacity=4)
    assert tf.backfill(rest_agg([3, 4, 5])) == 3
    assert tf.trades()["trade_id"].tolist() == [6, 3, 4, 5] and tf.overwritten == 2


# ---------------------------------------------------------------------------------------
# against the reference twin
# ---------------------------------------------------------------------------------------

@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, list[tuple[str, list[int]]]]:
    capacity = draw(st.integers(2, 40))
    steps: list[tuple[str, list[int]]] = []
    a = draw(st.integers(0, 5))
    for _ in range(draw(st.integers(1, 25))):
        if draw(st.integers(0, 2)):
            a += draw(st.integers(1, 4))        # live, with jumps (gaps)
            steps.append(("ws", [a]))
        else:
            lo = draw(st.integers(0, a + 2))
            ids = draw(st.lists(st.integers(max(0, lo - 3), lo + 8), max_size=12))
            steps.append(("rest", ids))
    return capacity, steps


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_backfill_matches_reference(case: tuple[int, list[tuple[str, list[int]]]]) -> None:
    capacity, steps = case
    tf = TradeFeed("binance", "BTCUSDT", "0.01", "0.00001", stream="aggTrade",
                   capacity=capacity, strict=False)
    ref = TradeStream("binance", "BTCUSDT", *instrument_scales("binance", "0.01", "0.00001"),
                      stream="aggTrade", capacity=capacity)
    for kind, ids in steps:
        if kind == "ws":
            assert tf.apply_message(ws_agg(ids[0])) == ref.apply_message(ws_agg(ids[0]))
        else:
            assert tf.backfill(rest_agg(ids)) == ref.backfill(rest_agg(ids))
        arr = tf.trades()
        assert list(zip(arr["exchange_ns"].tolist(), arr["trade_id"].tolist(),
                        arr["price"].tolist(), arr["size"].tolist(), arr["side"].tolist(),
                        strict=True)) == ref.trades()
        assert (tf.missing, tf.state, tf.recorded, tf.backfilled, tf.overwritten) == (
            ref.missing, ref.state, ref.recorded, ref.backfilled, ref.overwritten)
