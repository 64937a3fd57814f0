"""Bybit v5 tickers (docs/venues.md, "Bybit tickers"): the compiled decoder against the
reference twin on the documented payloads of ../shared/channels.md §7.2 (byte for byte),
rejects, generated messages and byte mutations; the delta merge of ``TickerFeed``
against the reference stream; the stream decoder's dispatch next to books and trades."""

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
from test_decode_quotes import _dump, assert_same, both, decimals, fields, ids, run_both

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
    if payload:
        i = data.draw(st.integers(0, len(payload) - 1))
        b = data.draw(st.sampled_from(b'{}[]",:\\0.-e \x80\xff'))
        payload = payload[:i] + bytes([b]) + payload[i + 1:]
    assert_same(*run_both(venue, payload, "ticker", 8, 8))
    c, r = _parse.stream_channel(venue, payload), ref_decode.stream_channel(venue, payload)
    assert c[0] == r[0] and (c[1] is None) == (r[1] is None), (c, r)


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
    assert spec.subscribe_messages(["BTCUSDT"], "tickers") == [
        b'{"op":"subscribe","args":["tickers.BTCUSDT"]}']
