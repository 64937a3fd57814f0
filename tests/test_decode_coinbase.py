"""Coinbase decoders (Advanced Trade and Exchange): compiled vs reference, error tables."""

from __future__ import annotations

import calendar
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.reference import decode as ref
from test_decode_binance import (
    Raw,
    assert_same,
    decimal_strings,
    json_object,
    odd_decimals,
    run_both,
)

AT = (b'{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z",'
      b'"sequence_num":2,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":['
      b'{"side":"bid","event_time":"2023-02-09T20:32:50.714964855Z","price_level":"21921.73",'
      b'"new_quantity":"0.06317902"},{"side":"offer","event_time":"2023-02-09T20:32:50Z",'
      b'"price_level":"21921.74","new_quantity":"0"}]},{"type":"update","product_id":"ETH-USD",'
      b'"updates":[]}]}')
CX_SNAPSHOT = (b'{"type":"snapshot","product_id":"BTC-USD","bids":[["10101.10","0.45054140"]],'
               b'"asks":[["10102.55","0.57753524"]]}')
CX_UPDATE = (b'{"type":"l2update","product_id":"BTC-USD","changes":[["buy","10101.80000000",'
             b'"0.162567"],["sell","10102.00","0"]],"time":"2019-08-14T20:42:27.265Z"}')
T0 = calendar.timegm((2023, 2, 9, 20, 32, 50)) * 10**9


def at(payload: bytes, pd: int = 2, sd: int = 8) -> dict[str, Any]:
    return _parse.decode_message("coinbase", payload, pd, sd)


def cx(payload: bytes, pd: int = 2, sd: int = 8) -> dict[str, Any]:
    return _parse.decode_message("coinbase-exchange", payload, pd, sd)


def test_at_example() -> None:
    out = at(AT)
    assert out == {
        "kind": "depth", "first_id": -1, "last_id": 2, "prev_id": -1,
        "event_time_ns": T0 + 714964855, "txn_time_ns": 0,
        "segments": [
            {"symbol": "BTC-USD", "kind": "snapshot", "event_time_ns": T0 + 714964855,
             "levels": [("bid", 2192173, 6317902), ("ask", 2192174, 0)], "off_grid": 0},
            {"symbol": "ETH-USD", "kind": "update", "event_time_ns": 0, "levels": [],
             "off_grid": 0},
        ],
    }
    assert ref.decode_message("coinbase", AT, 2, 8) == out


@pytest.mark.parametrize(("payload", "kind", "last_id"), [
    (b'{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z",'
     b'"sequence_num":7,"events":[{"current_time":"2023-06-23 20:31:56 +0000 UTC",'
     b'"heartbeat_counter":3}]}', "heartbeat", 7),
    (b'{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:32:49.523Z",'
     b'"sequence_num":0,"events":[{"subscriptions":{"level2":["BTC-USD"]}}]}', "control", 0),
    (b'{"channel":"market_trades","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":9,'
     b'"events":[{"type":"snapshot","trades":[{"trade_id":"1","price":"1"}]}]}', "ignored", 9),
    (b'{"type":"error","message":"failure to subscribe"}', "venue_error", -1),
    (b'{"type":"error","message":"x","sequence_num":4}', "venue_error", 4),
])
def test_at_non_depth(payload: bytes, kind: str, last_id: int) -> None:
    out = at(payload)
    assert (out["kind"], out["last_id"], out["segments"]) == (kind, last_id, [])
    assert ref.decode_message("coinbase", payload, 2, 8) == out


