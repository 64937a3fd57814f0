"""Kraken v2 ``ohlc`` as venue candles (docs/venues.md, "Kraken candles"): compiled vs
reference on the documented payload of ../shared/channels.md 5.4 and on generated
messages, exact bare numbers (exponent forms), the error texts, the stream dispatch, the
subscribe messages and the offline feed (a later ``interval_begin`` closes a bar)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import _parse
from fastfeed.reference import candles as ref
from fastfeed.reference import decode as ref_decode
from fastfeed.venues import get_venue
from test_decode_binance import Raw, json_object
from test_decode_candles import assert_feed_matches_reference, assert_same, run_both
from test_decode_quotes import assert_same_stream

# channels.md 5.4, byte for byte
OHLC = (b'{"channel":"ohlc","type":"snapshot","timestamp":"2023-10-04T16:26:01.806315597Z",'
        b'"data":[{"symbol":"ALGO/USD","open":0.09875,"high":0.09875,"low":0.09875,'
        b'"close":0.09875,"trades":1,"volume":201.86015,"vwap":0.09875,'
        b'"interval_begin":"2023-10-04T15:25:00.000000000Z","interval":5,'
        b'"timestamp":"2023-10-04T15:30:00.000000Z"},{"symbol":"ALGO/USD","open":0.09875,'
        b'"high":0.0988,"low":0.09875,"close":0.09875,"trades":13,"volume":16255.46368,'
        b'"vwap":0.09879,"interval_begin":"2023-10-04T15:30:00.000000000Z","interval":5,'
        b'"timestamp":"2023-10-04T15:35:00.000000Z"}]}')
T0 = 1696433100 * 10**9             # 2023-10-04T15:25:00Z
FIVE = 300 * 10**9
_WRONG = "field 'data' has the wrong type (expected an array of candle objects)"
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def both(payload: bytes, pd: int = 5, sd: int = 8) -> Any:
    c, r = run_both("kraken", payload, pd, sd)
    assert_same(c, r)
    return c


def test_documented_snapshot() -> None:
    out = both(OHLC)
    assert out["kind"] == "candles"
    (seg,) = out["segments"]
    assert (seg["symbol"], seg["kind"]) == ("ALGO/USD", "snapshot")
    first, second = seg["candles"]
    assert first == {"interval": "5m", "open_ns": T0, "close_ns": T0 + FIVE,
                     "open": 9875, "high": 9875, "low": 9875, "close": 9875,
                     "volume": 20186015000, "quote_volume": -1, "trades": 1,
                     "first_id": -1, "last_id": -1, "closed": -1}
    assert (second["open_ns"], second["high"], second["volume"], second["trades"]) == (
        T0 + FIVE, 9880, 1625546368000, 13)


def test_exponent_forms_are_exact() -> None:
    p = OHLC.replace(b'"volume":201.86015', b'"volume":2.0186015e2').replace(
        b'"low":0.09875,"close":0.09875,"trades":1', b'"low":9.875E-2,"close":0.09875,"trades":1')
    c = both(p)["segments"][0]["candles"][0]
    assert (c["volume"], c["low"]) == (20186015000, 9875)


def test_intervals_are_the_venue_description() -> None:
    kraken = get_venue("kraken")
    assert tuple(kraken.OHLC_MINUTES) == kraken.candle_intervals == tuple(ref.KRAKEN_MINUTES)
    assert dict(_parse.KRAKEN_CANDLE_MINUTES) == kraken.OHLC_MINUTES == ref.KRAKEN_MINUTES
    for name, minutes in kraken.OHLC_MINUTES.items():
        p = OHLC.replace(b'"interval":5', b'"interval":%d' % minutes)
        c = both(p)["segments"][0]["candles"][0]
        assert (c["interval"], c["close_ns"] - c["open_ns"]) == (name, minutes * 60 * 10**9)


def test_subscribe_messages() -> None:
    kraken = get_venue("kraken")
    assert kraken.channel_name("candles", "5m") == "ohlc-5m"
    assert kraken.subscribe_messages(["ALGO/USD"], "ohlc-5m") == [
        b'{"method":"subscribe","params":{"channel":"ohlc","symbol":["ALGO/USD"],'
        b'"interval":5,"snapshot":true}}']
    assert kraken.unsubscribe_messages(["ALGO/USD"], "ohlc-1d") == [
        b'{"method":"unsubscribe","params":{"channel":"ohlc","symbol":["ALGO/USD"],'
        b'"interval":1440}}']
    with pytest.raises(ValueError, match="no 'ohlc-2m' channel"):
        kraken.subscribe_messages(["ALGO/USD"], "ohlc-2m")


@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"channel":"heartbeat"}', "heartbeat"),
    (b'{"method":"subscribe","result":{"channel":"ohlc","symbol":"ALGO/USD","interval":5},'
     b'"success":true,"time_in":"x","time_out":"y"}', "control"),
    (b'{"method":"subscribe","error":"bad","success":false}', "venue_error"),
    (OHLC.replace(b'"ohlc"', b'"ticker"', 1), "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    assert both(payload)["kind"] == kind


def _drop(field: bytes) -> bytes:
    head, rest = OHLC.split(b',"' + field + b'":', 1)
    i = min(j for j in (rest.find(b',"'), rest.find(b"}")) if j >= 0)
    return head + rest[i:]


@pytest.mark.parametrize(("payload", "message"), [
    (OHLC.replace(b'"interval":5', b'"interval":7', 1),
     "field 'interval' is not an interval fastfeed knows"),
    (OHLC.replace(b'"interval":5', b'"interval":-5', 1),
     "field 'interval' is not an interval fastfeed knows"),
    (OHLC.replace(b'"interval":5', b'"interval":5.0', 1),
     "field 'interval' has the wrong type (expected integer)"),
    (OHLC.replace(b'"interval":5', b'"interval":"5"', 1),
     "field 'interval' has the wrong type (expected integer)"),
    (OHLC.replace(b'"trades":1', b'"trades":-1', 1),
     "field 'trades' out of range (expected 0..2**62)"),
    (OHLC.replace(b'"trades":1', b'"trades":1e3', 1),
     "field 'trades' has the wrong type (expected integer)"),
    (OHLC.replace(b'"volume":201.86015', b'"volume":"201.86015"'),
     "field 'volume' has the wrong type (expected number)"),
    (OHLC.replace(b'"vwap":0.09875', b'"vwap":null'),
     "field 'vwap' has the wrong type (expected number)"),
    (OHLC.replace(b'"ALGO/USD"', b'5', 1), "field 'symbol' has the wrong type (expected string)"),
    (OHLC.replace(b'"2023-10-04T15:25:00.000000000Z"', b'"yesterday"'),
     "field 'interval_begin' is not an RFC 3339 timestamp"),
    (OHLC.replace(b'"2023-10-04T15:25:00.000000000Z"', b'1696433100'),
     "field 'interval_begin' has the wrong type (expected string)"),
    (OHLC.replace(b'"2023-10-04T15:25:00.000000000Z"', b'"2262-01-01T00:00:00Z"'),
     "field 'interval_begin' is not an RFC 3339 timestamp"),     # years 1970..2261
    (_drop(b"interval_begin"), "field 'interval_begin' missing"),
    (_drop(b"interval"), "field 'interval' missing"),
    (_drop(b"open"), "field 'open' missing"),
    (OHLC.replace(b'"type":"snapshot"', b'"type":"delta"'),
     "field 'type' is not 'snapshot' or 'update'"),
    (b'{"channel":"ohlc","type":"update","data":[5]}', _WRONG),
    (b'{"channel":"ohlc","type":"update","data":{}}', _WRONG),
])
def test_errors(payload: bytes, message: str) -> None:
    c, r = run_both("kraken", payload, 5, 8)
    assert isinstance(r, ref.DecodeFailed) and str(r) == message, r
    assert_same(c, r)


def test_optional_fields_and_empty_data() -> None:
    c = both(_drop(b"trades").replace(b',"vwap":0.09875', b''))["segments"][0]["candles"][0]
    assert c["trades"] == -1
    assert both(b'{"channel":"ohlc","type":"update","data":[]}')["segments"] == []


@pytest.mark.parametrize(("payload", "field"), [
    (OHLC.replace(b'"high":0.0988', b'"high":0.098801'), "high"),        # finer than the tick
    (OHLC.replace(b'"volume":201.86015', b'"volume":1e30'), "volume"),   # beyond int64
    (OHLC.replace(b'"volume":201.86015', b'"volume":-201.86015'), "volume"),
    (OHLC.replace(b'"open":0.09875', b'"open":9.875e-9', 1), "open"),
])
def test_values_are_exact_or_rejected(payload: bytes, field: str) -> None:
    c, r = run_both("kraken", payload, 5, 8)
    assert isinstance(c, _parse.DecodeFailed) and str(c).startswith(field), c
    assert_same(c, r)


def test_truncated_and_stream_dispatch() -> None:
    for i in range(0, len(OHLC), 7):
        c, r = run_both("kraken", OHLC[:i], 5, 8)
        assert isinstance(c, _parse.DecodeFailed), i
        assert_same(c, r)
    assert _parse.stream_channel("kraken", OHLC) == ("candles", None)
    bad = OHLC.replace(b'"interval":5', b'"interval":7', 1)
    assert _parse.stream_channel("kraken", bad)[0] == "candles"
    assert ref_decode.stream_channel("kraken", bad) == (
        "candles", "field 'interval' is not an interval fastfeed knows")
    # another key order: each Kraken decoder in turn, the candle one takes it
    moved = b'{"type":"update","channel":"ohlc","data":' + OHLC.split(b'"data":', 1)[1]
    assert _parse.stream_channel("kraken", moved) == ref_decode.stream_channel(
        "kraken", moved) == ("candles", None)


def _num(draw: st.DrawFn) -> Raw:
    d = Decimal(draw(st.integers(-10, 10**12))).scaleb(-draw(st.integers(0, 10)))
    return Raw(format(d, draw(st.sampled_from(["f", "f", "e", "E"]))))


@st.composite
def ohlc_messages(draw: st.DrawFn) -> bytes:
    def one() -> Raw:
        fields: list[tuple[str, object]] = [
            ("symbol", draw(st.sampled_from(["ALGO/USD", "ALGO/USD", "BTC/USD",
                                             Raw('"ALGO\\/USD"'), 5])))]
        for name in ("open", "high", "low", "close", "volume", "vwap"):
            fields.append((name, draw(st.sampled_from([_num(draw), _num(draw), "1.5", None]))))
        fields.append(("trades", draw(st.sampled_from(
            [Raw("1"), Raw("0"), Raw("-1"), Raw("2.5"), Raw(str(2**63)), "1"]))))
        fields.append(("interval_begin", draw(st.sampled_from(
            ["2023-10-04T15:25:00.000000000Z", "2023-10-04T15:30:00Z",
             "2261-12-31T23:59:59Z", "x", 7]))))
        fields.append(("interval", draw(st.sampled_from(
            [Raw("5"), Raw("1"), Raw("21600"), Raw("7"), Raw("5.0"), "5",
             Raw("99999999999999999999")]))))
        fields.append(("timestamp", draw(st.sampled_from(["2023-10-04T15:30:00Z", 3]))))
        for _ in range(draw(st.integers(0, 2))):
            del fields[draw(st.integers(0, len(fields) - 1))]
        return Raw(draw(json_object(fields)))

    env: list[tuple[str, object]] = [
        ("channel", draw(st.sampled_from(["ohlc", "ohlc", "ohlc", "trade", 7]))),
        ("type", draw(st.sampled_from(["snapshot", "update", "update", "delta"]))),
        ("data", [one() for _ in range(draw(st.integers(0, 3)))]),
    ]
    if draw(st.integers(0, 8)) == 0:
        del env[draw(st.integers(0, len(env) - 1))]
    return draw(json_object(env)).encode("utf-8", "surrogatepass")


@SETTINGS
@given(ohlc_messages(), st.sampled_from([5, 8, 0]), st.sampled_from([8, 0, 3]))
def test_generated_candles_match_reference(payload: bytes, pd: int, sd: int) -> None:
    assert_same(*run_both("kraken", payload, pd, sd))
    assert_same_stream("kraken", payload)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_matches_reference(data: st.DataObject) -> None:
    payload = bytearray(OHLC)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.sampled_from(b'{}[]",:\\0.-eE+ 5\x80\xff'))
    assert_same(*run_both("kraken", bytes(payload), 5, 8))


def _bar(k: int, close: str, trades: int = 3, kind: str = "update") -> bytes:
    return (b'{"channel":"ohlc","type":"%s","data":[{"symbol":"ALGO/USD","open":0.1,'
            b'"high":0.2,"low":0.05,"close":%s,"trades":%d,"volume":12.5,"vwap":0.1,'
            b'"interval_begin":"2023-10-04T15:%02d:00.000000000Z","interval":5}]}' % (
                kind.encode(), close.encode(), trades, 25 + 5 * k))


def test_candle_feed_closes_a_bar_on_a_later_interval_begin() -> None:
    f = fastfeed.CandleFeed("kraken", "ALGO/USD", "5m", tick_size="0.00001",
                            step_size="0.00000001")
    assert f.apply_message(OHLC) == 2          # the snapshot's older bar is final
    closed = f.candles()
    assert len(closed) == 1 and int(closed["open_ns"][0]) == T0
    assert int(closed["closed"][0]) == 1 and int(closed["volume"][0]) == 20186015000
    assert f.current() is not None
    assert f.apply_message(_bar(1, "0.15")) == 1        # the open bar updated in place
    assert f.apply_message(_bar(0, "0.15")) == 0        # an older bar: stale
    assert f.apply_message(_bar(2, "0.16")) == 1        # a later bar closes 15:30
    closed = f.candles()
    assert [int(x) for x in closed["close"]] == [9875, 15000]
    assert [int(x) for x in closed["trades"]] == [1, 3]
    assert f.apply_message(OHLC.replace(b'"interval":5', b'"interval":15')) == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["0.11", "0.123456", "1.2e-1"])),
                max_size=15))
def test_candle_feed_matches_reference_stream(msgs: list[tuple[int, str]]) -> None:
    assert_feed_matches_reference("kraken", "ALGO/USD", "5m", "0.00001", 5,
                                  [_bar(k, close) for k, close in msgs],
                                  ("open_ns", "close", "volume", "trades", "closed"))
