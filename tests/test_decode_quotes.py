"""BBO and ticker decoders (docs/venues.md, "Best bid/offer" and "Tickers"): compiled vs
reference on generated messages, the real payload shapes of ../shared/channels.md, the
error texts, and the offline feeds (BboFeed, TickerFeed) against the reference stream."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import _parse
from fastfeed._core import DecodeRejected
from fastfeed._quotes import QUOTE_MISSING, BboCore, decode_quotes
from fastfeed.reference import decode as ref_decode
from fastfeed.reference import quotes as ref
from test_decode_binance import Raw, decimal_strings, json_object, json_values, odd_decimals
from test_decode_trades import ts_ns

_AT_BYTE = re.compile(r" at byte \d+")
M = QUOTE_MISSING

# The real shapes (channels.md 1.4, 1.5, 2.2, 3.4, 4.2), byte for byte.
BN_BOOK = (b'{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000",'
           b'"a":"25.36520000","A":"40.66000000"}')
USDM_BOOK = (b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":11757092630476,'
             b'"s":"BTCUSDT","ps":"BTCUSDT","b":"83091.60","B":"4.215","a":"83091.70",'
             b'"A":"3.763","T":1791382994657,"E":1791382994658,"st":1}}')
BN_TICKER = (b'{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00",'
             b'"w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10",'
             b'"a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000",'
             b'"q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}')
BN_MINI = (b'{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010",'
           b'"h":"0.0025","l":"0.0010","v":"10000","q":"18"}')
AT_TICKER = (b'{"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z",'
             b'"sequence_num":0,"events":[{"type":"snapshot","tickers":[{"type":"ticker",'
             b'"product_id":"BTC-USD","price":"21932.98","volume_24_h":"16038.28770938",'
             b'"low_24_h":"21835.29","high_24_h":"23011.18","low_52_w":"15460",'
             b'"high_52_w":"48240","price_percent_chg_24_h":"-4.15775596190603",'
             b'"best_bid":"21931.98","best_bid_quantity":"8000.21","best_ask":"21933.98",'
             b'"best_ask_quantity":"8038.07770938"}]}]}')
CX_TICKER = (b'{"type":"ticker","sequence":29912240,"product_id":"BTC-USD","price":"40552.26",'
             b'"open_24h":"40552.26","volume_24h":"0.43526841","low_24h":"40552.26",'
             b'"high_24h":"40662.06","volume_30d":"160.65999711","best_bid":"40552.26",'
             b'"best_ask":"40553.84","side":"sell","time":"2022-03-16T18:42:08.145773Z",'
             b'"trade_id":131414,"last_size":"0.00002465"}')
CX_TICKER_SIZES = CX_TICKER.replace(b'"best_ask":"40553.84"',
                                    b'"best_bid_size":"0.5","best_ask":"40553.84",'
                                    b'"best_ask_size":"1.25"')


def run_both(venue: str, payload: bytes, channel: str, pd: int, sd: int, tick: int = 1,
             step: int = 1) -> tuple[Any, Any]:
    out: list[Any] = []
    for fn in (decode_quotes, ref.decode_quotes):
        try:
            out.append(fn(venue, payload, channel, pd, sd, tick, step))
        except ValueError as exc:
            out.append(exc)
    return out[0], out[1]


def assert_same(c: Any, r: Any) -> None:
    """Both succeed with equal output, or both fail with the same message."""
    if isinstance(r, Exception) or isinstance(c, Exception):
        assert isinstance(c, _parse.DecodeFailed), f"compiled succeeded: {c!r}; reference: {r}"
        assert isinstance(r, ref.DecodeFailed), f"reference succeeded: {r!r}; compiled: {c}"
        cm, rm = _AT_BYTE.sub("", str(c)), str(r)
        if rm.startswith("malformed JSON"):
            assert cm.startswith(("malformed JSON", "truncated JSON")), (cm, rm)
        else:
            assert cm == rm
    else:
        assert c == r


def both(venue: str, payload: bytes, channel: str, pd: int = 8, sd: int = 8) -> Any:
    c, r = run_both(venue, payload, channel, pd, sd)
    assert_same(c, r)
    return c


# ---------------------------------------------------------------------------------------
# the real shapes
# ---------------------------------------------------------------------------------------

def test_binance_spot_book_ticker_has_no_e_and_no_time() -> None:
    out = both("binance", BN_BOOK, "bbo")
    assert out == {"kind": "bbo", "last_id": 400900217, "event_time_ns": 0, "segments": [
        {"symbol": "BNBUSDT", "kind": "update", "update_id": 400900217, "exchange_ns": 0,
         "bid_price": 2535190000, "bid_size": 3121000000, "ask_price": 2536520000,
         "ask_size": 4066000000, "off_grid": 0}]}


def test_usdm_book_ticker_combined_with_st_and_ps() -> None:
    out = both("binance-usdm", USDM_BOOK, "bbo", 2, 3)
    assert out["segments"] == [
        {"symbol": "BTCUSDT", "kind": "update", "update_id": 11757092630476,
         "exchange_ns": 1791382994658 * 10**6,   # E, the event time
         "bid_price": 8309160, "bid_size": 4215, "ask_price": 8309170, "ask_size": 3763,
         "off_grid": 0}]


def test_binance_ticker_and_mini_ticker() -> None:
    seg = both("binance", BN_TICKER, "ticker", 4, 0)["segments"][0]
    assert seg == {"symbol": "BNBBTC", "kind": "update", "exchange_ns": 1672515782136 * 10**6,
                   "update_id": -1, "open_ns": 0, "close_ns": 86400000 * 10**6,
                   "last_price": 25, "last_size": 10, "open": 10, "high": 25, "low": 10,
                   "change": 15, "volume": 10000, "quote_volume": 18, "first_trade_id": 0,
                   "last_trade_id": 18150, "trade_count": 18151, "volume_decimals": 0,
                   "quote_volume_decimals": 0}
    mini = both("binance", BN_MINI, "ticker", 4, 0)["segments"][0]
    assert (mini["last_price"], mini["open"], mini["high"], mini["low"]) == (25, 10, 25, 10)
    # what a mini ticker does not carry is missing, not zero
    assert (mini["last_size"], mini["change"], mini["trade_count"]) == (M, M, -1)


def test_negative_change_and_scale_free_volumes() -> None:
    p = BN_TICKER.replace(b'"p":"0.0015"', b'"p":"-0.0015"').replace(
        b'"q":"18"', b'"q":"12345678901.12345678"').replace(b'"v":"10000"',
                                                          b'"v":"10000.50000000"')
    seg = both("binance", p, "ticker", 4, 0)["segments"][0]
    assert seg["change"] == -15
    assert (seg["quote_volume"], seg["quote_volume_decimals"]) == (1234567890112345678, 8)
    assert (seg["volume"], seg["volume_decimals"]) == (100005, 1)


def test_quote_volume_beyond_int64_at_the_instrument_scale_is_exact() -> None:
    # 9.3e10 quote units at 8 decimals is 9.3e18 units: beyond int64 at a fixed 1e-8
    # scale, exact here because the volume keeps its own decimals
    p = BN_TICKER.replace(b'"q":"18"', b'"q":"93000000000.10000000"')
    seg = both("binance", p, "ticker", 8, 8)["segments"][0]
    assert (seg["quote_volume"], seg["quote_volume_decimals"]) == (930000000001, 1)


def test_volume_with_more_digits_than_int64_is_rejected_clearly() -> None:
    p = BN_TICKER.replace(b'"q":"18"', b'"q":"92233720368547758.08"')
    with pytest.raises(_parse.DecodeFailed,
                       match=r"^quote_volume at byte \d+: '92233720368547758.08' does not fit "
                             r"a 64-bit integer at 2 decimals$"):
        decode_quotes("binance", p, "ticker", 8, 8)
    both("binance", p, "ticker")


def test_coinbase_at_ticker_as_bbo_and_ticker() -> None:
    t = ts_ns(2023, 2, 9, 20, 30, 37, "167359596")
    out = both("coinbase", AT_TICKER, "bbo", 2, 8)
    assert out == {"kind": "bbo", "last_id": 0, "event_time_ns": t, "segments": [
        {"symbol": "BTC-USD", "kind": "snapshot", "update_id": -1, "exchange_ns": t,
         "bid_price": 2193198, "bid_size": 800021000000, "ask_price": 2193398,
         "ask_size": 803807770938, "off_grid": 0}]}
    seg = both("coinbase", AT_TICKER, "ticker", 2, 8)["segments"][0]
    assert (seg["last_price"], seg["low"], seg["high"]) == (2193298, 2183529, 2301118)
    assert (seg["volume"], seg["volume_decimals"]) == (1603828770938, 8)
    # Advanced Trade has no open, change, quote volume, last size or trade count
    assert (seg["open"], seg["change"], seg["quote_volume"], seg["last_size"]) == (M, M, M, M)
    assert seg["trade_count"] == -1


def test_coinbase_at_ticker_batch_is_a_ticker_but_no_bbo() -> None:
    batch = AT_TICKER.replace(b'"channel":"ticker"', b'"channel":"ticker_batch"')
    assert both("coinbase", batch, "bbo")["kind"] == "ignored"
    assert both("coinbase", batch, "ticker")["kind"] == "ticker"


def test_coinbase_exchange_ticker_with_and_without_sizes() -> None:
    t = ts_ns(2022, 3, 16, 18, 42, 8, "145773")
    out = both("coinbase-exchange", CX_TICKER, "bbo", 2, 8)
    assert out["segments"] == [
        {"symbol": "BTC-USD", "kind": "update", "update_id": 29912240, "exchange_ns": t,
         "bid_price": 4055226, "bid_size": M, "ask_price": 4055384, "ask_size": M,
         "off_grid": 0}]
    seg = both("coinbase-exchange", CX_TICKER_SIZES, "bbo", 2, 8)["segments"][0]
    assert (seg["bid_size"], seg["ask_size"]) == (50000000, 125000000)
    seg = both("coinbase-exchange", CX_TICKER, "ticker", 2, 8)["segments"][0]
    assert (seg["last_price"], seg["open"], seg["last_size"], seg["last_trade_id"],
            seg["update_id"]) == (4055226, 4055226, 2465, 131414, 29912240)
    one_size = CX_TICKER.replace(b'"best_ask":', b'"best_bid_size":"1","best_ask":')
    with pytest.raises(_parse.DecodeFailed, match=r"^field 'best_ask_size' missing$"):
        decode_quotes("coinbase-exchange", one_size, "bbo", 2, 8)


@pytest.mark.parametrize(("venue", "payload", "channel", "kind"), [
    ("binance", b'{"result":null,"id":1}', "bbo", "control"),
    ("binance", b'{"code":2,"msg":"Invalid request"}', "ticker", "venue_error"),
    ("binance", BN_TICKER, "bbo", "ignored"),          # not a bookTicker (it has an e)
    ("binance-usdm", USDM_BOOK, "ticker", "ignored"),
    ("binance", b'{"e":"depthUpdate","E":1}', "bbo", "ignored"),
    ("coinbase", b'{"channel":"heartbeats","timestamp":"2023-06-23T20:31:26Z",'
                 b'"sequence_num":5,"events":[]}', "bbo", "heartbeat"),
    ("coinbase", b'{"type":"error","message":"x"}', "ticker", "venue_error"),
    ("coinbase", b'{"channel":"l2_data","sequence_num":1,"events":[]}', "ticker", "ignored"),
    ("coinbase-exchange", b'{"type":"heartbeat","sequence":90,"last_trade_id":20,'
                          b'"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}',
     "bbo", "heartbeat"),
    ("coinbase-exchange", b'{"type":"match","trade_id":1}', "ticker", "ignored"),
    ("coinbase-exchange", b'{"type":"subscriptions","channels":[]}', "ticker", "control"),
])
def test_other_messages(venue: str, payload: bytes, channel: str, kind: str) -> None:
    out = both(venue, payload, channel)
    assert out["kind"] == kind and out["segments"] == []


def test_at_sequence_num_is_the_last_id_on_every_channel() -> None:
    hb = (b'{"channel":"heartbeats","timestamp":"2023-06-23T20:31:26Z","sequence_num":7,'
          b'"events":[]}')
    assert both("coinbase", hb, "ticker")["last_id"] == 7
    assert both("coinbase", AT_TICKER.replace(b'"sequence_num":0', b'"sequence_num":12'),
                "bbo")["last_id"] == 12


@pytest.mark.parametrize(("venue", "payload", "channel", "message"), [
    ("binance", BN_BOOK.replace(b'"u":400900217,', b''), "bbo", "field 'u' missing"),
    ("binance", BN_BOOK.replace(b'"u":400900217', b'"u":"1"'), "bbo",
     "field 'u' has the wrong type (expected integer)"),
    ("binance", BN_BOOK.replace(b'"u":400900217', b'"u":-1'), "bbo", "field 'u' out of range"),
    ("binance", BN_BOOK.replace(b'"s":"BNBUSDT"', b'"s":"BNB\\u0055SDT"'), "bbo",
     "field 's' contains an escape (symbols must be plain strings)"),
    ("binance", BN_BOOK.replace(b'"A":"40.66000000"', b'"A":40.66'), "bbo",
     "field 'A' has the wrong type (expected string)"),
    ("binance", BN_BOOK.replace(b'"b":"25.35190000"', b'"b":"-25.3519"'), "bbo",
     "price: '-25.3519' has a sign; prices and sizes are unsigned decimals"),
    ("binance", USDM_BOOK.replace(b'"E":1791382994658,', b''), "bbo", "field 'E' missing"),
    ("binance", b'{"e":5}', "bbo", "field 'e' has the wrong type (expected string)"),
    ("binance", b'{"data":[]}', "bbo", "field 'data' has the wrong type (expected object)"),
    ("binance", b'{"u":1,"data":{}}', "bbo",
     "event field next to 'data' in a combined-stream envelope"),
    ("binance", b'{"s":"X"}', "ticker", "field 'e' missing"),
    ("binance", BN_TICKER.replace(b'"n":18151', b'"n":-1'), "ticker", "field 'n' out of range"),
    ("binance", BN_TICKER.replace(b'"F":0', b'"F":-2'), "ticker", "field 'F' out of range"),
    ("binance", BN_TICKER.replace(b'"Q":"10",', b''), "ticker", "field 'Q' missing"),
    ("binance", BN_TICKER.replace(b'"o":"0.0010"', b'"o":"0.00105"'), "ticker",
     "open: '0.00105' has more decimals than the scale allows (4)"),
    ("binance", BN_TICKER.replace(b'"p":"0.0015"', b'"p":"--1"'), "ticker",
     "change: '--1' has a sign; prices and sizes are unsigned decimals"),
    ("binance", BN_TICKER.replace(b'"v":"10000"', b'"v":"1e5"'), "ticker",
     "volume: '1e5' uses an exponent; only plain decimals are accepted"),
    ("coinbase", AT_TICKER.replace(b'"best_bid":"21931.98",', b''), "bbo",
     "ticker field 'best_bid' missing"),
    ("coinbase", AT_TICKER.replace(b'"type":"snapshot"', b'"type":"partial"'), "bbo",
     "event type is not 'snapshot' or 'update'"),
    ("coinbase", AT_TICKER.replace(b'"sequence_num":0,', b''), "ticker",
     "field 'sequence_num' missing"),
    ("coinbase", AT_TICKER.replace(b'"timestamp":"2023-02-09T20:30:37.167359596Z"',
                                   b'"timestamp":"yesterday"'), "ticker",
     "field 'timestamp' is not an RFC 3339 timestamp"),
    ("coinbase", b'{"channel":"ticker","timestamp":"2023-02-09T20:30:37Z","sequence_num":1,'
                 b'"events":[{"type":"update","tickers":{}}]}', "bbo",
     "event field 'tickers' has the wrong type (expected array of objects)"),
    ("coinbase-exchange", CX_TICKER.replace(b'"sequence":29912240,', b''), "bbo",
     "field 'sequence' missing"),
    ("coinbase-exchange", CX_TICKER.replace(b'"open_24h":"40552.26",', b''), "ticker",
     "field 'open_24h' missing"),
    ("coinbase-exchange", CX_TICKER.replace(b'"trade_id":131414', b'"trade_id":"131414"'),
     "ticker", "field 'trade_id' has the wrong type (expected integer)"),
    ("coinbase-exchange", b'{"product_id":"X"}', "ticker", "field 'type' missing"),
])
def test_errors(venue: str, payload: bytes, channel: str, message: str) -> None:
    c, r = run_both(venue, payload, channel, 4 if channel == "ticker" and venue == "binance"
                    else 8, 8)
    assert isinstance(r, ref.DecodeFailed) and str(r) == message
    assert_same(c, r)


def test_duplicates_are_malformed() -> None:
    for venue, payload, channel in (
            ("binance", BN_BOOK[:-1] + b',"u":5}', "bbo"),
            ("binance", BN_BOOK[:-1] + b',"x":1,"x":2}', "bbo"),
            ("coinbase", AT_TICKER.replace(b'"price":"21932.98"',
                                           b'"price":"1","price":"2"'), "ticker"),
            ("coinbase-exchange", CX_TICKER[:-1] + b',"type":"ticker"}', "bbo")):
        with pytest.raises(_parse.DecodeFailed, match="malformed JSON"):
            decode_quotes(venue, payload, channel, 8, 8)
        assert_same(*run_both(venue, payload, channel, 8, 8))


@pytest.mark.parametrize(("venue", "payload", "channel"), [
    ("binance", BN_BOOK, "bbo"), ("binance-usdm", USDM_BOOK, "bbo"),
    ("binance", BN_TICKER, "ticker"), ("coinbase", AT_TICKER, "bbo"),
    ("coinbase", AT_TICKER, "ticker"), ("coinbase-exchange", CX_TICKER_SIZES, "bbo"),
    ("coinbase-exchange", CX_TICKER, "ticker"),
])
def test_truncated_at_every_offset(venue: str, payload: bytes, channel: str) -> None:
    for i in range(len(payload)):
        c, r = run_both(venue, payload[:i], channel, 8, 8)
        assert isinstance(c, _parse.DecodeFailed), i
        assert_same(c, r)


# ---------------------------------------------------------------------------------------
# generated messages: compiled == reference
# ---------------------------------------------------------------------------------------

_ABSENT = object()
ms_times = st.one_of(*[st.integers(0, 2**45)] * 9, st.integers(-(2**64), 2**64))
ids = st.one_of(*[st.integers(0, 10**13)] * 9, st.integers(-3, 2**63 + 3))
decimals = st.one_of(*[decimal_strings(8)] * 7, odd_decimals)
signed = decimals | decimals.map(lambda s: "-" + s)
# values hypothesis draws first (and shrinks to) are the valid ones
symbols = st.sampled_from(["BNBUSDT", "BTC-USD", "ETH-USD", "BNBUSDT", "BTC-USD", "ü"] * 4 + [
                           Raw('"BNB\\u0055SDT"'), Raw('"\\u00fc"')])
stamps = st.sampled_from(["2023-02-09T20:30:37.167359596Z", "2022-03-16T18:42:08.145773Z",
                          "2014-11-07T08:19:27Z", "2023-02-09T20:30:37Z", "yesterday",
                          "2023-02-30T00:00:00Z"])


@st.composite
def fields(draw: st.DrawFn, spec: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Each field mostly valid, sometimes absent or of any JSON type."""
    out = []
    for name, valid in spec:
        r = draw(st.integers(0, 39))
        if r == 17:
            continue
        out.append((name, draw(json_values) if r == 23 else draw(valid)))
    return out