def test_exchange_examples() -> None:
    out = cx(CX_SNAPSHOT)
    assert out["kind"] == "snapshot"
    assert out["segments"] == [{"symbol": "BTC-USD", "kind": "snapshot", "event_time_ns": 0,
                                "levels": [("bid", 1010110, 45054140),
                                           ("ask", 1010255, 57753524)], "off_grid": 0}]
    out = cx(CX_UPDATE)
    t = calendar.timegm((2019, 8, 14, 20, 42, 27)) * 10**9 + 265_000_000
    assert out["kind"] == "depth" and out["event_time_ns"] == t
    assert out["segments"] == [{"symbol": "BTC-USD", "kind": "update", "event_time_ns": t,
                                "levels": [("bid", 1010180, 16256700), ("ask", 1010200, 0)],
                                "off_grid": 0}]
    hb = cx(b'{"type":"heartbeat","last_trade_id":20,"product_id":"BTC-USD","sequence":90,'
            b'"time":"2014-11-07T08:19:28.464459Z"}')
    assert (hb["kind"], hb["last_id"]) == ("heartbeat", 90)
    assert cx(b'{"type":"subscriptions","channels":[]}')["kind"] == "control"
    assert cx(b'{"type":"error","message":"x","reason":"y"}')["kind"] == "venue_error"
    assert cx(b'{"type":"ticker","price":"1"}')["kind"] == "ignored"
    for p in (CX_SNAPSHOT, CX_UPDATE):
        assert ref.decode_message("coinbase-exchange", p, 2, 8) == cx(p)


@pytest.mark.parametrize(("text", "ns"), [
    ("1970-01-01T00:00:00Z", 0),
    ("2023-02-09T20:32:50.714964855Z", T0 + 714964855),
    ("2023-02-09T20:32:50.7+00:00", T0 + 700_000_000),
    ("2023-02-09T21:32:50.000000001+01:00", T0 + 1),
    ("2023-02-09T19:02:50-01:30", T0),
    ("2024-02-29T00:00:00z", calendar.timegm((2024, 2, 29, 0, 0, 0)) * 10**9),
    ("2261-12-31T23:59:59.999999999Z", calendar.timegm((2261, 12, 31, 23, 59, 59)) * 10**9
     + 999_999_999),
])
def test_timestamps(text: str, ns: int) -> None:
    assert ref.parse_rfc3339_ns(text) == ns
    msg = json.dumps({"type": "heartbeat", "sequence": 1, "time": text}).encode()
    assert cx(msg)["event_time_ns"] == ns


@pytest.mark.parametrize("text", [
    "", "2023-02-09", "2023-02-09T20:32:50", "2023-02-09 20:32:50Z", "2023-02-30T00:00:00Z",
    "2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-01-01T24:00:00Z",
    "2023-01-01T00:60:00Z", "2023-01-01T00:00:60Z", "2023-01-01T00:00:00.Z",
    "2023-01-01T00:00:00.1234567890Z", "2023-01-01T00:00:00+0000", "2023-01-01T00:00:00+24:00",
    "1969-12-31T23:59:59Z", "2262-01-01T00:00:00Z", "2023-01-01T00:00:00ZZ",
    "2023-01-01T00:00:00.5", "２023-01-01T00:00:00Z", "2023-01-01T00:00:00 Z",
])
def test_bad_timestamps(text: str) -> None:
    assert ref.parse_rfc3339_ns(text) is None
    msg = json.dumps({"type": "heartbeat", "sequence": 1, "time": text}).encode()
    with pytest.raises(_parse.DecodeFailed, match=r"^field 'time' is not an RFC 3339 timestamp$"):
        cx(msg)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, calendar.timegm((2261, 12, 31, 23, 59, 59))), st.integers(0, 9),
       st.integers(0, 10**9 - 1), st.integers(-23 * 60 - 59, 23 * 60 + 59))
def test_timestamps_roundtrip(secs: int, digits: int, frac: int, off_min: int) -> None:
    import datetime as dt
    when = dt.datetime.fromtimestamp(secs, dt.timezone(dt.timedelta(minutes=off_min)))
    frac_text = str(frac).rjust(9, "0")[:digits]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac_text}" if digits else "")
    stamp += "Z" if off_min == 0 and digits % 2 else when.strftime("%z")[:3] + ":" + when.strftime("%z")[3:]
    msg = json.dumps({"type": "heartbeat", "sequence": 1, "time": stamp}).encode()
    c, r = run_both("coinbase-exchange", msg, 2, 8)
    assert_same(c, r)
    if 1970 <= when.year <= 2261:
        assert isinstance(c, dict)
        assert c["event_time_ns"] == secs * 10**9 + int(frac_text.ljust(9, "0") or 0)


