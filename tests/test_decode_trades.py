"""Trade decoders (docs/venues.md, "Trades"): compiled vs reference on generated messages,
the real payload shapes of ../shared/channels.md, and the error tables."""

from __future__ import annotations

import calendar
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.reference import decode as ref
from test_decode_binance import Raw, decimal_strings, json_object, odd_decimals

_AT_BYTE = re.compile(r" at byte \d+")

# The real shapes (channels.md 1.2, 1.3, 2.1, 3.3, 4.1), byte for byte.
BN_TRADE = (b'{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100",'
            b'"T":1672515782134,"m":true,"M":true}')
BN_AGG = (b'{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100",'
          b'"f":100,"l":105,"T":1672515782134,"m":true,"M":true}')
USDM_AGG = (b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1791382992488,'
            b'"a":3477868433,"s":"BTCUSDT","p":"83091.70","q":"0.022","nq":"0.022",'
            b'"f":8153634393,"l":8153634394,"T":1791382992338,"m":false,"st":1}}')
AT_TRADES = (b'{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z",'
             b'"sequence_num":0,"events":[{"type":"snapshot","trades":[{"trade_id":"000000000",'
             b'"product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY",'
             b'"time":"2019-08-14T20:42:27.265Z"}]}]}')
CX_MATCH = (b'{"type":"match","trade_id":10,"sequence":50,"maker_order_id":'
            b'"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":'
            b'"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z",'
            b'"product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}')


def ts_ns(y: int, mo: int, d: int, h: int, mi: int, s: int, frac: str = "") -> int:
    return calendar.timegm((y, mo, d, h, mi, s)) * 10**9 + int(frac.ljust(9, "0") or 0)


def run_both(venue: str, payload: bytes, pd: int, sd: int, tick: int = 1,
             step: int = 1) -> tuple[Any, Any]:
    out: list[Any] = []
    for fn in (_parse.decode_trades, ref.decode_trades):
        try:
            out.append(fn(venue, payload, pd, sd, tick, step))
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


def trade(stream: str, trade_id: int, time_ns: int, price: int, size: int, side: int,
          first_id: int = -1, last_id: int = -1) -> dict[str, Any]:
    return {"stream": stream, "trade_id": trade_id, "first_id": first_id, "last_id": last_id,
            "time_ns": time_ns, "price": price, "size": size, "side": side}


# ---------------------------------------------------------------------------------------
# the real shapes
# ---------------------------------------------------------------------------------------

def test_binance_trade() -> None:
    out = _parse.decode_trades("binance", BN_TRADE, 8, 8)
    assert out == {"kind": "trades", "last_id": -1, "event_time_ns": 1672515782136 * 10**6,
                   "segments": [{"symbol": "BNBBTC", "kind": "update", "trades": [
                       # m true: the buyer was the maker, the taker sold; time is T, not E
                       trade("trade", 12345, 1672515782134 * 10**6, 100000, 10**10, -1)]}]}
    assert ref.decode_trades("binance", BN_TRADE, 8, 8) == out


def test_binance_agg_trade() -> None:
    out = _parse.decode_trades("binance", BN_AGG, 3, 0)
    assert out["segments"][0]["trades"] == [
        trade("aggTrade", 12345, 1672515782134 * 10**6, 1, 100, -1, 100, 105)]
    assert ref.decode_trades("binance", BN_AGG, 3, 0) == out


def test_usdm_agg_trade_combined_with_st_and_nq() -> None:
    out = _parse.decode_trades("binance-usdm", USDM_AGG, 1, 3)
    assert out["segments"] == [{"symbol": "BTCUSDT", "kind": "update", "trades": [
        trade("aggTrade", 3477868433, 1791382992338 * 10**6, 830917, 22, 1,
              8153634393, 8153634394)]}]
    assert ref.decode_trades("binance-usdm", USDM_AGG, 1, 3) == out


def test_at_snapshot() -> None:
    out = _parse.decode_trades("coinbase", AT_TRADES, 2, 1)
    assert out == {"kind": "trades", "last_id": 0,
                   "event_time_ns": ts_ns(2023, 2, 9, 20, 19, 35, "39625135"),
                   "segments": [{"symbol": "ETH-USD", "kind": "snapshot", "trades": [
                       # side is the maker's: BUY means a resting buy was hit (taker sold)
                       trade("market_trades", 0, ts_ns(2019, 8, 14, 20, 42, 27, "265"),
                             126001, 3, -1)]}]}
    assert ref.decode_trades("coinbase", AT_TRADES, 2, 1) == out


