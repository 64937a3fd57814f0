"""OKX ``candle<bar>`` decoder (docs/venues.md, "OKX"): compiled vs reference on the
documented payload of ../shared/channels.md 6.5 and on generated messages, the volumes of
spot and derivatives, the error texts, the stream dispatch, the ``/business`` route and
the offline feed."""

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
from fastfeed.venues.okx import BAR_SECONDS
from test_decode_binance import Raw, json_object, json_values
from test_decode_candles import assert_feed_matches_reference, assert_same, run_both
from test_decode_quotes import _SETTINGS, assert_same_stream, decimals, mutate_one_byte

# channels.md 6.5, byte for byte
CANDLE = (b'{"arg":{"channel":"candle1D","instId":"BTC-USDT"},"data":[["1597026383085",'
          b'"8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061",'
          b'"0"]]}')
SWAP = CANDLE.replace(b'"BTC-USDT"', b'"BTC-USDT-SWAP"')
_WRONG = "field 'data' has the wrong type (expected arrays of 9 strings)"


def both(payload: bytes, pd: int = 2, sd: int = 8) -> Any:
    c, r = run_both("okx", payload, pd, sd)
    assert_same(c, r)
    return c


def test_documented_candle() -> None:
    out = both(CANDLE)
    assert out["kind"] == "candles"
    (seg,) = out["segments"]
    assert seg["symbol"] == "BTC-USDT"
    (c,) = seg["candles"]
    t = 1597026383085 * 10**6
    assert c == {"interval": "1D", "open_ns": t, "close_ns": t + 86400 * 10**9,
                 "open": 853302, "high": 855374, "low": 852717, "close": 854826,
                 # spot: vol is base; the quote volume is volCcyQuote (at pd + sd decimals)
                 "volume": 45247 * 10**8, "quote_volume": 55295858061 * 10**3,
                 "trades": -1, "first_id": -1, "last_id": -1, "closed": 0}


def test_swap_base_volume_is_volccy_and_confirm_closes() -> None:
    c = both(SWAP.replace(b'"0"]]', b'"1"]]'))["segments"][0]["candles"][0]
    assert (c["volume"], c["closed"]) == (52958580610, 1)     # 529.5858061 base


def test_bars_are_the_venue_description() -> None:
    assert _parse.OKX_CANDLE_INTERVALS == get_venue("okx").candle_intervals == tuple(BAR_SECONDS)
    assert ref.OKX_BARS == BAR_SECONDS
    for bar, secs in BAR_SECONDS.items():
        p = CANDLE.replace(b"candle1D", b"candle" + bar.encode())
        c = both(p)["segments"][0]["candles"][0]
        assert (c["interval"], c["close_ns"] - c["open_ns"]) == (bar, secs * 10**9)


def test_route_and_url() -> None:
    okx = get_venue("okx")
    assert okx.channel_name("candles", "1m") == "candle1m"
    assert okx.channel_route("candle1m") == "/business" and okx.channel_route("books") == ""
    base = "wss://ws.okx.com:8443/ws/v5/public"
    assert okx.connection_url(base, ["BTC-USDT"], "candle1m") == (
        "wss://ws.okx.com:8443/ws/v5/business")
    assert okx.connection_url(base, ["BTC-USDT"], "trades") == base
    assert okx.subscribe_messages(["BTC-USDT"], "candle1H") == [
        b'{"op":"subscribe","args":[{"channel":"candle1H","instId":"BTC-USDT"}]}']
    with pytest.raises(ValueError, match="not 'candle1M'"):
        okx.subscribe_messages(["BTC-USDT"], "candle1M")