def _dump(draw: st.DrawFn, pairs: list[tuple[str, Any]], combined: bool) -> bytes:
    text = draw(json_object(pairs))
    if combined:
        text = draw(json_object([("stream", "x@y"), ("data", Raw(text))]))
    return text.encode("utf-8", "surrogatepass")


@st.composite
def binance_messages(draw: st.DrawFn) -> tuple[str, bytes]:
    e = draw(st.sampled_from(["bookTicker", _ABSENT, "24hrTicker", "24hrMiniTicker",
                              "bookTicker", "24hrTicker", "depthUpdate", 5]))
    spec: list[tuple[str, Any]] = [
        ("u", ids), ("s", symbols), ("b", decimals), ("B", decimals), ("a", decimals),
        ("A", decimals), ("E", ms_times), ("T", ms_times), ("c", decimals), ("Q", decimals),
        ("o", decimals), ("h", decimals), ("l", decimals), ("v", decimals), ("q", decimals),
        ("p", signed), ("O", ms_times), ("C", ms_times), ("F", ids), ("L", ids), ("n", ids)]
    if e in ("bookTicker", _ABSENT):
        spec = spec[:8]
    pairs = draw(fields(spec))
    if e is not _ABSENT:
        pairs.append(("e", e))
    if draw(st.integers(0, 15)) == 7:
        pairs.append((draw(st.sampled_from(["code", "result", "id"])), 1))
    return draw(st.sampled_from(["binance", "binance-usdm"])), _dump(
        draw, pairs, draw(st.booleans()))


