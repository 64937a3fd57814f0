"""The recording file layer (fastfeed.recording, docs/recording.md "File layout" and
"Reading a damaged file"): ChunkWriter writes what Recording reads back, iter_records
agrees with the compiled replay_records, and damaged, truncated and SIGKILLed files open
and read every intact chunk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastfeed._record import DECLARE, EVENT, FRAME, LAST_IN_READ, OP, RecordBuffer, replay_records
from fastfeed.recording import (
    CHUNK_HEADER,
    CHUNK_MAGIC,
    FILE_HEADER,
    MAGIC,
    U32,
    ChunkInfo,
    ChunkWriter,
    Record,
    Recording,
    RecordingError,
    _chunk_header,
    iter_records,
    split_meta,
)

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEADER = {"format": "fastfeed-recording", "version": 1, "books": [
    {"id": 0, "kind": "book", "venue": "binance", "symbol": "BTCUSDT"}]}


def _seal(buf: RecordBuffer, writer: ChunkWriter) -> bool:
    taken = buf.take()
    assert taken is not None
    return writer.submit(*taken, wall_ns=time.time_ns(), mono_ns=time.monotonic_ns())


def write_file(path: Path, chunks: int = 3, frames: int = 12) -> None:
    """A closed recording of ``chunks`` chunks (header books [0], DECLAREs 10, 11, ...)."""
    buf = RecordBuffer(4096, lambda: None)
    writer = ChunkWriter(path, HEADER)
    t = 1_000
    for c in range(chunks):
        buf.add(DECLARE, 0, t, json.dumps({"id": 10 + c, "kind": "trades"}).encode())
        for i in range(frames):
            t += 7
            buf.add_frame_bytes(c % 2, t, b'{"u":%d,"c":%d}' % (i, c), last_in_read=i % 3 == 0)
        buf.add(OP, 1, t, b'{"op":"snapshot","id":0}', b'{"lastUpdateId":5}')
        buf.add(EVENT, 0, t + 1, b'{"event":"note"}')
        t += 100
        assert _seal(buf, writer)
    writer.close({"books": [*HEADER["books"], {"id": 10}], "dropped_frames": 0})
    assert writer.error is None


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[bytes], list[ChunkInfo]]:
    """A closed 3-chunk file: its bytes, the raw records of each chunk, its chunk infos."""
    path = tmp_path_factory.mktemp("rec") / "sample.ffr"
    write_file(path)
    with Recording(path) as rec:
        assert rec.complete and rec.problems == []
        raws = [raw for _, raw in rec.chunk_raws()]
        infos = list(rec.chunks)
    return path.read_bytes(), raws, infos


def test_round_trip_records_equal_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "r.ffr"
    buf = RecordBuffer(4096, lambda: None)
    writer = ChunkWriter(path, HEADER, level=5)
    expected: list[list[Record]] = []
    t = 10
    for c in range(4):
        recs = []
        for i in range(30):
            t += 3
            payload = b"msg %d %d" % (c, i)
            buf.add_frame_bytes(2, t, payload, last_in_read=bool(i & 1))
            recs.append(Record(FRAME, LAST_IN_READ if i & 1 else 0, 2, t, payload))
        meta = json.dumps({"op": "mark_stale", "id": 0, "reason": "x"}).encode()
        buf.add(OP, 3, t, meta, b"body")
        recs.append(Record(OP, 0, 3, t, U32.pack(len(meta)) + meta + b"body"))
        expected.append(recs)
        wall, mono = time.time_ns(), time.monotonic_ns()
        taken = buf.take()
        assert taken is not None
        assert writer.submit(*taken, wall_ns=wall, mono_ns=mono)
    assert writer.flush_wait(30)
    stats = writer.stats()
    assert stats["chunks_written"] == 4 and stats["pending"] == 0 and stats["error"] is None
    writer.close({"books": HEADER["books"], "dropped_frames": 0})
    writer.close({})        # idempotent
    assert writer.stats()["bytes_written"] == path.stat().st_size
    with Recording(path) as rec:
        assert rec.version == 1 and rec.header == HEADER and rec.complete
        assert rec.problems == []
        assert rec.index_extra is not None
        assert rec.index_extra["records"] == 4 * 31 and rec.index_extra["frames"] == 4 * 30
        assert rec.index_extra["dropped_frames"] == 0
        assert [c.number for c in rec.chunks] == [0, 1, 2, 3]
        assert [c.records for c in rec.chunks] == [31] * 4
        assert [c.frames for c in rec.chunks] == [30] * 4
        got = [r for _, r in rec.records()]
        assert got == [r for recs in expected for r in recs]
        meta, body = split_meta(got[30].payload)
        assert meta == {"op": "mark_stale", "id": 0, "reason": "x"} and body == b"body"
        first = rec.chunks[0]
        assert rec.wall_ns(first, first.mono_ns + 5) == first.wall_ns + 5
        # time windows and seek
        assert rec.seek(0) == 0 and rec.seek(10**18) == 4
        assert rec.seek(rec.chunks[1].last_ns) == 1 and rec.seek(rec.chunks[1].last_ns + 1) == 2
        lo, hi = rec.chunks[1].first_ns + 10, rec.chunks[2].first_ns + 10
        window = [r for _, r in rec.records(lo, hi)]
        assert window == [r for recs in expected for r in recs if lo <= r.t_ns <= hi]
        assert rec.declarations() == HEADER["books"]


def test_iter_records_agrees_with_replay_records_on_every_record() -> None:
    buf = RecordBuffer(1 << 16, lambda: None)
    buf.add(DECLARE, 0, 5, b'{"id":1}')
    buf.add_frame_bytes(0, 6, b"")
    buf.add_frame_bytes(7, 7, b"x" * 300, last_in_read=False)
    buf.add(EVENT, 7, -3, b'{"event":"disconnect"}', memoryview(b"tail"))
    taken = buf.take()
    assert taken is not None
    raw = taken[0]
    seen: list[Record] = []

    def on_record(kind: int, flags: int, conn: int, t_ns: int, data: bytes, start: int,
                  length: int) -> None:
        seen.append(Record(kind, flags, conn, t_ns, data[start:start + length]))

    assert replay_records(raw, 0, [], on_record) == (len(raw), 0, 0)
    assert seen == list(iter_records(raw)) and len(seen) == 4
    assert seen[2] == Record(FRAME, 0, 7, 7, b"x" * 300)


record_st = st.tuples(st.sampled_from([FRAME, DECLARE, OP, EVENT]),
                      st.integers(0, 2**32 - 1), st.integers(-(2**63), 2**63 - 1),
                      st.binary(max_size=200), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(record_st, min_size=1, max_size=40), st.data())
def test_iter_records_is_the_twin_of_replay_records(records: list, data: st.DataObject) -> None:
    buf = RecordBuffer(4096, lambda: None)
    for kind, conn, t_ns, payload, last in records:
        if kind == FRAME:
            buf.add_frame_bytes(conn, t_ns, payload, last_in_read=last)
        else:
            buf.add(kind, conn, t_ns, b'{"k":1}', payload)
    taken = buf.take()
    assert taken is not None
    full = taken[0]
    cut = data.draw(st.integers(0, len(full)), label="cut")
    raw = full[:cut]
    compiled: list[Record] = []
    compiled_err = python_err = None
    try:
        replay_records(raw, 0, [], lambda k, f, c, t, d, s, n: compiled.append(
            Record(k, f, c, t, d[s:s + n])))
    except ValueError as exc:
        compiled_err = str(exc)
    python: list[Record] = []
    try:
        python.extend(iter_records(raw))
    except ValueError as exc:
        python_err = str(exc)
    assert python == compiled
    assert python_err == compiled_err
    if cut == len(full):
        assert python_err is None and len(python) == len(records)


def test_split_meta_rejects_bad_payloads() -> None:
    assert split_meta(U32.pack(2) + b"{}") == ({}, b"")
    for bad, why in [(b"\x01\x00", "no u32"), (U32.pack(9) + b"{}", "exceeds"),
                     (U32.pack(2) + b"[]", "not an object"), (U32.pack(2) + b"\xff{", "JSON")]:
        with pytest.raises(ValueError, match=why):
            split_meta(bad)


def test_iter_records_names_the_offset_of_a_record_running_past_the_end() -> None:
    buf = RecordBuffer(4096, lambda: None)
    buf.add_frame_bytes(0, 1, b"abc")
    buf.add_frame_bytes(0, 2, b"defgh")
    taken = buf.take()
    assert taken is not None
    with pytest.raises(ValueError, match="record at byte 23 of the chunk: 5 payload bytes"):
        list(iter_records(taken[0][:-1]))


# -- damaged files -------------------------------------------------------------------------


def _open_bytes(path: Path, data: bytes) -> Recording:
    path.write_bytes(data)
    return Recording(path)


def _chunk_of(infos: list[ChunkInfo], pos: int) -> int | None:
    for c in infos:
        if c.offset <= pos < c.offset + CHUNK_HEADER.size + c.comp_len:
            return c.number
    return None


def test_truncation_at_every_offset(sample, tmp_path: Path) -> None:
    data, raws, infos = sample
    data_start = infos[0].offset
    index_at = infos[-1].offset + CHUNK_HEADER.size + infos[-1].comp_len
    path = tmp_path / "cut.ffr"
    for cut in range(len(data)):
        if cut < data_start:
            path.write_bytes(data[:cut])
            with pytest.raises(RecordingError):
                Recording(path)
            continue
        with _open_bytes(path, data[:cut]) as rec:
            assert not rec.complete
            whole = [c for c in infos if c.offset + CHUNK_HEADER.size + c.comp_len <= cut]
            got = list(rec.chunk_raws())
            assert [i for i, _ in got] == whole, cut
            assert [r for _, r in got] == raws[:len(whole)]
            assert sum(1 for _ in rec.records()) == sum(c.records for c in whole)
            cut_chunk = _chunk_of(infos, cut)
            if cut_chunk is not None and cut != infos[cut_chunk].offset:
                assert any(p.chunk == cut_chunk and p.offset == infos[cut_chunk].offset
                           and "truncated" in str(p) for p in rec.problems), rec.problems
            elif cut < index_at and cut_chunk is None:
                raise AssertionError("a cut before the index lies in a chunk")
            assert any("not closed" in str(p) for p in rec.problems)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_flipped_byte_anywhere_loses_only_its_own_chunk(sample, tmp_path: Path,
                                                          data: st.DataObject) -> None:
    original, raws, infos = sample
    pos = data.draw(st.integers(0, len(original) - 1), label="pos")
    mask = data.draw(st.integers(1, 255), label="mask")
    damaged = bytearray(original)
    damaged[pos] ^= mask
    path = tmp_path / "flip.ffr"
    path.write_bytes(bytes(damaged))
    try:
        rec = Recording(path)
    except RecordingError:
        assert pos < infos[0].offset        # only file header damage is fatal
        return
    with rec:
        hit = _chunk_of(infos, pos)
        got = {info.number: raw for info, raw in rec.chunk_raws()}
        for c in infos:
            if c.number != hit:
                assert got.get(c.number) == raws[c.number], (pos, rec.problems)
        if hit is not None:
            assert hit not in got
            assert any(p.chunk == hit for p in rec.problems), rec.problems
            assert not rec.problems or all(isinstance(p, RecordingError) for p in rec.problems)
        list(rec.records())
        rec.declarations()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300), st.booleans())
def test_any_byte_string_opens_or_raises_recording_error(tmp_path: Path, tail: bytes,
                                                        prefixed: bool) -> None:
    hjson = b"{}"
    head = FILE_HEADER.pack(MAGIC, 1, 0, 2) + hjson + U32.pack(zlib.crc32(hjson))
    path = tmp_path / "any.ffr"
    path.write_bytes(head + tail if prefixed else tail)
    try:
        rec = Recording(path)
    except RecordingError:
        assert not prefixed
        return
    with rec:
        list(rec.chunk_raws())
        list(rec.records())
        rec.declarations()
        assert all(isinstance(p, RecordingError) for p in rec.problems)


def test_wrong_magic_version_2_and_damaged_header(sample, tmp_path: Path) -> None:
    data, _, _ = sample
    path = tmp_path / "bad.ffr"
    path.write_bytes(b"PK\x03\x04" + data[4:])
    with pytest.raises(RecordingError, match=r"expected magic 89 46 46 52 0d 0a 1a 0a, "
                                             r"found 50 4b 03 04") as exc:
        Recording(path)
    assert exc.value.offset == 0
    path.write_bytes(data[:8] + b"\x02\x00" + data[10:])
    with pytest.raises(RecordingError, match="unsupported recording format version 2"):
        Recording(path)
    n = U32.unpack_from(data, 12)[0]
    damaged = bytearray(data)
    damaged[FILE_HEADER.size + n // 2] ^= 0x20
    path.write_bytes(bytes(damaged))
    with pytest.raises(RecordingError, match="JSON checksum mismatch"):
        Recording(path)
    path.write_bytes(b"")
    with pytest.raises(RecordingError, match="not a fastfeed recording"):
        Recording(path)


def test_damaged_index_falls_back_to_scanning(sample, tmp_path: Path) -> None:
    data, raws, infos = sample
    index_at = infos[-1].offset + CHUNK_HEADER.size + infos[-1].comp_len
    damaged = bytearray(data)
    damaged[index_at + 10] ^= 1       # inside the first entry's offset
    with _open_bytes(tmp_path / "ix.ffr", bytes(damaged)) as rec:
        assert not rec.complete and rec.index_extra is None
        assert [r for _, r in rec.chunk_raws()] == raws
        assert [p.offset for p in rec.problems] == [index_at]
        assert "bad index (checksum mismatch)" in str(rec.problems[0])
        # without the index, declarations come from the header and the DECLARE records
        assert [d["id"] for d in rec.declarations()] == [0, 10, 11, 12]
    with _open_bytes(tmp_path / "ok.ffr", data) as rec:
        assert [d["id"] for d in rec.declarations()] == [0, 10]    # the index's list


def test_damaged_chunk_header_and_body_are_reported_and_skipped(sample, tmp_path: Path) -> None:
    data, raws, infos = sample
    damaged = bytearray(data)
    damaged[infos[1].offset + 9] ^= 0xFF        # chunk 1's header (first_ns)
    damaged[infos[2].offset + CHUNK_HEADER.size + 3] ^= 0x01    # chunk 2's body
    with _open_bytes(tmp_path / "d.ffr", bytes(damaged)) as rec:
        assert [c.number for c in rec.chunks] == [0, 2]
        assert [(i.number, r) for i, r in rec.chunk_raws()] == [(0, raws[0])]
        assert rec.complete     # the index is intact; the chunks were scanned
        msgs = [str(p) for p in rec.problems]
        assert len(msgs) == 2
        assert msgs[0].startswith(f"chunk 1 at byte offset {infos[1].offset}: damaged chunk "
                                  "header: checksum mismatch")
        assert msgs[1] == f"chunk 2 at byte offset {infos[2].offset}: body checksum mismatch"
        assert rec.problems[1].chunk == 2 and rec.problems[1].offset == infos[2].offset
        with pytest.raises(RecordingError, match="body checksum mismatch"):
            rec.read_chunk(rec.chunks[1])


def test_absurd_chunk_lengths_are_a_recording_error(tmp_path: Path) -> None:
    hjson = b"{}"
    head = bytearray(CHUNK_HEADER.pack(CHUNK_MAGIC, 0, 1, 2, 3, 4, 5, 6, 2**32 - 1,
                                       2**31, 0, 0))
    U32.pack_into(head, 60, zlib.crc32(head[:60]))
    data = FILE_HEADER.pack(MAGIC, 1, 0, 2) + hjson + U32.pack(zlib.crc32(hjson)) + head
    with _open_bytes(tmp_path / "big.ffr", data) as rec:
        assert rec.chunks == []
        assert any("more than 1073741824" in str(p) and p.chunk == 0 for p in rec.problems)


# -- the writer ------------------------------------------------------------------------------


def test_a_full_queue_refuses_the_chunk(tmp_path: Path) -> None:
    path = tmp_path / "q.ffr"
    gate = threading.Event()
    writer = ChunkWriter(path, {}, max_pending_chunks=1, _test_gate=gate)
    buf = RecordBuffer(4096, lambda: None)
    accepted = []
    for i in range(3):
        buf.add_frame_bytes(0, i, b"msg %d" % i)
        accepted.append(_seal(buf, writer))
    assert accepted == [True, False, False]
    assert writer.stats()["pending"] == 1
    assert not writer.flush_wait(0.01)
    gate.set()
    assert writer.flush_wait(30)
    buf.add_frame_bytes(0, 9, b"msg 9")
    assert _seal(buf, writer)
    writer.close({})
    with Recording(path) as rec:
        assert rec.complete
        assert [r.payload for _, r in rec.records()] == [b"msg 0", b"msg 9"]
        assert [c.number for c in rec.chunks] == [0, 1]


def test_dev_full_fails_with_enospc() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(OSError) as exc:
        ChunkWriter("/dev/full", {})
    assert exc.value.errno == 28    # ENOSPC


_CHILD_PRELUDE = f"""
import json, os, sys, time
sys.path.insert(0, {SRC!r})
from fastfeed._record import RecordBuffer
from fastfeed.recording import ChunkWriter
"""

_FSIZE_CHILD = _CHILD_PRELUDE + """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (6000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
w = ChunkWriter(sys.argv[1], {}, level=1)
buf = RecordBuffer(4096, lambda: None)
accepted = []
for i in range(20):
    buf.add_frame_bytes(0, i, os.urandom(1000))
    accepted.append(w.submit(*buf.take(), wall_ns=time.time_ns(), mono_ns=time.monotonic_ns()))
    w.flush_wait()
w.close({})
print(json.dumps({"accepted": accepted, **w.stats()}))
"""


def test_a_write_error_stops_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "fsize.ffr"
    out = subprocess.run([sys.executable, "-c", _FSIZE_CHILD, str(path)], capture_output=True,
                         text=True, timeout=120, check=True)
    stats = json.loads(out.stdout)
    assert stats["error"] is not None and "File too large" in stats["error"]
    n = stats["chunks_written"]
    assert 1 <= n < 20
    # the chunk that failed was accepted; every later one is refused
    assert stats["accepted"] == [True] * (n + 1) + [False] * (19 - n)
    with Recording(path) as rec:
        assert not rec.complete
        assert len(list(rec.chunk_raws())) == n


_KILL_CHILD = _CHILD_PRELUDE + """
w = ChunkWriter(sys.argv[1], {"books": []}, max_pending_chunks=1000)
buf = RecordBuffer(4096, lambda: None)
i = 0
while True:
    for _ in range(20):
        buf.add_frame_bytes(0, i, b"msg %d" % i)
        i += 1
    w.submit(*buf.take(), wall_ns=time.time_ns(), mono_ns=time.monotonic_ns())
    w.flush_wait()
"""


def test_sigkill_leaves_a_readable_prefix(tmp_path: Path) -> None:
    path = tmp_path / "killed.ffr"
    child = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, str(path)])
    try:
        deadline = time.monotonic() + 120        # a hang guard, not a timing assertion
        while True:
            assert child.poll() is None, "the writer child died"
            assert time.monotonic() < deadline, "the child never wrote 3 chunks"
            if path.exists() and path.stat().st_size > 0:
                try:
                    with Recording(path) as probe:
                        if len(probe.chunks) >= 3:
                            break
                except RecordingError:
                    pass        # header not written yet
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with Recording(path) as rec:
        assert not rec.complete
        payloads = [r.payload for _, r in rec.records()]
        assert len(list(rec.chunk_raws())) >= 3
        assert payloads == [b"msg %d" % i for i in range(len(payloads))]
        assert len(payloads) >= 60
        assert all("truncated" in str(p) or "not closed" in str(p) for p in rec.problems)


@pytest.mark.parametrize(("body", "raw_len", "why"), [
    (b"not a zstd frame", 5, "zstd frame"),
    (zstandard.ZstdCompressor(write_content_size=True).compress(b"12345"), 6,
     "zstd frame holds 5 bytes, the header says 6"),
    (zstandard.ZstdCompressor(write_content_size=True).compress(b"12345") * 2, 5,
     "not exactly one zstd frame"),
])
def test_a_body_with_valid_checksums_that_does_not_decode(tmp_path: Path, body: bytes,
                                                          raw_len: int, why: str) -> None:
    hjson = b"{}"
    data = (FILE_HEADER.pack(MAGIC, 1, 0, 2) + hjson + U32.pack(zlib.crc32(hjson))
            + _chunk_header(0, 1, 2, 3, 4, 1, 1, raw_len, body) + body)
    with _open_bytes(tmp_path / "z.ffr", data) as rec:
        assert len(rec.chunks) == 1
        assert list(rec.chunk_raws()) == []
        assert rec.problems[-1].chunk == 0 and why in str(rec.problems[-1])


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    hjson = b"[" * 100_000
    data = FILE_HEADER.pack(MAGIC, 1, 0, len(hjson)) + hjson + U32.pack(zlib.crc32(hjson))
    with pytest.raises(RecordingError, match="JSON does not parse"):
        _open_bytes(tmp_path / "deep.ffr", data)
    with pytest.raises(ValueError, match="not JSON"):
        split_meta(U32.pack(len(hjson)) + hjson)
