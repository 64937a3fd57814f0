"""REST trade body decoders for backfill (docs/venues.md, "Backfill"): the real shapes,
the error table, and compiled vs reference on generated and corrupted bodies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.reference import decode as ref
from test_decode_binance import Raw, decimal_strings, json_object, json_text, odd_decimals
from test_decode_trades import SETTINGS, assert_same, trade, ts_ns

# Binance's documented aggTrades row (spot: with M) and a USD-M row (nq, no M).
BN_ROWS = (b'[{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,'
           b'"T":1498793709153,"m":true,"M":true},{"a":26130,"p":"0.01633103","q":"1.00000000",'
           b'"f":27782,"l":27784,"T":1498793709160,"m":false,"M":true}]')
USDM_ROWS = (b'[{"a":3477868433,"p":"83091.70","q":"0.022","nq":"0.022","f":8153634393,'
             b'"l":8153634394,"T":1791382992338,"m":false}]')
# Coinbase Exchange's /products/{id}/trades: newest first.
CX_ROWS = (b'[{"time":"2014-11-07T22:19:28.578544Z","trade_id":75,"price":"10.00000000",'
           b'"size":"0.01000000","side":"buy"},{"time":"2014-11-07T01:08:43.642366Z",'
           b'"trade_id":74,"price":"100.00000000","size":"0.01000000","side":"sell"}]')


def run_both(venue: str, payload: bytes, pd: int, sd: int) -> tuple[Any, Any]:
    out: list[Any] = []
    for fn in (_parse.decode_backfill, ref.decode_backfill):
        try:
            out.append(fn(venue, payload, pd, sd))
        except ValueError as exc:
            out.append(exc)
    return out[0], out[1]


def test_binance_rows() -> None:
    out = _parse.decode_backfill("binance", BN_ROWS, 8, 8)
    assert out == {"kind": "trades", "last_id": -1, "event_time_ns": 1498793709160 * 10**6,
                   "segments": [{"symbol": None, "kind": "update", "trades": [
                       trade("aggTrade", 26129, 1498793709153 * 10**6, 1633102, 470443515, -1,
                             27781, 27781),
                       trade("aggTrade", 26130, 1498793709160 * 10**6, 1633103, 100000000, 1,
                             27782, 27784)]}]}
    assert_same(*run_both("binance", BN_ROWS, 8, 8))


def test_usdm_rows_skip_nq() -> None:
    out = _parse.decode_backfill("binance-usdm", USDM_ROWS, 2, 3)
    assert out["segments"][0]["trades"] == [
        trade("aggTrade", 3477868433, 1791382992338 * 10**6, 8309170, 22, 1,
              8153634393, 8153634394)]


def test_coinbase_exchange_rows_come_out_oldest_first_with_the_taker_side() -> None:
    out = _parse.decode_backfill("coinbase-exchange", CX_ROWS, 8, 8)
    t74 = ts_ns(2014, 11, 7, 1, 8, 43, "642366")
    t75 = ts_ns(2014, 11, 7, 22, 19, 28, "578544")
    # side is the maker's: "sell" = the taker bought (+1), "buy" = the taker sold (-1)
    assert out["segments"][0]["trades"] == [
        trade("matches", 74, t74, 10**10, 10**6, 1),
        trade("matches", 75, t75, 10**9, 10**6, -1)]
    assert out["event_time_ns"] == t75
    assert_same(*run_both("coinbase-exchange", CX_ROWS, 8, 8))


@pytest.mark.parametrize(("venue", "body", "kind"), [
    ("binance", b"[]", "trades"),
    ("binance", b'{"code":-1121,"msg":"Invalid symbol."}', "venue_error"),
    ("binance-usdm", b'{"code":-4166,"msg":"Search window is restricted to recent 48 hours."}',
     "venue_error"),
    ("coinbase-exchange", b'{"message":"NotFound"}', "venue_error"),
    ("coinbase-exchange", b" [ ] ", "trades"),
])
def test_empty_and_error_bodies(venue: str, body: bytes, kind: str) -> None:
    out = _parse.decode_backfill(venue, body, 8, 8)
    assert out["kind"] == kind and out["segments"] == []
    assert_same(*run_both(venue, body, 8, 8))


def test_venues_without_backfill() -> None:
    for fn in (_parse.decode_backfill, ref.decode_backfill):
        with pytest.raises(ValueError, match="coinbase has no REST trade backfill"):
            fn("coinbase", b"[]", 8, 8)


ERRORS = [
    ("binance", b"[", "truncated JSON"),
    ("binance", b"3", "body has the wrong type (expected array)"),
    ("binance", b"[1]", "trade has the wrong type (expected object)"),
    ("binance", b'[{"a":1,"p":"1","q":"1","f":1,"l":1,"T":1}]', "field 'm' missing"),
    ("binance", b'[{"a":"1","p":"1","q":"1","f":1,"l":1,"T":1,"m":true}]',
     "field 'a' has the wrong type (expected integer)"),
    ("binance", b'[{"a":1,"p":1,"q":"1","f":1,"l":1,"T":1,"m":true}]',
     "field 'p' has the wrong type (expected string)"),
    ("binance", b'[{"a":1,"p":"1","q":"1","f":1,"l":1,"T":1,"m":1}]',
     "field 'm' has the wrong type (expected boolean)"),
    ("binance", b'[{"a":-1,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}]',
     "field 'a' out of range (expected 0..2**62)"),
    ("binance", b'[{"a":1,"p":"1","q":"1","f":1,"l":1,"T":99999999999999,"m":true}]',
     "field 'T' out of range"),
    ("binance", b'[{"a":1,"a":1,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}]', "malformed JSON"),
    # the first problem is the one reported, malformed JSON anywhere first
    ("binance", b'[{"a":1},{"p":1}]', "field 'p' missing"),
    ("binance", b'[{"a":1},{"p":1,"p":2}]', "malformed JSON"),
    ("binance", b"[] x", "malformed JSON"),
    ("binance", b'[{"a":1,"p":"1.5x","q":"1","f":1,"l":1,"T":1,"m":true}]', "is not a plain decimal"),
    ("coinbase-exchange", b'[{"trade_id":1,"price":"1","size":"1","side":"bid",'
     b'"time":"2014-11-07T22:19:28Z"}]', "field 'side' is not 'buy' or 'sell'"),
    ("coinbase-exchange", b'[{"trade_id":1,"price":"1","size":"1","side":"buy",'
     b'"time":"yesterday"}]', "field 'time' is not an RFC 3339 timestamp"),
    ("coinbase-exchange", b'[{"trade_id":"1","price":"1","size":"1","side":"buy",'
     b'"time":"2014-11-07T22:19:28Z"}]', "field 'trade_id' has the wrong type (expected integer)"),
    ("coinbase-exchange", b'[{"trade_id":1,"price":"1","size":"1","side":"buy"}]',
     "field 'time' missing"),
]


@pytest.mark.parametrize(("venue", "body", "message"), ERRORS)
def test_errors(venue: str, body: bytes, message: str) -> None:
    with pytest.raises(_parse.DecodeFailed) as info:
        _parse.decode_backfill(venue, body, 8, 8)
    assert message in str(info.value)
    assert_same(*run_both(venue, body, 8, 8))


@pytest.mark.parametrize(("venue", "body"), [("binance", BN_ROWS),
                                             ("coinbase-exchange", CX_ROWS)])
def test_truncated_at_every_offset(venue: str, body: bytes) -> None:
    for cut in range(len(body)):
        with pytest.raises(_parse.DecodeFailed):
            _parse.decode_backfill(venue, body[:cut], 8, 8)
        assert_same(*run_both(venue, body[:cut], 8, 8))


@st.composite
def binance_bodies(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        fields: list[tuple[str, object]] = [
            ("a", draw(st.integers(-1, 2**62 + 1))),
            ("p", draw(decimal_strings(pd) | odd_decimals)),
            ("q", draw(decimal_strings(sd) | odd_decimals)),
            ("f", draw(st.integers(0, 2**40))),
            ("l", draw(st.integers(0, 2**40))),
            ("T", draw(st.integers(0, 2**43) | st.sampled_from([2**63, "1"]))),
            ("m", draw(st.sampled_from([True, False, 0]))),
        ]
        fields.append(draw(st.sampled_from([("M", True), ("nq", "0.022"), ("st", 1)])))
        if draw(st.integers(0, 5)) == 0:
            del fields[draw(st.integers(0, len(fields) - 1))]
        rows.append(Raw(draw(json_object(fields))) if draw(st.integers(0, 9)) else 7)
    return draw(json_text(rows)).encode(), pd, sd


@st.composite
def exchange_bodies(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        fields: list[tuple[str, object]] = [
            ("time", draw(st.sampled_from(["2014-11-07T08:19:27.028459Z", "2014-11-07T08:19:27Z",
                                           "2014-11-07T08:19:27.1+01:00", "bad"]))),
            ("trade_id", draw(st.integers(-1, 2**62 + 1))),
            ("price", draw(decimal_strings(pd) | odd_decimals)),
            ("size", draw(decimal_strings(sd) | odd_decimals)),
            ("side", draw(st.sampled_from(["buy", "sell", "Buy", Raw('"s\\u0065ll"')]))),
        ]
        if draw(st.integers(0, 5)) == 0:
            del fields[draw(st.integers(0, len(fields) - 1))]
        rows.append(Raw(draw(json_object(fields))) if draw(st.integers(0, 9)) else "row")
    return draw(json_text(rows)).encode(), pd, sd


@SETTINGS
@given(binance_bodies())
def test_binance_matches_reference(case: tuple[bytes, int, int]) -> None:
    body, pd, sd = case
    assert body.startswith(b"[")
    assert_same(*run_both("binance", body, pd, sd))


@SETTINGS
@given(exchange_bodies())
def test_exchange_matches_reference(case: tuple[bytes, int, int]) -> None:
    body, pd, sd = case
    assert body.startswith(b"[")
    assert_same(*run_both("coinbase-exchange", body, pd, sd))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_matches_reference(data: st.DataObject) -> None:
    venue, base = data.draw(st.sampled_from([
        ("binance", BN_ROWS), ("binance-usdm", USDM_ROWS), ("coinbase-exchange", CX_ROWS)]))
    payload = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    assert_same(*run_both(venue, bytes(payload), 3, 5))
