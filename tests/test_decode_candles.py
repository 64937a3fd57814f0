"""Candle decoders (docs/venues.md, "Candles"): compiled vs reference on generated
messages, the real payload shapes of ../shared/channels.md, and the error texts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import _parse
from fastfeed.reference import candles as ref
from test_decode_binance import Raw, decimal_strings, json_object

_AT_BYTE = re.compile(r" at byte \d+")

# The real shapes (channels.md 1.6, 2.4, 3.5), byte for byte.
BN_KLINE = (b'{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,'
            b'"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010",'
            b'"c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,'
            b'"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}')
USDM_KLINE = (b'{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1791382992723,'
              b'"s":"BTCUSDT","k":{"t":1791382980000,"T":1791383039999,"s":"BTCUSDT",'
              b'"i":"1m","f":8153633367,"L":8153634395,"o":"83084.90","c":"83091.60",'
              b'"h":"83091.70","l":"83051.20","v":"13.551","n":1027,"x":false,'
              b'"q":"1125714.73960","V":"6.426","Q":"533856.66860","B":"0"}}}')
AT_CANDLES = (b'{"channel":"candles","client_id":"","timestamp":"2023-06-09T20:19:35.39625135Z",'
              b'"sequence_num":0,"events":[{"type":"snapshot","candles":[{"start":"1688998200",'
              b'"high":"1867.72","low":"1865.63","open":"1867.38","close":"1866.81",'
              b'"volume":"0.20269406","product_id":"ETH-USD"}]}]}')


def run_both(venue: str, payload: bytes, pd: int, sd: int) -> tuple[Any, Any]:
    out: list[Any] = []
    for fn in (_parse.decode_candles, ref.decode_candles):
        try:
            out.append(fn(venue, payload, pd, sd))
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


def assert_feed_matches_reference(venue: str, symbol: str, interval: str, tick_size: str,
                                  price_decimals: int, payloads: Iterable[bytes],
                                  names: tuple[str, ...] = ("open_ns", "close", "volume",
                                                            "closed")) -> None:
    """A lenient ``CandleFeed`` and the reference ``CandleStream`` (size scale 8) fed the
    same ``payloads``: the same result per message, the same closed candles (fields
    ``names``) and the same counters."""
    f = fastfeed.CandleFeed(venue, symbol, interval, tick_size=tick_size,
                            step_size="0.00000001", strict=False)
    r = ref.CandleStream(venue, symbol, interval, price_decimals, 8)
    for p in payloads:
        assert f.apply_message(p) == r.apply_message(p)
    assert [{n: int(c[n]) for n in names} for c in f.candles()] == [
        {n: c[n] for n in names} for c in r.closed]
    assert (f.updates, f.stale, f.rejected) == (
        r.counters["updates"], r.counters["stale"], r.counters["rejected"])


def candle(**kw: Any) -> dict[str, Any]:
    out = {"interval": None, "open_ns": 0, "close_ns": 0, "open": 0, "high": 0, "low": 0,
           "close": 0, "volume": 0, "quote_volume": -1, "trades": -1, "first_id": -1,
           "last_id": -1, "closed": -1}
    out.update(kw)
    return out


# ---------------------------------------------------------------------------------------
# the real shapes
# ---------------------------------------------------------------------------------------

def test_binance_kline() -> None:
    out = _parse.decode_candles("binance", BN_KLINE, 8, 8)
    assert out == {"kind": "candles", "last_id": -1, "event_time_ns": 1672515782136 * 10**6,
                   "segments": [{"symbol": "BNBBTC", "kind": "update", "candles": [candle(
                       interval="1m", open_ns=1672515780000 * 10**6,
                       close_ns=1672515840000 * 10**6,     # T + 1 ms: exclusive
                       open=100000, high=250000, low=150000, close=200000,
                       volume=1000 * 10**8, quote_volume=10**16, trades=100, first_id=100,
                       last_id=200, closed=0)]}]}
    assert ref.decode_candles("binance", BN_KLINE, 8, 8) == out


def test_usdm_kline_quote_volume_beyond_int64() -> None:
    out = _parse.decode_candles("binance-usdm", USDM_KLINE, 8, 8)
    (c,) = out["segments"][0]["candles"]
    # 1125714.7396 at 16 decimals is 1.1e22: more than int64 holds, exact in 128 bits
    assert c["quote_volume"] == 11257147396 * 10**12 > 2**63
    assert (c["open"], c["close"], c["volume"], c["trades"]) == (
        8308490 * 10**6, 8309160 * 10**6, 13551 * 10**5, 1027)
    assert ref.decode_candles("binance-usdm", USDM_KLINE, 8, 8) == out


def test_coinbase_candles() -> None:
    out = _parse.decode_candles("coinbase", AT_CANDLES, 2, 8)
    assert out["kind"] == "candles" and out["last_id"] == 0
    assert out["segments"] == [{"symbol": "ETH-USD", "kind": "snapshot", "candles": [candle(
        open_ns=1688998200 * 10**9, close_ns=(1688998200 + 300) * 10**9, open=186738,
        high=186772, low=186563, close=186681, volume=20269406)]}]
    assert ref.decode_candles("coinbase", AT_CANDLES, 2, 8) == out


@pytest.mark.parametrize(("venue", "payload", "kind"), [
    ("binance", b'{"result":null,"id":1}', "control"),
    ("binance", b'{"code":2,"msg":"Invalid request"}', "venue_error"),
    ("binance", b'{"e":"continuous_kline","E":1}', "ignored"),
    ("binance", b'{"e":"trade","E":1}', "ignored"),
    ("coinbase", b'{"channel":"heartbeats","sequence_num":3,"events":[]}', "heartbeat"),
    ("coinbase", b'{"channel":"subscriptions","sequence_num":1,"events":[]}', "control"),
    ("coinbase", b'{"channel":"market_trades","sequence_num":1,"events":[]}', "ignored"),
    ("coinbase", b'{"type":"error","message":"x"}', "venue_error"),
])
def test_other_messages(venue: str, payload: bytes, kind: str) -> None:
    c, r = run_both(venue, payload, 2, 2)
    assert c["kind"] == kind and c["segments"] == []
    assert_same(c, r)


def test_no_candles_on_coinbase_exchange() -> None:
    with pytest.raises(ValueError, match="no venue candles"):
        _parse.decode_candles("coinbase-exchange", b"{}", 2, 2)


def _kl(**over: Any) -> bytes:
    o = json.loads(BN_KLINE)
    for key, v in over.items():
        target = o["k"] if key.startswith("k_") else o
        name = key[2:] if key.startswith("k_") else key
        if v is ...:
            del target[name]
        else:
            target[name] = v
    return json.dumps(o).encode()


@pytest.mark.parametrize(("payload", "message"), [
    (_kl(k_x=...), "field 'k.x' missing"),
    (_kl(k_q=...), "field 'k.q' missing"),
    (_kl(k=...), "field 'k' missing"),
    (_kl(k=[1]), "field 'k' has the wrong type (expected object)"),
    (_kl(k_t="1"), "field 'k.t' has the wrong type (expected integer)"),
    (_kl(k_x=1), "field 'k.x' has the wrong type (expected boolean)"),
    (_kl(k_o=1.5), "field 'k.o' has the wrong type (expected string)"),
    (_kl(k_T=1672515779999), "field 'k.T' is before 'k.t'"),
    (_kl(k_f=-2), "field 'k.f' out of range (expected -1..2**62)"),
    (_kl(k_n=-1), "field 'k.n' out of range (expected 0..2**62)"),
    (_kl(k_t=-5), "field 'k.t' out of range"),
    (_kl(k_s="ETHBTC"), "field 'k.s' differs from 's'"),
    (_kl(k_s="A\\u0042"), "field 'k.s' contains an escape (symbols must be plain strings)"),
    (_kl(k_h="1e-3"), "high: '1e-3' uses an exponent; only plain decimals are accepted"),
    (_kl(k_l="-0.5"), "low: '-0.5' has a sign; prices and sizes are unsigned decimals"),
    (_kl(k_v="0.000000001"),
     "volume: '0.000000001' has more decimals than the scale allows (8)"),
    (_kl(k_q="1" * 24), f"quote_volume: '{'1' * 24}' does not fit a 128-bit integer at 16 "
                        "decimals"),
])
def test_binance_errors(payload: bytes, message: str) -> None:
    payload = payload.replace(b"A\\\\u0042", b"A\\u0042")
    with pytest.raises(_parse.DecodeFailed) as exc:
        _parse.decode_candles("binance", payload, 8, 8)
    assert _AT_BYTE.sub("", str(exc.value)) == message
    c, r = run_both("binance", payload, 8, 8)
    assert_same(c, r)


def test_f_and_L_minus_one_mean_no_trade() -> None:
    out = _parse.decode_candles("binance", _kl(k_f=-1, k_L=-1, k_n=0), 8, 8)
    c = out["segments"][0]["candles"][0]
    assert (c["first_id"], c["last_id"], c["trades"]) == (-1, -1, 0)


@pytest.mark.parametrize("payload", [BN_KLINE, USDM_KLINE, AT_CANDLES])
def test_truncated_at_every_offset(payload: bytes) -> None:
    venue = "coinbase" if payload is AT_CANDLES else "binance"
    for k in range(len(payload)):
        with pytest.raises(_parse.DecodeFailed, match=r"^(truncated|malformed) JSON"):
            _parse.decode_candles(venue, payload[:k], 8, 8)


def test_duplicate_keys_rejected() -> None:
    dup = BN_KLINE.replace(b'"x":false', b'"x":false,"x":true')
    with pytest.raises(_parse.DecodeFailed, match="duplicate"):
        _parse.decode_candles("binance", dup, 8, 8)
    dup = AT_CANDLES.replace(b'"low":"1865.63"', b'"low":"1865.63","low":"1"')
    with pytest.raises(_parse.DecodeFailed, match="duplicate"):
        _parse.decode_candles("coinbase", dup, 2, 8)


def test_parse_decimal128() -> None:
    assert _parse.parse_decimal128_py("1125714.73960", 16) == 11257147396 * 10**12
    assert _parse.parse_decimal128_py("170141183460469231731687303715884105727", 0) == 2**127 - 1
    with pytest.raises(ValueError, match="128-bit"):
        _parse.parse_decimal128_py("170141183460469231731687303715884105728", 0)
    for text, d in (("1000.5", 36), ("0.1", 0), ("", 2), ("1e5", 2), ("+1", 2), ("5.", 2)):
        with pytest.raises(ValueError):
            _parse.parse_decimal128_py(text, d)
        code, _ = ref.decimal128_code(text, d)
        assert code != 0


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789.e-+x", min_size=0, max_size=45), st.integers(0, 36))
def test_decimal128_matches_reference(text: str, decimals: int) -> None:
    code, value = ref.decimal128_code(text, decimals)
    try:
        got = _parse.parse_decimal128_py(text, decimals)
    except ValueError:
        assert code != 0
    else:
        assert code == 0 and got == value


# ---------------------------------------------------------------------------------------
# generated messages: compiled vs reference
# ---------------------------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def klines(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    sym = draw(st.sampled_from(["BTCUSDT", "BNBBTC", "1000SATSUSDT", ""]))
    t = draw(st.integers(0, 2**43))
    k_fields: list[tuple[str, object]] = [
        ("t", t), ("T", t + draw(st.integers(-1, 10**9))), ("s", sym),
        ("i", draw(st.sampled_from(["1s", "1m", "1h", "1M"]))),
        ("f", draw(st.integers(-2, 2**62 + 1))), ("L", draw(st.integers(-1, 2**62))),
        ("o", draw(decimal_strings(pd))), ("c", draw(decimal_strings(pd))),
        ("h", draw(decimal_strings(pd))), ("l", draw(decimal_strings(pd))),
        ("v", draw(decimal_strings(sd))), ("n", draw(st.integers(0, 2**40))),
        ("x", draw(st.booleans())), ("q", draw(decimal_strings(pd + sd, width=12))),
        ("V", "1"), ("Q", "2"), ("B", "0"),
    ]
    k_text = draw(json_object(k_fields, unknown=False))
    fields: list[tuple[str, object]] = [("e", "kline"), ("E", draw(st.integers(0, 2**43))),
                                        ("s", sym), ("k", Raw(k_text))]
    text = draw(json_object(fields))
    if draw(st.booleans()):
        parts = ['"stream":"btcusdt@kline_1m"', f'"data":{text}']
        if draw(st.booleans()):
            parts.reverse()
        text = "{" + ",".join(parts) + "}"
    return text.encode(), pd, sd


@SETTINGS
@given(klines())
def test_klines_match_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("binance", payload, pd, sd)
    assert_same(c, r)


_ODD: list[Any] = [None, "str", 1.5, -1, -2, 2**63, -(2**63) - 1, True, [], {}, "1e5", "",
                   "-1", 9223372036855, "DROP"]


@st.composite
def mutated_klines(draw: st.DrawFn) -> bytes:
    """Valid-looking klines with one field of the event or of k dropped or retyped."""
    k = json.loads(BN_KLINE)["k"]
    top: dict[str, Any] = {"e": "kline", "E": 1672515782136, "s": "BNBBTC"}
    target = draw(st.sampled_from(["k", "top"]))
    obj = k if target == "k" else top
    key = draw(st.sampled_from(sorted(obj)))
    odd = draw(st.sampled_from(_ODD))
    if odd == "DROP":
        del obj[key]
    else:
        obj[key] = odd
    k_text = draw(json_object(list(k.items()), unknown=False))
    return draw(json_object([*top.items(), ("k", Raw(k_text))],
                            unknown=draw(st.booleans()))).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_klines())
def test_mutated_klines_match_reference(payload: bytes) -> None:
    c, r = run_both("binance-usdm", payload, 4, 3)
    assert_same(c, r)


@st.composite
def at_candles(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    events = []
    for _ in range(draw(st.integers(0, 3))):
        candles = []
        for _ in range(draw(st.integers(0, 3))):
            fields: list[tuple[str, object]] = [
                ("start", draw(st.sampled_from(["1688998200", "0", "9223372036", "12a",
                                                "-5", "01688998500"]))),
                ("high", draw(decimal_strings(pd))), ("low", draw(decimal_strings(pd))),
                ("open", draw(decimal_strings(pd))), ("close", draw(decimal_strings(pd))),
                ("volume", draw(decimal_strings(sd))),
                ("product_id", draw(st.sampled_from(["ETH-USD", "BTC-USD"]))),
            ]
            if draw(st.integers(0, 9)) == 0:
                fields[draw(st.integers(0, 6))] = ("open", draw(st.sampled_from(_ODD)))
            candles.append(Raw(draw(json_object(fields, unknown=draw(st.booleans())))))
        events.append(Raw(draw(json_object(
            [("type", draw(st.sampled_from(["snapshot", "update", "other"]))),
             ("candles", candles)], unknown=False))))
    env: list[tuple[str, object]] = [
        ("channel", draw(st.sampled_from(["candles", "candles", "heartbeats"]))),
        ("client_id", ""), ("timestamp", "2023-06-09T20:19:35.39625135Z"),
        ("sequence_num", draw(st.integers(0, 2**62))), ("events", events)]
    return draw(json_object(env, unknown=False)).encode(), pd, sd


@SETTINGS
@given(at_candles())
def test_at_candles_match_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("coinbase", payload, pd, sd)
    assert_same(c, r)


@pytest.mark.parametrize("payload", [BN_KLINE, USDM_KLINE, _kl(k_f=-1, k_L=-1, k_n=0)])
def test_fast_and_general_paths_agree(payload: bytes) -> None:
    # whitespace sends a payload to the general decoder; the compact form takes the fast path
    spaced = payload.replace(b",", b", ").replace(b":", b" :")
    assert (_parse.decode_candles("binance", payload, 8, 8)
            == _parse.decode_candles("binance", spaced, 8, 8))
