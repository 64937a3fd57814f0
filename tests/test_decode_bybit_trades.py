"""Bybit ``publicTrade`` (docs/venues.md, "Bybit"): the compiled trade decoder against its
reference twin on generated and corrupted messages, the documented shape, the error
table, and the stream decoder's dispatch of books and trades on one connection."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.reference import decode as ref
from test_decode_binance import Raw, decimal_strings, json_object, odd_decimals
from test_decode_trades import SETTINGS, assert_same, run_both, trade

# the documented example (../shared/channels.md 7.1), byte for byte, and a spot-style one
DOC = (b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":'
       b'1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",'
       b'"i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617}]}')
SPOT = (b'{"topic":"publicTrade.BTCUSDT","ts":1672304486868,"type":"snapshot","data":['
        b'{"i":"2290000000061666327","T":1672304486865,"p":"16578.50","v":"0.001","S":"Sell",'
        b'"s":"BTCUSDT","BT":false,"RPI":false,"seq":1783284617},'
        b'{"i":"2290000000061666328","T":1672304486866,"p":"16578.49","v":"0.25","S":"Buy",'
        b'"s":"BTCUSDT","BT":false,"seq":1783284617}]}')
BOOK = (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":'
        b'"BTCUSDT","b":[["30247.20","30.028"]],"a":[],"u":177400507,"seq":66544703342},'
        b'"cts":1687940967464}')

_AT_BYTE = re.compile(r" at byte \d+")


def same_channel(payload: bytes) -> tuple[str, str | None]:
    """The compiled stream decoder's verdict, checked against the twin's (the twin does
    not locate bytes, and words JSON errors its way)."""
    (ck, ce), (rk, re_) = (_parse.stream_channel("bybit", payload),
                           ref.stream_channel("bybit", payload))
    assert ck == rk, (ce, re_)
    assert (ce is None) == (re_ is None), (ce, re_)
    if ce is not None and re_ is not None:
        if re_.startswith("malformed JSON"):
            assert ce.startswith(("malformed JSON", "truncated JSON")), (ce, re_)
        else:
            assert _AT_BYTE.sub("", ce) == re_
    return ck, ce


def test_documented_shape() -> None:
    c, r = run_both("bybit-linear", DOC, 2, 3)
    assert_same(c, r)
    assert c["kind"] == "trades" and c["last_id"] == -1
    assert c["event_time_ns"] == 1672304486868 * 10**6
    [seg] = c["segments"]
    assert seg["symbol"] == "BTCUSDT"
    # S is the taker's side; a UUID id is -1 (no numeric id)
    assert seg["trades"] == [trade("publicTrade", -1, 1672304486865 * 10**6, 1657850, 1, 1)]


def test_spot_numeric_ids_oldest_first() -> None:
    c, r = run_both("bybit", SPOT, 2, 3)
    assert_same(c, r)
    assert [t["trade_id"] for t in c["segments"][0]["trades"]] == [2290000000061666327,
                                                                 2290000000061666328]
    assert [t["side"] for t in c["segments"][0]["trades"]] == [-1, 1]
    assert [t["size"] for t in c["segments"][0]["trades"]] == [1, 250]


def test_runs_of_symbols_are_segments() -> None:
    rows = [{"T": 1, "s": s, "S": "Buy", "v": "1", "p": "2", "i": str(k)}
            for k, s in enumerate(["A", "A", "B", "A"])]
    msg = json.dumps({"topic": "publicTrade.A", "type": "snapshot", "ts": 5,
                      "data": rows}).encode()
    c, r = run_both("bybit", msg, 0, 0)
    assert_same(c, r)
    assert [(s["symbol"], len(s["trades"])) for s in c["segments"]] == [("A", 2), ("B", 1),
                                                                         ("A", 1)]


@pytest.mark.parametrize(("payload", "kind"), [
    (BOOK, "ignored"),
    (b'{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}', "heartbeat"),
    (b'{"success":true,"ret_msg":"","conn_id":"x","req_id":"1","op":"subscribe"}', "control"),
    (b'{"success":false,"ret_msg":"error:handler not found","op":"subscribe"}', "venue_error"),
    (b'{"topic":"tickers.BTCUSDT","type":"snapshot","ts":1,"data":{}}', "ignored"),
    (b'{"topic":"publicTrade.X","type":"snapshot","ts":"1","data":[]}', "trades"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    c, r = run_both("bybit", payload, 2, 3)
    assert_same(c, r)
    assert c["kind"] == kind


def _edit(**over: Any) -> bytes:
    o = json.loads(DOC)
    for k, v in over.items():
        if k.startswith("t_"):
            if v is None:
                del o["data"][0][k[2:]]
            else:
                o["data"][0][k[2:]] = v
        elif v is None:
            del o[k]
        else:
            o[k] = v
    return json.dumps(o).encode()


@pytest.mark.parametrize(("payload", "message"), [
    (_edit(type=None), "field 'type' missing"),
    (_edit(type="delta"), "field 'type' is not 'snapshot'"),
    (_edit(type=1), "field 'type' has the wrong type (expected string)"),
    (_edit(topic=5), "field 'topic' has the wrong type (expected string)"),
    (_edit(ts=None), "field 'ts' missing"),
    (_edit(data=None), "field 'data' missing"),
    (_edit(data={}), "field 'data' has the wrong type (expected an array of objects)"),
    (_edit(data=[1]), "field 'data' has the wrong type (expected an array of objects)"),
    (_edit(ts=1.5), "field 'ts' has the wrong type (expected integer milliseconds, as a "
                    "number or a digit string)"),
    (_edit(ts=10**16), "field 'ts' out of range"),
    (_edit(t_T=None), "trade field 'T' missing"),
    (_edit(t_T="1"), "trade field 'T' has the wrong type (expected integer)"),
    (_edit(t_T=10**16), "trade field 'T' out of range"),
    (_edit(t_S="buy"), "trade field 'S' is not 'Buy' or 'Sell'"),
    (_edit(t_S=None), "trade field 'S' missing"),
    (_edit(t_s=None), "trade field 's' missing"),
    (_edit(t_i=7), "trade field 'i' has the wrong type (expected string)"),
    (_edit(t_v=None), "trade field 'v' missing"),
    (_edit(t_p=1.5), "trade field 'p' has the wrong type (expected string)"),
    (DOC.replace(b'"BT":false', b'"BT":false,"BT":true'), None),
    (DOC[:-3], None),
])
def test_errors(payload: bytes, message: str | None) -> None:
    c, r = run_both("bybit", payload, 2, 3)
    assert_same(c, r)
    assert isinstance(c, _parse.DecodeFailed)
    if message is not None:
        assert str(r) == message


def test_truncated_at_every_offset() -> None:
    for n in range(len(SPOT)):
        c, r = run_both("bybit", SPOT[:n], 2, 3)
        assert_same(c, r)
        assert isinstance(c, _parse.DecodeFailed)


@st.composite
def bybit_trades(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        fields: list[tuple[str, object]] = [
            ("T", draw(st.integers(-1, 2**44) | st.sampled_from([1.5, "1", True, 10**16]))),
            ("s", draw(st.sampled_from(["BTCUSDT", "BTCUSDT", "ETHUSDT", "", 5]))),
            ("S", draw(st.sampled_from(["Buy", "Sell", "Buy", "Sell", "buy", None]))),
            ("v", draw(decimal_strings(sd) | odd_decimals)),
            ("p", draw(decimal_strings(pd) | odd_decimals)),
            ("i", draw(st.sampled_from(["20f43950-d8dd-5b31-9112-a178eb6023af", "0", "12",
                                        str(2**62), str(2**62 + 1), "-1", ""])
                       | st.integers(0, 9).map(str))),
            ("BT", draw(st.booleans())),
            ("seq", draw(st.integers(0, 2**40))),
        ]
        if draw(st.integers(0, 9)) == 9:              # a field dropped
            del fields[draw(st.integers(0, len(fields) - 1))]
        rows.append(draw(json_object(fields)))
    top: list[tuple[str, object]] = [
        ("topic", draw(st.sampled_from(["publicTrade.BTCUSDT", "publicTrade.BTCUSDT",
                                        "publicTrade.BTC", "orderbook.50.BTCUSDT"]))),
        ("type", draw(st.sampled_from(["snapshot", "snapshot", "snapshot", "delta"]))),
        ("ts", draw(st.integers(0, 2**43) | st.integers(0, 2**43).map(str))),
        ("data", Raw("[" + ",".join(rows) + "]")),
    ]
    if draw(st.integers(0, 9)) == 9:
        del top[draw(st.integers(0, len(top) - 1))]
    # shuffled: when the topic is not first the stream decoder asks each decoder in turn
    text = draw(json_object(top, unknown=draw(st.booleans())))
    return text.encode(), pd, sd


@SETTINGS
@given(bybit_trades())
def test_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    assert_same(*run_both("bybit", payload, pd, sd))
    same_channel(payload)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_matches_reference(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([DOC, SPOT]))
    payload = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    assert_same(*run_both("bybit", bytes(payload), 3, 5))
    same_channel(bytes(payload))


@pytest.mark.parametrize(("payload", "verdict"), [
    (DOC, ("trades", None)),
    (BOOK, ("depth", None)),
    (b'{"op":"pong","args":["1"]}', ("heartbeat", None)),
    # a book-field reorder: the topic is not first, each decoder is asked in turn
    (b'{"ts":1,"topic":"publicTrade.X","type":"snapshot","data":[]}', ("trades", None)),
    # a rejected trade message says so: the books are left alone
    (DOC.replace(b'"Buy"', b'"Up"'), ("trades", "trade field 'S' is not 'Buy' or 'Sell'")),
    (BOOK.replace(b'"u":', b'"u":"x","w":'), ("book", None)),
])
def test_stream_dispatch(payload: bytes, verdict: tuple[str, str | None]) -> None:
    got = same_channel(payload)
    assert got[0] == verdict[0]
    if verdict[1] is not None:
        assert got[1] is not None and verdict[1] in got[1]