def _at_msg(events: list[Any], seq: int = 3) -> bytes:
    return json.dumps({"channel": "market_trades", "client_id": "",
                       "timestamp": "2023-02-09T20:19:36Z", "sequence_num": seq,
                       "events": events}, separators=(",", ":")).encode()


def _at_trade(tid: str, product: str, price: str, side: str, t: str) -> dict[str, str]:
    return {"trade_id": tid, "product_id": product, "price": price, "size": "1",
            "side": side, "time": t}


def test_at_events_are_reversed_to_oldest_first_and_split_by_product() -> None:
    payload = _at_msg([
        {"type": "update", "trades": [
            _at_trade("995098703", "BTC-USD", "3.00", "SELL", "2023-02-09T20:19:35.3Z"),
            _at_trade("7", "ETH-USD", "9.00", "BUY", "2023-02-09T20:19:35.25Z"),
            _at_trade("995098702", "BTC-USD", "2.00", "SELL", "2023-02-09T20:19:35.2Z"),
            _at_trade("995098701", "BTC-USD", "1.00", "BUY", "2023-02-09T20:19:35.1Z")]},
        {"type": "update", "trades": [
            _at_trade("ba2a0a48-8f38-4c9a-8b30-1ea56c0f5a9b", "BTC-USD", "4.00", "SELL",
                      "2023-02-09T20:19:35.4Z")]}])
    out = _parse.decode_trades("coinbase", payload, 2, 0)
    assert out == ref.decode_trades("coinbase", payload, 2, 0)
    got = [(s["symbol"], [(t["trade_id"], t["price"], t["side"]) for t in s["trades"]])
           for s in out["segments"]]
    assert got == [("BTC-USD", [(995098701, 100, -1), (995098702, 200, 1)]),
                   ("ETH-USD", [(7, 900, -1)]),
                   ("BTC-USD", [(995098703, 300, 1)]),
                   ("BTC-USD", [(-1, 400, 1)])]           # a UUID trade id: -1


def test_exchange_match_and_last_match() -> None:
    out = _parse.decode_trades("coinbase-exchange", CX_MATCH, 2, 8)
    assert out == {"kind": "trades", "last_id": 50,
                   "event_time_ns": ts_ns(2014, 11, 7, 8, 19, 27, "028459"),
                   "segments": [{"symbol": "BTC-USD", "kind": "update", "trades": [
                       # side sell = the maker sold: the taker bought (an up-tick)
                       trade("matches", 10, ts_ns(2014, 11, 7, 8, 19, 27, "028459"),
                             40023, 523512000, 1)]}]}
    last = CX_MATCH.replace(b'"match"', b'"last_match"').replace(b'"sell"', b'"buy"')
    assert _parse.decode_trades("coinbase-exchange", last, 2, 8)["segments"][0]["trades"][0][
        "side"] == -1


@pytest.mark.parametrize(("venue", "payload", "kind"), [
    ("binance", b'{"result":null,"id":1}', "control"),
    ("binance", b'{"code":2,"msg":"Invalid request"}', "venue_error"),
    ("binance", b'{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[],"a":[]}', "ignored"),
    ("binance", b'{"e":"blockTrade","E":1,"s":"BNBBTC","t":582,"p":"0.052","q":"5838",'
                b'"T":1,"m":true}', "ignored"),          # another id space: not ours
    ("binance", b'{"u":400900217,"s":"BNBUSDT","b":"25.35","B":"31.21","a":"25.36",'
                b'"A":"40.66"}', "error"),               # bookTicker has no e: not a trade
    ("coinbase", b'{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26Z",'
                 b'"sequence_num":7,"events":[{"current_time":"x","heartbeat_counter":"3049"}]}',
     "heartbeat"),
    ("coinbase", b'{"channel":"l2_data","timestamp":"2023-06-23T20:31:26Z","sequence_num":8,'
                 b'"events":[{"type":"update","product_id":"BTC-USD","updates":[]}]}', "ignored"),
    ("coinbase", b'{"channel":"subscriptions","sequence_num":1,"events":[]}', "control"),
    ("coinbase", b'{"type":"error","message":"failure"}', "venue_error"),
    ("coinbase-exchange", b'{"type":"heartbeat","sequence":90,"last_trade_id":20,'
                          b'"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}',
     "heartbeat"),
    ("coinbase-exchange", b'{"type":"subscriptions","channels":[]}', "control"),
    ("coinbase-exchange", b'{"type":"error","message":"x"}', "venue_error"),
    ("coinbase-exchange", b'{"type":"l2update","product_id":"BTC-USD","changes":[]}', "ignored"),
])
def test_other_messages(venue: str, payload: bytes, kind: str) -> None:
    c, r = run_both(venue, payload, 2, 2)
    assert_same(c, r)
    if kind == "error":
        assert isinstance(c, _parse.DecodeFailed) and str(c) == "field 'e' missing"
    else:
        assert c["kind"] == kind and c["segments"] == []


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown venue"):
        _parse.decode_trades("nowhere", BN_TRADE, 8, 8)
    with pytest.raises(ValueError, match="price_decimals must be in"):
        _parse.decode_trades("binance", BN_TRADE, 19, 8)


