"""Kraken v2 book decoder and exact JSON numbers: compiled vs reference, rejects, checksum."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastfeed import _parse
from fastfeed.feed import BookFeed
from fastfeed.reference import decimal as refdec
from fastfeed.reference import decode as ref
from test_decode_binance import SETTINGS, assert_same, run_both

SNAP = (b'{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":['
        b'{"price":45283.5,"qty":0.1},{"price":45283.4,"qty":5.1e-05}],"asks":['
        b'{"price":45285.2,"qty":0.001}],"checksum":3310070434,'
        b'"timestamp":"2023-10-06T17:35:55.440295Z"}]}')


def test_snapshot_example_exact_with_exponent() -> None:
    out = _parse.decode_message("kraken", SNAP, 1, 8)
    assert out["kind"] == "snapshot"
    assert out["prev_id"] == 3310070434          # the checksum travels in prev_id
    seg = out["segments"][0]
    assert seg["symbol"] == "BTC/USD"
    assert seg["levels"] == [("bid", 452835, 10000000), ("bid", 452834, 5100),
                             ("ask", 452852, 100000)]
    assert ref.decode_message("kraken", SNAP, 1, 8) == out


@pytest.mark.parametrize(("payload", "kind"), [
    (b'{"channel":"heartbeat"}', "heartbeat"),
    (b'{"channel":"status","type":"update","data":[{"system":"online","version":"2.0.0",'
     b'"api_version":"v2","connection_id":18446744073709551615}]}', "control"),
    (b'{"method":"subscribe","result":{"channel":"book","symbol":"BTC/USD","depth":25},'
     b'"success":true,"time_in":"x","time_out":"y"}', "control"),
    (b'{"method":"pong","req_id":101}', "control"),
    (b'{"method":"subscribe","success":false,"error":"Currency pair not supported"}',
     "venue_error"),
    (b'{"Error":"Exceeded msg rate"}', "venue_error"),
    (b'{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[]}}', "ignored"),
    (b'{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","price":1.5,'
     b'"qty":2,"side":"buy","trade_id":7}]}', "ignored"),
])
def test_other_messages(payload: bytes, kind: str) -> None:
    c, r = run_both("kraken", payload, 1, 8)
    assert c["kind"] == kind and c["segments"] == []
    assert_same(c, r)


@pytest.mark.parametrize(("payload", "message"), [
    (b'{"type":"update"}', "field 'channel' missing"),
    (b'{"channel":"book","data":[]}', "field 'type' missing"),
    (b'{"channel":"book","type":"delta","data":[]}',
     "book message type is not 'snapshot' or 'update'"),
    (b'{"channel":"book","type":"update"}', "field 'data' missing"),
    (b'{"channel":"book","type":"update","data":[]}',
     "a book message must carry exactly one entry in 'data'"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1},'
     b'{"symbol":"C/D","checksum":2}]}',
     "a book message must carry exactly one entry in 'data'"),
    (b'{"channel":"book","type":"update","data":[{"checksum":1,"bids":[]}]}',
     "field 'symbol' missing"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","bids":[]}]}',
     "field 'checksum' missing"),
    (b'{"channel":"book","type":"snapshot","data":[{"symbol":"A/B","bids":[],"checksum":1}]}',
     "field 'bids'/'asks' missing"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
     b'"bids":[{"price":"1.5","qty":1}]}]}', "field 'price' has the wrong type (expected number)"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
     b'"bids":[{"price":1.5}]}]}', "a level lacks 'price' or 'qty'"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
     b'"bids":[{"price":1.5,"qty":1,"x":0}]}]}',
     "a level has an unknown field (expected price and qty)"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":4294967296}]}',
     "field 'checksum' out of range (unsigned 32-bit)"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1.5}]}',
     "field 'checksum' has the wrong type (expected integer)"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
     b'"timestamp":"yesterday"}]}', "field 'timestamp' is not an RFC 3339 timestamp"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
     b'"bids":[{"price":-1.5,"qty":1}]}]}',
     "price: '-1.5' has a sign; prices and sizes are unsigned decimals"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
     b'"bids":[{"price":1.5,"qty":1e-9}]}]}',
     "size: '1e-9' has more decimals than the scale allows (8)"),
    (b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
     b'"bids":[{"price":1.5,"qty":1e30}]}]}',
     "size: '1e30' does not fit a 64-bit integer at 8 decimals"),
])
def test_rejects(payload: bytes, message: str) -> None:
    c, r = run_both("kraken", payload, 1, 8)
    assert isinstance(r, ref.DecodeFailed) and str(r) == message
    assert_same(c, r)


def test_duplicates_and_malformed() -> None:
    for payload in (
        b'{"channel":"book","channel":"book"}',
        b'{"channel":"book","type":"update","data":[{"symbol":"A/B","symbol":"A/B"}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
        b'"bids":[{"price":1,"price":2,"qty":1}]}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"A/B","checksum":1,'
        b'"bids":[{"price":01,"qty":1}]}]}',
        b'{"channel":"book"',
    ):
        c, r = run_both("kraken", payload, 1, 8)
        assert isinstance(c, _parse.DecodeFailed)
        assert_same(c, r)


# ---- exact JSON numbers (parse/decimal.pxi parse_number) ----

numbers = st.one_of(
    st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?\Z"),
    st.from_regex(r"\A[-+.0-9eE]{1,10}\Z"),
)


@SETTINGS
@given(numbers, st.integers(0, 18))
def test_parse_number_matches_reference(text: str, decimals: int) -> None:
    code, value = refdec.number_code(text, decimals)
    try:
        got = _parse.parse_number_py(text, decimals)
    except ValueError as exc:
        assert code != refdec.DECIMAL_OK, (text, exc)
        assert str(exc) == refdec.decimal_error_message(code, text, decimals)
    else:
        assert code == refdec.DECIMAL_OK and got == value, (text, got, value)
        assert Decimal(text).scaleb(decimals) == got      # exact, never through float


def test_parse_number_examples() -> None:
    assert _parse.parse_number_py("5.1e-05", 8) == 5100
    assert _parse.parse_number_py("5.1E-5", 7) == 510
    assert _parse.parse_number_py("1.5e3", 0) == 1500
    assert _parse.parse_number_py("1200e-2", 0) == 12
    assert _parse.parse_number_py("0.000e+400", 2) == 0
    assert _parse.parse_number_py("45283.5", 1) == 452835
    with pytest.raises(ValueError, match="more decimals than the scale allows"):
        _parse.parse_number_py("5.1e-05", 5)
    # plain decimals (strings from other venues) still refuse an exponent
    with pytest.raises(ValueError, match="uses an exponent"):
        _parse.parse_decimal_py("5.1e-05", 8)


# ---- property: random book messages, compiled vs reference ----

def _num(draw: st.DrawFn, decimals: int) -> str:
    v = draw(st.integers(0, 10**12))
    text = format(Decimal(v).scaleb(-decimals), "f")
    if draw(st.booleans()):
        text = format(Decimal(v).scaleb(-decimals), "e")     # exponent form
    return text


@st.composite
def book_messages(draw: st.DrawFn) -> bytes:
    levels = []
    for _ in range(draw(st.integers(0, 6))):
        lv = f'{{"price":{_num(draw, draw(st.integers(0, 4)))},"qty":{_num(draw, draw(st.integers(0, 10)))}}}'
        levels.append(lv)
    k = draw(st.integers(0, len(levels)))
    typ = draw(st.sampled_from(["snapshot", "update"]))
    fields = [f'"symbol":"{draw(st.sampled_from(["BTC/USD", "ETH/USD"]))}"',
              f'"bids":[{",".join(levels[:k])}]', f'"asks":[{",".join(levels[k:])}]',
              f'"checksum":{draw(st.integers(0, 2**32 - 1))}',
              '"timestamp":"2023-10-06T17:35:55.440295Z"']
    fields = draw(st.permutations(fields))
    top = ['"channel":"book"', f'"type":"{typ}"', f'"data":[{{{",".join(fields)}}}]']
    return ("{" + ",".join(draw(st.permutations(top))) + "}").encode()


@SETTINGS
@given(book_messages(), st.integers(0, 8), st.integers(0, 12), st.data())
def test_book_messages_match_reference(payload: bytes, pd: int, sd: int,
                                       data: st.DataObject) -> None:
    if data.draw(st.booleans()):   # a corrupted byte: both must agree on the outcome
        i = data.draw(st.integers(0, len(payload) - 1))
        payload = payload[:i] + bytes([data.draw(st.integers(32, 126))]) + payload[i + 1:]
    c, r = run_both("kraken", payload, pd, sd)
    assert_same(c, r)


# ---- the checksum (compiled in _core, twin in reference.decode) ----

def _book_msg(typ: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]],
              checksum: int) -> bytes:
    def lv(xs: list[tuple[str, str]]) -> str:
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in xs)
    return (f'{{"channel":"book","type":"{typ}","data":[{{"symbol":"BTC/USD",'
            f'"bids":[{lv(bids)}],"asks":[{lv(asks)}],"checksum":{checksum}}}]}}').encode()


def _doc_crc(bids: list[tuple[str, str]], asks: list[tuple[str, str]], pp: int, qp: int) -> int:
    # the documented recipe on the decimal texts: fixed precision, point removed,
    # leading zeros stripped, asks best first then bids best first
    def f(t: str, prec: int) -> str:
        return format(Decimal(t), f".{prec}f").replace(".", "").lstrip("0")
    a = sorted(asks, key=lambda x: Decimal(x[0]))[:10]
    b = sorted(bids, key=lambda x: -Decimal(x[0]))[:10]
    return zlib.crc32("".join(f(p, pp) + f(q, qp) for p, q in a + b).encode())


def test_checksum_verified_and_mismatch_marks_gap() -> None:
    bids = [(f"{45000 - i}.{i % 10}", f"0.{i + 1:08d}") for i in range(30)]
    asks = [(f"{45100 + i}.{i % 10}", f"{i + 1}.5e-03") for i in range(30)]
    feed = BookFeed("kraken", "BTC/USD", "0.1", "0.00000001", strict=False)
    crc = _doc_crc(bids[:25], asks[:25], 1, 8)
    feed.apply_message(_book_msg("snapshot", bids[:25], asks[:25], crc))
    assert feed.state == "live" and feed.checksum_mismatches == 0
    assert feed.checksum() == crc
    # an update pushing a level out of the top 25: truncated, no delete needed
    new_bid = ("45000.5", "1")
    book_bids = sorted([*bids[:25], new_bid], key=lambda x: -Decimal(x[0]))[:25]
    crc2 = _doc_crc(book_bids, asks[:25], 1, 8)
    feed.apply_message(_book_msg("update", [new_bid], [], crc2))
    assert feed.state == "live" and len(feed.book.bids(100)) == 25
    assert feed.checksum() == ref.kraken_checksum(
        [(int(Decimal(p) * 10), int(Decimal(q) * 10**8)) for p, q in asks[:25]],
        [(int(Decimal(p) * 10), int(Decimal(q) * 10**8)) for p, q in book_bids], 1, 8, 1, 8)
    # a wrong checksum: this book turns gap
    feed.apply_message(_book_msg("update", [("45000.5", "2")], [], crc2))
    assert feed.state == "gap" and feed.checksum_mismatches == 1
    # a fresh in-band snapshot makes it live again
    feed.apply_message(_book_msg("snapshot", bids[:25], asks[:25], crc))
    assert feed.state == "live"


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 10**9), st.integers(1, 10**12)), max_size=30,
                unique_by=lambda x: x[0]),
       st.integers(0, 6), st.integers(0, 10), st.integers(0, 6), st.integers(0, 10))
def test_checksum_matches_twin(levels: list[tuple[int, int]], pd: int, sd: int, pp: int,
                               qp: int) -> None:
    feed = BookFeed("kraken", "X/Y", format(Decimal(1).scaleb(-pd), "f"),
                    format(Decimal(1).scaleb(-sd), "f"), strict=False)
    feed.set_checksum_precisions(min(pp, pd), min(qp, sd))   # coarser or equal: no overflow
    pp, qp = min(pp, pd), min(qp, sd)
    mid = len(levels) // 2
    ordered = sorted(levels)
    bids, asks = ordered[:mid], ordered[mid:]
    feed.replace_levels(bids, asks)
    assert feed.checksum() == ref.kraken_checksum(asks, bids, pd, sd, pp, qp)


def test_instrument_message_gives_scales_and_precisions() -> None:
    from fastfeed.venues.kraken import parse_instruments
    msg = {"channel": "instrument", "type": "snapshot", "data": {"assets": [], "pairs": [
        {"symbol": "BTC/USD", "base": "BTC", "quote": "USD", "status": "online",
         "qty_precision": 8, "qty_increment": 0.00000001, "qty_min": 0.0001,
         "price_precision": 1, "price_increment": 0.1, "cost_precision": 5}]}}
    body = json.dumps(msg).replace("1e-08", "0.00000001")
    info = parse_instruments(body)["BTC/USD"]
    assert (info.tick_size, info.step_size) == ("0.1", "0.00000001")
    assert (info.price_precision, info.qty_precision) == (1, 8)