@st.composite
def at_messages(draw: st.DrawFn) -> tuple[str, bytes]:
    tickers = []
    for _ in range(draw(st.integers(0, 3))):
        pairs = draw(fields([
            ("product_id", symbols), ("price", decimals), ("volume_24_h", decimals),
            ("low_24_h", decimals), ("high_24_h", decimals), ("best_bid", decimals),
            ("best_bid_quantity", decimals), ("best_ask", decimals),
            ("best_ask_quantity", decimals)]))
        pairs.append(("type", "ticker"))
        tickers.append(Raw(draw(json_object(pairs))))
    events = [Raw(draw(json_object(draw(fields([
        ("type", st.sampled_from(["snapshot", "update", "other"])),
        ("tickers", st.just(tickers))])))))]
    env = draw(fields([
        ("channel", st.sampled_from(["ticker", "ticker_batch", "heartbeats", "level2"])),
        ("timestamp", stamps), ("sequence_num", ids), ("events", st.just(events))]))
    if draw(st.integers(0, 15)) == 7:
        env.append(("type", "error"))
    return "coinbase", _dump(draw, env, False)


@st.composite
def cx_messages(draw: st.DrawFn) -> tuple[str, bytes]:
    pairs = draw(fields([
        ("type", st.sampled_from(["ticker", "ticker", "ticker", "heartbeat", "match"])),
        ("product_id", symbols), ("sequence", ids), ("time", stamps), ("price", decimals),
        ("open_24h", decimals), ("volume_24h", decimals), ("low_24h", decimals),
        ("high_24h", decimals), ("best_bid", decimals), ("best_ask", decimals),
        ("last_size", decimals), ("trade_id", ids)]))
    if draw(st.booleans()):
        pairs += [("best_bid_size", draw(decimals)), ("best_ask_size", draw(decimals))]
    return "coinbase-exchange", _dump(draw, pairs, False)