# ---------------------------------------------------------------------------------------
# errors: exact messages, the same in the reference
# ---------------------------------------------------------------------------------------

def _obj(base: bytes, **over: Any) -> bytes:
    """``base`` (a JSON object) with fields replaced (``...`` deletes) and added."""
    o = json.loads(base)
    inner = o["data"] if "data" in o else o
    for k, v in over.items():
        if v is ...:
            del inner[k]
        else:
            inner[k] = v
    return json.dumps(o, separators=(",", ":")).encode()


ERRORS = [
    ("binance", _obj(BN_TRADE, t=...), "field 't' missing"),
    ("binance", _obj(BN_TRADE, T=...), "field 'T' missing"),
    ("binance", _obj(BN_TRADE, m=...), "field 'm' missing"),
    ("binance", _obj(BN_TRADE, E=...), "field 'E' missing"),
    ("binance", _obj(BN_TRADE, p=...), "field 'p' missing"),
    ("binance", _obj(BN_AGG, a=...), "field 'a' missing"),
    ("binance", _obj(BN_AGG, f=...), "field 'f' missing"),
    ("binance", _obj(BN_AGG, l=...), "field 'l' missing"),
    ("binance", _obj(BN_TRADE, m="true"), "field 'm' has the wrong type (expected boolean)"),
    ("binance", _obj(BN_TRADE, m=1), "field 'm' has the wrong type (expected boolean)"),
    ("binance", _obj(BN_TRADE, t="12345"), "field 't' has the wrong type (expected integer)"),
    ("binance", _obj(BN_TRADE, t=-1), "field 't' out of range (expected 0..2**62)"),
    ("binance", _obj(BN_TRADE, t=2**62 + 1), "field 't' out of range (expected 0..2**62)"),
    ("binance", _obj(BN_TRADE, t=2**63), "field 't' out of range"),
    ("binance", _obj(BN_AGG, a=2**62 + 1), "field 'a' out of range (expected 0..2**62)"),
    ("binance", _obj(BN_AGG, l=1.5), "field 'l' has the wrong type (expected integer)"),
    ("binance", _obj(BN_TRADE, T=9223372036855), "field 'T' out of range"),
    ("binance", _obj(BN_TRADE, p=0.001), "field 'p' has the wrong type (expected string)"),
    ("binance", _obj(BN_TRADE, s=None), "field 's' has the wrong type (expected string)"),
    ("binance", _obj(BN_TRADE, e=5), "field 'e' has the wrong type (expected string)"),
    ("binance", _obj(BN_TRADE, p="-0.001"),
     "price at byte 59: '-0.001' has a sign; prices and sizes are unsigned decimals"),
    ("binance", _obj(BN_TRADE, p="0.01", q="1e2"),
     "size at byte 70: '1e2' uses an exponent; only plain decimals are accepted"),
    # the first problem in the payload wins; fields of the other type are not checked
    ("binance", _obj(BN_TRADE, a="x", l=None, q=5, p=None),
     "field 'p' has the wrong type (expected string)"),
    ("binance", _obj(BN_AGG, t="x", p=None), "field 'p' has the wrong type (expected string)"),
    ("binance", b'{"stream":"x","data":[1]}', "field 'data' has the wrong type (expected object)"),
    ("binance", b'{"stream":"x","m":true,"data":' + BN_TRADE + b"}",
     "event field next to 'data' in a combined-stream envelope"),
    ("binance", BN_TRADE[:-1] + b',"t":5}', "malformed JSON at byte 116 (duplicate field)"),
    ("coinbase-exchange", _obj(CX_MATCH, trade_id=...), "field 'trade_id' missing"),
    ("coinbase-exchange", _obj(CX_MATCH, time=...), "field 'time' missing"),
    ("coinbase-exchange", _obj(CX_MATCH, side="taker"), "field 'side' is not 'buy' or 'sell'"),
    ("coinbase-exchange", _obj(CX_MATCH, trade_id="10"),
     "field 'trade_id' has the wrong type (expected integer)"),
    ("coinbase-exchange", _obj(CX_MATCH, trade_id=-3),
     "field 'trade_id' out of range (expected 0..2**62)"),
    ("coinbase-exchange", _obj(CX_MATCH, sequence="50"),
     "field 'sequence' has the wrong type (expected integer)"),
    ("coinbase-exchange", _obj(CX_MATCH, time="2014-11-07 08:19:27"),
     "field 'time' is not an RFC 3339 timestamp"),
    ("coinbase-exchange", _obj(CX_MATCH, product_id="BTC\\u002dUSD"), None),
    ("coinbase-exchange", _obj(CX_MATCH, size="5.235121"),
     "size at byte 224: '5.235121' has more decimals than the scale allows (5)"),
    ("coinbase-exchange", _obj(CX_MATCH, type=["match"]),
     "field 'type' has the wrong type (expected string)"),
    ("coinbase-exchange", _obj(CX_MATCH, type=...), "field 'type' missing"),
    ("coinbase", AT_TRADES.replace(b'"side":"BUY"', b'"side":"buy"'),
     "trade side is not 'BUY' or 'SELL'"),
    ("coinbase", AT_TRADES.replace(b'"trade_id":"000000000"', b'"trade_id":0'),
     "trade field 'trade_id' has the wrong type (expected string)"),
    ("coinbase", AT_TRADES.replace(b'"trade_id":"000000000",', b""),
     "trade field 'trade_id' missing"),
    ("coinbase", AT_TRADES.replace(b'"time":"2019-08-14T20:42:27.265Z"', b'"time":"yesterday"'),
     "trade field 'time' is not an RFC 3339 timestamp"),
    ("coinbase", AT_TRADES.replace(b'"type":"snapshot"', b'"type":"delta"'),
     "event type is not 'snapshot' or 'update'"),
    ("coinbase", AT_TRADES.replace(b'"type":"snapshot",', b""), "event field 'type' missing"),
    ("coinbase", AT_TRADES.replace(b'"trades":[', b'"trades":[5,'),
     "field 'trades' has the wrong type (expected array of objects)"),
    ("coinbase", AT_TRADES.replace(b'"sequence_num":0', b'"sequence_num":-1'),
     "field 'sequence_num' out of range (expected 0..2**62)"),
    ("coinbase", AT_TRADES.replace(b'"sequence_num":0,', b""), "field 'sequence_num' missing"),
    ("coinbase", AT_TRADES.replace(b'"product_id":"ETH-USD"', b'"product_id":"ETH\\/USD"'),
     "trade field 'product_id' contains an escape (symbols must be plain strings)"),
    ("coinbase", AT_TRADES.replace(b'"price":"1260.01"', b'"price":"1260.015"'),
     "price at byte 198: '1260.015' has more decimals than the scale allows (2)"),
]


