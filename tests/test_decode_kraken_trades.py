"""Kraken v2 ``trade`` decoder and the Kraken stream decoder (docs/venues.md, "Kraken
trades"): the documented shape, exact JSON numbers (exponent forms), the error table, and
compiled vs reference on generated and corrupted messages."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.reference import decode as ref
from test_decode_binance import Raw, json_object
from test_decode_trades import _AT_BYTE, assert_same, run_both, trade

# the documented example (../shared/channels.md 5.2), byte for byte
KR_TRADES = (b'{"channel":"trade","type":"snapshot","data":[{"symbol":"MATIC/USD","side":"buy",'
             b'"price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,'
             b'"timestamp":"2023-09-25T07:48:36.925533Z"},{"symbol":"MATIC/USD","side":"buy",'
             b'"price":0.5147,"qty":1136.19677815,"ord_type":"limit","trade_id":4665847,'
             b'"timestamp":"2023-09-25T07:49:36.925603Z"}]}')
T0 = 1695628116925533000
T1 = 1695628176925603000
BOOK = (b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],'
        b'"asks":[{"price":45285.2,"qty":0.001}],"checksum":1,'
        b'"timestamp":"2023-10-06T17:35:55.440295Z"}]}')


def test_documented_trades() -> None:
    out = _parse.decode_trades("kraken", KR_TRADES, 4, 8)
    assert out == {"kind": "trades", "last_id": -1, "event_time_ns": T1,
                   "segments": [{"symbol": "MATIC/USD", "kind": "snapshot", "trades": [
                       trade("kraken-trade", 4665846, T0, 5147, 642346326000, 1),
                       trade("kraken-trade", 4665847, T1, 5147, 113619677815, 1)]}]}
    assert_same(*run_both("kraken", KR_TRADES, 4, 8))


def test_exponent_form_exact_and_symbol_runs() -> None:
    payload = (b'{"channel":"trade","type":"update","data":['
               b'{"symbol":"BTC/USD","side":"sell","price":1.055e4,"qty":5.1e-05,'
               b'"ord_type":"market","trade_id":9,"timestamp":"2023-09-25T07:48:36Z"},'
               b'{"symbol":"ETH/USD","side":"buy","price":2E3,"qty":1,'
               b'"ord_type":"limit","trade_id":3,"timestamp":"2023-09-25T07:48:36Z"}]}')
    out = _parse.decode_trades("kraken", payload, 1, 8)
    assert [(s["symbol"], s["kind"], [(t["price"], t["size"], t["side"]) for t in s["trades"]])
            for s in out["segments"]] == [("BTC/USD", "update", [(105500, 5100, -1)]),
                                          ("ETH/USD", "update", [(20000, 100000000, 1)])]
    assert_same(*run_both("kraken", payload, 1, 8))
    # a digit beyond the scale is rejected, never rounded
    c, r = run_both("kraken", payload, 1, 4)
    assert_same(c, r)
    assert isinstance(c, _parse.DecodeFailed) and _AT_BYTE.sub("", str(c)).startswith("size:")


@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"channel":"heartbeat"}', "heartbeat"),
    (b'{"method":"subscribe","result":{"channel":"trade","symbol":"BTC/USD","snapshot":true},'
     b'"success":true,"time_in":"x","time_out":"y","req_id":1}', "control"),
    (b'{"method":"pong","req_id":101}', "control"),
    (b'{"method":"subscribe","success":false,"error":"Currency pair not supported"}',
     "venue_error"),
    (b'{"Error":"Exceeded msg rate"}', "venue_error"),
    (b'{"channel":"status","type":"update","data":[{"system":"online"}]}', "control"),
    (BOOK, "ignored"),
    (b'{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":1}]}', "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    c, r = run_both("kraken", payload, 1, 8)
    assert c["kind"] == kind and c["segments"] == []
    assert_same(c, r)


def _with(**over: Any) -> bytes:
    el: dict[str, Any] = {"symbol": "BTC/USD", "side": "buy", "price": Raw("1.5"),
                          "qty": Raw("2"), "ord_type": "limit", "trade_id": Raw("5"),
                          "timestamp": "2023-09-25T07:48:36.925533Z"}
    for k, v in over.items():
        if v is ...:
            del el[k]
        else:
            el[k] = v
    body = ",".join(f'{json.dumps(k)}:{v.text if isinstance(v, Raw) else json.dumps(v)}'
                    for k, v in el.items())
    return b'{"channel":"trade","type":"update","data":[{' + body.encode() + b'}]}'


@pytest.mark.parametrize(("payload", "message"), [
    (_with(symbol=...), "field 'symbol' missing"),
    (_with(side=...), "field 'side' missing"),
    (_with(price=...), "field 'price' missing"),
    (_with(qty=...), "field 'qty' missing"),
    (_with(trade_id=...), "field 'trade_id' missing"),
    (_with(timestamp=...), "field 'timestamp' missing"),
    (_with(price="1.5"), "field 'price' has the wrong type (expected number)"),
    (_with(qty=None), "field 'qty' has the wrong type (expected number)"),
    (_with(trade_id="5"), "field 'trade_id' has the wrong type (expected integer)"),
    (_with(trade_id=Raw("5.0")), "field 'trade_id' has the wrong type (expected integer)"),
    (_with(trade_id=Raw("1e3")), "field 'trade_id' has the wrong type (expected integer)"),
    (_with(trade_id=Raw("-1")), "field 'trade_id' out of range (expected 0..2**62)"),
    (_with(trade_id=Raw("4611686018427387905")),
     "field 'trade_id' out of range (expected 0..2**62)"),
    (_with(trade_id=Raw("99999999999999999999999")),
     "field 'trade_id' out of range (expected 0..2**62)"),
    (_with(side="taker"), "field 'side' is not 'buy' or 'sell'"),
    (_with(symbol=7), "field 'symbol' has the wrong type (expected string)"),
    (_with(symbol=Raw('"BTC\\/USD"')),
     "field 'symbol' contains an escape (symbols must be plain strings)"),
    (_with(timestamp="yesterday"), "field 'timestamp' is not an RFC 3339 timestamp"),
    (_with(timestamp=1), "field 'timestamp' has the wrong type (expected string)"),
    (_with(price=Raw("1.55")), "price: '1.55' has more decimals than the scale allows (1)"),
    (_with(price=Raw("-1.5")), "price: "),
    (_with(qty=Raw("1e400")), "size: "),
    (_with(price=Raw("9" * 30)), "price: "),
    (b'{"channel":"trade","type":"update","data":[1]}',
     "field 'data' has the wrong type (expected an array of trade objects)"),
    (b'{"channel":"trade","type":"update","data":{}}',
     "field 'data' has the wrong type (expected an array of trade objects)"),
    (b'{"channel":"trade","type":"update"}', "field 'data' missing"),
    (b'{"channel":"trade","data":[]}', "field 'type' missing"),
    (b'{"channel":"trade","type":"delta","data":[]}',
     "field 'type' is not 'snapshot' or 'update'"),
    (b'{"channel":"trade","type":5,"data":[]}',
     "field 'type' has the wrong type (expected string)"),
    (b'{"channel":5,"type":"update","data":[]}',
     "field 'channel' has the wrong type (expected string)"),
    (b'{"type":"update","data":[]}', "field 'channel' missing"),
    (b'{"channel":"trade","type":"update","data":[{"trade_id":1,"trade_id":2}]}',
     "malformed JSON"),
])
def test_errors(payload: bytes, message: str) -> None:
    c, r = run_both("kraken", payload, 1, 0)
    assert_same(c, r)
    assert isinstance(c, _parse.DecodeFailed)
    assert _AT_BYTE.sub("", str(c)).startswith(message), str(c)


def test_truncated_at_every_offset() -> None:
    for k in range(len(KR_TRADES)):
        c, r = run_both("kraken", KR_TRADES[:k], 4, 8)
        assert_same(c, r)
        assert isinstance(c, _parse.DecodeFailed)


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _num(draw: st.DrawFn) -> Raw:
    v = draw(st.integers(-3, 10**12))
    d = Decimal(v).scaleb(-draw(st.integers(0, 10)))
    return Raw(format(d, draw(st.sampled_from(["f", "e", "E"]))))


@st.composite
def kraken_trade_messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 10))

    def one_trade() -> Raw:
        fields: list[tuple[str, object]] = [
            ("symbol", draw(st.sampled_from(["BTC/USD", "BTC/USD", "ETH/USD",
                                             Raw('"BTC\\u002fUSD"'), 5]))),
            ("side", draw(st.sampled_from(["buy", "sell", "Buy", Raw('"b\\u0075y"'), None]))),
            ("price", draw(st.sampled_from([_num(draw), _num(draw), "1.5"]))),
            ("qty", _num(draw)),
            ("ord_type", draw(st.sampled_from(["limit", "market"]))),
            ("trade_id", draw(st.sampled_from([Raw("4665846"), Raw("0"), Raw("-1"),
                                               Raw("1.5"), Raw("4611686018427387904"),
                                               Raw("4611686018427387905"), "7"]))),
            ("timestamp", draw(st.sampled_from(["2023-09-25T07:48:36.925533Z",
                                                "2023-09-25T07:48:36.925533123Z", "x", 3]))),
        ]
        if draw(st.integers(0, 6)) == 0:
            del fields[draw(st.integers(0, len(fields) - 1))]
        return Raw(draw(json_object(fields)))

    env: list[tuple[str, object]] = [
        ("channel", draw(st.sampled_from(["trade", "trade", "book", "ticker", 7]))),
        ("type", draw(st.sampled_from(["snapshot", "update", "delta"]))),
        ("data", [one_trade() for _ in range(draw(st.integers(0, 4)))]),
    ]
    if draw(st.integers(0, 8)) == 0:
        env.append(("method", "subscribe"))
    if draw(st.integers(0, 8)) == 0:
        del env[draw(st.integers(0, len(env) - 1))]
    return draw(json_object(env)).encode(), pd, sd


@SETTINGS
@given(kraken_trade_messages())
def test_kraken_trades_match_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    assert_same(*run_both("kraken", payload, pd, sd))


@SETTINGS
@given(kraken_trade_messages())
def test_stream_decoder_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, _, _ = case
    c = _parse.stream_channel("kraken", payload)
    r = ref.stream_channel("kraken", payload)
    assert c[0] == r[0]
    assert (c[1] is None) == (r[1] is None)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_matches_reference(data: st.DataObject) -> None:
    payload = bytearray(KR_TRADES)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    assert_same(*run_both("kraken", bytes(payload), 4, 8))


@pytest.mark.parametrize(("payload", "verdict"), [
    (KR_TRADES, ("trades", None)),
    (BOOK, ("depth", None)),
    (b'{"channel":"heartbeat"}', ("heartbeat", None)),
    (b'{"method":"pong","req_id":1}', ("control", None)),
    # the channel field not first: each decoder asked in turn
    (b'{"type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,'
     b'"trade_id":1,"timestamp":"2023-09-25T07:48:36Z"}],"channel":"trade"}', ("trades", None)),
    # a rejected trade message names its channel: the books are left alone
    (KR_TRADES.replace(b'"buy"', b'"up"', 1),
     ("trades", "field 'side' is not 'buy' or 'sell'")),
    (BOOK.replace(b'"checksum":1', b'"checksum":"1"'),
     ("book", "field 'checksum' has the wrong type (expected integer)")),
])
def test_stream_decoder_dispatch(payload: bytes, verdict: tuple[str, str | None]) -> None:
    c = _parse.stream_channel("kraken", payload)
    assert (c[0], c[1] and c[1].split(" at byte")[0]) == verdict
    assert ref.stream_channel("kraken", payload) == (verdict[0], verdict[1])