_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mutate_one_byte(payload: bytes, data: st.DataObject) -> bytes:
    """``payload`` with the byte at a drawn offset replaced by a drawn JSON-significant or
    invalid-UTF-8 byte (an empty payload comes back as it is)."""
    if not payload:
        return payload
    i = data.draw(st.integers(0, len(payload) - 1))
    b = data.draw(st.sampled_from(b'{}[]",:\\0.-e \x80\xff'))
    return payload[:i] + bytes([b]) + payload[i + 1:]


def assert_same_stream(venue: str, payload: bytes) -> None:
    """The compiled and the reference stream dispatch agree on ``payload``: the same
    channel, and both name a stream or neither does."""
    c, r = _parse.stream_channel(venue, payload), ref_decode.stream_channel(venue, payload)
    assert c[0] == r[0] and (c[1] is None) == (r[1] is None), (c, r)


@_SETTINGS
@given(binance_messages() | at_messages() | cx_messages(), st.sampled_from(["bbo", "ticker"]),
       st.sampled_from([8, 8, 8, 10, 2, 0]), st.sampled_from([8, 8, 10, 3, 0]),
       st.sampled_from([1, 5, 100]))
def test_generated_messages_match_reference(msg: tuple[str, bytes], channel: str, pd: int,
                                            sd: int, tick: int) -> None:
    venue, payload = msg
    assert_same(*run_both(venue, payload, channel, pd, sd, tick, tick))