@pytest.mark.parametrize(("venue", "payload", "message"), ERRORS)
def test_errors(venue: str, payload: bytes, message: str | None) -> None:
    c, r = run_both(venue, payload, 2, 5)
    assert_same(c, r)
    if message is None:
        assert isinstance(c, _parse.DecodeFailed) and "contains an escape" in str(c)
    else:
        assert isinstance(c, _parse.DecodeFailed), c
        assert str(c) == message


def test_fields_of_the_other_binance_type_are_not_checked() -> None:
    # a trade's a/f/l (the pre-2024 order ids "a"/"b" included) and an aggTrade's t
    for payload in (_obj(BN_TRADE, a="x", f=None, l=[1], b=7),
                    _obj(BN_TRADE.replace(b'"p"', b'"a":99,"b":88,"p"')),
                    _obj(BN_AGG, t="x")):
        c, r = run_both("binance", payload, 3, 0)
        assert_same(c, r)
        assert c["kind"] == "trades"


@pytest.mark.parametrize(("venue", "payload"), [
    ("binance", BN_TRADE), ("binance", BN_AGG), ("binance-usdm", USDM_AGG),
    ("coinbase", AT_TRADES), ("coinbase-exchange", CX_MATCH)])
def test_truncated_at_every_offset(venue: str, payload: bytes) -> None:
    for k in range(len(payload)):
        c, r = run_both(venue, payload[:k], 3, 5)
        assert_same(c, r)
        assert isinstance(c, _parse.DecodeFailed)


