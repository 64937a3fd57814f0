"""Kraken v2 ``ticker`` as the 24 h ticker and as the best bid/offer (docs/venues.md,
"Kraken ticker and best bid/offer"): the documented shape, exact JSON numbers (exponent
forms, a negative change), the error table, compiled vs reference, the stream decoder
and the offline feeds."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfeed
from fastfeed import _parse
from fastfeed._quotes import QUOTE_MISSING
from fastfeed.reference import decode as refdecode
from test_decode_binance import Raw, json_object
from test_decode_quotes import _AT_BYTE, assert_same, both, run_both

# the notes' example (../shared/channels.md 5.3), byte for byte
TICKER = (b'{"channel":"ticker","type":"snapshot","data":[{"symbol":"BTC/USD","bid":105944.20,'
          b'"bid_qty":2.5,"ask":105944.30,"ask_qty":3.2,"last":105899.40,'
          b'"volume":163.28908096,"vwap":105904.39279,"low":104711.00,"high":106613.10,'
          b'"change":250.00,"change_pct":0.24,"timestamp":"2022-12-25T09:30:59.123456Z"}]}')
T = 1671960659123456000


def test_documented_ticker_as_bbo_and_ticker() -> None:
    bbo = both("kraken", TICKER, "bbo", 1, 8)
    assert bbo["kind"] == "bbo" and bbo["event_time_ns"] == T
    [seg] = bbo["segments"]
    assert (seg["symbol"], seg["kind"], seg["update_id"], seg["exchange_ns"]) == (
        "BTC/USD", "snapshot", -1, T)
    assert (seg["bid_price"], seg["bid_size"], seg["ask_price"], seg["ask_size"]) == (
        1059442, 250000000, 1059443, 320000000)
    tk = both("kraken", TICKER, "ticker", 1, 8)
    [seg] = tk["segments"]
    assert (seg["last_price"], seg["high"], seg["low"], seg["change"]) == (
        1058994, 1066131, 1047110, 2500)
    assert (seg["volume"], seg["volume_decimals"]) == (16328908096, 8)
    # what Kraken does not give stays missing (never derived: no float arithmetic)
    assert seg["open"] == seg["last_size"] == seg["quote_volume"] == QUOTE_MISSING


def test_exponent_forms_and_negative_change_exact() -> None:
    payload = (TICKER.replace(b"163.28908096", b"1.6328908096E2")
               .replace(b'"change":250.00', b'"change":-2.5e2')
               .replace(b'"bid_qty":2.5', b'"bid_qty":5.1e-05')
               .replace(b',"timestamp":"2022-12-25T09:30:59.123456Z"', b''))
    seg = both("kraken", payload, "ticker", 1, 8)["segments"][0]
    assert (seg["volume"], seg["volume_decimals"], seg["change"], seg["exchange_ns"]) == (
        16328908096, 8, -2500, 0)
    assert both("kraken", payload, "bbo", 1, 8)["segments"][0]["bid_size"] == 5100
    # a digit beyond the scale is rejected, never rounded
    c = both("kraken", payload, "bbo", 1, 4)
    assert isinstance(c, _parse.DecodeFailed) and _AT_BYTE.sub("", str(c)).startswith("size:")
    tiny = TICKER.replace(b"163.28908096", b"1e-19")
    c = both("kraken", tiny, "ticker", 1, 8)
    assert isinstance(c, _parse.DecodeFailed), c


@pytest.mark.parametrize("channel", ["bbo", "ticker"])
@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"channel":"heartbeat"}', "heartbeat"),
    (b'{"method":"subscribe","result":{"channel":"ticker","symbol":"BTC/USD",'
     b'"event_trigger":"bbo","snapshot":true},"success":true,"time_in":"x","time_out":"y"}',
     "control"),
    (b'{"Error":"Exceeded msg rate"}', "venue_error"),
    (b'{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD"}]}', "ignored"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],'
     b'"checksum":1}]}', "ignored"),
])
def test_other_messages(payload: bytes, kind: str, channel: str) -> None:
    out = both("kraken", payload, channel)
    assert out["kind"] == kind and out["segments"] == []


def _with(**over: Any) -> bytes:
    o = json.loads(TICKER, parse_float=Raw, parse_int=Raw)["data"][0]
    for k, v in over.items():
        if v is ...:
            del o[k]
        else:
            o[k] = v
    body = ",".join(f'{json.dumps(k)}:{v.text if isinstance(v, Raw) else json.dumps(v)}'
                    for k, v in o.items())
    return b'{"channel":"ticker","type":"update","data":[{' + body.encode() + b'}]}'


@pytest.mark.parametrize(("payload", "channel", "message"), [
    (_with(symbol=...), "bbo", "field 'symbol' missing"),
    (_with(bid=...), "bbo", "field 'bid' missing"),
    (_with(ask_qty=...), "bbo", "field 'ask_qty' missing"),
    (_with(last=...), "ticker", "field 'last' missing"),
    (_with(change=...), "ticker", "field 'change' missing"),
    (_with(bid="105944.20"), "bbo", "field 'bid' has the wrong type (expected number)"),
    (_with(vwap=None), "ticker", "field 'vwap' has the wrong type (expected number)"),
    (_with(symbol=3), "ticker", "field 'symbol' has the wrong type (expected string)"),
    (_with(timestamp="noon"), "bbo", "field 'timestamp' is not an RFC 3339 timestamp"),
    (_with(bid=Raw("-1")), "bbo", "price: "),
    (_with(last=Raw("1" * 30)), "ticker", "last_price: "),
    (_with(volume=Raw("1e999")), "ticker", "volume: "),
    (b'{"channel":"ticker","type":"update","data":{}}', "ticker",
     "field 'data' has the wrong type (expected an array of ticker objects)"),
    (b'{"channel":"ticker","type":"update"}', "bbo", "field 'data' missing"),
    (b'{"channel":"ticker","type":"delta","data":[]}', "bbo",
     "field 'type' is not 'snapshot' or 'update'"),
    (_with(bid=Raw("1")).replace(b'"bid":1', b'"bid":1,"bid":2'), "bbo", "malformed JSON"),
])
def test_errors(payload: bytes, channel: str, message: str) -> None:
    c = both("kraken", payload, channel, 1, 8)
    assert isinstance(c, _parse.DecodeFailed)
    assert _AT_BYTE.sub("", str(c)).startswith(message), str(c)


def test_bbo_only_fields_need_not_be_there_for_the_ticker() -> None:
    payload = _with(bid=..., bid_qty=..., ask=..., ask_qty=...)
    assert both("kraken", payload, "ticker", 1, 8)["kind"] == "ticker"
    assert isinstance(both("kraken", payload, "bbo", 1, 8), _parse.DecodeFailed)


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _num(draw: st.DrawFn) -> Raw:
    d = Decimal(draw(st.integers(-10**6, 10**12))).scaleb(-draw(st.integers(0, 10)))
    return Raw(format(d, draw(st.sampled_from(["f", "e", "E"]))))


@st.composite
def kraken_tickers(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 10))

    def one() -> Raw:
        fields: list[tuple[str, object]] = [
            ("symbol", draw(st.sampled_from(["BTC/USD", "ETH/USD", Raw('"BTC\\/USD"'), 5])))]
        for name in ("bid", "bid_qty", "ask", "ask_qty", "last", "volume", "vwap", "low",
                     "high", "change", "change_pct"):
            fields.append((name, draw(st.sampled_from([_num(draw), _num(draw), "1.5"]))))
        fields.append(("timestamp", draw(st.sampled_from(
            ["2022-12-25T09:30:59.123456Z", "2022-12-25T09:30:59Z", "x", 7]))))
        for _ in range(draw(st.integers(0, 2))):
            del fields[draw(st.integers(0, len(fields) - 1))]
        return Raw(draw(json_object(fields)))

    env: list[tuple[str, object]] = [
        ("channel", draw(st.sampled_from(["ticker", "ticker", "trade", "book", 7]))),
        ("type", draw(st.sampled_from(["snapshot", "update", "delta"]))),
        ("data", [one() for _ in range(draw(st.integers(0, 3)))]),
    ]
    if draw(st.integers(0, 8)) == 0:
        del env[draw(st.integers(0, len(env) - 1))]
    return draw(json_object(env)).encode(), pd, sd


@SETTINGS
@given(kraken_tickers(), st.sampled_from(["bbo", "ticker"]))
def test_kraken_quotes_match_reference(case: tuple[bytes, int, int], channel: str) -> None:
    payload, pd, sd = case
    assert_same(*run_both("kraken", payload, channel, pd, sd))


@SETTINGS
@given(kraken_tickers())
def test_stream_decoder_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, _, _ = case
    c = _parse.stream_channel("kraken", payload)
    r = refdecode.stream_channel("kraken", payload)
    assert c[0] == r[0]
    assert (c[1] is None) == (r[1] is None)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(["bbo", "ticker"]))
def test_random_corruption_matches_reference(data: st.DataObject, channel: str) -> None:
    payload = bytearray(TICKER)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    assert_same(*run_both("kraken", bytes(payload), channel, 1, 8))


def test_stream_decoder_dispatch() -> None:
    assert _parse.stream_channel("kraken", TICKER) == ("ticker", None)
    bad = TICKER.replace(b'"last":105899.40', b'"last":"105899.40"')
    kind, reason = _parse.stream_channel("kraken", bad)
    assert kind == "ticker" and reason is not None and "'last' has the wrong type" in reason
    assert refdecode.stream_channel("kraken", bad)[0] == "ticker"


def test_offline_feeds_record_exact_values() -> None:
    bbo = fastfeed.BboFeed("kraken", "BTC/USD", tick_size="0.1", step_size="0.00000001")
    tk = fastfeed.TickerFeed("kraken", "BTC/USD", tick_size="0.1", step_size="0.00000001")
    update = TICKER.replace(b'"snapshot"', b'"update"').replace(b"105944.30", b"105944.4")
    for payload in (TICKER, update):
        assert bbo.apply_message(payload) == 1
        assert tk.apply_message(payload) == 1
    b = bbo.bbo()
    assert (b.bid_price, b.bid_size, b.ask_price, b.ask_size) == (
        1059442, 250000000, 1059444, 320000000)
    t = tk.ticker()
    assert (t.last_price, t.volume, t.volume_decimals) == (1058994, 16328908096, 8)
    assert bbo.recorded == 2 and tk.recorded == 2