@pytest.mark.parametrize(("payload", "kind"), [
    (b"pong", "control"),
    (b'{"event":"subscribe","arg":{"channel":"candle1m","instId":"BTC-USDT"},"connId":"a"}',
     "control"),
    (b'{"event":"error","code":"60018","msg":"x"}', "venue_error"),
    (CANDLE.replace(b"candle1D", b"tickers"), "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    assert both(payload)["kind"] == kind


@pytest.mark.parametrize(("payload", "message"), [
    (CANDLE.replace(b"candle1D", b"candle1M"), "field 'channel' is not a candle bar fastfeed knows"),
    (CANDLE.replace(b"candle1D", b"candle1d"), "field 'channel' is not a candle bar fastfeed knows"),
    (CANDLE.replace(b"candle1D", b"candle"), "field 'channel' is not a candle bar fastfeed knows"),
    (CANDLE.replace(b',"instId":"BTC-USDT"', b''), "field 'instId' missing"),
    (CANDLE.replace(b'"0"]]', b'"0","x"]]'), _WRONG),
    (CANDLE.replace(b',"0"]]', b']]'), _WRONG),
    (CANDLE.replace(b'"45247"', b'45247'), _WRONG),
    (b'{"arg":{"channel":"candle1m","instId":"X"},"data":[{"a":1}]}', _WRONG),
    (CANDLE.replace(b'"1597026383085"', b'"1597026383.085"'),
     "field 'ts' has the wrong type (expected a string of integer milliseconds)"),
    (CANDLE.replace(b'"1597026383085"', b'"9223372036854"'), "field 'ts' out of range"),
    (CANDLE.replace(b'"0"]]', b'"true"]]'), "candle 'confirm' is not '0' or '1'"),
    (CANDLE.replace(b'"0"]]', b'"\\u0030"]]'), "candle 'confirm' is not '0' or '1'"),
    (b'{"arg":{"channel":"candle1m","instId":"X"},"data":[]}', "field 'data' is an empty array"),
])
def test_errors(payload: bytes, message: str) -> None:
    c, r = run_both("okx", payload, 2, 8)
    assert isinstance(r, ref.DecodeFailed) and str(r) == message
    assert_same(c, r)


@pytest.mark.parametrize(("payload", "field"), [
    (CANDLE.replace(b'"8533.02"', b'"8533.025"'), "open"),       # finer than the tick
    (CANDLE.replace(b'"45247"', b'"4.5247e4"'), "volume"),
    (CANDLE.replace(b'"5529.5858061"', b'"1' + b"0" * 40 + b'"'), "quote_volume"),
])
def test_values_are_exact_or_rejected(payload: bytes, field: str) -> None:
    c, r = run_both("okx", payload, 2, 8)
    assert isinstance(c, _parse.DecodeFailed) and str(c).startswith(field), c
    assert_same(c, r)


def test_truncated_and_stream_dispatch() -> None:
    for i in range(len(CANDLE)):
        c, r = run_both("okx", CANDLE[:i], 2, 8)
        assert isinstance(c, _parse.DecodeFailed), i
        assert_same(c, r)
    assert _parse.stream_channel("okx", CANDLE) == ("candles", None)
    bad = CANDLE.replace(b'"0"]]', b'"2"]]')
    assert _parse.stream_channel("okx", bad)[0] == "candles"
    assert ref_decode.stream_channel("okx", bad) == ("candles",
                                                     "candle 'confirm' is not '0' or '1'")


ms_texts = st.one_of(*[st.integers(0, 2**45).map(str)] * 8,
                     st.sampled_from(["", "-5", "1.5", "9223372036854", "1２"]),
                     st.just(Raw('"1\\u0032"')))
bars = st.sampled_from(["1m", "1s", "1H", "1Dutc", "1M", "1h", ""])


@st.composite
def candle_messages(draw: st.DrawFn) -> bytes:
    els = []
    for _ in range(draw(st.integers(0, 3))):
        row: list[Any] = [draw(ms_texts)] + [draw(decimals) for _ in range(7)] + [
            draw(st.sampled_from(["0", "1", "0", "2"]))]
        if draw(st.integers(0, 9)) == 3:
            row[draw(st.integers(0, 8))] = draw(json_values)
        if draw(st.integers(0, 15)) == 5:
            row = row[:draw(st.integers(0, 10))]
        els.append(row)
    arg = Raw(draw(json_object([
        ("channel", "candle" + draw(bars)),
        ("instId", draw(st.sampled_from(["BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-250328"])))])))
    env = [("arg", arg), ("data", els)]
    if draw(st.integers(0, 15)) == 7:
        env.append(("event", "error"))
    return draw(json_object(env)).encode("utf-8", "surrogatepass")


@_SETTINGS
@given(candle_messages(), st.sampled_from([2, 8, 0]), st.sampled_from([8, 0, 3]))
def test_generated_candles_match_reference(payload: bytes, pd: int, sd: int) -> None:
    assert_same(*run_both("okx", payload, pd, sd))


@_SETTINGS
@given(candle_messages(), st.data())
def test_byte_mutations_match_reference(payload: bytes, data: st.DataObject) -> None:
    payload = mutate_one_byte(payload, data)
    assert_same(*run_both("okx", payload, 2, 8))
    assert_same_stream("okx", payload)


def _row(t_min: int, close: str, confirm: str, bar: str = "1m") -> bytes:
    return (b'{"arg":{"channel":"candle%s","instId":"BTC-USDT"},"data":[["%d","10.00","12.00",'
            b'"9.50","%s","3","30.5","30.5","%s"]]}' % (
                bar.encode(), 1_700_000_040_000 + t_min * 60_000, close.encode(),
                confirm.encode()))


def test_candle_feed() -> None:
    f = fastfeed.CandleFeed("okx", "BTC-USDT", "1m", tick_size="0.01",
                            step_size="0.00000001")
    assert f.apply_message(_row(0, "11.00", "0")) == 1
    assert f.apply_message(_row(0, "11.50", "1")) == 1
    assert f.apply_message(_row(0, "11.50", "0", "1H")) == 0       # another interval
    closed = f.candles()
    assert len(closed) == 1 and int(closed["close"][0]) == 1150


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["11.00", "11.005", "12"]),
                          st.sampled_from(["0", "1"])), max_size=15))
def test_candle_feed_matches_reference_stream(msgs: list[tuple[int, str, str]]) -> None:
    assert_feed_matches_reference("okx", "BTC-USDT", "1m", "0.01", 2,
                                  [_row(t, close, confirm) for t, close, confirm in msgs])