@st.composite
def at_messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    events = []
    for _ in range(draw(st.integers(0, 3))):
        updates = []
        for _ in range(draw(st.integers(0, 4))):
            u: list[tuple[str, object]] = [
                ("side", draw(st.sampled_from(["bid", "offer"]))),
                ("price_level", draw(decimal_strings(pd, width=draw(st.integers(0, 8))))),
                ("new_quantity", draw(decimal_strings(sd))),
            ]
            if draw(st.booleans()):
                u.append(("event_time", draw(st.sampled_from(
                    ["2023-02-09T20:32:50.714964855Z", "2024-01-01T00:00:00Z"]))))
            updates.append(Raw(draw(json_object(u))))
        ev = [("type", draw(st.sampled_from(["snapshot", "update"]))),
              ("product_id", draw(st.sampled_from(["BTC-USD", "ETH-USD", "SOL-USDC"]))),
              ("updates", updates)]
        events.append(Raw(draw(json_object(ev))))
    channel = draw(st.sampled_from(["l2_data", "l2_data", "l2_data", "heartbeats", "ticker"]))
    env: list[tuple[str, object]] = [
        ("channel", channel), ("client_id", ""),
        ("timestamp", "2023-02-09T20:32:50.714964855Z"),
        ("sequence_num", draw(st.integers(0, 2**63 - 1))), ("events", events),
    ]
    return draw(json_object(env)).encode(), pd, sd




@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(at_messages())
def test_at_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("coinbase", payload, pd, sd)
    assert_same(c, r)


@st.composite
def cx_messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    typ = draw(st.sampled_from(["snapshot", "l2update", "heartbeat", "ticker"]))
    fields: list[tuple[str, object]] = [("type", typ), ("product_id", "BTC-USD")]
    pairs = st.lists(st.tuples(decimal_strings(pd), decimal_strings(sd)).map(list), max_size=5)
    if typ == "snapshot":
        fields += [("bids", draw(pairs)), ("asks", draw(pairs))]
    elif typ == "l2update":
        fields += [("changes", [[draw(st.sampled_from(["buy", "sell"])), p, s]
                                for p, s in draw(pairs)]),
                   ("time", "2019-08-14T20:42:27.265Z")]
    else:
        fields += [("sequence", draw(st.integers(0, 2**63 - 1))),
                   ("time", "2014-11-07T08:19:28.464459Z")]
    return draw(json_object(fields)).encode(), pd, sd


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cx_messages())
def test_exchange_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("coinbase-exchange", payload, pd, sd)
    assert_same(c, r)


def _at(**over: Any) -> bytes:
    base: dict[str, Any] = json.loads(AT)
    for k, v in over.items():
        if v is ...:
            del base[k]
        else:
            base[k] = v
    return json.dumps(base).encode()


def _upd(**over: Any) -> bytes:
    u: dict[str, Any] = {"side": "bid", "event_time": "2023-02-09T20:32:50Z",
                         "price_level": "1.5", "new_quantity": "2"}
    for k, v in over.items():
        if v is ...:
            del u[k]
        else:
            u[k] = v
    return _at(events=[{"type": "update", "product_id": "BTC-USD", "updates": [u]}])


