"""Bybit ``kline.{interval}.{symbol}`` decoder (docs/venues.md, "Bybit candles"):
compiled vs reference on the documented payload (channels.md 7.3) and on generated
messages, the intervals (the month's length read from the bar), the error texts, the
stream dispatch on ``bybit`` and ``bybit-linear`` and the offline feed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import _parse
from fastfeed.reference import candles as ref
from fastfeed.reference import decode as ref_decode
from fastfeed.venues import get_venue
from fastfeed.venues.bybit import KLINE_MS
from test_decode_binance import Raw, json_object, json_values
from test_decode_candles import assert_feed_matches_reference, assert_same, run_both
from test_decode_quotes import _SETTINGS, assert_same_stream, decimals, mutate_one_byte

# channels.md 7.3, byte for byte
KLINE = (b'{"topic":"kline.5.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,'
         b'"interval":"5","open":"16649.5","close":"16677","high":"16677","low":"16608",'
         b'"volume":"2.081","turnover":"34666.4005","confirm":false,'
         b'"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}')
_WRONG = "field 'data' has the wrong type (expected array of objects)"
_TOPIC = "field 'topic' is not kline.{interval}.{symbol} with an interval fastfeed knows"
VENUES = ("bybit", "bybit-linear")


def both(payload: bytes, pd: int = 2, sd: int = 8, venue: str = "bybit") -> Any:
    c, r = run_both(venue, payload, pd, sd)
    assert_same(c, r)
    return c


@pytest.mark.parametrize("venue", VENUES)
def test_documented_kline(venue: str) -> None:
    out = both(KLINE, venue=venue)
    assert out["kind"] == "candles"
    assert out["event_time_ns"] == 1672324988882 * 10**6
    (seg,) = out["segments"]
    assert seg["symbol"] == "BTCUSDT"
    (c,) = seg["candles"]
    t = 1672324800000 * 10**6
    assert c == {"interval": "5", "open_ns": t, "close_ns": t + 300 * 10**9,
                 "open": 1664950, "high": 1667700, "low": 1660800, "close": 1667700,
                 # volume is base, turnover the quote volume (at pd + sd decimals)
                 "volume": 208100000, "quote_volume": 346664005 * 10**6,
                 "trades": -1, "first_id": -1, "last_id": -1, "closed": 0}


def test_confirm_true_closes_and_keys_in_any_order() -> None:
    p = (b'{"type":"snapshot","ts":1672324988882,"topic":"kline.5.BTCUSDT","data":[{'
         b'"confirm":true,"turnover":"1","volume":"1","low":"1","high":"1","close":"1",'
         b'"open":"1","interval":"5","end":1672325099999,"start":1672324800000}]}')
    (c,) = both(p)["segments"][0]["candles"]
    assert c["closed"] == 1 and c["close_ns"] - c["open_ns"] == 300 * 10**9


def test_intervals_are_the_venue_description() -> None:
    for venue in VENUES:
        assert get_venue(venue).candle_intervals == tuple(KLINE_MS)
    assert _parse.BYBIT_CANDLE_INTERVALS == tuple(KLINE_MS)
    assert get_venue("bybit").channel_name("candles", "D") == "kline.D"
    assert get_venue("bybit").subscribe_messages(["BTCUSDT"], "kline.60") == [
        b'{"op":"subscribe","args":["kline.60.BTCUSDT"]}']
    with pytest.raises(ValueError, match=r"not 'kline\.1m'"):
        get_venue("bybit").subscribe_messages(["BTCUSDT"], "kline.1m")
    start = 1672324800000
    for name, ms in KLINE_MS.items():
        length = ms or 31 * 86_400_000           # a month: January
        p = (KLINE.replace(b"kline.5.", b"kline.%s." % name.encode())
             .replace(b'"interval":"5"', b'"interval":"%s"' % name.encode())
             .replace(b"1672325099999", b"%d" % (start + length - 1)))
        c = both(p)["segments"][0]["candles"][0]
        assert (c["interval"], c["close_ns"] - c["open_ns"]) == (name, length * 10**6)


@pytest.mark.parametrize("days", [28, 29, 30, 31])
def test_months_are_28_to_31_days(days: int) -> None:
    p = (KLINE.replace(b"kline.5.", b"kline.M.").replace(b'"interval":"5"', b'"interval":"M"')
         .replace(b"1672325099999", b"%d" % (1672531200000 + days * 86_400_000 - 1))
         .replace(b"1672324800000", b"1672531200000"))
    assert both(p)["kind"] == "candles"


@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"success":true,"ret_msg":"subscribe","conn_id":"c","req_id":"1","op":"subscribe"}',
     "control"),
    (b'{"success":true,"ret_msg":"pong","conn_id":"c","op":"ping"}', "heartbeat"),
    (KLINE.replace(b"kline.5.", b"tickers."), "ignored"),
    (KLINE.replace(b"kline.5.", b"klines.5."), "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    assert both(payload)["kind"] == kind


def _month(days: int) -> bytes:
    return (KLINE.replace(b"kline.5.", b"kline.M.").replace(b'"interval":"5"', b'"interval":"M"')
            .replace(b"1672325099999", b"%d" % (1672324800000 + days * 86_400_000 - 1)))


@pytest.mark.parametrize(("payload", "message"), [
    (KLINE.replace(b"kline.5.", b"kline.1m."), _TOPIC),
    (KLINE.replace(b"kline.5.", b"kline.d."), _TOPIC),
    (KLINE.replace(b"kline.5.BTCUSDT", b"kline.5"), _TOPIC),
    (KLINE.replace(b"kline.5.BTCUSDT", b"kline.5."), "field 'topic' has no symbol"),
    (KLINE.replace(b"kline.5.BTCUSDT", b"kline.5.BTC\\u0055SDT"),
     "field 'topic' contains an escape (symbols must be plain strings)"),
    (KLINE.replace(b"BTCUSDT", b"BTC\xffUSDT"), "field 'topic' is not valid UTF-8"),
    (KLINE.replace(b'"snapshot"', b'"delta"'), "field 'type' is not 'snapshot'"),
    (KLINE.replace(b',"type":"snapshot"', b''), "field 'type' missing"),
    (KLINE.replace(b'"ts":1672324988882', b'"ts":"1672324988882"'),
     "field 'ts' has the wrong type (expected integer)"),
    (KLINE.replace(b'"data":[{', b'"data":{').replace(b'}],"ts"', b'},"ts"'), _WRONG),
    (KLINE.replace(b'"data":[{', b'"data":[1,{'), _WRONG),
    (b'{"topic":"kline.5.BTCUSDT","data":[],"ts":1,"type":"snapshot"}',
     "field 'data' is an empty array"),
    (KLINE.replace(b'"start":1672324800000', b'"start":"1672324800000"'),
     "kline field 'start' has the wrong type (expected integer)"),
    (KLINE.replace(b'"start":1672324800000,', b''), "kline field 'start' missing"),
    (KLINE.replace(b'"end":1672325099999', b'"end":9223372036854'),
     "kline field 'end' out of range"),
    (KLINE.replace(b'"start":1672324800000', b'"start":-1'), "kline field 'start' out of range"),
    (KLINE.replace(b'"end":1672325099999', b'"end":99999999999999999999'),
     "kline field 'end' out of range"),
    (KLINE.replace(b'"open":"16649.5"', b'"open":16649.5'),
     "kline field 'open' has the wrong type (expected string)"),
    (KLINE.replace(b',"turnover":"34666.4005"', b''), "kline field 'turnover' missing"),
    (KLINE.replace(b'"confirm":false', b'"confirm":"false"'),
     "kline field 'confirm' has the wrong type (expected boolean)"),
    (KLINE.replace(b'"confirm":false', b'"confirm":0'),
     "kline field 'confirm' has the wrong type (expected boolean)"),
    (KLINE.replace(b'"confirm":false,', b''), "kline field 'confirm' missing"),
    (KLINE.replace(b'"timestamp":1672324988882', b'"timestamp":1.5'),
     "kline field 'timestamp' has the wrong type (expected integer)"),
    (KLINE.replace(b'"end":1672325099999', b'"end":1672324799999'),
     "kline field 'end' is before 'start'"),
    (KLINE.replace(b'"interval":"5"', b'"interval":"15"'),
     "kline field 'interval' differs from the topic's"),
    (KLINE.replace(b'"end":1672325099999', b'"end":1672325100000'),
     "kline 'start'..'end' is not one interval long"),
    (_month(27), "kline 'start'..'end' is not one interval long"),
    (_month(32), "kline 'start'..'end' is not one interval long"),
    (KLINE.replace(b'"open":"16649.5"', b'"open":"1","open":"2"'), "malformed JSON (duplicate field)"),
])
def test_errors(payload: bytes, message: str) -> None:
    c, r = run_both("bybit", payload, 2, 8)
    assert isinstance(r, ref.DecodeFailed) and str(r) == message
    assert_same(c, r)


@pytest.mark.parametrize(("payload", "field"), [
    (KLINE.replace(b'"16649.5"', b'"16649.505"'), "open"),       # finer than the tick
    (KLINE.replace(b'"2.081"', b'"2.081e0"'), "volume"),
    (KLINE.replace(b'"2.081"', b'"-2.081"'), "volume"),
    (KLINE.replace(b'"16608"', b'"1' + b"0" * 30 + b'"'), "low"),   # beyond int64
    (KLINE.replace(b'"34666.4005"', b'"1' + b"0" * 40 + b'"'), "quote_volume"),
])
def test_values_are_exact_or_rejected(payload: bytes, field: str) -> None:
    c, r = run_both("bybit", payload, 2, 8)
    assert isinstance(c, _parse.DecodeFailed) and str(c).startswith(field), c
    assert_same(c, r)


@pytest.mark.parametrize("venue", VENUES)
def test_truncated_and_stream_dispatch(venue: str) -> None:
    for i in range(len(KLINE)):
        c, r = run_both(venue, KLINE[:i], 2, 8)
        assert isinstance(c, _parse.DecodeFailed), i
        assert_same(c, r)
    assert _parse.stream_channel(venue, KLINE) == ("candles", None)
    assert ref_decode.stream_channel(venue, KLINE) == ("candles", None)
    bad = KLINE.replace(b'"confirm":false', b'"confirm":null')
    want = ("candles", "kline field 'confirm' has the wrong type (expected boolean)")
    assert _parse.stream_channel(venue, bad)[0] == "candles"
    assert ref_decode.stream_channel(venue, bad) == want
    # topic not first: every decoder in turn, the candle decoder takes it
    moved = b'{"type":"snapshot",' + KLINE[1:].replace(b',"type":"snapshot"', b'')
    assert _parse.stream_channel(venue, moved) == ("candles", None)
    assert ref_decode.stream_channel(venue, moved) == ("candles", None)


ms = st.integers(0, 9).flatmap(lambda k: st.sampled_from(
    [-1, 9223372036854, 2**70, "1", 1.5, True]) if k == 9 else st.integers(
    1672324800000, 1672324800000 + 2**20))
intervals = st.sampled_from(["5", "1", "D", "M", "W", "5", "1", "60"] * 3 + ["1m", "", "5.X"])


@st.composite
def kline_messages(draw: st.DrawFn) -> bytes:
    interval = draw(intervals)
    els = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3, 0]))):
        start = draw(ms)
        length = KLINE_MS.get(interval, 300_000) or 30 * 86_400_000
        end: Any = (start + length - 1 if type(start) is int and draw(st.integers(0, 3)) < 3
                    else draw(ms))
        fields: list[tuple[str, Any]] = [
            ("start", start), ("end", end),
            ("interval", draw(st.sampled_from([interval, interval, "5"]))),
            *[(k, draw(decimals)) for k in ("open", "close", "high", "low", "volume",
                                             "turnover")],
            ("confirm", draw(st.sampled_from([True, False] * 4 + ["true", None]))),
            ("timestamp", draw(ms))]
        if draw(st.integers(0, 9)) == 3:
            i = draw(st.integers(0, len(fields) - 1))
            fields[i] = (fields[i][0], draw(json_values))
        if draw(st.integers(0, 12)) == 5:
            del fields[draw(st.integers(0, len(fields) - 1))]
        els.append(Raw(draw(json_object(fields))))
    topic = draw(st.sampled_from(["kline.%s.BTCUSDT"] * 4 + ["kline.%s.ETHUSDT", "kline.%s",
                                                             "tickers.%s"])) % interval
    env: list[tuple[str, Any]] = [("topic", topic), ("data", els), ("ts", draw(ms)),
                                  ("type", draw(st.sampled_from(["snapshot"] * 5 + ["delta"])))]
    if draw(st.integers(0, 15)) == 7:
        env.append(("cs", draw(json_values)))
    return draw(json_object(env)).encode("utf-8", "surrogatepass")


@_SETTINGS
@given(kline_messages(), st.sampled_from([2, 8, 0]), st.sampled_from([8, 0, 3]))
def test_generated_klines_match_reference(payload: bytes, pd: int, sd: int) -> None:
    assert_same(*run_both("bybit", payload, pd, sd))


@_SETTINGS
@given(kline_messages(), st.data())
def test_byte_mutations_match_reference(payload: bytes, data: st.DataObject) -> None:
    payload = mutate_one_byte(payload, data)
    assert_same(*run_both("bybit-linear", payload, 2, 8))
    assert_same_stream("bybit", payload)


def _row(t_min: int, close: str, confirm: bool, interval: str = "1") -> bytes:
    start = 1_700_000_040_000 + t_min * 60_000
    length = KLINE_MS[interval]
    return (b'{"topic":"kline.%s.BTCUSDT","data":[{"start":%d,"end":%d,"interval":"%s",'
            b'"open":"10.00","close":"%s","high":"12.00","low":"9.50","volume":"3",'
            b'"turnover":"30.5","confirm":%s,"timestamp":%d}],"ts":%d,"type":"snapshot"}' % (
                interval.encode(), start, start + length - 1, interval.encode(),
                close.encode(), b"true" if confirm else b"false", start, start))


@pytest.mark.parametrize("venue", VENUES)
def test_candle_feed(venue: str) -> None:
    f = fastfeed.CandleFeed(venue, "BTCUSDT", "1", tick_size="0.01",
                            step_size="0.00000001")
    assert f.apply_message(_row(0, "11.00", False)) == 1
    assert f.apply_message(_row(0, "11.50", True)) == 1
    assert f.apply_message(_row(0, "11.50", False, "5")) == 0       # another interval
    closed = f.candles()
    assert len(closed) == 1 and int(closed["close"][0]) == 1150


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["11.00", "11.005", "12"]),
                          st.booleans()), max_size=15))
def test_candle_feed_matches_reference_stream(msgs: list[tuple[int, str, bool]]) -> None:
    assert_feed_matches_reference("bybit", "BTCUSDT", "1", "0.01", 2,
                                  [_row(t, close, confirm) for t, close, confirm in msgs])