# ---------------------------------------------------------------------------------------
# generated messages: any field order, whitespace, escapes, unknown members
# ---------------------------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def binance_trades(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    agg = draw(st.booleans())
    fields: list[tuple[str, object]] = [
        ("e", "aggTrade" if agg else "trade"),
        ("E", draw(st.integers(0, 2**43))),
        ("s", draw(st.sampled_from(["BTCUSDT", "BNBBTC", ""]))),
        ("a" if agg else "t", draw(st.integers(-1, 2**62 + 1))),
        ("p", draw(decimal_strings(pd) | odd_decimals)),
        ("q", draw(decimal_strings(sd) | odd_decimals)),
        ("T", draw(st.integers(0, 2**43))),
        ("m", draw(st.booleans())),
    ]
    if agg:
        fields += [("f", draw(st.integers(0, 2**40))), ("l", draw(st.integers(0, 2**40)))]
    if draw(st.booleans()):
        fields.append(("M", True))
    if draw(st.integers(0, 4)) == 0:                  # a field dropped
        del fields[draw(st.integers(0, len(fields) - 1))]
    text = draw(json_object(fields))
    if draw(st.booleans()):
        text = '{"stream":"btcusdt@trade","data":' + text + "}"
    return text.encode(), pd, sd


@SETTINGS
@given(binance_trades())
def test_binance_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    assert_same(*run_both("binance", payload, pd, sd))


@st.composite
def exchange_matches(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    fields: list[tuple[str, object]] = [
        ("type", draw(st.sampled_from(["match", "last_match", "match", "ticker"]))),
        ("trade_id", draw(st.integers(-1, 2**62 + 1))),
        ("sequence", draw(st.integers(0, 2**50))),
        ("maker_order_id", "ac928c66-ca53-498f-9c13-a110027a60e8"),
        ("time", draw(st.sampled_from(["2014-11-07T08:19:27.028459Z", "2014-11-07T08:19:27Z",
                                       "2014-11-07T08:19:27.1+01:00", "bad"]))),
        ("product_id", draw(st.sampled_from(["BTC-USD", "ETH-EUR", Raw('"BTC\\u002dUSD"')]))),
        ("size", draw(decimal_strings(sd) | odd_decimals)),
        ("price", draw(decimal_strings(pd) | odd_decimals)),
        ("side", draw(st.sampled_from(["buy", "sell", "Buy", Raw('"s\\u0065ll"')]))),
    ]
    if draw(st.integers(0, 4)) == 0:
        del fields[draw(st.integers(0, len(fields) - 1))]
    return draw(json_object(fields)).encode(), pd, sd


@SETTINGS
@given(exchange_matches())
def test_exchange_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    assert_same(*run_both("coinbase-exchange", payload, pd, sd))


@st.composite
def at_messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))

    def one_trade() -> Raw:
        fields: list[tuple[str, object]] = [
            ("trade_id", draw(st.sampled_from(["995098700", "0", "000000000", "-1", "",
                                               "9223372036854775807", "4611686018427387904",
                                               "ba2a0a48-8f38-4c9a", "12a"]))),
            ("product_id", draw(st.sampled_from(["BTC-USD", "ETH-USD", "BTC-USD"]))),
            ("price", draw(decimal_strings(pd) | odd_decimals)),
            ("size", draw(decimal_strings(sd))),
            ("side", draw(st.sampled_from(["BUY", "SELL", "SELL", "sell"]))),
            ("time", draw(st.sampled_from(["2023-02-09T20:19:35.39625135Z",
                                           "2019-08-14T20:42:27.265Z", "2019-13-01T00:00:00Z"]))),
        ]
        if draw(st.integers(0, 6)) == 0:
            del fields[draw(st.integers(0, len(fields) - 1))]
        return Raw(draw(json_object(fields)))

    events = []
    for _ in range(draw(st.integers(0, 3))):
        ev: list[tuple[str, object]] = [
            ("type", draw(st.sampled_from(["snapshot", "update", "update"]))),
            ("trades", [one_trade() for _ in range(draw(st.integers(0, 4)))]),
        ]
        events.append(Raw(draw(json_object(ev))))
    env: list[tuple[str, object]] = [
        ("channel", draw(st.sampled_from(["market_trades", "market_trades", "heartbeats"]))),
        ("client_id", ""),
        ("timestamp", "2023-02-09T20:19:35.39625135Z"),
        ("sequence_num", draw(st.integers(-1, 2**62 + 1))),
        ("events", events),
    ]
    return draw(json_object(env)).encode(), pd, sd