AT_ERRORS = [
    (_at(channel=...), "field 'channel' missing"),
    (_at(channel=5), "field 'channel' has the wrong type (expected string)"),
    (_at(sequence_num=...), "field 'sequence_num' missing"),
    (_at(sequence_num="2"), "field 'sequence_num' has the wrong type (expected integer)"),
    (_at(sequence_num=2**64), "field 'sequence_num' out of range"),
    (_at(timestamp=...), "field 'timestamp' missing"),
    (_at(timestamp="yesterday"), "field 'timestamp' is not an RFC 3339 timestamp"),
    (_at(events=...), "field 'events' missing"),
    (_at(events={}), "field 'events' has the wrong type (expected array of objects)"),
    (_at(events=[1]), "field 'events' has the wrong type (expected array of objects)"),
    (_at(events=[{"product_id": "X", "updates": []}]), "event field 'type' missing"),
    (_at(events=[{"type": "x", "product_id": "X", "updates": []}]),
     "event type is not 'snapshot' or 'update'"),
    (_at(events=[{"type": "update", "updates": []}]), "event field 'product_id' missing"),
    (_at(events=[{"type": "update", "product_id": "X"}]), "event field 'updates' missing"),
    (_at(events=[{"type": "update", "product_id": "X", "updates": [[]]}]),
     "field 'updates' has the wrong type (expected array of objects)"),
    (_upd(side="ask"), "update side is not 'bid' or 'offer'"),
    (_upd(side=...), "update field 'side' missing"),
    (_upd(price_level=1.5), "field 'price_level' has the wrong type (expected string)"),
    (_upd(new_quantity=...), "update field 'new_quantity' missing"),
    (_upd(event_time="x"), "field 'event_time' is not an RFC 3339 timestamp"),
    (_upd(price_level="1.234"), "price at byte {off}: '1.234' has more decimals than the scale allows (2)"),
    (b'{"channel":"l2_data","channel":"x"}', "malformed JSON at byte 31 (duplicate field)"),
    (AT[:-1], f"truncated JSON at byte {len(AT) - 1}"),
]


@pytest.mark.parametrize(("payload", "message"), AT_ERRORS)
def test_at_errors(payload: bytes, message: str) -> None:
    if "{off}" in message:
        message = message.format(off=payload.index(b'"1.234"') + 1)
    with pytest.raises(_parse.DecodeFailed) as info:
        at(payload)
    assert str(info.value) == message
    c, r = run_both("coinbase", payload, 2, 8)
    assert_same(c, r)


CX_ERRORS = [
    (b'{"product_id":"X"}', "field 'type' missing"),
    (b'{"type":1}', "field 'type' has the wrong type (expected string)"),
    (b'{"type":"snapshot","product_id":"X","bids":[]}', "field 'asks' missing"),
    (b'{"type":"snapshot","bids":[],"asks":[]}', "field 'product_id' missing"),
    (b'{"type":"l2update","product_id":"X","changes":[]}', "field 'time' missing"),
    (b'{"type":"l2update","product_id":"X","time":"2019-08-14T20:42:27.265Z"}',
     "field 'changes' missing"),
    (b'{"type":"l2update","product_id":"X","changes":[["bid","1","2"]],'
     b'"time":"2019-08-14T20:42:27.265Z"}', "change side is not 'buy' or 'sell'"),
    (b'{"type":"l2update","product_id":"X","changes":[["buy","1"]],'
     b'"time":"2019-08-14T20:42:27.265Z"}',
     "field 'changes' has the wrong type (expected [side, price, size] string triples)"),
    (b'{"type":"l2update","product_id":"X","changes":[["buy","1","2","3"]],'
     b'"time":"2019-08-14T20:42:27.265Z"}',
     "field 'changes' has the wrong type (expected [side, price, size] string triples)"),
    (b'{"type":"snapshot","product_id":7,"bids":[],"asks":[]}',
     "field 'product_id' has the wrong type (expected string)"),
    (b'{"type":"heartbeat","sequence":"9"}', "field 'sequence' has the wrong type (expected integer)"),
    (b'{"type":"snapshot","product_id":"X","bids":[["1","2"]],"asks":[["1","x"]]}',
     "size at byte 69: 'x' is not a plain decimal (expected digits, optionally '.' and more digits)"),
]


