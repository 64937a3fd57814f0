"""Binance decoders: compiled vs reference on generated messages, plus an error table.

The generators and comparison helpers here are shared with ``test_decode_coinbase.py``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed import _benchkit, _parse
from fastfeed.feed import instrument_scales
from fastfeed.reference import decode as ref

_AT_BYTE = re.compile(r" at byte \d+")

# JSON values for unknown fields: every type, nested, strings with quotes, backslashes,
# non-ASCII and control characters (escaped by json.dumps, \u00e9 when ensure_ascii).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab"\\/é\n\t\u2028€{}[],:'), max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(alphabet='xyz"\\é', max_size=4), children, max_size=3),
    max_leaves=8,
)
whitespace = st.text(alphabet=" \t\r\n", max_size=2)


@st.composite
def json_text(draw: st.DrawFn, value: Any) -> str:
    """Serialise with random whitespace and escaping (value may be a Raw)."""
    if isinstance(value, Raw):
        return value.text
    ascii_ = draw(st.booleans())
    ws = draw(whitespace)
    if isinstance(value, list):
        parts = [draw(json_text(v)) for v in value]
        return "[" + ws + ("," + ws).join(parts) + ws + "]"
    if isinstance(value, dict):
        items = [json.dumps(k, ensure_ascii=ascii_) + ws + ":" + ws + draw(json_text(v))
                 for k, v in value.items()]
        return "{" + ws + ("," + ws).join(items) + ws + "}"
    return json.dumps(value, ensure_ascii=ascii_)


class Raw:
    """Pre-serialised JSON text (for values json.dumps cannot produce, e.g. odd shapes)."""

    def __init__(self, text: str) -> None:
        self.text = text


@st.composite
def json_object(draw: st.DrawFn, fields: list[tuple[str, Any]], shuffle: bool = True,
                unknown: bool = True) -> str:
    """An object from (key, value) pairs in random order, with unknown members mixed in."""
    pairs = list(fields)
    if unknown:     # distinct keys: a repeated one rejects the message (test_unknown_keys_*)
        for key in draw(st.lists(st.sampled_from(["x", "extra", "m", "ü\"q", "ts", "bb", "ee"]),
                                 max_size=3, unique=True)):
            pairs.append((key, draw(json_values)))
    if shuffle:
        pairs = draw(st.permutations(pairs))
    ws = [draw(whitespace) for _ in range(4)]
    items = [
        ws[0] + json.dumps(k) + ws[1] + ":" + ws[2] + draw(json_text(v)) + ws[3]
        for k, v in pairs
    ]
    return "{" + ",".join(items) + "}"


@st.composite
def decimal_strings(draw: st.DrawFn, decimals: int, width: int = 8) -> str:
    """Mostly exact at `decimals` (printed with `width` decimals), sometimes too precise."""
    int_part = str(draw(st.integers(0, 10**7)))
    if draw(st.integers(0, 19)) == 0:
        frac = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=1, max_size=10)))
    else:
        frac = "".join(draw(st.lists(st.sampled_from("0123456789"),
                                     min_size=min(decimals, width), max_size=min(decimals, width))))
        frac = frac.ljust(width, "0")
    return f"{int_part}.{frac}" if frac else int_part


def run_both(venue: str, payload: bytes, pd: int, sd: int, tick: int = 1, step: int = 1,
             snapshot: bool = False) -> tuple[Any, Any]:
    """(compiled result or exception, reference result or exception)."""
    out: list[Any] = []
    for fn in (_parse.decode_message, ref.decode_message):
        try:
            out.append(fn(venue, payload, pd, sd, tick, step, snapshot=snapshot))
        except ValueError as exc:
            out.append(exc)
    return out[0], out[1]


def assert_same(c: Any, r: Any) -> None:
    """Both succeed with equal output, or both fail with the same reason."""
    if isinstance(r, Exception) or isinstance(c, Exception):
        assert isinstance(c, _parse.DecodeFailed), f"compiled succeeded: {c!r}; reference: {r}"
        assert isinstance(r, ref.DecodeFailed), f"reference succeeded: {r!r}; compiled: {c}"
        cm, rm = _AT_BYTE.sub("", str(c)), str(r)
        if rm.startswith("malformed JSON"):
            assert cm.startswith(("malformed JSON", "truncated JSON")), (cm, rm)
        else:
            assert cm == rm
    else:
        assert c == r


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SPOT = (b'{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,'
        b'"b":[["0.00240000","10.00000000"]],"a":[["0.00260000","100.00000000"]]}')
USDM = (b'{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,'
        b'"pu":149,"b":[["25000.10","0.010"]],"a":[["25000.20","1.500"]]}')
COMBINED = b'{"stream":"bnbbtc@depth@100ms","data":' + SPOT + b"}"
SNAPSHOT = (b'{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],'
            b'"asks":[["4.00000200","12.00000000"]]}')
USDM_SNAPSHOT = (b'{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,'
                 b'"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}')


def decode(payload: bytes, pd: int = 8, sd: int = 8, **kw: object) -> dict:
    return _parse.decode_message("binance", payload, pd, sd, **kw)  # type: ignore[arg-type]


def test_spot_example() -> None:
    out = decode(SPOT)
    assert out == {
        "kind": "depth", "first_id": 157, "last_id": 160, "prev_id": -1,
        "event_time_ns": 1672515782136 * 10**6, "txn_time_ns": 0,
        "segments": [{
            "symbol": "BNBBTC", "kind": "update", "event_time_ns": 1672515782136 * 10**6,
            "levels": [("bid", 240000, 1000000000), ("ask", 260000, 10000000000)],
            "off_grid": 0,
        }],
    }
    assert decode(COMBINED) == out
    assert ref.decode_message("binance", SPOT, 8, 8) == out


def test_usdm_example() -> None:
    out = _parse.decode_message("binance-usdm", USDM, 2, 3)
    assert (out["first_id"], out["last_id"], out["prev_id"]) == (157, 160, 149)
    assert out["txn_time_ns"] == 123456788 * 10**6
    assert out["segments"][0]["levels"] == [("bid", 2500010, 10), ("ask", 2500020, 1500)]


def test_snapshot_examples() -> None:
    out = decode(SNAPSHOT, snapshot=True)
    assert out["kind"] == "snapshot" and out["last_id"] == 1027024
    assert out["segments"] == [{"symbol": None, "kind": "snapshot", "event_time_ns": 0,
                                "levels": [("bid", 400000000, 43100000000),
                                           ("ask", 400000200, 1200000000)], "off_grid": 0}]
    out = _parse.decode_message("binance-usdm", USDM_SNAPSHOT, 8, 8, snapshot=True)
    assert out["event_time_ns"] == 1589436922972 * 10**6
    assert out["txn_time_ns"] == 1589436922959 * 10**6


@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"result":null,"id":1}', "control"),
    (b'{"id":7,"result":["btcusdt@depth"]}', "control"),
    (b'{"code":2,"msg":"Invalid request: unknown variable","id":1}', "venue_error"),
    (b'{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100"}', "ignored"),
    (b'{"e":"trade","E":"odd","b":5}', "ignored"),  # not ours: its fields are not checked
    (b'{"stream":"bnbbtc@trade","data":{"e":"trade","E":1}}', "ignored"),
])
def test_non_depth_messages(payload: bytes, kind: str) -> None:
    out = decode(payload)
    assert out["kind"] == kind and out["segments"] == []
    assert ref.decode_message("binance", payload, 8, 8)["kind"] == kind


def test_snapshot_error_body() -> None:
    body = b'{"code":-1121,"msg":"Invalid symbol."}'
    assert decode(body, snapshot=True)["kind"] == "venue_error"


def test_off_grid_levels_are_kept_and_counted() -> None:
    # docs/venues.md#instrument-scales: a value that is not a multiple of the tick/step is
    # converted exactly and counted per level (price, size or both off: one level)
    msg = (b'{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,'
           b'"b":[["100.5","2.000"],["100.0","1.000"]],"a":[["101.7","0.003"]]}')

    def seg(**kw: object) -> tuple[list, int]:
        out = decode(msg, 1, 3, **kw)["segments"][0]
        return out["levels"], out["off_grid"]

    levels = [("bid", 1005, 2000), ("bid", 1000, 1000), ("ask", 1017, 3)]
    assert seg() == (levels, 0)
    assert seg(price_tick=5, size_step=1000) == (levels, 1)     # 101.7 and 0.003: one level
    assert seg(price_tick=10) == (levels, 2)                     # 100.5, 101.7
    assert seg(size_step=3) == (levels, 2)                       # 2.000, 1.000 (not 0.003)
    assert seg(price_tick=10, size_step=1000) == (levels, 2)     # 100.5; 101.7 with 0.003


def test_real_off_grid_values_at_the_binance_scale() -> None:
    # values seen in real snapshots, at the books' scale (8 decimals) and real increments
    cases = [
        ("binance", b'"bids":[["6.89300000","12.00000000"],["6.89000000","1.00000000"]]',
         10**6, 1, [689300000, 689000000]),                      # BUSDTRY tick 0.01
        ("binance", b'"bids":[["0.07400000","11979.30000000"]]',
         10**3, 10**8, [7400000]),                               # NKNUSDT step 1
        ("binance-usdm", b'"bids":[["0.50579","100"],["0.50500","7"]]',
         10**5, 10**8, [50579000, 50500000]),                    # CTKUSDT tick 0.001
    ]
    for venue, bids, tick, step, prices in cases:
        body = b'{"lastUpdateId":5,' + bids + b',"asks":[]}'
        c, r = run_both(venue, body, 8, 8, tick, step, snapshot=True)
        assert_same(c, r)
        assert [p for _, p, _ in c["segments"][0]["levels"]] == prices
        assert c["segments"][0]["off_grid"] == 1


@st.composite
def depth_events(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    levels = st.lists(st.tuples(decimal_strings(pd), decimal_strings(sd)).map(list), max_size=6)
    usdm = draw(st.booleans())
    fields: list[tuple[str, object]] = [
        ("e", "depthUpdate"),
        ("E", draw(st.integers(0, 2**43))),
        ("s", draw(st.sampled_from(["BTCUSDT", "BNBBTC", "1000SATSUSDT", ""]))),
        ("U", draw(st.integers(0, 2**63 - 1))),
        ("u", draw(st.integers(0, 2**63 - 1))),
        ("b", draw(levels)),
        ("a", draw(levels)),
    ]
    if usdm:
        fields += [("T", draw(st.integers(0, 2**43))), ("pu", draw(st.integers(-1, 2**62)))]
    text = draw(json_object(fields))
    if draw(st.booleans()):
        stream = json.dumps("btcusdt@depth@100ms")
        parts = [f'"stream":{stream}', f'"data":{text}']
        if draw(st.booleans()):
            parts.reverse()
        text = "{" + ",".join(parts) + "}"
    return text.encode(), pd, sd


@SETTINGS
@given(depth_events())
def test_depth_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("binance", payload, pd, sd)
    assert_same(c, r)


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    """Valid-looking events with one field dropped, retyped or made odd."""
    fields: list[tuple[str, object]] = [
        ("e", "depthUpdate"), ("E", 1672515782136), ("s", "BNBBTC"), ("U", 157), ("u", 160),
        ("b", [["0.0024", "10"]]), ("a", [["0.0026", "100"]]), ("pu", 149), ("T", 5),
    ]
    i = draw(st.integers(0, len(fields) - 1))
    key = fields[i][0]
    odd: Any = draw(st.sampled_from([
        None, "str", 1.5, -1, 2**63, -(2**63) - 1, True, [], {}, [["1"]], [["1", "2", "3"]],
        [[1, "2"]], ["1", "2"], [["1", "2"], 5], 9223372036855, "DROP",
    ]))
    if odd == "DROP":
        del fields[i]
    else:
        fields[i] = (key, odd)
    return draw(json_object(fields, unknown=draw(st.booleans()))).encode()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_mutated_fields_match_reference(payload: bytes) -> None:
    c, r = run_both("binance-usdm", payload, 4, 0)
    assert_same(c, r)


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))
    levels = st.lists(st.tuples(decimal_strings(pd), decimal_strings(sd)).map(list), max_size=8)
    fields: list[tuple[str, object]] = [
        ("lastUpdateId", draw(st.integers(0, 2**63 - 1))),
        ("bids", draw(levels)),
        ("asks", draw(levels)),
    ]
    if draw(st.booleans()):
        fields += [("E", draw(st.integers(0, 2**43))), ("T", draw(st.integers(0, 2**43)))]
    return draw(json_object(fields)).encode(), pd, sd


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_snapshot_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("binance", payload, pd, sd, snapshot=True)
    assert_same(c, r)


@pytest.mark.parametrize("payload", [SPOT, USDM, COMBINED,
                                     COMBINED.replace(b":", b" : ").replace(b",", b" ,\n")])
def test_truncated_at_every_offset(payload: bytes) -> None:
    for k in range(len(payload)):
        with pytest.raises(_parse.DecodeFailed, match=r"^(truncated|malformed) JSON"):
            decode(payload[:k], 8, 8)


@pytest.mark.parametrize("payload", [SNAPSHOT, USDM_SNAPSHOT])
def test_truncated_snapshot_at_every_offset(payload: bytes) -> None:
    for k in range(len(payload)):
        with pytest.raises(_parse.DecodeFailed):
            decode(payload[:k], 8, 8, snapshot=True)


def _ev(**over: object) -> bytes:
    base: dict[str, object] = {"e": "depthUpdate", "E": 1, "s": "X", "U": 1, "u": 2,
                               "b": [["1.5", "2"]], "a": []}
    for k, v in over.items():
        if v is ...:
            del base[k]
        else:
            base[k] = v
    return json.dumps(base, separators=(",", ":")).encode()


ERRORS = [
    (b"", "truncated JSON at byte 0"),
    (b"[]", "malformed JSON at byte 0"),
    (b'{"e":"depthUpdate",}', "malformed JSON at byte 19 (expected a key)"),
    (b'{"e":"depthUpdate" "E":1}', "malformed JSON at byte 19"),
    (b'{"e":"depthUpdate"}x', "malformed JSON at byte 19 (extra data after the JSON value)"),
    (b'{"e":"depth\x01Update"}', "malformed JSON at byte 11 (control character in string)"),
    (b'{"e":"\\x"}', "malformed JSON at byte 7 (bad escape)"),
    (b'{"e":"\\u12g4"}', "malformed JSON at byte 10 (bad \\u escape)"),
    (b'{"x":01}', "malformed JSON at byte 6"),
    (b'{"x":1.}', "malformed JSON at byte 7"),
    (b'{"x":tru}', "malformed JSON at byte 5"),
    (b'{"x":NaN}', "malformed JSON at byte 5"),
    (b'{"u":-}', "malformed JSON at byte 6"),
    (b'{"e":"depthUpdate","e":"x"}', "malformed JSON at byte 23 (duplicate field)"),
    (b'{"x":' + b"[" * 65 + b"]" * 65 + b"}", "malformed JSON at byte 69 (nesting too deep)"),
    (b'{"e":"depthUpdate"', "truncated JSON at byte 18"),
    (b'{"e":"depthUp', "truncated JSON at byte 13"),
    (_ev(u=...), "field 'u' missing"),
    (_ev(E=...), "field 'E' missing"),
    (_ev(b=...), "field 'b' missing"),
    (_ev(e=...), "field 'e' missing"),
    (_ev(u="160"), "field 'u' has the wrong type (expected integer)"),
    (_ev(u=1.0), "field 'u' has the wrong type (expected integer)"),
    (_ev(u=True), "field 'u' has the wrong type (expected integer)"),
    (_ev(u=2**63), "field 'u' out of range"),
    (_ev(U=-(2**63) - 1), "field 'U' out of range"),
    (_ev(E=9223372036855), "field 'E' out of range"),
    (_ev(pu="x"), "field 'pu' has the wrong type (expected integer)"),
    (_ev(e=5), "field 'e' has the wrong type (expected string)"),
    (_ev(s=None), "field 's' has the wrong type (expected string)"),
    (_ev(b={}), "field 'b' has the wrong type (expected [price, size] string pairs)"),
    (_ev(b=[["1", "2", "3"]]), "field 'b' has the wrong type (expected [price, size] string pairs)"),
    (_ev(a=[["1"]]), "field 'a' has the wrong type (expected [price, size] string pairs)"),
    (_ev(a=[[1, "2"]]), "field 'a' has the wrong type (expected [price, size] string pairs)"),
    (_ev(b=[["1.234", "2"]]), "price at byte 52: '1.234' has more decimals than the scale allows (2)"),
    (_ev(b=[["1.5", "-2"]]), "size at byte 58: '-2' has a sign; prices and sizes are unsigned decimals"),
    (_ev(b=[["1e5", "2"]]), "price at byte 52: '1e5' uses an exponent; only plain decimals are accepted"),
    (_ev(b=[["", "2"]]), "price at byte 52: empty string is not a decimal"),
    (_ev(b=[["99999999999999999999", "2"]]),
     "price at byte 52: '99999999999999999999' does not fit a 64-bit integer at 2 decimals"),
    (b'{"stream":"x","data":[1]}', "field 'data' has the wrong type (expected object)"),
    (b'{"stream":"x","data":{"e":"depthUpdate"}}', "field 'E' missing"),
    (b'{"x":1}', "field 'e' missing"),
]


@pytest.mark.parametrize(("payload", "message"), ERRORS)
def test_errors(payload: bytes, message: str) -> None:
    with pytest.raises(_parse.DecodeFailed) as info:
        decode(payload, 2, 0)
    assert str(info.value) == message
    with pytest.raises(ref.DecodeFailed):
        ref.decode_message("binance", payload, 2, 0)


SNAP_ERRORS = [
    (b'{"bids":[],"asks":[]}', "field 'lastUpdateId' missing"),
    (b'{"lastUpdateId":1,"asks":[]}', "field 'bids' missing"),
    (b'{"lastUpdateId":"1","bids":[],"asks":[]}',
     "field 'lastUpdateId' has the wrong type (expected integer)"),
    (b'{"lastUpdateId":1,"bids":[["1","2"],["3"]],"asks":[]}',
     "field 'bids' has the wrong type (expected [price, size] string pairs)"),
    (b'{"lastUpdateId":1,"bids":[],"asks":[],"E":1e3}',
     "field 'E' has the wrong type (expected integer)"),
]


@pytest.mark.parametrize(("payload", "message"), SNAP_ERRORS)
def test_snapshot_errors(payload: bytes, message: str) -> None:
    with pytest.raises(_parse.DecodeFailed) as info:
        decode(payload, 2, 0, snapshot=True)
    assert str(info.value) == message
    c, r = run_both("binance", payload, 2, 0, snapshot=True)
    assert_same(c, r)


def test_big_snapshot() -> None:
    bids = [[f"{100000 - i}.00000000", "1.00000000"] for i in range(5000)]
    asks = [[f"{100001 + i}.00000000", "2.50000000"] for i in range(5000)]
    body = json.dumps({"lastUpdateId": 5, "bids": bids, "asks": asks}).encode()
    out = decode(body, 2, 8, snapshot=True)
    levels = out["segments"][0]["levels"]
    assert len(levels) == 10000
    assert levels[0] == ("bid", 10000000, 100000000)
    assert levels[-1] == ("ask", 10500000, 250000000)


def test_deep_nesting_within_limit_is_skipped() -> None:
    payload = _ev(x=json.loads("[" * 60 + "]" * 60))
    assert decode(payload, 2, 0)["kind"] == "depth"


def test_escaped_unknown_strings_are_skipped() -> None:
    payload = SPOT[:-1] + b',"note":"say \\"hi\\" \\\\ caf\\u00e9 \\/ \\n","z":[{"\\"":[]}]}'
    assert decode(payload)["last_id"] == 160
    assert ref.decode_message("binance", payload, 8, 8) == decode(payload)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown venue"):
        _parse.decode_message("nowhere", SPOT, 8, 8)
    with pytest.raises(ValueError, match="price_decimals must be in"):
        _parse.decode_message("binance", SPOT, 19, 8)
    with pytest.raises(ValueError, match=">= 1"):
        _parse.decode_message("binance", SPOT, 8, 8, price_tick=0)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_never_crashes(data: st.DataObject) -> None:
    payload = bytearray(data.draw(st.sampled_from([SPOT, USDM, COMBINED, SNAPSHOT])))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    for snap in (False, True):
        try:
            decode(bytes(payload), 8, 8, snapshot=snap)
        except _parse.DecodeFailed:
            pass


def test_bench_decode_runs() -> None:
    assert _benchkit.bench_decode("binance", SPOT, 10, 8, 8) >= 0


# ---------------------------------------------------------------------------------------
# The fast path: Binance's own field order and spacing (memcmp on key literals, level
# decimals pre-parsed while scanning). Must give exactly the general decoder's results.
# ---------------------------------------------------------------------------------------

# Level strings of every shape the pre-parse meets: 1..10 integer digits (leading zeros
# too), 0..18 fraction digits, trailing zeros, and texts it must leave to parse_decimal.
odd_decimals = st.one_of(
    st.builds(lambda i, f: f"{i}.{f}" if f else i,
              st.text("0123456789", min_size=1, max_size=10),
              st.text("0123456789", max_size=18)),
    st.sampled_from(["0", "0.0", "0.00000000", "5.", ".5", "", "1e-5", "-1.0", "+1", "1.2.3",
                     "1 ", "99999999.99999999", "100000000.00000000", "12345678.9",
                     "0.000000001", "9223372036854775807", "92233720368.54775808",
                     "1x", "1.5x", "00000000000000000001.5"]),
)


def compact_event(bids: list[list[str]], asks: list[list[str]], usdm: bool = False,
                  combined: bool = False) -> bytes:
    ev: dict[str, Any] = {"e": "depthUpdate", "E": 1764000000500}
    if usdm:
        ev["T"] = 1764000000499
    ev.update({"s": "BTCUSDT", "U": 6855506, "u": 6855525})
    if usdm:
        ev["pu"] = 6855505
    ev.update({"b": bids, "a": asks})
    text = json.dumps(ev, separators=(",", ":"))
    if combined:
        text = '{"stream":"btcusdt@depth@100ms","data":' + text + "}"
    return text.encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(odd_decimals, odd_decimals).map(list), max_size=5),
       st.lists(st.tuples(odd_decimals, odd_decimals).map(list), max_size=5),
       st.booleans(), st.booleans(), st.integers(0, 18), st.integers(0, 18))
def test_fast_path_decimals_match_reference(bids: list[list[str]], asks: list[list[str]],
                                            usdm: bool, combined: bool, pd: int,
                                            sd: int) -> None:
    payload = compact_event(bids, asks, usdm, combined)
    c, r = run_both("binance", payload, pd, sd)
    assert_same(c, r)


@pytest.mark.parametrize("usdm", [False, True])
@pytest.mark.parametrize("combined", [False, True])
def test_fast_path_same_as_general_path(usdm: bool, combined: bool) -> None:
    # the same event with a space added (general path) decodes identically
    levels = [["97250.01000000", "0.16313000"], ["97249.99", "0"], ["1", "12345678.12345678"]]
    fast = compact_event(levels, levels[::-1], usdm, combined)
    general = fast.replace(b'"U":', b'"U": ')
    out = decode(fast, 2, 8)
    assert out == decode(general, 2, 8)
    assert out["segments"][0]["levels"][:2] == [("bid", 9725001, 16313000), ("bid", 9724999, 0)]
    assert out["prev_id"] == (6855505 if usdm else -1)
    assert out["txn_time_ns"] == (1764000000499_000000 if usdm else 0)


@pytest.mark.parametrize("edit", [
    (b'"E":1764000000500', b'"E":01764000000500'),        # leading zero: malformed
    (b'"E":1764000000500', b'"E":-1'),                    # general path accepts
    (b'"U":6855506', b'"U":1234567890123456789'),         # 19 digits: general path
    (b'"E":1764000000500', b'"E":9223372036855'),          # ms -> ns overflow
    (b'"e":"depthUpdate"', b'"e":"trade"'),
    (b'"b":[', b'"x":1,"b":['),
    (b'"0.16313000"]', b'"0.16313000","x"]'),
    (b'}', b'} '),
])
def test_fast_path_deviations_match_reference(edit: tuple[bytes, bytes]) -> None:
    payload = compact_event([["97250.01000000", "0.16313000"]], [["97250.02", "1"]])
    old, new = edit
    assert old in payload
    payload = payload.replace(old, new, 1) if old != b"}" else payload[:-1] + new
    c, r = run_both("binance", payload, 2, 8)
    assert_same(c, r)


def test_fast_path_truncated_at_every_offset() -> None:
    payload = compact_event([["97250.01000000", "0.16313000"], ["5", "0.1"]],
                            [["97250.02", "1"]], usdm=True, combined=True)
    for cut in range(len(payload)):
        c, r = run_both("binance", payload[:cut], 2, 8)
        assert_same(c, r)


def test_fast_path_scale_changes_between_conversions() -> None:
    # the same bytes converted at different scales (pre-parse is scale-free)
    payload = compact_event([["97250.01000000", "0.16313000"]], [["0.00000001", "10"]])
    assert decode(payload, 8, 5)["segments"][0]["levels"] == [
        ("bid", 9725001000000, 16313), ("ask", 1, 1000000)]
    for pd, sd in ((2, 5), (8, 8), (18, 18), (0, 0)):
        c, r = run_both("binance", payload, pd, sd)
        assert_same(c, r)


def test_fast_path_escaped_symbol_left_to_general_path() -> None:
    payload = compact_event([["97250.01000000", "0.16313000"]], [])
    escaped = payload.replace(b'"s":"BTCUSDT"', b'"s":"BTC\\u0055SDT"')
    # issue 17: an escaped symbol is rejected (routing compares raw bytes), on both paths
    for p in (escaped, escaped.replace(b'"U":', b'"U": ')):
        with pytest.raises(_parse.DecodeFailed, match="'s' contains an escape"):
            decode(p)
        with pytest.raises(ref.DecodeFailed, match="'s' contains an escape"):
            ref.decode_message("binance", p, 8, 8)


# issue 17: strict JSON. Each case: (payload, decoder kwargs, expected message or None for
# "decodes, and equals the reference"); both decoders must agree.
_EV = compact_event([["97250.01000000", "0.16313000"]], [])
STRICT_CASES = [
    # keys at their level: arrays next to "data" are not the event's
    (b'{"stream":"btcusdt@depth@100ms","b":[["1.00000000","1.00000000"]],"data":' + _EV + b"}",
     {}, "next to 'data'"),
    (b'{"stream":"btcusdt@depth@100ms","data":' + _EV + b',"U":5}', {}, "next to 'data'"),
    # escapes in keys and names are decoded
    (_EV.replace(b'"e":"depthUpdate"', b'"e":"depth\\u0055pdate"'), {}, None),
    (_EV.replace(b'"U":', b'"\\u0055":'), {}, None),
    (_EV.replace(b'"b":', b'"\\u0062":'), {}, None),
    (_EV[:-1] + b',"\\u0062":[]}', {}, "duplicate field"),
    # any key repeated, known or not, compared decoded (issue 17)
    (_EV[:-1] + b',"x":1,"x":2}', {}, "duplicate field"),
    (_EV[:-1] + b',"x":1,"\\u0078":[]}', {}, "duplicate field"),
    (_EV[:-1] + b',"\\u00e9":1,"\xc3\xa9":2}', {}, "duplicate field"),
    (_EV[:-1] + b',"\\ud83d\\ude00":1,"\xf0\x9f\x98\x80":2}', {}, "duplicate field"),
    (_EV[:-1] + b',"\\udcff":1,"\xff":2}', {}, "duplicate field"),     # as surrogateescape
    (_EV[:-1] + b',"\\ud83d":1,"\xf0\x9f\x98\x80":2}', {}, None),   # a lone surrogate
    (_EV[:-1] + b',"\xc3\xa9":1,"\\udcc3\\udca9":2}', {}, None),
    (_EV[:-1] + b',"a\\nb":1,"a\\u000Ab":2,"a/":3,"a\\/":4}', {}, "duplicate field"),
    (_EV[:-1] + b',"ab":1,"a\\u0062c":2,"abc\\u0000":3}', {}, None),
    (b'{"result":null,"id":1,"id":2}', {}, "duplicate field"),
    (b'{"code":-1,"msg":"a","code":-2}', {}, "duplicate field"),
    (b'{"stream":"x","data":' + _EV + b',"stream":"y"}', {}, "duplicate field"),
    (b'{"stream":"x","data":' + _EV[:-1] + b',"data":1,"data":2}}', {}, "duplicate field"),
    (b'{"lastUpdateId":5,"bids":[],"asks":[],"s":1,"s":2}', {"snapshot": True},
     "duplicate field"),
    # inside a skipped value nothing is used: validated, not checked
    (_EV[:-1] + b',"x":{"y":1,"y":2}}', {}, None),
    # at most 64 unknown members in one object
    (_EV[:-1] + b"".join(b',"k%d":0' % i for i in range(64)) + b"}", {}, None),
    (_EV[:-1] + b"".join(b',"k%d":0' % i for i in range(65)) + b"}", {},
     "more than 64 unknown fields"),
    (_EV[:-1] + b"".join(b',"k%d":0' % i for i in range(64)) + b',"k0":1}', {},
     "duplicate field"),
    # ids: 0..2**62 and U <= u (issue 17)
    (_EV.replace(b'"U":6855506', b'"U":6855526'), {}, "'U' .first update id. is greater than"),
    (_EV.replace(b'"U":6855506', b'"U": 6855526'), {}, "'U' .first update id. is greater than"),
    (_EV.replace(b'"U":6855506', b'"U":-1'), {}, "field 'U' out of range .expected 0..2"),
    (_EV.replace(b'"u":6855525', b'"u":-1'), {}, "field 'u' out of range"),
    (_EV.replace(b'"u":6855525', b'"u":4611686018427387905'), {}, "field 'u' out of range"),
    (_EV.replace(b'"u":6855525', b'"u":6855525,"pu":-1'), {}, "field 'pu' out of range"),
    (_EV.replace(b'"u":6855525', b'"u":6855525,"pu":4611686018427387905'), {},
     "field 'pu' out of range"),
    (_EV.replace(b'"U":6855506', b'"U":6855525'), {}, None),
    (_EV.replace(b'"U":6855506,"u":6855525',
                 b'"U":0,"u":4611686018427387904,"pu":4611686018427387904'), {}, None),
    (_EV.replace(b'"s":"BTCUSDT"', b'"s":"BTC\\/USDT"'), {}, "'s' contains an escape"),
    # UTF-8 where strings matter; elsewhere ignored like the value it is in
    (_EV.replace(b'"s":"BTCUSDT"', b'"s":"BTC\xffUSDT"'), {}, "'s' is not valid UTF-8"),
    (_EV.replace(b'"s":"BTCUSDT"', b'"s":"BTC\xed\xa0\x80"'), {}, "'s' is not valid UTF-8"),
    (_EV.replace(b'"s":"BTCUSDT"', b'"s":"BTC\xc3\xa9"'), {}, None),
    (_EV[:-1] + b',"x":"\xff\xfe"}', {}, None),
    (_EV.replace(b'"e":"depthUpdate"', b'"e":"tr\xffde"'), {}, "'e' is not valid UTF-8"),
    # absurd snapshot ids
    (b'{"lastUpdateId":-5,"bids":[],"asks":[]}', {"snapshot": True},
     "field 'lastUpdateId' out of range"),
    (b'{"lastUpdateId":9223372036854775807,"bids":[],"asks":[]}', {"snapshot": True},
     "field 'lastUpdateId' out of range"),
    (b'{"lastUpdateId":4611686018427387904,"bids":[],"asks":[]}', {"snapshot": True}, None),
    # a level array under a key the type does not define is ignored, never applied
    (b'{"lastUpdateId":5,"b":[["1.00000000","1.00000000"]],"bids":[],"asks":[]}',
     {"snapshot": True}, None),
]


@pytest.mark.parametrize(("payload", "kw", "message"), STRICT_CASES)
def test_strict_json(payload: bytes, kw: dict, message: str | None) -> None:
    if message is None:
        out = decode(payload, **kw)
        assert out == ref.decode_message("binance", payload, 8, 8, **kw)
        assert out["kind"] in ("depth", "snapshot")
        if b"\\u0062" in payload:
            assert out["segments"][0]["levels"]     # the escaped "b" was applied as b
        return
    with pytest.raises(_parse.DecodeFailed, match=message):
        decode(payload, **kw)
    with pytest.raises(ref.DecodeFailed, match=message):
        ref.decode_message("binance", payload, 8, 8, **kw)


# issue 17: keys compare as JSON means them. A key is a list of "units" (a code point, or
# a byte that is not valid UTF-8); each is written raw or as an escape, at random. Two keys
# written independently must be a duplicate exactly when they mean the same text.
_KEY_UNITS = ["a", "b", "/", "\n", '"', "\\", "\x00", "é", "ü", "€", "😀", "\ud83d", "\ude00",
              "\udcc3", b"\xc3", b"\xa9", b"\xff", b"\xed"]


def _unit_text(draw: st.DrawFn, u: str | bytes) -> bytes:
    """One unit as JSON text: raw or escaped (every form json.loads reads the same way)."""
    if isinstance(u, bytes):                       # an invalid byte: only raw
        return u
    forms = []
    if not ("\ud800" <= u <= "\udfff" or u in '"\\' or u < " "):
        forms.append(u.encode())                   # raw (lone surrogates cannot be)
    units = u.encode("utf-16-be", "surrogatepass")
    hexes = [units[i:i + 2].hex() for i in range(0, len(units), 2)]
    forms.append("".join(f"\\u{h}" for h in hexes).encode())
    forms.append("".join(f"\\u{h.upper()}" for h in hexes).encode())
    short = {"\n": b"\\n", '"': b'\\"', "\\": b"\\\\", "/": b"\\/"}
    if u in short:
        forms.append(short[u])
    return draw(st.sampled_from(forms))


def _meaning(units: list[str | bytes]) -> str:
    """What json.loads reads (after surrogateescape, as the reference twin does): a run of
    raw bytes decodes together; an escaped high surrogate followed by an escaped low one is
    one code point (lone surrogates and invalid bytes are never combined)."""
    parts: list[tuple[bool, str]] = []     # (a code point unit, text)
    run = b""
    for u in units:
        if isinstance(u, bytes):
            run += u
            continue
        if run:
            parts.append((False, run.decode("utf-8", "surrogateescape")))
            run = b""
        parts.append((True, u))
    if run:
        parts.append((False, run.decode("utf-8", "surrogateescape")))
    out = []
    i = 0
    while i < len(parts):
        unit, t = parts[i]
        if (unit and "\ud800" <= t <= "\udbff" and i + 1 < len(parts) and parts[i + 1][0]
                and "\udc00" <= parts[i + 1][1] <= "\udfff"):
            out.append(chr(0x10000 + ((ord(t) - 0xD800) << 10) + (ord(parts[i + 1][1]) - 0xDC00)))
            i += 2
            continue
        out.append(t)
        i += 1
    return "".join(out)


@st.composite
def key_pairs(draw: st.DrawFn) -> tuple[bytes, bytes, bool]:
    a = draw(st.lists(st.sampled_from(_KEY_UNITS), min_size=1, max_size=5))
    b = list(a) if draw(st.booleans()) else draw(st.lists(st.sampled_from(_KEY_UNITS),
                                                          min_size=1, max_size=5))
    ka = b"".join(_unit_text(draw, u) for u in a)
    kb = b"".join(_unit_text(draw, u) for u in b)
    return ka, kb, _meaning(a) == _meaning(b)


@SETTINGS
@given(key_pairs(), st.sampled_from(["event", "combined", "snapshot"]))
def test_unknown_keys_compare_as_json(pair: tuple[bytes, bytes, bool], where: str) -> None:
    ka, kb, same = pair
    extra = b',"x' + ka + b'":1,"x' + kb + b'":[2]'     # "x": never a field the decoder reads
    kw: dict[str, Any] = {}
    if where == "snapshot":
        payload = b'{"lastUpdateId":5,"bids":[],"asks":[]' + extra + b"}"
        kw["snapshot"] = True
    else:
        payload = _EV[:-1] + extra + b"}"
        if where == "combined":
            payload = b'{"stream":"x","data":' + payload + b"}"
    c, r = run_both("binance", payload, 8, 8, snapshot=bool(kw))
    assert_same(c, r)
    if same:
        assert isinstance(c, _parse.DecodeFailed) and "duplicate field" in str(c)
    else:
        assert not isinstance(c, Exception), c


def test_key_pairs_meet_both_outcomes() -> None:
    # the generator above is not vacuous: raw/escaped spellings of one text, and
    # different texts with the same bytes' look-alikes (b"\xc3\xa9" is é, "\udcc3" is not)
    assert _meaning([b"\xc3", b"\xa9"]) == _meaning(["é"])
    assert _meaning([b"\xc3"]) == _meaning(["\udcc3"])
    assert _meaning(["\ud83d", "\ude00"]) == _meaning(["😀"])     # an escaped pair
    assert _meaning(["\ud83d", b"\xed"]) != _meaning(["\ud83d", "\udced"])


# increments in units of the scale: one unit, powers of ten (fast compare) and others
# (modulo), including ones coarser than the whole scale
grid_steps = st.one_of(st.just(1), st.sampled_from([10, 100, 10**3, 10**6, 10**8]),
                       st.sampled_from([2, 5, 25, 50, 250, 10**9, 5 * 10**8, 3]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(odd_decimals, odd_decimals).map(list), max_size=5),
       st.lists(st.tuples(odd_decimals, odd_decimals).map(list), max_size=5),
       st.integers(0, 18), st.integers(0, 18), grid_steps, grid_steps, st.booleans())
def test_grid_matches_reference(bids: list[list[str]], asks: list[list[str]], pd: int,
                                sd: int, tick: int, step: int, general: bool) -> None:
    # the pre-parse path (compact event) and the general path (a space) count the same
    # levels off the grid as the reference's plain modulo
    payload = compact_event(bids, asks)
    if general:
        payload = payload.replace(b'"U":', b'"U": ')
    c, r = run_both("binance", payload, pd, sd, tick, step)
    assert_same(c, r)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.decimals(0, 10**6, places=8), st.decimals(0, 10**4, places=8)),
                max_size=8),
       st.sampled_from(["0.01", "0.00100", "0.5", "1", "0.25", "10", "0.00000001"]),
       st.sampled_from(["0.00001", "1.00000000", "0.002", "5"]))
def test_off_grid_count_matches_decimal(levels: list, tick: str, step: str) -> None:
    # independent of both twins: a level is off the grid when Decimal says price % tick or
    # size % step is not zero; values are exact at 8 decimals
    rows = [[f"{p:.8f}", f"{q:.8f}"] for p, q in levels]
    body = json.dumps({"lastUpdateId": 7, "bids": rows, "asks": []}).encode()
    pd, sd, pt, ss = instrument_scales("binance", tick, step)
    out = _parse.decode_message("binance", body, pd, sd, pt, ss, snapshot=True)["segments"][0]
    want = sum(Decimal(p) % Decimal(tick) != 0 or Decimal(q) % Decimal(step) != 0
               for p, q in rows)
    assert out["off_grid"] == want
    assert [(p, q) for _, p, q in out["levels"]] == [
        (int(Decimal(p).scaleb(8)), int(Decimal(q).scaleb(8))) for p, q in rows]
