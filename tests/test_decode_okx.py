"""OKX books decoder: compiled vs reference (hypothesis), examples and rejects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastfeed import _parse
from test_decode_binance import SETTINGS, Raw, assert_same, decimal_strings, json_object, run_both

SNAP = (b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":'
        b'[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085",'
        b'"checksum":0,"prevSeqId":-1,"seqId":123456}]}')


def test_snapshot_example() -> None:
    out = _parse.decode_message("okx", SNAP, 2, 0)
    assert (out["kind"], out["first_id"], out["last_id"], out["prev_id"]) == ("snapshot", 123456, 123456, -1)
    assert out["segments"][0]["levels"] == [("ask", 847698, 415), ("bid", 847697, 256)]
    assert out["event_time_ns"] == 1597026383085 * 10**6
    c, r = run_both("okx", SNAP, 2, 0)
    assert_same(c, r)


@pytest.mark.parametrize(("payload", "kind"), [
    (b"pong", "control"),
    (b'{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a"}', "control"),
    (b'{"event":"error","code":"60018","msg":"x","connId":"a"}', "venue_error"),
    (b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"1"}]}', "ignored"),
    (SNAP.replace(b',"prevSeqId":-1,"seqId":123456', b""), "snapshot"),
])
def test_non_book_and_unchained(payload: bytes, kind: str) -> None:
    c, r = run_both("okx", payload, 2, 0)
    assert_same(c, r)
    assert c["kind"] == kind and c["last_id"] == -1


ERRORS = [
    (SNAP.replace(b'"0","13"', b'"0"'), "field 'asks' has the wrong type"),
    (SNAP.replace(b',"seqId":123456', b""), "field 'seqId' missing"),
    (SNAP.replace(b'"prevSeqId":-1,', b""), "field 'prevSeqId' missing"),
    (SNAP.replace(b'"ts":"1597026383085",', b""), "field 'ts' missing"),
    (SNAP.replace(b'"ts":"1597026383085"', b'"ts":1597026383085'), "field 'ts' has the wrong type"),
    (SNAP.replace(b'"snapshot"', b'"partial"'), "field 'action' is not 'snapshot' or 'update'"),
    (SNAP.replace(b'"prevSeqId":-1', b'"prevSeqId":-2'), "field 'prevSeqId' out of range"),
    (SNAP.replace(b'"seqId":123456', b'"seqId":"1"'), "field 'seqId' has the wrong type"),
    (SNAP.replace(b'"instId":"BTC-USDT"', b'"instId":7'), "field 'instId' has the wrong type"),
    (SNAP.replace(b'}]}', b'},{}]}'), "field 'data' has the wrong type"),
    (SNAP.replace(b'"arg":{"channel":"books","instId":"BTC-USDT"},', b""), "field 'arg' missing"),
    (SNAP.replace(b'"8476.98"', b'"8476.9x"'), "is not a plain decimal"),
    (SNAP.replace(b'"asks"', b'"bids"'), "duplicate field"),
    (SNAP[:-3], "truncated JSON"),
]


@pytest.mark.parametrize(("payload", "message"), ERRORS)
def test_rejects(payload: bytes, message: str) -> None:
    with pytest.raises(_parse.DecodeFailed, match=message.replace("(", r"\(")):
        _parse.decode_message("okx", payload, 2, 0)
    c, r = run_both("okx", payload, 2, 0)
    assert_same(c, r)


@st.composite
def okx_messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    pd = draw(st.integers(0, 8))
    sd = draw(st.integers(0, 8))

    def levels() -> list[object]:
        out: list[object] = []
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.integers(0, 15)) == 0:       # a wrong shape now and then
                out.append([draw(decimal_strings(pd)), draw(decimal_strings(sd))])
            else:
                out.append([draw(decimal_strings(pd)), draw(decimal_strings(sd)), "0",
                            str(draw(st.integers(0, 50)))])
        return out

    book: list[tuple[str, object]] = [("asks", levels()), ("bids", levels()),
                                      ("ts", draw(st.sampled_from(["1597026383085", "0", "x", 5]))),
                                      ("checksum", 0)]
    if draw(st.integers(0, 5)):
        book += [("prevSeqId", draw(st.integers(-2, 2**62))), ("seqId", draw(st.integers(-1, 2**62 + 1)))]
    elems = [Raw(draw(json_object(book, unknown=False))) for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2])))]
    arg = Raw(draw(json_object([("channel", draw(st.sampled_from(["books", "books", "trades"]))),
                                ("instId", draw(st.sampled_from(["BTC-USDT", "ETH-USDT-SWAP"])))],
                               unknown=False)))
    top: list[tuple[str, object]] = [("arg", arg), ("action", draw(st.sampled_from(["snapshot", "update", "x"]))),
                                     ("data", elems)]
    return draw(json_object(top)).encode(), pd, sd


@SETTINGS
@given(okx_messages())
def test_matches_reference(case: tuple[bytes, int, int]) -> None:
    payload, pd, sd = case
    c, r = run_both("okx", payload, pd, sd)
    assert_same(c, r)


def test_truncated_at_every_offset() -> None:
    for k in range(len(SNAP)):
        c, r = run_both("okx", SNAP[:k], 2, 0)
        assert_same(c, r)
        assert isinstance(c, _parse.DecodeFailed)