@_SETTINGS
@given(binance_messages() | at_messages() | cx_messages(), st.data())
def test_byte_mutations_match_reference(msg: tuple[str, bytes], data: st.DataObject) -> None:
    venue, payload = msg[0], mutate_one_byte(msg[1], data)
    for channel in ("bbo", "ticker"):
        assert_same(*run_both(venue, payload, channel, 8, 8))


# ---------------------------------------------------------------------------------------
# the offline feeds
# ---------------------------------------------------------------------------------------

def _bn_book(u: int, bid: str, ask: str, symbol: str = "BNBUSDT") -> bytes:
    return json.dumps({"u": u, "s": symbol, "b": bid, "B": "1.00000000", "a": ask,
                       "A": "2.00000000"}, separators=(",", ":")).encode()


def test_bbo_feed_records_latest_and_ignores_stale() -> None:
    f = fastfeed.BboFeed("binance", "bnbusdt", tick_size="0.0001", step_size="0.01")
    assert (f.price_decimals, f.size_decimals, f.bbo()) == (8, 8, None)
    assert f.apply_message(_bn_book(10, "25.3519", "25.3652")) == 1
    assert f.apply_message(_bn_book(10, "25.0000", "25.9999")) == 0     # same u: stale
    assert f.apply_message(_bn_book(9, "25.0000", "25.9999")) == 0      # older u
    assert f.apply_message(_bn_book(12, "25.3520", "25.3652")) == 1
    assert f.apply_message(_bn_book(13, "1", "2", symbol="ETHUSDT")) == 0
    assert (f.stale, f.recorded, f.unknown_symbol, f.state) == (2, 2, 1, "live")
    assert f.bbo()[:5] == (2535200000, 100000000, 2536520000, 200000000, 12)
    assert f.bid_price == 2535200000 and f.ask_size == 200000000
    u = f.updates()
    assert u.dtype == fastfeed.BBO_DTYPE and list(u["update_id"]) == [10, 12]
    assert list(u["bid_price"]) == [2535190000, 2535200000]
    assert (u["recv_ns"] > 0).all() and list(f.updates(since=1)["update_id"]) == [12]


