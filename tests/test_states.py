"""The book-state machine of docs/states.md: one transition function, illegal moves refused."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fastfeed import BookFeed
from fastfeed._sync import STATE_NAMES, InvalidTransition, Sequencer

# docs/states.md, written out independently of the compiled table.
ALLOWED = {
    "syncing": {"syncing", "live", "stale", "closed"},
    "live": {"syncing", "live", "gap", "stale", "closed"},
    "gap": {"syncing", "live", "stale", "closed"},
    "stale": {"syncing", "live", "stale", "closed"},
    "closed": {"closed"},
}


@pytest.mark.parametrize("source", STATE_NAMES)
@pytest.mark.parametrize("target", STATE_NAMES)
def test_transition_table_is_the_documented_one(source, target):
    assert Sequencer.allowed_py(source, target) == (target in ALLOWED[source])


def _sequencer_in(state: str) -> Sequencer:
    seq = Sequencer("binance-spot")
    path = {"syncing": [], "live": ["live"], "gap": ["live", "gap"], "stale": ["stale"],
            "closed": ["closed"]}[state]
    for step in path:
        if step == "live":
            assert seq.snapshot_loaded_py(10)
        else:
            seq.restart_py(step)
    assert seq.state_name == state
    return seq


@pytest.mark.parametrize("source", STATE_NAMES)
@pytest.mark.parametrize("target", [s for s in STATE_NAMES if s != "live"])
def test_restart_obeys_the_table(source, target):
    seq = _sequencer_in(source)
    if target in ALLOWED[source]:
        seq.restart_py(target)
        assert seq.state_name == target
    else:
        with pytest.raises(InvalidTransition, match=f"{source} -> {target}"):
            seq.restart_py(target)
        assert seq.state_name == source     # refused: nothing changed


def test_a_closed_book_stays_closed():
    feed = BookFeed("binance", "BTCUSDT", "0.01", "0.00001", strict=False)
    feed.close()
    with pytest.raises(InvalidTransition):
        feed.apply_snapshot(b'{"lastUpdateId":5,"bids":[],"asks":[]}')
    with pytest.raises(InvalidTransition):
        feed.start_sync()
    assert feed.state == "closed"
    # payloads are ignored, not errors
    assert feed.apply_message(b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":6,"u":6,'
                              b'"b":[["1.00","1"]],"a":[]}') == 0
    assert feed.state == "closed"


def test_state_is_not_writable_from_python():
    seq = Sequencer("binance-spot")
    with pytest.raises(AttributeError):
        seq.state = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        seq.first_buffered_id = 3  # type: ignore[misc]


def test_engine_wiring_is_not_writable():
    """Assigning the old hook names fails loudly instead of silently doing nothing."""
    from fastfeed.engine import LiveBook
    from fastfeed.venues import Instrument

    feed = BookFeed("binance", "BTCUSDT", "0.01", "0.00001")
    book = LiveBook("binance", "BTCUSDT", Instrument("BTCUSDT", "0.01", "0.00001"))
    for obj in (feed, book):
        for name in ("on_gap", "on_reject", "_owner"):
            with pytest.raises(AttributeError):
                setattr(obj, name, print)
    book.callback = print       # the user's callback stays public
    assert book.callback is print


def test_python_dash_m_fastfeed_works():
    proc = subprocess.run([sys.executable, "-m", "fastfeed", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout and "simulate" in proc.stdout
