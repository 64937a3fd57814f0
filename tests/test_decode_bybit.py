"""Bybit book decoder: compiled vs the pure-Python reference (hypothesis), examples and
the error table (docs/venues.md, "Bybit")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.reference import decode as ref
from test_decode_binance import Raw, assert_same, decimal_strings, json_object, run_both

SNAP = (b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT",'
        b'"b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"]],"u":18521288,'
        b'"seq":7961638724},"cts":1672304484976}')
T0 = 1672304484978 * 10**6


def by(payload: bytes, pd: int = 2, sd: int = 3, venue: str = "bybit") -> dict[str, Any]:
    return _parse.decode_message(venue, payload, pd, sd)


def test_snapshot_example_both_venues() -> None:
    for venue in ("bybit", "bybit-linear"):
        out = by(SNAP, venue=venue)
        assert out == {
            "kind": "snapshot", "first_id": 18521288, "last_id": 18521288, "prev_id": -1,
            "event_time_ns": T0, "txn_time_ns": 0,
            "segments": [{"symbol": "BTCUSDT", "kind": "snapshot", "event_time_ns": T0,
                          "levels": [("bid", 1649350, 6), ("bid", 1649300, 100), ("ask", 1661100, 29)],
                          "off_grid": 0}],
        }
        assert ref.decode_message(venue, SNAP, 2, 3) == out


def test_delta_quoted_ts_and_delete() -> None:
    msg = (b'{"topic":"orderbook.50.BTCUSDT","ts":"1672304484978","type":"delta","data":{"s":"BTCUSDT",'
           b'"b":[],"a":[["16611.00","0"]],"u":7,"seq":1}}')
    out = by(msg)
    assert (out["kind"], out["last_id"], out["event_time_ns"]) == ("depth", 7, T0)
    assert out["segments"][0]["kind"] == "update"
    assert out["segments"][0]["levels"] == [("ask", 1661100, 0)]
    assert ref.decode_message("bybit", msg, 2, 3) == out


@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"success":true,"ret_msg":"subscribe","conn_id":"a","req_id":"1","op":"subscribe"}', "control"),
    (b'{"success":true,"ret_msg":"","conn_id":"a","op":"subscribe"}', "control"),
    (b'{"success":true,"ret_msg":"pong","conn_id":"a","op":"ping"}', "heartbeat"),
    (b'{"args":["1672916271846"],"op":"pong"}', "heartbeat"),
    (b'{"success":false,"ret_msg":"error:handler not found","conn_id":"a","op":"subscribe"}', "venue_error"),
    (b'{"success":true,"conn_id":"a","data":{"failTopics":[],"successTopics":["orderbook.50.X"]},'
     b'"type":"COMMAND_RESP"}', "control"),
    (b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"p":"1"}]}', "ignored"),
    (b'{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","b":5}}', "ignored"),
])
def test_control_and_other_topics(payload: bytes, kind: str) -> None:
    out = by(payload)
    assert (out["kind"], out["last_id"], out["segments"]) == (kind, -1, [])
    assert ref.decode_message("bybit", payload, 2, 3) == out


def _snap(**over: Any) -> bytes:
    base: dict[str, Any] = json.loads(SNAP)
    for k, v in over.items():
        target = base["data"] if k.startswith("d_") else base
        key = k[2:] if k.startswith("d_") else k
        if v is ...:
            del target[key]
        else:
            target[key] = v
    return json.dumps(base).encode()


ERRORS = [
    (_snap(type=...), "field 'type' missing"),
    (_snap(type=1), "field 'type' has the wrong type (expected string)"),
    (_snap(type="update"), "field 'type' is not 'snapshot' or 'delta'"),
    (_snap(ts=...), "field 'ts' missing"),
    (_snap(ts=1.5), "field 'ts' has the wrong type (expected integer milliseconds, as a number or a digit string)"),
    (_snap(ts="12a"), "field 'ts' has the wrong type (expected integer milliseconds, as a number or a digit string)"),
    (_snap(ts=2**63), "field 'ts' out of range"),
    (_snap(ts=2**62), "field 'ts' out of range"),
    (_snap(data=...), "field 'data' missing"),
    (_snap(data=[]), "field 'data' has the wrong type (expected object)"),
    (_snap(d_s=...), "field 's' missing"),
    (_snap(d_s=5), "field 's' has the wrong type (expected string)"),
    (_snap(d_b=...), "field 'b' missing"),
    (_snap(d_a=...), "field 'a' missing"),
    (_snap(d_a=[["1", "2", "3"]]), "field 'a' has the wrong type (expected [price, size] string pairs)"),
    (_snap(d_u=...), "field 'u' missing"),
    (_snap(d_u="5"), "field 'u' has the wrong type (expected integer)"),
    (_snap(d_u=-1), "field 'u' out of range"),
    (_snap(d_u=2**62 + 1), "field 'u' out of range"),
    (_snap(d_s="ETHUSDT"), "field 's' does not match the topic's symbol"),
    (_snap(topic=5), "field 'topic' has the wrong type (expected string)"),
    (b'{"success":"yes","op":"subscribe"}', "field 'success' has the wrong type (expected true or false)"),
    (b'{"success":true,"op":5}', "field 'op' has the wrong type (expected string)"),
    (b'{"ret_msg":"x"}', "field 'topic' missing"),
    (_snap(d_b=[["16493.505", "1"]]), "price at byte {off}: '16493.505' has more decimals than the scale allows (2)"),
]


@pytest.mark.parametrize(("payload", "message"), ERRORS)
def test_errors(payload: bytes, message: str) -> None:
    if "{off}" in message:
        message = message.format(off=payload.index(b'"16493.505"') + 1)
    with pytest.raises(_parse.DecodeFailed) as info:
        by(payload)
    assert str(info.value) == message
    c, r = run_both("bybit", payload, 2, 3)
    assert_same(c, r)


def test_truncated_at_every_offset() -> None:
    for k in range(len(SNAP)):
        with pytest.raises(_parse.DecodeFailed, match=r"^(truncated|malformed) JSON"):
            by(SNAP[:k])


def test_duplicates_inside_data_and_at_the_top() -> None:
    for payload in (SNAP.replace(b'"u":18521288', b'"u":1,"u":2'),
                    SNAP.replace(b'"seq":7961638724', b'"seq":1,"seq":2'),
                    SNAP.replace(b'"cts":1672304484976', b'"cts":1,"cts":2'),
                    SNAP.replace(b'"type":"snapshot"', b'"type":"snapshot","type":"delta"')):
        with pytest.raises(_parse.DecodeFailed, match="duplicate field"):
            by(payload)
        assert_same(*run_both("bybit", payload, 2, 3))


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    kind = draw(st.sampled_from(["snapshot", "delta", "ack", "pong", "error", "other"]))
    if kind in ("ack", "pong", "error"):
        fields: list[tuple[str, object]] = [
            ("success", kind != "error"), ("ret_msg", {"ack": "subscribe", "pong": "pong"}.get(kind, "bad")),
            ("conn_id", "c"), ("op", "ping" if kind == "pong" else "subscribe")]
        return draw(json_object(fields)).encode(), pd, sd
    sym = draw(st.sampled_from(["BTCUSDT", "ETHUSDT"]))
    pairs = st.lists(st.tuples(decimal_strings(pd), decimal_strings(sd)).map(list), max_size=5)
    data = [("s", draw(st.sampled_from([sym, "BTCUSDT"]))), ("b", draw(pairs)), ("a", draw(pairs)),
            ("u", draw(st.one_of(st.integers(0, 2**62), st.integers(-5, 2**63 - 1)))),
            ("seq", draw(st.integers(0, 2**40)))]
    ts: object = draw(st.one_of(st.integers(0, 2**45), st.integers(0, 2**45).map(str)))
    topic = f"orderbook.{draw(st.sampled_from(['1', '50', '200']))}.{sym}" if kind != "other" \
        else f"publicTrade.{sym}"
    fields = [("topic", topic), ("type", "snapshot" if kind == "snapshot" else "delta"), ("ts", ts),
              ("data", Raw(draw(json_object(data)))), ("cts", draw(st.integers(0, 2**45)))]
    return draw(json_object(fields)).encode(), pd, sd


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("bybit", payload, pd, sd)
    assert_same(c, r)