def test_bbo_feed_rejects_are_counted_and_strict_raises() -> None:
    f = fastfeed.BboFeed("binance", "BNBUSDT", tick_size="0.01", step_size="0.01")
    with pytest.raises(DecodeRejected, match="price at byte 26: '1.000000001' has more "
                                             r"decimals than the scale allows \(8\)"):
        f.apply_message(_bn_book(1, "1.000000001", "2"))
    lax = fastfeed.BboFeed("binance", "BNBUSDT", "0.01", "0.01", strict=False)
    assert lax.apply_message(b'{"u":1') == 0
    assert lax.apply_message(b'{"code":-1,"msg":"no"}') == 0
    assert lax.rejects == {"truncated": 1, "venue_error": 1} and lax.recorded == 0


def test_bbo_ring_overwrites_oldest() -> None:
    f = fastfeed.BboFeed("binance", "BNBUSDT", "0.01", "0.01", capacity=3)
    for u in range(1, 8):
        f.apply_message(_bn_book(u, f"{u}.00", f"{u + 1}.00"))
    assert (f.held, f.recorded, f.overwritten) == (3, 7, 4)
    assert list(f.updates()["update_id"]) == [5, 6, 7]
    assert list(f.updates(since=6)["update_id"]) == [7]


def test_coinbase_at_bbo_connection_sequence_is_counted_not_a_state() -> None:
    f = fastfeed.BboFeed("coinbase", "BTC-USD", tick_size="0.01", step_size="0.00000001")
    assert f.apply_message(AT_TICKER) == 1
    assert f.apply_message(AT_TICKER.replace(b'"sequence_num":0', b'"sequence_num":1')) == 1
    assert f.apply_message(AT_TICKER.replace(b'"sequence_num":0', b'"sequence_num":5')) == 1
    assert (f.sequence_gaps, f.connection_gaps, f.state) == (1, 1, "live")
    assert "sequence" in f.last_gap_reason