@pytest.mark.parametrize(("payload", "message"), CX_ERRORS)
def test_exchange_errors(payload: bytes, message: str) -> None:
    with pytest.raises(_parse.DecodeFailed) as info:
        cx(payload)
    assert str(info.value) == message
    c, r = run_both("coinbase-exchange", payload, 2, 8)
    assert_same(c, r)


@pytest.mark.parametrize(("venue", "payload"), [("coinbase", AT), ("coinbase-exchange", CX_UPDATE),
                                               ("coinbase-exchange", CX_SNAPSHOT)])
def test_truncated_at_every_offset(venue: str, payload: bytes) -> None:
    for k in range(len(payload)):
        with pytest.raises(_parse.DecodeFailed, match=r"^(truncated|malformed) JSON"):
            _parse.decode_message(venue, payload[:k], 2, 8)


def test_no_at_snapshot_decoder() -> None:
    with pytest.raises(ValueError, match="no snapshot decoder"):
        _parse.decode_message("coinbase", AT, 2, 8, snapshot=True)


# ---------------------------------------------------------------------------------------
# The update fast path (Coinbase's own field order, no whitespace, decimals pre-parsed while
# scanning): must give exactly the general decoder's results.
# ---------------------------------------------------------------------------------------

TS = "2023-02-09T20:32:50.714964855Z"


def at_compact(updates: list[tuple[str, str, str, str]], kind: str = "update") -> bytes:
    ups = [{"side": s, "event_time": t, "price_level": p, "new_quantity": q}
           for s, t, p, q in updates]
    env = {"channel": "l2_data", "client_id": "", "timestamp": TS, "sequence_num": 3,
           "events": [{"type": kind, "product_id": "BTC-USD", "updates": ups}]}
    return json.dumps(env, separators=(",", ":")).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["bid", "offer", "ask", "bidx"]),
                          st.sampled_from([TS, "2023-02-09T20:32:50Z", "bad", ""]),
                          odd_decimals, odd_decimals), max_size=5),
       st.integers(0, 18), st.integers(0, 18))
def test_at_fast_path_matches_reference(updates: list[tuple[str, str, str, str]], pd: int,
                                        sd: int) -> None:
    c, r = run_both("coinbase", at_compact(updates), pd, sd)
    assert_same(c, r)


def test_at_fast_path_same_as_general_path() -> None:
    ups = [("bid", "2023-02-09T20:32:50Z", "21921.73", "0.06317902"),
           ("offer", TS, "21921.74", "0"), ("bid", "bad", "1", "12345678.12345678")]
    fast = at_compact(ups)
    general = fast.replace(b'"price_level":', b'"price_level": ')
    assert at(fast) == at(general)
    out = at(fast)
    assert out["segments"][0]["event_time_ns"] == T0
    assert out["segments"][0]["levels"] == [("bid", 2192173, 6317902), ("ask", 2192174, 0),
                                            ("bid", 100, 1234567812345678)]
    bad_first = at_compact([("bid", "bad", "1", "1"), *ups])
    c, r = run_both("coinbase", bad_first, 2, 8)
    assert isinstance(c, _parse.DecodeFailed) and "event_time" in str(c)
    assert_same(c, r)


def test_at_fast_path_truncated_at_every_offset() -> None:
    payload = at_compact([("bid", TS, "21921.73", "0.06317902"), ("offer", TS, "5", "0.1")])
    for cut in range(len(payload)):
        c, r = run_both("coinbase", payload[:cut], 2, 8)
        assert_same(c, r)


def raw(payload: bytes, fast: bool, pd: int = 2, sd: int = 8) -> tuple[Any, ...]:
    return _parse._decode_raw("coinbase", payload, pd, sd, fast=fast)


