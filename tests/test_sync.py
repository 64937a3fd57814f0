"""The compiled sequencer against the plain reference of the docs/venues.md rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fastfeed._sync import Sequencer
from fastfeed.reference.sync import ReferenceSequencer

RULES = ("binance-spot", "binance-usdm", "bybit")

event = st.tuples(st.integers(0, 60), st.integers(0, 8), st.integers(-1, 60))


@settings(max_examples=2000, deadline=None)
@given(rule=st.sampled_from(RULES), snapshot_id=st.integers(0, 40),
       first_buffered=st.one_of(st.none(), st.integers(0, 50)),
       events=st.lists(event, max_size=30))
def test_sequencer_matches_reference(rule, snapshot_id, first_buffered, events):
    seq = Sequencer(rule)
    ref = ReferenceSequencer(rule)
    if first_buffered is not None:
        seq.buffered_py(first_buffered)
    ok = seq.snapshot_loaded_py(snapshot_id)
    assert ok == ref.load_snapshot(snapshot_id, first_buffered)
    if not ok:
        assert seq.state_name == "syncing"
        return
    assert seq.state_name == "live"
    for start, length, prev in events:
        first, last = start, start + length
        verdict = seq.check_py(first, last, prev)
        assert verdict == ref.verdict(first, last, prev), (first, last, prev, ref.book_id)
        if verdict == "apply":
            seq.applied_py(last)
            ref.apply(last)
        assert seq.book_id == ref.book_id


def test_spot_rules_by_example():
    seq = Sequencer("binance-spot")
    assert seq.check_py(5, 9) == "buffer"           # not live: buffer
    seq.buffered_py(5)
    assert not seq.snapshot_loaded_py(3)            # 3 + 1 < 5: snapshot too old
    assert seq.snapshot_loaded_py(7)
    assert seq.check_py(1, 7) == "old"              # u <= id
    assert seq.check_py(5, 9) == "apply"            # U <= id + 1 <= u
    seq.applied_py(9)
    assert seq.check_py(10, 12) == "apply"
    assert seq.check_py(11, 12) == "gap"            # U > id + 1


def test_usdm_rules_by_example():
    seq = Sequencer("binance-usdm")
    assert seq.snapshot_loaded_py(100)
    assert seq.check_py(90, 99, 89) == "old"        # u < lastUpdateId
    assert seq.check_py(101, 105, 99) == "gap"      # first must have U <= id <= u
    assert seq.check_py(101, 105, 100) == "apply"   # ...or continue exactly (pu == id)
    assert seq.check_py(95, 100, 94) == "apply"     # u == lastUpdateId is kept
    seq.applied_py(100)
    assert seq.check_py(101, 110, 100) == "apply"   # pu == previous u
    seq.applied_py(110)
    assert seq.check_py(120, 130, 115) == "gap"     # pu chain broken
    assert seq.check_py(101, 110, 100) == "old"     # duplicate


def test_restart_and_names():
    seq = Sequencer("binance-spot")
    seq.snapshot_loaded_py(1)
    seq.restart_py("gap")
    assert seq.state_name == "gap"
    assert seq.book_id == -1
    assert seq.check_py(2, 3) == "buffer"


def test_unknown_rule_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="unknown sequencing rule"):
        Sequencer("kraken")


# OKX (docs/venues.md, "OKX"): ids may go backwards, -1 = no seqId (an old recording)
okx_event = st.tuples(st.integers(-1, 12), st.integers(-1, 12))


@settings(max_examples=2000, deadline=None)
@given(snapshot_id=st.integers(-1, 12), events=st.lists(okx_event, max_size=30))
def test_okx_chain_matches_reference(snapshot_id, events):
    seq = Sequencer("okx")
    ref = ReferenceSequencer("okx")
    seq.buffered_py(50)     # in-band snapshots are never too old
    assert seq.snapshot_loaded_py(snapshot_id) and ref.load_snapshot(snapshot_id, None)
    for prev, last in events:
        if last == -1:
            prev = -1       # the decoder gives both or neither
        verdict = seq.check_py(last, last, prev)
        assert verdict == ref.verdict(last, last, prev), (prev, last, ref.book_id)
        if verdict == "apply":
            seq.applied_py(last)
            ref.apply(last)
        assert seq.book_id == ref.book_id


def test_okx_chain_rules():
    seq = Sequencer("okx")
    seq.snapshot_loaded_py(100)
    assert seq.check_py(101, 101, 100) == "apply"       # prevSeqId == last seqId
    seq.applied_py(101)
    assert seq.check_py(101, 101, 101) == "apply"       # idle keep-alive: seqId == prevSeqId
    assert seq.check_py(7, 7, 101) == "apply"           # seqId back after maintenance, chained
    seq.applied_py(7)
    assert seq.check_py(9, 9, 8) == "gap"               # chain broken
    assert seq.check_py(7, 7, 6) == "gap"               # a duplicate breaks it too
    assert seq.check_py(-1, -1, -1) == "apply"          # no seqId: unchecked...
    seq.applied_py(-1)
    assert seq.book_id == -1 and seq.check_py(5, 5, 3) == "apply"   # ...and the check is off
    seq.applied_py(5)
    assert seq.check_py(6, 6, 4) == "gap"               # back on from the next seqId
