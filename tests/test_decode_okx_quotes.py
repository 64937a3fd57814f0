"""OKX ``tickers`` and ``bbo-tbt`` decoders (docs/venues.md, "OKX"): compiled vs
reference on the documented payloads of ../shared/channels.md (6.3, 6.4) and on
generated messages, the error texts, the stream dispatch beside books and trades, and the
offline feeds against the reference stream."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import _parse
from fastfeed.reference import decode as ref_decode
from fastfeed.reference import quotes as ref
from test_decode_binance import Raw, json_object, json_values
from test_decode_quotes import _SETTINGS, M, assert_same, decimals, fields, run_both

# channels.md 6.3, byte for byte
TICKER = (b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT",'
          b'"instId":"BTC-USDT","last":"9999.99","lastSz":"0.1","askPx":"9999.99","askSz":"11",'
          b'"bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000","low24h":"8888.88",'
          b'"volCcy24h":"2222","vol24h":"2222","sodUtc0":"2222","sodUtc8":"2222",'
          b'"ts":"1597026383085"}]}')
SWAP_TICKER = (TICKER.replace(b'"BTC-USDT"', b'"BTC-USDT-SWAP"')
               .replace(b'"SPOT"', b'"SWAP"').replace(b'"vol24h":"2222"', b'"vol24h":"22.5"'))
BOOKS = (b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":'
         b'[["8476.98","415","0","13"]],"bids":[],"ts":"1597026383085","checksum":0,'
         b'"prevSeqId":1,"seqId":2}]}')
TRADES = (b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
          b'"tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy",'
          b'"ts":"1630048897897","count":"3","source":"0","seqId":1234}]}')


def both(payload: bytes, channel: str = "ticker", pd: int = 2, sd: int = 8) -> Any:
    c, r = run_both("okx", payload, channel, pd, sd)
    assert_same(c, r)
    return c


def test_documented_ticker() -> None:
    out = both(TICKER)
    assert out["kind"] == "ticker" and out["event_time_ns"] == 1597026383085 * 10**6
    (seg,) = out["segments"]
    assert seg["symbol"] == "BTC-USDT" and seg["exchange_ns"] == 1597026383085 * 10**6
    assert (seg["last_price"], seg["last_size"], seg["open"], seg["high"], seg["low"]) == (
        999999, 10_000_000, 900000, 1_000_000, 888888)
    # SPOT: vol24h is base, volCcy24h quote; no change, no ids
    assert (seg["volume"], seg["quote_volume"], seg["change"], seg["update_id"]) == (
        2222, 2222, M, -1)


def test_swap_ticker_base_volume_is_volccy_and_no_quote_volume() -> None:
    seg = both(SWAP_TICKER)["segments"][0]
    assert seg["symbol"] == "BTC-USDT-SWAP"
    assert (seg["volume"], seg["volume_decimals"], seg["quote_volume"]) == (2222, 0, M)


@pytest.mark.parametrize(("payload", "kind"), [
    (b"pong", "control"),
    (b'{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a"}',
     "control"),
    (b'{"event":"error","code":"60018","msg":"x","connId":"a"}', "venue_error"),
    (BOOKS, "ignored"), (TRADES, "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    assert both(payload)["kind"] == kind


_TS = "field 'ts' has the wrong type (expected a string of integer milliseconds)"


@pytest.mark.parametrize(("payload", "message"), [
    (TICKER.replace(b'"arg":{"channel":"tickers","instId":"BTC-USDT"},', b''),
     "field 'arg' missing"),
    (b'{"arg":[],"data":[]}', "field 'arg' has the wrong type (expected object)"),
    (b'{"arg":{"instId":"X"},"data":[]}', "field 'channel' missing"),
    (b'{"arg":{"channel":7},"data":[]}',
     "field 'channel' has the wrong type (expected string)"),
    (TICKER.replace(b',"instId":"BTC-USDT"},', b'},', 1), "field 'instId' missing"),
    (TICKER.replace(b'"instId":"BTC-USDT"},', b'"instId":"BTC\\u002dUSDT"},', 1),
     "field 'instId' contains an escape (symbols must be plain strings)"),
    (b'{"arg":{"channel":"tickers","instId":"X"}}', "field 'data' missing"),
    (b'{"arg":{"channel":"tickers","instId":"X"},"data":{}}',
     "field 'data' has the wrong type (expected array of objects)"),
    (b'{"arg":{"channel":"tickers","instId":"X"},"data":[1]}',
     "field 'data' has the wrong type (expected array of objects)"),
    (b'{"arg":{"channel":"tickers","instId":"X"},"data":[]}', "field 'data' is an empty array"),
    (TICKER.replace(b',"ts":"1597026383085"', b''), "field 'ts' missing"),
    (TICKER.replace(b'"ts":"1597026383085"', b'"ts":1597026383085'),
     "field 'ts' has the wrong type (expected string)"),
    (TICKER.replace(b'"ts":"1597026383085"', b'"ts":"-1"'), _TS),
    (TICKER.replace(b'"ts":"1597026383085"', b'"ts":"1e3"'), _TS),
    (TICKER.replace(b'"ts":"1597026383085"', b'"ts":"1234567890123456789"'), _TS),
    (TICKER.replace(b'"ts":"1597026383085"', b'"ts":"999999999999999999"'),
     "field 'ts' out of range"),
    (TICKER.replace(b'"instType":"SPOT",', b''), "field 'instType' missing"),
    (TICKER.replace(b'"last":"9999.99"', b'"last":9999.99'),
     "field 'last' has the wrong type (expected string)"),
    (TICKER.replace(b'"volCcy24h":"2222",', b''), "field 'volCcy24h' missing"),
    (TICKER.replace(b'"event":', b'').replace(b'{"arg"', b'{"event":5,"arg"', 1),
     "field 'event' has the wrong type (expected string)"),
])
def test_errors(payload: bytes, message: str) -> None:
    c, r = run_both("okx", payload, "ticker", 2, 8)
    assert isinstance(r, ref.DecodeFailed) and str(r) == message
    assert_same(c, r)


@pytest.mark.parametrize(("payload", "message"), [
    (TICKER.replace(b'"last":"9999.99"', b'"last":"9999.999"'), "last_price"),    # finer
    (TICKER.replace(b'"last":"9999.99"', b'"last":"99999999999999999999"'), "last_price"),
    (TICKER.replace(b'"vol24h":"2222"', b'"vol24h":"1234567890123456789012"'), "volume"),
    (TICKER.replace(b'"lastSz":"0.1"', b'"lastSz":""'), "last_size"),
])
def test_values_are_exact_or_rejected(payload: bytes, message: str) -> None:
    c, r = run_both("okx", payload, "ticker", 2, 8)
    assert isinstance(c, _parse.DecodeFailed) and str(c).startswith(message), c
    assert_same(c, r)


def test_duplicates_are_malformed() -> None:
    for payload in (TICKER.replace(b'"last":"9999.99"', b'"last":"1","last":"2"'),
                    TICKER.replace(b'"instId":"BTC-USDT"}', b'"instId":"A","instId":"B"}', 1),
                    TICKER[:-1] + b',"data":[]}'):
        c, r = run_both("okx", payload, "ticker", 2, 8)
        assert isinstance(c, _parse.DecodeFailed) and "malformed JSON" in str(c)
        assert_same(c, r)


def test_truncated_at_every_offset() -> None:
    for i in range(len(TICKER)):
        c, r = run_both("okx", TICKER[:i], "ticker", 2, 8)
        assert isinstance(c, _parse.DecodeFailed), i
        assert_same(c, r)


def test_stream_dispatch_books_trades_tickers_on_one_connection() -> None:
    bad = TICKER.replace(b'"last":"9999.99"', b'"last":1')
    for payload, want in ((TICKER, ("ticker", None)), (BOOKS, ("depth", None)),
                          (TRADES, ("trades", None)),
                          (bad, ("ticker", "field 'last' has the wrong type (expected string)")),
                          # another key order: the first decoder that takes it
                          (b'{"data":' + TICKER.split(b'"data":', 1)[1][:-1]
                           + b',"arg":{"channel":"tickers","instId":"BTC-USDT"}}',
                           ("ticker", None))):
        got = _parse.stream_channel("okx", payload)
        assert (got[0], None if got[1] is None else got[1].split(" at byte")[0]) == want
        assert ref_decode.stream_channel("okx", payload) == (got[0], want[1])


# ---------------------------------------------------------------------------------------
# generated messages
# ---------------------------------------------------------------------------------------

ms_texts = st.one_of(*[st.integers(0, 2**45).map(str)] * 8,
                     st.sampled_from(["", "-5", "1.5", "9223372036855", "99999999999999999999",
                                      "１２"]), st.just(Raw('"1\\u0032"')))
inst_ids = st.sampled_from(["BTC-USDT", "BTC-USDT", "BTC-USDT-SWAP", "ü",
                            Raw('"BTC\\u002dUSDT"')])


@st.composite
def ticker_messages(draw: st.DrawFn) -> bytes:
    els = []
    for _ in range(draw(st.integers(0, 3))):
        pairs = draw(fields([
            ("instType", st.sampled_from(["SPOT", "SWAP", "MARGIN", "FUTURES"])),
            ("instId", inst_ids), ("last", decimals), ("lastSz", decimals),
            ("askPx", decimals), ("askSz", decimals), ("bidPx", decimals),
            ("bidSz", decimals), ("open24h", decimals), ("high24h", decimals),
            ("low24h", decimals), ("volCcy24h", decimals), ("vol24h", decimals),
            ("ts", ms_texts)]))
        els.append(Raw(draw(json_object(pairs))))
    if draw(st.integers(0, 9)) == 3:
        els.append(draw(json_values))
    arg = Raw(draw(json_object(draw(fields([
        ("channel", st.sampled_from(["tickers", "tickers", "books", "trades"])),
        ("instId", inst_ids)])))))
    env = draw(fields([("arg", st.just(arg)), ("data", st.just(els))]))
    if draw(st.integers(0, 15)) == 7:
        env.append(("event", draw(st.sampled_from(["error", "subscribe"]))))
    return draw(json_object(env)).encode("utf-8", "surrogatepass")


@_SETTINGS
@given(ticker_messages(), st.sampled_from([2, 2, 8, 0]), st.sampled_from([8, 8, 3, 0]))
def test_generated_tickers_match_reference(payload: bytes, pd: int, sd: int) -> None:
    assert_same(*run_both("okx", payload, "ticker", pd, sd))


@_SETTINGS
@given(ticker_messages(), st.data())
def test_byte_mutations_match_reference(payload: bytes, data: st.DataObject) -> None:
    if payload:
        i = data.draw(st.integers(0, len(payload) - 1))
        b = data.draw(st.sampled_from(b'{}[]",:\\0.-e \x80\xff'))
        payload = payload[:i] + bytes([b]) + payload[i + 1:]
    assert_same(*run_both("okx", payload, "ticker", 2, 8))
    assert ref_decode.stream_channel("okx", payload)[0] == _parse.stream_channel(
        "okx", payload)[0]


# ---------------------------------------------------------------------------------------
# the offline feed
# ---------------------------------------------------------------------------------------

def test_ticker_feed() -> None:
    f = fastfeed.TickerFeed("okx", "BTC-USDT", tick_size="0.01", step_size="0.00000001")
    assert f.apply_message(TICKER) == 1
    assert f.apply_message(BOOKS) == 0 and f.apply_message(SWAP_TICKER) == 0
    assert f.unknown_symbol == 1
    last = f.ticker()
    assert (last.last_price, last.volume, last.quote_volume) == (999999, 2222, 2222)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["9999.99", "1.001", "7", "x"]),
                          st.sampled_from(["BTC-USDT", "ETH-USDT"])), max_size=15))
def test_ticker_feed_matches_reference_stream(msgs: list[tuple[int, str, str]]) -> None:
    f = fastfeed.TickerFeed("okx", "BTC-USDT", "0.01", "0.00000001", strict=False)
    r = ref.QuoteStream("okx", "BTC-USDT", "ticker", 2, 8)
    for ts, price, sym in msgs:
        p = (TICKER.replace(b'"ts":"1597026383085"', b'"ts":"%d"' % ts)
             .replace(b'"last":"9999.99"', b'"last":"%s"' % price.encode())
             .replace(b'"instId":"BTC-USDT"}', b'"instId":"%s"}' % sym.encode(), 1))
        assert f.apply_message(p) == r.apply_message(p)
    names = [n for n in fastfeed.TICKER_DTYPE.names if n != "recv_ns"]
    got = [{n: int(rec[n]) for n in names} for rec in f.tickers()]
    assert got == [{n: rec[n] for n in names} for rec in r.records()]
    assert (f.recorded, f.stale, f.rejected, f.unknown_symbol) == (
        r.recorded, r.stale, r.rejected, r.unknown_symbol)
    assert np.all(f.tickers()["recv_ns"] > 0)


# ---------------------------------------------------------------------------------------
# bbo-tbt
# ---------------------------------------------------------------------------------------

# channels.md 6.4, byte for byte
BBO = (b'{"arg":{"channel":"bbo-tbt","instId":"BCH-USDT-SWAP"},"data":[{"asks":[["111.06",'
       b'"55154","0","2"]],"bids":[["111.05","57745","0","2"]],"ts":"1670324386802",'
       b'"seqId":363996337}]}')
_LEVEL = "has the wrong type (expected one [price, size, \"0\", count] level)"


def test_documented_bbo() -> None:
    out = both(BBO, "bbo", 2, 0)
    assert out["kind"] == "bbo" and out["last_id"] == 363996337
    (seg,) = out["segments"]
    assert seg == {"symbol": "BCH-USDT-SWAP", "kind": "update", "update_id": 363996337,
                   "exchange_ns": 1670324386802 * 10**6, "bid_price": 11105,
                   "bid_size": 57745, "ask_price": 11106, "ask_size": 55154, "off_grid": 0}


def test_bbo_without_seq_id_has_no_update_id() -> None:
    seg = both(BBO.replace(b',"seqId":363996337', b''), "bbo", 2, 0)["segments"][0]
    assert seg["update_id"] == -1


@pytest.mark.parametrize(("payload", "message"), [
    (BBO.replace(b'"seqId":363996337', b'"seqId":"363996337"'),
     "field 'seqId' has the wrong type (expected integer)"),
    (BBO.replace(b'"seqId":363996337', b'"seqId":-1'), "field 'seqId' out of range"),
    (BBO.replace(b'"seqId":363996337', b'"seqId":99999999999999999999'),
     "field 'seqId' out of range"),
    (BBO.replace(b',"ts":"1670324386802"', b''), "field 'ts' missing"),
    (BBO.replace(b'"ts":"1670324386802"', b'"ts":"16703.24"'), _TS),
    (BBO.replace(b'"bids":[["111.05","57745","0","2"]],', b''), "field 'bids' missing"),
    (BBO.replace(b'"asks":[["111.06","55154","0","2"]],', b''), "field 'asks' missing"),
    (BBO.replace(b'"bids":[["111.05","57745","0","2"]]', b'"bids":[]'), "field 'bids' " + _LEVEL),
    (BBO.replace(b'"bids":[["111.05","57745","0","2"]]',
                 b'"bids":[["111.05","57745","0","2"],["111.04","1","0","1"]]'),
     "field 'bids' " + _LEVEL),
    (BBO.replace(b'"asks":[["111.06","55154","0","2"]]', b'"asks":[["111.06",55154,"0","2"]]'),
     "field 'asks' " + _LEVEL),
    (BBO.replace(b'"asks":[["111.06","55154","0","2"]]', b'"asks":[["111.06","55154"]]'),
     "field 'asks' " + _LEVEL),
    (BBO.replace(b'"asks":[["111.06","55154","0","2"]]', b'"asks":{}'), "field 'asks' " + _LEVEL),
    (b'{"arg":{"channel":"bbo-tbt","instId":"X"},"data":[]}', "field 'data' is an empty array"),
])
def test_bbo_errors(payload: bytes, message: str) -> None:
    c, r = run_both("okx", payload, "bbo", 2, 0)
    assert isinstance(r, ref.DecodeFailed) and str(r) == message
    assert_same(c, r)


@pytest.mark.parametrize(("payload", "message"), [
    (BBO.replace(b'"111.05"', b'"111.055"'), "price"),             # finer than the tick
    (BBO.replace(b'"57745"', b'"57745.5"'), "size"),
    (BBO.replace(b'"57745"', b'"99999999999999999999"'), "size"),
    (BBO.replace(b'"111.06"', b'"1e2"'), "price"),
])
def test_bbo_values_are_exact_or_rejected(payload: bytes, message: str) -> None:
    c, r = run_both("okx", payload, "bbo", 2, 0)
    assert isinstance(c, _parse.DecodeFailed) and str(c).startswith(message), c
    assert_same(c, r)


def test_bbo_other_messages_and_truncation() -> None:
    for payload in (TICKER, BOOKS, TRADES):
        assert both(payload, "bbo")["kind"] == "ignored"
    assert both(BBO, "ticker")["kind"] == "ignored"
    for i in range(len(BBO)):
        c, r = run_both("okx", BBO[:i], "bbo", 2, 0)
        assert isinstance(c, _parse.DecodeFailed), i
        assert_same(c, r)
    assert _parse.stream_channel("okx", BBO) == ("bbo", None)
    bad = BBO.replace(b'"seqId":363996337', b'"seqId":true')
    assert _parse.stream_channel("okx", bad)[0] == "bbo"
    assert ref_decode.stream_channel("okx", bad) == (
        "bbo", "field 'seqId' has the wrong type (expected integer)")


levels = st.one_of(*[st.tuples(decimals, decimals, st.just("0"), st.just("2")).map(
    lambda t: [list(t)])] * 6, json_values)


@st.composite
def bbo_messages(draw: st.DrawFn) -> bytes:
    els = []
    for _ in range(draw(st.integers(0, 3))):
        pairs = draw(fields([
            ("asks", levels), ("bids", levels), ("ts", ms_texts),
            ("seqId", st.one_of(*[st.integers(0, 10**12)] * 6, st.integers(-3, 2**63 + 3)))]))
        els.append(Raw(draw(json_object(pairs))))
    arg = Raw(draw(json_object(draw(fields([
        ("channel", st.sampled_from(["bbo-tbt", "bbo-tbt", "books", "tickers"])),
        ("instId", inst_ids)])))))
    env = draw(fields([("arg", st.just(arg)), ("data", st.just(els))]))
    return draw(json_object(env)).encode("utf-8", "surrogatepass")


@_SETTINGS
@given(bbo_messages(), st.sampled_from([2, 2, 8, 0]), st.sampled_from([8, 0, 3]),
       st.sampled_from([1, 5]))
def test_generated_bbos_match_reference(payload: bytes, pd: int, sd: int, tick: int) -> None:
    assert_same(*run_both("okx", payload, "bbo", pd, sd, tick, tick))


@_SETTINGS
@given(bbo_messages(), st.data())
def test_bbo_byte_mutations_match_reference(payload: bytes, data: st.DataObject) -> None:
    if payload:
        i = data.draw(st.integers(0, len(payload) - 1))
        b = data.draw(st.sampled_from(b'{}[]",:\\0.-e \x80\xff'))
        payload = payload[:i] + bytes([b]) + payload[i + 1:]
    for channel in ("bbo", "ticker"):
        assert_same(*run_both("okx", payload, channel, 2, 8))
    assert ref_decode.stream_channel("okx", payload)[0] == _parse.stream_channel(
        "okx", payload)[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["111.05", "111.055", "7"]),
                          st.sampled_from(["BCH-USDT-SWAP", "ETH-USDT-SWAP"]), st.booleans()),
                max_size=20), st.integers(1, 6))
def test_bbo_feed_matches_reference_stream(msgs: list[tuple[int, str, str, bool]],
                                           capacity: int) -> None:
    f = fastfeed.BboFeed("okx", "BCH-USDT-SWAP", "0.01", "1", capacity=capacity, strict=False)
    r = ref.QuoteStream("okx", "BCH-USDT-SWAP", "bbo", 2, 0, capacity=capacity)
    for seq, price, sym, with_seq in msgs:
        p = (BBO.replace(b'"seqId":363996337', b'"seqId":%d' % seq)
             .replace(b'"111.05"', b'"%s"' % price.encode())
             .replace(b'"BCH-USDT-SWAP"', b'"%s"' % sym.encode()))
        if not with_seq:
            p = p.replace(b',"seqId":%d' % seq, b'')
        assert f.apply_message(p) == r.apply_message(p)
    got = [{k: int(rec[k]) for k in ("exchange_ns", "update_id", "bid_price", "bid_size",
                                     "ask_price", "ask_size")} for rec in f.updates()]
    assert got == r.records()
    assert (f.recorded, f.stale, f.rejected, f.overwritten, f.unknown_symbol) == (
        r.recorded, r.stale, r.rejected, r.overwritten, r.unknown_symbol)