@SETTINGS
@given(at_messages())
def test_at_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    assert_same(*run_both("coinbase", payload, pd, sd))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_matches_reference(data: st.DataObject) -> None:
    venue, base = data.draw(st.sampled_from([
        ("binance", BN_TRADE), ("binance", BN_AGG), ("binance-usdm", USDM_AGG),
        ("coinbase", AT_TRADES), ("coinbase-exchange", CX_MATCH)]))
    payload = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    assert_same(*run_both(venue, bytes(payload), 3, 5))


# ---------------------------------------------------------------------------------------
# the Binance fast path (compact layout, any key order): exactly the general decoder
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [BN_TRADE, BN_AGG, USDM_AGG])
def test_binance_fast_path_same_as_general_path(payload: bytes) -> None:
    spaced = payload.replace(b'","', b'", "')          # whitespace: the general decoder
    assert spaced != payload
    fast = _parse.decode_trades("binance", payload, 3, 5)
    assert fast == _parse.decode_trades("binance", spaced, 3, 5)
    assert fast == ref.decode_trades("binance", payload, 3, 5)


@pytest.mark.parametrize("edit", [
    (b'"t":12345', b'"t":012345'),                   # leading zero: malformed
    (b'"t":12345', b'"t":1234567890123456789'),      # 19 digits
    (b'"t":12345', b'"t":-1'),
    (b'"t":12345', b'"t":"12345"'),
    (b'"m":true', b'"m":null'),
    (b'"m":true', b'"m":"true"'),
    (b'"M":true', b'"M":false'),
    (b'"M":true', b'"M":true,"m":false'),           # duplicate
    (b'"M":true', b'"M":{"x":[1,{}]}'),
    (b'"p":"0.001"', b'"p":"0.0\\u0030"'),           # an escape in a decimal
    (b'"s":"BNBBTC"', b'"s":"BNB\\u0042TC"'),
    (b'"s":"BNBBTC"', b'"s":"BNB\xc3\xa9"'),
    (b'"e":"trade"', b'"e":"tr\xc3\xa9de"'),
    (b'"e":"trade"', b'"\\u0065":"trade"'),          # an escaped key
    (b'"e":"trade"', b'"e":"trade","data":{}'),
    (b'"p":"0.001"', b'"p":"0.001","p2":""'),
    (b'}', b'} '),
    (b'{', b' {'),
])
def test_binance_fast_path_deviations_match_reference(edit: tuple[bytes, bytes]) -> None:
    old, new = edit
    for base in (BN_TRADE, b'{"stream":"bnbbtc@trade","data":' + BN_TRADE + b"}"):
        assert old in base
        payload = base.replace(old, new, 1) if old != b"}" else base[:-1] + new
        assert_same(*run_both("binance", payload, 3, 0))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_decimals, odd_decimals, st.booleans(), st.integers(0, 18), st.integers(0, 18),
       st.permutations(list(json.loads(BN_AGG).items())))
def test_binance_fast_path_decimals_and_orders(price: str, size: str, combined: bool,
                                               pd: int, sd: int,
                                               items: list[tuple[str, Any]]) -> None:
    ev = dict(items)
    ev["p"], ev["q"] = price, size
    text = json.dumps(ev, separators=(",", ":"))
    if combined:
        text = '{"stream":"bnbbtc@aggTrade","data":' + text + "}"
    assert_same(*run_both("binance", text.encode(), pd, sd))


# ---------------------------------------------------------------------------------------
# the Coinbase fast paths (AT: a trade in Coinbase's key order; Exchange: a compact
# message in any key order): exactly the general decoder
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("venue", "payload"), [("coinbase", AT_TRADES),
                                                 ("coinbase-exchange", CX_MATCH)])
