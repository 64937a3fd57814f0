"""The recorder and the replay in-process (docs/recording.md): a recording written by hand
from workload payloads replays to the book ``BookFeed.apply_message`` builds from the same
payloads; the compiled walk and the pure-Python reading agree; a writer that cannot keep
up loses chunks that are counted exactly and that the replay reports."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastfeed import Engine
from fastfeed._record import FRAME, RecordBuffer, replay_records
from fastfeed.bench.workload import make_workload, record_workload
from fastfeed.feed import BookFeed
from fastfeed.recorder import Recorder
from fastfeed.recording import Recording, iter_records, split_meta
from fastfeed.replay import Replay, book_json
from fastfeed.trades import TradeFeed

CASES = [("binance", "BTCUSDT"), ("binance-usdm", "BTCUSDT"), ("coinbase", "BTC-USD")]


def feed_of(w):
    return BookFeed(w.venue, w.symbol, w.tick_size, w.step_size, strict=False,
                    book_latency="off")


def applied(w):
    book = feed_of(w)
    if w.snapshot is not None:
        book.apply_snapshot(w.snapshot)
    for m in list(w.prelude) + list(w.messages):
        book.apply_message(m)
    return book


@pytest.mark.parametrize("venue,symbol", CASES)
def test_replay_builds_the_book_apply_message_builds(tmp_path, venue, symbol):
    w = make_workload(venue, symbol, messages=600)
    path = str(tmp_path / "w.ffrec")
    rec, frames = record_workload(w, path, chunk_bytes=64 << 10)
    rec.close()
    with Recording(path) as recording:
        assert recording.complete and len(recording.chunks) > 3    # several chunks
        replay = Replay(recording).run()
    expected = applied(w)
    got = replay.books[(venue, symbol)]
    assert book_json(got) == book_json(expected)
    assert got.messages == expected.messages and got.state == expected.state == "live"
    assert replay.frames == frames and not replay.problems
    assert replay.stats()["apply_ns"]["p50"] > 0


def test_compiled_walk_and_python_reading_agree(tmp_path):
    w = make_workload("coinbase", "BTC-USD", messages=200)
    path = str(tmp_path / "w.ffrec")
    rec, _ = record_workload(w, path, chunk_bytes=16 << 10)
    rec.close()
    with Recording(path) as recording:
        for _info, raw in recording.chunk_raws():
            seen: list[tuple] = []
            end = replay_records(raw, 0, [], lambda k, f, c, t, data, s, n, out=seen:
                                 out.append((k, f, c, t, bytes(data[s:s + n]))))
            assert end == (len(raw), 0, 0)
            assert seen == [tuple(r) for r in iter_records(raw)]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2, 3, 4]), st.integers(0, 2**32 - 1),
                          st.integers(-2**63, 2**63 - 1), st.binary(max_size=300)),
                max_size=40),
       st.integers(0, 2**63 - 1))
def test_walker_stops_before_the_first_record_past_until(entries, until):
    buf = RecordBuffer(4096, None)
    for kind, conn, t, body in entries:
        buf.add(kind, conn, t, b'{"x":1}', body)
    taken = buf.take()
    if taken is None:
        return
    raw = bytes(taken[0])
    seen = []
    offset, frames, _ = replay_records(raw, 0, [], lambda *a: seen.append(a[3]), 0, until)
    expected = []
    for r in iter_records(raw):
        if r.t_ns > until:
            break
        expected.append(r.t_ns)
    assert seen == expected and frames == 0
    assert (offset == len(raw)) == (len(expected) == len(entries))


def test_frames_route_by_connection_and_unknown_connections_are_counted(tmp_path):
    w = make_workload("binance", "BTCUSDT", messages=50)
    path = str(tmp_path / "w.ffrec")
    rec, frames = record_workload(w, path)
    rec.buffer.add_frame_bytes(9, 10**9, w.messages[0])     # a connection never opened
    rec.close()
    replay = Replay(path).run()
    assert replay.frames == frames and replay.unrouted_frames == 1


def test_a_writer_that_cannot_keep_up_drops_whole_chunks_counted_exactly(tmp_path):
    w = make_workload("binance", "BTCUSDT", messages=300)
    path = str(tmp_path / "burst.ffrec")
    gate = threading.Event()        # the writer takes nothing until it is set
    trades = TradeFeed("binance", "BTCUSDT", w.tick_size, w.step_size)

    def at_middle(rec):
        rec.declare(trades, "trades", venue="binance", symbol="BTCUSDT",
                    tick_size=w.tick_size, step_size=w.step_size, stream="aggTrade",
                    capacity=100)
        gate.set()

    rec, frames = record_workload(w, path, chunk_bytes=8 << 10, max_pending_chunks=2,
                                  _test_gate=gate)
    at_middle(rec)
    rec.close()
    st_ = rec.stats()
    assert st_["dropped_chunks"] > 0 and st_["dropped_frames"] > 0
    with Recording(path) as recording:
        written = sum(c.frames for c in recording.chunks)
        dropped_events = [split_meta(r.payload)[0] for _i, r in recording.records()
                          if r.kind != FRAME and split_meta(r.payload)[0].get("event") == "dropped"]
        replay = Replay(recording).run()
    # every frame is either in the file or counted as dropped, and the file says so
    assert written + st_["dropped_frames"] == frames
    assert replay.frames == written
    assert dropped_events and dropped_events[-1]["frames"] == st_["dropped_frames"]
    assert any("dropped" in p for p in replay.problems)
    # the lost stretch makes the replayed book untrustworthy, as a lost connection would
    assert replay.books[("binance", "BTCUSDT")].state == "stale"
    # the declarations were repeated after the drop: the stream declared late is there
    assert ("binance", "BTCUSDT") in replay.trades


def test_a_damaged_chunk_in_the_middle_replays_the_rest_and_marks_the_books(tmp_path):
    w = make_workload("binance", "BTCUSDT", messages=400)
    path = str(tmp_path / "w.ffrec")
    rec, _ = record_workload(w, path, chunk_bytes=16 << 10)
    rec.close()
    with Recording(path) as recording:
        victim = recording.chunks[len(recording.chunks) // 2]
    with open(path, "r+b") as f:           # flip one byte of that chunk's body
        f.seek(victim.offset + 64 + victim.comp_len // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))
    with Recording(path) as recording:
        replay = Replay(recording).run()
        assert any(f"chunk {victim.number}" in str(p) for p in recording.problems)
    assert any(f"chunks {victim.number}..{victim.number}" in p for p in replay.problems)
    assert replay.books[("binance", "BTCUSDT")].state == "stale"
    assert replay.frames > 0


def test_an_unwritable_path_fails_at_once_with_the_reason(tmp_path):
    with pytest.raises(OSError):
        Recorder(str(tmp_path / "no" / "such" / "dir" / "x.ffrec"))
    with pytest.raises(OSError):
        Engine(record=str(tmp_path / "missing-dir" / "x.ffrec"))


def test_an_operation_this_replay_cannot_perform_is_a_problem_not_a_crash(tmp_path):
    w = make_workload("binance", "BTCUSDT", messages=50)
    path = str(tmp_path / "odd.ffrec")
    rec, frames = record_workload(w, path)
    rec.op("connect", conn=7)                       # no venue: cannot open a router
    book = next(iter(rec._objects))
    rec.op("replace_levels", book, body=b"[not json")
    rec.close()
    replay = Replay(path).run()
    assert replay.frames == frames
    assert sum("not performed" in p for p in replay.problems) == 2, replay.problems
    assert replay.books[("binance", "BTCUSDT")].state == "live"


def test_declarations_larger_than_a_chunk_after_a_drop_do_not_recurse(tmp_path):
    path = str(tmp_path / "many.ffrec")
    gate = threading.Event()        # the writer takes nothing: every later chunk drops
    rec = Recorder(path, chunk_bytes=4096, max_pending_chunks=1, _test_gate=gate)
    feeds = [BookFeed("binance", f"S{i}USDT", "0.01", "0.001") for i in range(200)]
    for f in feeds:                 # ~30 KB of declarations: several chunks' worth
        rec.declare(f, "book", venue="binance", symbol=f.symbol, tick_size="0.01",
                    step_size="0.001")
    for i in range(50):
        rec.buffer.add_frame_bytes(1, i, b"x" * 1000)
    assert rec.stats()["dropped_chunks"] > 0
    gate.set()
    rec.close()
    with Recording(path) as recording:
        assert recording.complete
        assert len(recording.declarations()) == 200