def test_ticker_feed() -> None:
    f = fastfeed.TickerFeed("binance", "BNBBTC", tick_size="0.0001", step_size="1")
    assert f.ticker() is None
    assert f.apply_message(BN_TICKER) == 1 and f.apply_message(BN_MINI) == 1
    t = f.tickers()
    assert t.dtype == fastfeed.TICKER_DTYPE and len(t) == 2
    assert list(t["trade_count"]) == [18151, -1]
    last = f.ticker()
    assert (last.last_price, last.open, last.change, last.volume) == (250000, 100000, M, 10000)
    cx = fastfeed.TickerFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001")
    assert cx.apply_message(CX_TICKER) == 1
    assert cx.apply_message(CX_TICKER) == 0 and cx.stale == 1     # same sequence


def test_record_top_records_changes_only() -> None:
    core = BboCore("binance", "BTCUSDT", 2, 3)
    assert core._record_top(100, 5, 101, 7, update_id=1) == 1
    assert core._record_top(100, 5, 101, 7, update_id=2) == 0       # the top did not move
    assert core._record_top(100, 4, 101, 7, update_id=3) == 1
    assert core._record_top(99, 4, 101, 7, update_id=3) == 0        # not newer: stale
    assert core.stale == 1 and list(core.updates()["bid_size"]) == [5, 4]
    with pytest.raises(TypeError, match="no decode step"):
        core.apply_message(BN_BOOK)