def test_coinbase_fast_paths_same_as_general_path(venue: str, payload: bytes) -> None:
    spaced = payload.replace(b'","', b'", "')
    assert spaced != payload
    fast = _parse.decode_trades(venue, payload, 2, 8)
    assert fast == _parse.decode_trades(venue, spaced, 2, 8)
    assert fast == ref.decode_trades(venue, payload, 2, 8)


@pytest.mark.parametrize("edit", [
    (b'"trade_id":"000000000"', b'"trade_id":"0\\u0030"'),
    (b'"trade_id":"000000000"', b'"trade_id":"ba2a0a48-8f38"'),
    (b'"trade_id":"000000000"', b'"trade_id":""'),
    (b'"product_id":"ETH-USD"', b'"product_id":"ETH-\xc3\xa9"'),
    (b'"product_id":"ETH-USD"', b'"product_id":"ETH\\/USD"'),
    (b'"price":"1260.01"', b'"price":"1260.015"'),
    (b'"price":"1260.01"', b'"price":"1e3"'),
    (b'"side":"BUY"', b'"side":"SELL"'),
    (b'"side":"BUY"', b'"side":"Buy"'),
    (b'"time":"2019-08-14T20:42:27.265Z"', b'"time":"2019-08-14T20:42:27.265"'),
    (b'"time":"2019-08-14T20:42:27.265Z"}', b'"time":"2019-08-14T20:42:27.265Z","x":1}'),
    (b'{"trade_id"', b'{"x":null,"trade_id"'),
    (b'"size":"0.3",', b''),
])
def test_at_tight_path_deviations_match_reference(edit: tuple[bytes, bytes]) -> None:
    old, new = edit
    assert old in AT_TRADES
    assert_same(*run_both("coinbase", AT_TRADES.replace(old, new, 1), 2, 2))


@pytest.mark.parametrize("edit", [
    (b'"trade_id":10', b'"trade_id":010'),
    (b'"trade_id":10', b'"trade_id":"10"'),
    (b'"trade_id":10', b'"trade_id":4611686018427387905'),
    (b'"sequence":50', b'"sequence":-50'),
    (b'"sequence":50', b'"sequence":null'),
    (b'"side":"sell"', b'"side":"s\\u0065ll"'),
    (b'"side":"sell"', b'"side":"Sell"'),
    (b'"side":"sell"', b'"side":1'),
    (b'"type":"match"', b'"type":"m\xc3\xa4tch"'),
    (b'"type":"match"', b'"type":"heartbeat"'),
    (b'"type":"match"', b'"type":"match","type":"match"'),
    (b'"product_id":"BTC-USD"', b'"product_id":"BTC-\xc3\xa9"'),
    (b'"size":"5.23512"', b'"size":"5.235121"'),
    (b'"price":"400.23"', b'"price":"400.23","extra":[1]'),
    (b'"maker_order_id"', b'"\\u006daker_order_id"'),
    (b'{"type"', b'{ "type"'),
])
def test_exchange_fast_path_deviations_match_reference(edit: tuple[bytes, bytes]) -> None:
    old, new = edit
    assert old in CX_MATCH
    assert_same(*run_both("coinbase-exchange", CX_MATCH.replace(old, new, 1), 2, 5))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_decimals, odd_decimals, st.integers(0, 18), st.integers(0, 18),
       st.permutations(list(json.loads(CX_MATCH).items())))
def test_exchange_fast_path_decimals_and_orders(price: str, size: str, pd: int, sd: int,
                                                items: list[tuple[str, Any]]) -> None:
    msg = dict(items)
    msg["price"], msg["size"] = price, size
    assert_same(*run_both("coinbase-exchange", _dumps_compact(msg), pd, sd))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(odd_decimals, odd_decimals), min_size=1, max_size=4),
       st.integers(0, 18), st.integers(0, 18))
def test_at_tight_path_decimals(levels: list[tuple[str, str]], pd: int, sd: int) -> None:
    trades = [{"trade_id": str(100 + i), "product_id": "BTC-USD", "price": p, "size": q,
               "side": "BUY" if i % 2 else "SELL", "time": "2023-02-09T20:19:35.1Z"}
              for i, (p, q) in enumerate(levels)]
    payload = _dumps_compact({"channel": "market_trades", "timestamp": "2023-02-09T20:19:35Z",
                              "sequence_num": 1, "events": [{"type": "update", "trades": trades}]})
    assert_same(*run_both("coinbase", payload, pd, sd))


def _dumps_compact(o: Any) -> bytes:
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode()
