"""OKX ``trades`` decoder and the OKX stream decoder (docs/venues.md, "OKX"): the
documented shape, the error table, and compiled vs reference on generated and corrupted
messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.reference import decode as ref
from test_decode_binance import Raw, decimal_strings, json_object, odd_decimals
from test_decode_trades import _AT_BYTE, assert_same, run_both, trade

# the documented example (../shared/channels.md 6.1), byte for byte
OKX_TRADES = (b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
              b'"tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy",'
              b'"ts":"1630048897897","count":"3","source":"0","seqId":1234}]}')
TWO = (b'{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":['
       b'{"tradeId":"7","px":"100.5","sz":"3","side":"sell","ts":"1000"},'
       b'{"tradeId":"9","px":"100.4","sz":"1","side":"buy","ts":"1001","count":"2"}]}')
BOOK = (b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],'
        b'"bids":[["1.0","2","0","1"]],"ts":"5","checksum":0,"prevSeqId":1,"seqId":2}]}')


def test_documented_trade() -> None:
    out = _parse.decode_trades("okx", OKX_TRADES, 1, 8)
    assert out == {"kind": "trades", "last_id": -1, "event_time_ns": 1630048897897000000,
                   "segments": [{"symbol": "BTC-USDT", "kind": "update", "trades": [
                       trade("trades", 130639474, 1630048897897000000, 422199, 12060306, 1)]}]}
    assert_same(*run_both("okx", OKX_TRADES, 1, 8))


def test_several_trades_oldest_first_taker_side() -> None:
    out = _parse.decode_trades("okx", TWO, 1, 0)
    assert out["event_time_ns"] == 1001 * 10**6
    [seg] = out["segments"]
    assert seg["symbol"] == "BTC-USDT-SWAP"
    assert [(t["trade_id"], t["price"], t["size"], t["side"]) for t in seg["trades"]] == [
        (7, 1005, 3, -1), (9, 1004, 1, 1)]
    assert_same(*run_both("okx", TWO, 1, 0))


@pytest.mark.parametrize(("payload", "kind"), [
    (b"pong", "control"),
    (b'{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a"}',
     "control"),
    (b'{"event":"error","code":"60012","msg":"Invalid request","connId":"a"}', "venue_error"),
    (BOOK, "ignored"),
    (b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":"1"}]}', "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    assert _parse.decode_trades("okx", payload, 1, 0)["kind"] == kind
    assert_same(*run_both("okx", payload, 1, 0))


def _with(**over: Any) -> bytes:
    el: dict[str, Any] = {"tradeId": "5", "px": "1.5", "sz": "2", "side": "buy", "ts": "10"}
    for k, v in over.items():
        if v is ...:
            del el[k]
        else:
            el[k] = v
    return json_object_bytes({"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [el]})


def json_object_bytes(o: Any) -> bytes:
    return json.dumps(o, separators=(",", ":")).encode()


@pytest.mark.parametrize(("payload", "message"), [
    (_with(tradeId=...), "field 'tradeId' missing"),
    (_with(px=...), "field 'px' missing"),
    (_with(sz=...), "field 'sz' missing"),
    (_with(side=...), "field 'side' missing"),
    (_with(ts=...), "field 'ts' missing"),
    (_with(tradeId=5), "field 'tradeId' has the wrong type (expected string)"),
    (_with(tradeId="ba2a0a48-8f38"),
     "field 'tradeId' is not a decimal integer string (expected 0..2**62)"),
    (_with(tradeId="4611686018427387905"),
     "field 'tradeId' is not a decimal integer string (expected 0..2**62)"),
    (_with(side="taker"), "field 'side' is not 'buy' or 'sell'"),
    (_with(ts=10), "field 'ts' has the wrong type (expected a string of integer milliseconds)"),
    (_with(ts="99999999999999"), "field 'ts' out of range"),
    (_with(px=1.5), "field 'px' has the wrong type (expected string)"),
    (_with(px="1.55"), "price: '1.55' has more decimals than the scale allows (1)"),
    (b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}',
     "field 'data' has the wrong type (expected a non-empty array of trade objects)"),
    (b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[1]}',
     "field 'data' has the wrong type (expected a non-empty array of trade objects)"),
    (b'{"arg":{"channel":"trades","instId":"BTC-USDT"}}', "field 'data' missing"),
    (b'{"arg":{"channel":"trades"},"data":[]}',
     "field 'data' has the wrong type (expected a non-empty array of trade objects)"),
    (b'{"arg":{"channel":"trades"},"data":[{"tradeId":"5","px":"1","sz":"2","side":"buy",'
     b'"ts":"10"}]}', "field 'instId' missing"),
    (b'{"data":[]}', "field 'arg' missing"),
    (b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"5","tradeId":"6"}]}',
     "malformed JSON"),
])
def test_errors(payload: bytes, message: str) -> None:
    c, r = run_both("okx", payload, 1, 0)
    assert_same(c, r)
    assert isinstance(c, _parse.DecodeFailed)
    assert _AT_BYTE.sub("", str(c)).startswith(message), str(c)


def test_truncated_at_every_offset() -> None:
    for k in range(len(OKX_TRADES)):
        c, r = run_both("okx", OKX_TRADES[:k], 1, 8)
        assert_same(c, r)
        if k != 4:                                  # b"pong"-length prefix is still JSON junk
            assert isinstance(c, _parse.DecodeFailed)


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def okx_messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))

    def one_trade() -> Raw:
        fields: list[tuple[str, object]] = [
            ("instId", "BTC-USDT"),
            ("tradeId", draw(st.sampled_from(["130639474", "0", "007", "-1", "", "1e3",
                                              "4611686018427387904", "4611686018427387905",
                                              Raw('"1\\u0032"'), 12]))),
            ("px", draw(decimal_strings(pd) | odd_decimals)),
            ("sz", draw(decimal_strings(sd))),
            ("side", draw(st.sampled_from(["buy", "sell", "sell", "Buy",
                                           Raw('"b\\u0075y"'), None]))),
            ("ts", draw(st.sampled_from(["1630048897897", "0", "", "12a", 1630048897897,
                                         "9223372036855", "999999999999999999"]))),
            ("count", draw(st.sampled_from(["3", "1"]))),
            ("source", "0"),
            ("seqId", draw(st.integers(0, 2**40))),
        ]
        if draw(st.integers(0, 6)) == 0:
            del fields[draw(st.integers(0, len(fields) - 1))]
        return Raw(draw(json_object(fields)))

    arg: list[tuple[str, object]] = [
        ("channel", draw(st.sampled_from(["trades", "trades", "books", "tickers", 7]))),
        ("instId", draw(st.sampled_from(["BTC-USDT", "ETH-USDT-SWAP",
                                         Raw('"BTC\\u002dUSDT"')]))),
    ]
    if draw(st.integers(0, 8)) == 0:
        del arg[draw(st.integers(0, 1))]
    env: list[tuple[str, object]] = [
        ("arg", Raw(draw(json_object(arg)))),
        ("data", [one_trade() for _ in range(draw(st.integers(0, 4)))]),
    ]
    if draw(st.integers(0, 8)) == 0:
        env.append(("event", draw(st.sampled_from(["subscribe", "error", 3]))))
    if draw(st.integers(0, 8)) == 0:
        del env[draw(st.integers(0, len(env) - 1))]
    return draw(json_object(env)).encode(), pd, sd


@SETTINGS
@given(okx_messages())
def test_okx_trades_match_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    assert_same(*run_both("okx", payload, pd, sd))


@SETTINGS
@given(okx_messages())
def test_stream_decoder_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, _, _ = case
    c = _parse.stream_channel("okx", payload)
    r = ref.stream_channel("okx", payload)
    assert c[0] == r[0]
    assert (c[1] is None) == (r[1] is None)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_matches_reference(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([OKX_TRADES, TWO]))
    payload = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    assert_same(*run_both("okx", bytes(payload), 3, 8))


@pytest.mark.parametrize(("payload", "verdict"), [
    (OKX_TRADES, ("trades", None)),
    (BOOK, ("depth", None)),
    (b"pong", ("control", None)),
    (b'{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}', ("control", None)),
    # the channel field not first: each decoder asked in turn
    (b'{"data":[{"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}],'
     b'"arg":{"instId":"BTC-USDT","channel":"trades"}}', ("trades", None)),
    # a rejected trade message names its channel: the books are left alone
    (OKX_TRADES.replace(b'"buy"', b'"up"'), ("trades", "field 'side' is not 'buy' or 'sell'")),
    (BOOK.replace(b'"seqId":2', b'"seqId":"2"'),
     ("book", "field 'seqId' has the wrong type (expected integer)")),
])
def test_stream_decoder_dispatch(payload: bytes, verdict: tuple[str, str | None]) -> None:
    c = _parse.stream_channel("okx", payload)
    assert (c[0], c[1] and c[1].split(" at byte")[0]) == verdict
    assert ref.stream_channel("okx", payload) == (verdict[0], verdict[1])