def assert_fast_same(payload: bytes, pd: int = 2, sd: int = 8) -> tuple[Any, ...]:
    """The fast path's contract: the same whole batch as the general decoder alone."""
    a = raw(payload, True, pd, sd)
    assert a == raw(payload, False, pd, sd), payload
    return a


# The envelope in Coinbase's layout, with and without client_id (the production feed omits
# it), several events, a run of updates whose event_time repeats or changes mid-run.
FAST_CASES = [
    AT,
    AT.replace(b'"client_id":"",', b""),
    at_compact([("bid", TS, "21921.73", "0.06317902")] * 30 + [("offer", TS, "21921.74", "0")]),
    at_compact([("bid", TS, "1", "2"), ("offer", "2023-02-09T20:32:50.7Z", "3", "4"),
                ("bid", TS, "5", "6"), ("bid", TS[:-2] + "6Z", "7", "8")], kind="snapshot"),
    at_compact([("bid", TS, "1", "2"), ("offer", "bad", "3", "4"), ("bid", TS, "5", "6")]),
    at_compact([("bid", TS[:-2] + "6Z", str(k), "1") for k in range(1, 6)]),   # not the envelope's
    at_compact([("bid", "bad", "1", "2"), ("offer", TS, "3", "4")]),
    at_compact([("bid", TS, "1", "2"), ("ask", TS, "3", "4"), ("bid", TS, "5", "6")]),
    at_compact([("bid", TS, "1e5", "2"), ("offer", TS, "123456789.123456789", "-4")]),
    at_compact([("bid", TS, "1", "2")]).replace(b'"sequence_num":3', b'"sequence_num":0'),
    at_compact([("bid", TS, "1", "2")]).replace(b'"sequence_num":3',
                                                b'"sequence_num":4611686018427387904'),
    at_compact([("bid", TS, "1", "2")]).replace(b'"sequence_num":3',
                                                b'"sequence_num":4611686018427387905'),
    at_compact([("bid", TS, "1", "2")]).replace(b'"sequence_num":3', b'"sequence_num":03'),
    at_compact([("bid", TS, "1", "2")]).replace(b'"timestamp":"' + TS.encode(),
                                                b'"timestamp":"bad'),
    at_compact([("bid", TS, "1", "2")]).replace(b'BTC-USD', b'BTC\\u002dUSD'),
    at_compact([("bid", TS, "1", "2")]) + b" ",
    at_compact([("bid", TS, "1", "2")]) + b"}",
    at_compact([("bid", TS, "1", "2"), ("offer", TS, "3", "4")]).replace(b"},{", b"}, {"),
    at_compact([("bid", TS, "1", "2"), ("offer", TS, "3", "4")]).replace(b'"}]}]}', b'"},]}]}'),
    at_compact([("bid", TS, "1", "2"), ("offer", TS[:-1] + "\\", "3", "4"), ("bid", TS, "5", "6")]),
]


@pytest.mark.parametrize("payload", FAST_CASES)
def test_at_fast_path_whole_batch_same_as_general(payload: bytes) -> None:
    assert_fast_same(payload)
    assert_fast_same(payload, 8, 8)


def test_at_fast_path_decodes_the_usual_layout() -> None:
    # the comparison above must not be vacuous: these decode, with the levels expected
    out = assert_fast_same(FAST_CASES[3])
    assert out[0] == 0 and out[3] == 3            # DEC_OK, sequence_num
    (_, _, _, start, count, ev_ns), (rc, _, vals) = out[10]
    assert (start, count, ev_ns, rc) == (0, 4, T0 + 714964855, 0)
    assert vals == [(100, 200000000), (300, 400000000), (500, 600000000), (700, 800000000)]
    assert [lv[0] for lv in out[11]] == [0, 1, 0, 0]      # bid, ask (offer), bid, bid
    past = next(c for c in FAST_CASES if b"4611686018427387905" in c)
    assert raw(past, True)[7] != 0                # sequence_num past 2**62: rejected