def test_callback_runs_after_each_record() -> None:
    seen: list[int] = []
    f = fastfeed.BboFeed("binance", "BNBUSDT", "0.01", "0.01")
    f.callback = lambda core: seen.append(core.last_update_id)
    f.apply_message(_bn_book(3, "1", "2"))
    f.apply_message(_bn_book(2, "1", "2"))
    assert seen == [3]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["1.00", "1.005", "2", "x"]),
                          st.sampled_from(["BNBUSDT", "ETHUSDT"])), max_size=25),
       st.integers(1, 6))
def test_bbo_feed_matches_reference_stream(msgs: list[tuple[int, str, str]],
                                           capacity: int) -> None:
    f = fastfeed.BboFeed("binance", "BNBUSDT", "0.01", "0.01", capacity=capacity,
                         strict=False)
    r = ref.QuoteStream("binance", "BNBUSDT", "bbo", 8, 8, 10**6, 10**6, capacity=capacity)
    for u, price, sym in msgs:
        p = _bn_book(u, price, "3", sym)
        assert f.apply_message(p) == r.apply_message(p)
    got = [{k: int(rec[k]) for k in ("exchange_ns", "update_id", "bid_price", "bid_size",
                                     "ask_price", "ask_size")} for rec in f.updates()]
    assert got == r.records()
    assert (f.recorded, f.stale, f.rejected, f.overwritten, f.unknown_symbol, f.off_grid) == (
        r.recorded, r.stale, r.rejected, r.overwritten, r.unknown_symbol, r.off_grid)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["40552.26", "1.001", "7"])),
                max_size=15))
def test_ticker_feed_matches_reference_stream(msgs: list[tuple[int, str]]) -> None:
    f = fastfeed.TickerFeed("coinbase-exchange", "BTC-USD", "0.01", "0.00000001",
                            strict=False)
    r = ref.QuoteStream("coinbase-exchange", "BTC-USD", "ticker", 2, 8)
    for seq, price in msgs:
        p = CX_TICKER.replace(b'"sequence":29912240', b'"sequence":%d' % seq).replace(
            b'"price":"40552.26"', b'"price":"%s"' % price.encode())
        assert f.apply_message(p) == r.apply_message(p)
    names = [n for n in fastfeed.TICKER_DTYPE.names if n != "recv_ns"]
    got = [{n: int(rec[n]) for n in names} for rec in f.tickers()]
    assert got == [{n: rec[n] for n in names} for rec in r.records()]
    assert (f.recorded, f.stale, f.rejected) == (r.recorded, r.stale, r.rejected)
    assert np.all(f.tickers()["recv_ns"] > 0)


def test_escaped_key_longer_than_the_key_buffer_is_the_same_field() -> None:
    # found by benches/fuzz.py: "best_bid_quantity" (17 bytes) spelled with escapes is the
    # known field, so it counts (and a repeat of it is a duplicate)
    esc = b'"\\u0062est_bid_quantity"'
    p = AT_TICKER.replace(b'"best_bid_quantity"', esc)
    assert both("coinbase", p, "bbo", 2, 8)["segments"][0]["bid_size"] == 800021000000
    dup = AT_TICKER.replace(b'"best_bid_quantity":"8000.21"',
                            b'"best_bid_quantity":"1",' + esc + b':"2"')
    with pytest.raises(_parse.DecodeFailed, match="duplicate field"):
        decode_quotes("coinbase", dup, "bbo", 2, 8)
