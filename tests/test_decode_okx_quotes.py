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