def test_at_fast_path_whole_batch_truncated_at_every_offset() -> None:
    payload = at_compact([("bid", TS, "21921.73", "0.06317902"), ("offer", TS, "5", "0.1")])
    for cut in range(len(payload) + 1):
        assert_fast_same(payload[:cut])


def test_at_fast_path_differential_fuzz_smoke() -> None:
    from benches import fuzz_fast
    r = fuzz_fast.fuzz(3000, seed=5)
    assert r["findings"] == 0, r["examples"][:3]
    assert r["decoded"] > 300           # a good share gets through: the fast path is exercised


# issue 17: strict JSON (both decoders must agree; None = decodes, equal to the reference)
STRICT_AT = [
    (_at(sequence_num=-1), "field 'sequence_num' out of range"),
    (_at(sequence_num=2**63 - 1), "field 'sequence_num' out of range"),
    (AT.replace(b'"type":"update"', b'"type":"upd\\u0061te"'), None),
    (AT.replace(b'"side":"bid"', b'"side":"b\\u0069d"'), None),
    (AT.replace(b'"product_id":"BTC-USD"', b'"product_id":"BTC\\u002dUSD"'),
     "'product_id' contains an escape"),
    (AT.replace(b'"product_id":"BTC-USD"', b'"product_id":"BTC\x80USD"'),
     "'product_id' is not valid UTF-8"),
    (AT.replace(b'"client_id":""', b'"client_id":"\xff"'), None),
    (b'{"type":"error","message":"x","type":"other","sequence_num":4}', "duplicate field"),
    # issue 17: any key repeated, known or not, at every level the decoder reads
    (AT.replace(b'"client_id":""', b'"client_id":"","client_\\u0069d":""'), "duplicate field"),
    (AT.replace(b'"type":"update"', b'"x":1,"type":"update","x":[]'), "duplicate field"),
    (AT.replace(b'"price_level":"21921.73"',
                b'"\\u00fc":1,"price_level":"21921.73","\xc3\xbc":2'), "duplicate field"),
    (b'{"type":"error","message":"x","message":"y"}', "duplicate field"),
    (AT.replace(b'"type":"update"', b'"x":1,"type":"update","y":[]'), None),
]
STRICT_CX = [
    (CX_SNAPSHOT[:-1] + b',"changes":[["buy","10200.00","1"]]}', "does not belong to a snapshot"),
    (CX_UPDATE[:-1] + b',"bids":[["10200.00","1"]]}', "do not belong to an l2update"),
    (CX_UPDATE.replace(b'"type":"l2update"', b'"type":"l\\u0032update"'), None),
    (CX_UPDATE.replace(b'"product_id":"BTC-USD"', b'"product_id":"BTC\\u002dUSD"'),
     "'product_id' contains an escape"),
    (b'{"type":"\xc0\xafx"}', "'type' is not valid UTF-8"),
    # issue 17: any key repeated, known or not
    (CX_UPDATE[:-1] + b',"trade_id":1,"trade_\\u0069d":2}', "duplicate field"),
    (b'{"type":"subscriptions","channels":[],"channels":[]}', "duplicate field"),
    (CX_UPDATE[:-1] + b',"trade_id":1,"trade_ids":2}', None),
]


@pytest.mark.parametrize(("venue", "payload", "message"),
                         [("coinbase", p, m) for p, m in STRICT_AT]
                         + [("coinbase-exchange", p, m) for p, m in STRICT_CX])
def test_strict_json(venue: str, payload: bytes, message: str | None) -> None:
    if message is None:
        out = _parse.decode_message(venue, payload, 2, 8)
        assert out == ref.decode_message(venue, payload, 2, 8)
        assert out["kind"] == "depth" and out["segments"][0]["levels"]
        return
    with pytest.raises(_parse.DecodeFailed, match=message):
        _parse.decode_message(venue, payload, 2, 8)
    with pytest.raises(ref.DecodeFailed, match=message):
        ref.decode_message(venue, payload, 2, 8)
