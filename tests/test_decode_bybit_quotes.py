"""Bybit v5 tickers and the venue BBO (docs/venues.md, "Bybit tickers", "Bybit BBO"): the
compiled decoders against the reference twins on the documented payloads of
../shared/channels.md §7.2 (byte for byte), rejects, generated messages and byte mutations; the delta merge of ``TickerFeed`` and
``BboFeed`` against the reference stream; the stream decoder's dispatch next to books and
trades."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import _parse
from fastfeed._core import DecodeRejected
from fastfeed._quotes import QUOTE_MISSING
from fastfeed.reference import decode as ref_decode
from fastfeed.reference import quotes as ref
from test_decode_binance import Raw, json_object, json_values
from test_decode_quotes import (
    _dump,
    assert_same,
    assert_same_stream,
    both,
    decimals,
    fields,
    ids,
    mutate_one_byte,
    run_both,
)

M = QUOTE_MISSING

# channels.md §7.2, byte for byte: linear perpetual snapshot, spot snapshot, a real delta
LINEAR = (b'{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT",'
          b'"tickDirection":"MinusTick","price24hPcnt":"-0.158315","lastPrice":"66666.60",'
          b'"prevPrice24h":"79206.20","highPrice24h":"79266.30","lowPrice24h":"65076.90",'
          b'"prevPrice1h":"66666.60","markPrice":"66666.60","indexPrice":"115418.19",'
          b'"openInterest":"492373.72","openInterestValue":"32824881841.75",'
          b'"turnover24h":"4936790807.6521","volume24h":"73191.3870",'
          b'"fundingIntervalHour":"8","fundingCap":"0.005","nextFundingTime":"1760342400000",'
          b'"fundingRate":"-0.005","bid1Price":"66666.60","bid1Size":"23789.165",'
          b'"ask1Price":"66666.70","ask1Size":"23775.469","preOpenPrice":"","preQty":"",'
          b'"curPreListingPhase":""},"cs":9532239429,"ts":1760325052630}')
SPOT = (b'{"topic":"tickers.BTCUSDT","ts":1673853746003,"type":"snapshot","cs":2588407389,'
        b'"data":{"symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99",'
        b'"lowPrice24h":"20575","prevPrice24h":"20704.93","volume24h":"6780.866843",'
        b'"turnover24h":"141946527.22907118","price24hPcnt":"0.0196",'
        b'"usdIndexPrice":"21120.2400136"}}')
DELTA = (b'{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT",'
         b'"bid1Price":"79114.50","bid1Size":"1.496"},"cs":793092205004,"ts":1787590405983}')


def failure(venue: str, payload: bytes, pd: int = 2, sd: int = 3) -> str:
    """Both decoders reject ``payload`` with the same message: that message."""
    c, r = run_both(venue, payload, "ticker", pd, sd)
    assert isinstance(c, _parse.DecodeFailed), c
    assert_same(c, r)
    return str(c)


def delta(ts: int, **fields: str) -> bytes:
    data = {"symbol": "BTCUSDT", **fields}
    return json.dumps({"topic": "tickers.BTCUSDT", "type": "delta", "data": data,
                       "cs": 793092205004 + ts, "ts": ts},
                      separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------
# the documented shapes
# ---------------------------------------------------------------------------------------

def test_linear_snapshot() -> None:
    out = both("bybit-linear", LINEAR, "ticker", 2, 3)
    assert out["kind"] == "ticker" and out["event_time_ns"] == 1760325052630 * 10**6
    (seg,) = out["segments"]
    assert seg["symbol"] == "BTCUSDT" and seg["kind"] == "snapshot"
    assert (seg["last_price"], seg["open"], seg["high"], seg["low"]) == (
        6666660, 7920620, 7926630, 6507690)
    assert (seg["volume"], seg["volume_decimals"]) == (73191387, 3)     # "73191.3870"
    assert (seg["quote_volume"], seg["quote_volume_decimals"]) == (49367908076521, 4)
    assert seg["last_size"] == seg["change"] == M and seg["update_id"] == -1


def test_spot_snapshot_has_no_bid_ask_and_the_same_fields() -> None:
    (seg,) = both("bybit", SPOT, "ticker", 2, 6)["segments"]
    assert (seg["last_price"], seg["low"], seg["volume"], seg["quote_volume"]) == (
        2110977, 2057500, 6780866843, 14194652722907118)


def test_delta_carries_only_what_changed() -> None:
    (seg,) = both("bybit-linear", DELTA, "ticker", 2, 3)["segments"]
    assert seg["kind"] == "update"
    assert all(seg[k] == M for k in ref.TICKER_TEXTS)      # none of the decoded fields
    (seg,) = both("bybit-linear", delta(5, lastPrice="1.5", volume24h=""), "ticker",
                  2, 3)["segments"]
    assert seg["last_price"] == 150 and seg["volume"] == M


def test_price_finer_than_the_scale_is_rejected_not_rounded() -> None:
    assert failure("bybit-linear", LINEAR, 0, 3).startswith("last_price")
    huge = LINEAR.replace(b'"volume24h":"73191.3870"', b'"volume24h":"' + b"9" * 25 + b'"')
    assert failure("bybit-linear", huge).startswith("volume")


@pytest.mark.parametrize("payload,message", [
    (b'[1]', "malformed JSON"),
    (LINEAR.replace(b'"type":"snapshot"', b'"type":"partial"'),
     "field 'type' is not 'snapshot' or 'delta'"),
    (LINEAR.replace(b'"type":"snapshot"', b'"type":7'),
     "field 'type' has the wrong type (expected string)"),
    (LINEAR.replace(b'"ts":1760325052630', b'"ts":"1760325052630"'),
     "field 'ts' has the wrong type (expected integer)"),
    (LINEAR.replace(b'"ts":1760325052630', b'"ts":99999999999999999999'),
     "field 'ts' out of range"),
    (LINEAR.replace(b'"ts":1760325052630', b'"ts":9223372036855'), "field 'ts' out of range"),
    (LINEAR.replace(b',"ts":1760325052630', b''), "field 'ts' missing"),
    (LINEAR.replace(b'"cs":9532239429', b'"cs":-1'), "field 'cs' out of range"),
    (SPOT.replace(b'"data":{', b'"data":[{').replace(b'"}}', b'"}]}'),
     "field 'data' has the wrong type (expected object)"),
    (LINEAR.replace(b'"lastPrice":"66666.60"', b'"lastPrice":66666.6'),
     "ticker field 'lastPrice' has the wrong type (expected string)"),
    (LINEAR.replace(b'"lastPrice":"66666.60",', b''), "ticker field 'lastPrice' missing"),
    (LINEAR.replace(b'"symbol":"BTCUSDT",', b''), "ticker field 'symbol' missing"),
    (LINEAR.replace(b'"symbol":"BTCUSDT"', b'"symbol":"BTC\\u0055SDT"'),
     "ticker field 'symbol' contains an escape (symbols must be plain strings)"),
    (DELTA.replace(b'"bid1Price"', b'"symbol":"X","bid1Price"'), "malformed JSON"),
    (b'{"topic":5}', "field 'topic' has the wrong type (expected string)"),
    (b'{"ret_msg":"x"}', "field 'topic' missing"),
])
def test_rejects(payload: bytes, message: str) -> None:
    assert message in failure("bybit-linear", payload)


@pytest.mark.parametrize("payload,kind", [
    (b'{"success":true,"ret_msg":"subscribe","conn_id":"x","req_id":"1","op":"subscribe"}',
     "control"),
    (b'{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}', "heartbeat"),
    (b'{"success":false,"ret_msg":"error:handler not found","op":"subscribe"}',
     "venue_error"),
    (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{}}', "ignored"),
    (b'{"topic":"kline.5.BTCUSDT","data":[],"ts":1,"type":"snapshot"}', "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    assert both("bybit", payload, "ticker")["kind"] == kind


def test_truncated_at_every_offset() -> None:
    for i in range(len(LINEAR)):
        c, r = run_both("bybit-linear", LINEAR[:i], "ticker", 2, 3)
        assert isinstance(c, _parse.DecodeFailed), i
        assert_same(c, r)


# ---------------------------------------------------------------------------------------
# generated messages: compiled == reference
# ---------------------------------------------------------------------------------------

_NAMES = ["lastPrice", "highPrice24h", "lowPrice24h", "prevPrice24h", "volume24h",
          "turnover24h"]
maybe_empty = st.one_of(*[decimals] * 6, st.just(""))


@st.composite
def bybit_messages(draw: st.DrawFn) -> tuple[str, bytes]:
    spec: list[tuple[str, Any]] = [("symbol", st.sampled_from(
        ["BTCUSDT", "BTCUSDT", "ETHUSDT", "ü", Raw('"BTC\\u0055SDT"')]))]
    spec += [(n, maybe_empty) for n in _NAMES]
    spec += [("bid1Price", decimals), ("markPrice", json_values)]
    data = draw(fields(spec))
    env = draw(fields([
        ("topic", st.sampled_from(["tickers.BTCUSDT", "tickers.BTCUSDT", "orderbook.1.X",
                                   "publicTrade.X"])),
        ("type", st.sampled_from(["snapshot", "delta", "snapshot", "delta", "other"])),
        ("ts", ids), ("cs", ids), ("data", st.just(Raw(draw(json_object(data)))))]))
    if draw(st.integers(0, 15)) == 7:
        env.append((draw(st.sampled_from(["success", "op"])), draw(json_values)))
    return draw(st.sampled_from(["bybit", "bybit-linear"])), _dump(draw, env, False)


_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_SETTINGS
@given(bybit_messages(), st.sampled_from([8, 2, 0]), st.sampled_from([8, 3, 0]))
def test_generated_messages_match_reference(msg: tuple[str, bytes], pd: int, sd: int) -> None:
    assert_same(*run_both(msg[0], msg[1], "ticker", pd, sd))


@_SETTINGS
@given(bybit_messages(), st.data())
def test_byte_mutations_match_reference(msg: tuple[str, bytes], data: st.DataObject) -> None:
    venue, payload = msg
    payload = mutate_one_byte(payload, data)
    assert_same(*run_both(venue, payload, "ticker", 8, 8))
    assert_same_stream(venue, payload)


# ---------------------------------------------------------------------------------------
# the delta merge (TickerFeed) against the reference stream
# ---------------------------------------------------------------------------------------

def test_deltas_merge_field_by_field_into_the_last_snapshot() -> None:
    f = fastfeed.TickerFeed("bybit-linear", "BTCUSDT", "0.10", "0.001")
    assert (f.price_decimals, f.size_decimals) == (1, 3)
    assert f.merges_deltas and not f.has_snapshot
    assert f.apply_message(DELTA) == 0 and f.unmerged == 1      # nothing to merge into
    assert f.ticker() is None
    assert f.apply_message(LINEAR) == 1 and f.has_snapshot
    assert f.apply_message(delta(1787590405990, lastPrice="66670.10")) == 1
    t = f.ticker()
    assert (t.last_price, t.high, t.low, t.open) == (666701, 792663, 650769, 792062)
    assert (t.volume, t.volume_decimals) == (73191387, 3)
    assert t.exchange_ns == 1787590405990 * 10**6               # the delta's time
    assert f.apply_message(delta(1787590405991, volume24h="73192.1", highPrice24h="")) == 1
    t = f.ticker()
    assert (t.last_price, t.volume, t.volume_decimals, t.high) == (666701, 731921, 1, M)
    assert f.recorded == 3 and f.unmerged == 1
    # a delta that does not convert loses state: later deltas wait for a snapshot
    with pytest.raises(DecodeRejected):
        f.apply_message(delta(1787590405992, lastPrice="1.234"))
    assert not f.has_snapshot
    assert f.apply_message(delta(1787590405993, lastPrice="2")) == 0 and f.unmerged == 2
    assert f.ticker().last_price == 666701                      # still the last merged one


def test_spot_snapshots_are_whole_tickers() -> None:
    f = fastfeed.TickerFeed("bybit", "BTCUSDT", "0.01", "0.000001")
    assert f.apply_message(SPOT) == 1 and f.apply_message(SPOT) == 1
    t = f.ticker()
    assert (t.last_price, t.quote_volume, t.quote_volume_decimals) == (
        2110977, 14194652722907118, 8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["snapshot", "delta", "delta", "delta", "garbage"]),
    st.dictionaries(st.sampled_from(_NAMES), st.sampled_from(["66666.60", "1", "", "1.234",
                                                              "9" * 25]), max_size=4)),
    max_size=20))
def test_ticker_merge_matches_reference_stream(msgs: list[tuple[str, dict[str, str]]]) -> None:
    f = fastfeed.TickerFeed("bybit-linear", "BTCUSDT", "0.10", "0.001", strict=False)
    r = ref.QuoteStream("bybit-linear", "BTCUSDT", "ticker", f.price_decimals,
                        f.size_decimals)
    for ts, (typ, changed) in enumerate(msgs):
        if typ == "garbage":
            p = b'{"topic":"tickers.BTCUSDT","type":'
        elif typ == "snapshot":
            o = json.loads(LINEAR)
            o["data"].update(changed)
            o["ts"] = ts
            p = json.dumps(o).encode()
        else:
            p = delta(ts, **changed)
        assert f.apply_message(p) == r.apply_message(p)
        assert f.has_snapshot == r.has_snapshot
    names = [n for n in fastfeed.TICKER_DTYPE.names if n != "recv_ns"]
    got = [{n: int(rec[n]) for n in names} for rec in f.tickers()]
    assert got == [{n: rec[n] for n in names} for rec in r.records()]
    assert (f.recorded, f.rejected, f.unmerged) == (r.recorded, r.rejected, r.unmerged)


# ---------------------------------------------------------------------------------------
# one connection: books, trades and tickers
# ---------------------------------------------------------------------------------------

BOOK = (b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{'
        b'"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],'
        b'"u":18521288,"seq":7961638724},"cts":1672304484976}')
TRADE = (b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{'
         b'"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50",'
         b'"L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,'
         b'"seq":1783284617}]}')


@pytest.mark.parametrize("payload,expected", [
    (BOOK, ("snapshot", None)), (TRADE, ("trades", None)), (LINEAR, ("ticker", None)),
    (SPOT, ("ticker", None)), (DELTA, ("ticker", None)),
    (LINEAR.replace(b'"lastPrice":"66666.60",', b''),
     ("ticker", "ticker field 'lastPrice' missing")),
    # the topic not first: each channel decoder is asked in turn
    (b'{"type":"delta","topic":"tickers.BTCUSDT","ts":1,"data":{"symbol":"BTCUSDT"}}',
     ("ticker", None)),
])
def test_stream_decoder_dispatches_tickers_beside_books_and_trades(
        payload: bytes, expected: tuple[str, str | None]) -> None:
    c = _parse.stream_channel("bybit-linear", payload)
    assert (c[0], c[1] and c[1].split(": ")[-1]) == expected
    assert ref_decode.stream_channel("bybit-linear", payload)[0] == expected[0]


def test_subscribe_topics() -> None:
    spec = fastfeed.venues.get_venue("bybit")
    assert spec.channel_name("ticker") == "tickers"
    assert spec.subscribe_messages(["BTCUSDT"], spec.channel_name("bbo")) == [
        b'{"op":"subscribe","args":["orderbook.1.BTCUSDT"]}']
    assert spec.subscribe_messages(["BTCUSDT"], "tickers") == [
        b'{"op":"subscribe","args":["tickers.BTCUSDT"]}']


# ---------------------------------------------------------------------------------------
# the venue BBO: orderbook.1 (docs/venues.md, "Bybit BBO")
# ---------------------------------------------------------------------------------------

# the documented book message shape (docs/venues.md "Bybit messages") at depth 1; level 1
# prints ts before type on every market (channels.md §7.0)
BBO1 = (b'{"topic":"orderbook.1.BTCUSDT","ts":1672304484978,"type":"snapshot","data":{'
        b'"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],'
        b'"u":18521288,"seq":7961638724},"cts":1672304484976}')


def bbo_msg(u: int, bid: str = "16493.50", ask: str = "16611.00", typ: str = "snapshot",
            depth: str = "1") -> bytes:
    return (b'{"topic":"orderbook.%s.BTCUSDT","ts":%d,"type":"%s","data":{"s":"BTCUSDT",'
            b'"b":[["%s","0.006"]],"a":[["%s","0.029"]],"u":%d,"seq":1},"cts":1}' % (
                depth.encode(), 1672304484978 + u, typ.encode(), bid.encode(), ask.encode(), u))


def test_orderbook_1_is_the_bbo() -> None:
    c, r = run_both("bybit-linear", BBO1, "bbo", 2, 3)
    assert_same(c, r)
    (seg,) = c["segments"]
    assert (seg["bid_price"], seg["bid_size"], seg["ask_price"], seg["ask_size"]) == (
        1649350, 6, 1661100, 29)
    assert seg["update_id"] == 18521288 and seg["exchange_ns"] == 1672304484978 * 10**6
    # an empty side is price and size 0
    (seg,) = both("bybit", BBO1.replace(b'[["16611.00","0.029"]]', b'[]'), "bbo", 2, 3)[
        "segments"]
    assert (seg["ask_price"], seg["ask_size"]) == (0, 0)


@pytest.mark.parametrize("payload,kind", [
    (bbo_msg(5, depth="50"), "ignored"), (bbo_msg(5, typ="delta", depth="50"), "ignored"),
    (LINEAR, "ignored"), (b'{"success":true,"ret_msg":"pong","op":"ping"}', "heartbeat"),
])
def test_bbo_other_messages(payload: bytes, kind: str) -> None:
    assert both("bybit", payload, "bbo")["kind"] == kind


@pytest.mark.parametrize("payload,message", [
    (bbo_msg(5, typ="delta"), "orderbook.1 is snapshot-only"),
    (BBO1.replace(b'[["16611.00","0.029"]]', b'[["16611.00","0.029"],["16612.00","1"]]'),
     "orderbook.1 has more than one level on a side"),
    (BBO1.replace(b'"u":18521288', b'"u":-1'), "field 'u' out of range"),
    (BBO1.replace(b'"s":"BTCUSDT"', b'"s":"ETHUSDT"'), "does not match the topic's symbol"),
    (BBO1.replace(b'"16493.50"', b'16493.50'), "field 'b' has the wrong type"),
])
def test_bbo_rejects(payload: bytes, message: str) -> None:
    c, r = run_both("bybit", payload, "bbo", 2, 3)
    assert isinstance(c, _parse.DecodeFailed)
    assert_same(c, r)
    assert message in str(c)


def test_bbo_feed_idle_resend_is_stale_and_restart_is_fresh() -> None:
    f = fastfeed.BboFeed("bybit-linear", "BTCUSDT", "0.10", "0.001")
    assert f.apply_message(bbo_msg(100)) == 1
    assert f.apply_message(bbo_msg(100)) == 0 and f.stale == 1     # the 3 s idle re-send
    assert f.apply_message(bbo_msg(101, bid="16494.00")) == 1
    assert f.apply_message(bbo_msg(1, bid="16495.00")) == 1         # service restart: u = 1
    assert f.apply_message(bbo_msg(2, bid="16495.50")) == 1
    assert f.bbo().bid_price == 164955 and f.bbo().update_id == 2
    with pytest.raises(DecodeRejected, match="more decimals than the scale allows"):
        f.apply_message(bbo_msg(3, bid="16495.55"))
    assert f.recorded == 4


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["16493.50", "16493.55", "1"]),
                          st.sampled_from(["snapshot", "delta"]), st.sampled_from(["1", "50"])),
                max_size=25))
def test_bbo_feed_matches_reference_stream(msgs: list[tuple[int, str, str, str]]) -> None:
    f = fastfeed.BboFeed("bybit", "BTCUSDT", "0.10", "0.001", strict=False)
    r = ref.QuoteStream("bybit", "BTCUSDT", "bbo", f.price_decimals, f.size_decimals,
                        f.price_tick, f.size_step)
    for u, bid, typ, depth in msgs:
        p = bbo_msg(u, bid=bid, typ=typ, depth=depth)
        assert f.apply_message(p) == r.apply_message(p)
    got = [{k: int(rec[k]) for k in ("exchange_ns", "update_id", "bid_price", "bid_size",
                                     "ask_price", "ask_size")} for rec in f.updates()]
    assert got == r.records()
    assert (f.recorded, f.stale, f.rejected, f.off_grid) == (
        r.recorded, r.stale, r.rejected, r.off_grid)


@pytest.mark.parametrize("payload,expected", [
    (BBO1, "bbo"), (bbo_msg(5, depth="50"), "snapshot"),
    (b'{"ts":1,"topic":"orderbook.1.BTCUSDT","type":"snapshot","data":{"s":"BTCUSDT",'
     b'"b":[],"a":[],"u":1}}', "bbo"),
    (b'{"ts":1,"topic":"orderbook.50.BTCUSDT","type":"snapshot","data":{"s":"BTCUSDT",'
     b'"b":[],"a":[],"u":1}}', "snapshot"),
])
def test_stream_decoder_sends_orderbook_1_to_the_bbo_not_the_book(payload: bytes,
                                                                  expected: str) -> None:
    assert _parse.stream_channel("bybit", payload) == (expected, None)
    assert ref_decode.stream_channel("bybit", payload) == (expected, None)
    c = _parse.stream_channel("bybit", bbo_msg(5, typ="delta"))
    assert c[0] == "bbo" and "snapshot-only" in c[1]


@st.composite
def bbo_messages(draw: st.DrawFn) -> bytes:
    level = st.lists(st.just(0).flatmap(lambda _: st.tuples(decimals, decimals)).map(
        lambda t: Raw(json.dumps(list(t)))), max_size=2)
    data = draw(fields([("s", st.sampled_from(["BTCUSDT", "BTCUSDT", "ETHUSDT"])),
                        ("b", level), ("a", level), ("u", ids), ("seq", ids)]))
    env = draw(fields([
        ("topic", st.sampled_from(["orderbook.1.BTCUSDT", "orderbook.1.BTCUSDT",
                                   "orderbook.50.BTCUSDT", "tickers.BTCUSDT"])),
        ("ts", ids), ("type", st.sampled_from(["snapshot", "snapshot", "delta", "x"])),
        ("data", st.just(Raw(draw(json_object(data)))))]))
    return _dump(draw, env, False)


@_SETTINGS
@given(bbo_messages(), st.data())
def test_generated_bbo_messages_match_reference(payload: bytes, data: st.DataObject) -> None:
    assert_same(*run_both("bybit", payload, "bbo", 2, 3))
    if payload and data.draw(st.booleans()):
        payload = mutate_one_byte(payload, data)
        assert_same(*run_both("bybit", payload, "bbo", 2, 3))
    assert_same_stream("bybit", payload)
