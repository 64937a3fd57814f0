"""``fastfeed record`` / ``fastfeed replay`` as a user runs them, against the simulator
process: a clean recording replays to Book JSON; a recorder killed with SIGKILL mid-run
leaves a file that opens and replays up to its last complete chunk (docs/recording.md)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from fastfeed.recording import Recording, RecordingError
from fastfeed.replay import Replay
from fastfeed.sim.process import SimProcess


def fastfeed(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "fastfeed.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def urls(sim, venue):
    return ["--ws-url", sim.ws_url(venue), "--rest-url", sim.rest_url(venue)]


def test_record_then_replay_json(tmp_path):
    path = str(tmp_path / "rec.ffrec")
    with SimProcess(["--binance", "BTCUSDT,ETHUSDT", "--rate", "100",
                     "--trade-rate", "10"]) as sim:
        out = fastfeed("record", "binance:BTCUSDT", "binance:ETHUSDT", "--trades",
                       "--out", path, "--duration", "2", *urls(sim, "binance"))
    assert out.returncode == 0, out.stderr
    assert "wrote " + path in out.stderr and "DROPPED" not in out.stderr
    out = fastfeed("replay", path, "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert sorted(x["symbol"] for x in lines) == ["BTCUSDT", "ETHUSDT"]
    for x in lines:
        assert set(x) == {"venue", "symbol", "state", "update_id", "bids", "asks"}
        assert x["bids"] and x["asks"] and float(x["bids"][0][0]) < float(x["asks"][0][0])
        assert all(isinstance(v, str) for level in x["bids"] + x["asks"] for v in level)
    assert "msg/s" in out.stderr and "decode->apply ns" in out.stderr
    # the same as the library's replay of the file
    expected = [json.loads(x) for x in Replay(path).run().book_lines()]
    assert lines == expected


def test_sigkill_mid_recording_leaves_a_file_that_replays(tmp_path):
    path = str(tmp_path / "killed.ffrec")
    with SimProcess(["--binance", "BTCUSDT", "--rate", "200"]) as sim:
        proc = subprocess.Popen([sys.executable, "-m", "fastfeed.cli", "record",
                                 "binance:BTCUSDT", "--out", path, *urls(sim, "binance")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while True:     # until at least 3 chunks are on disk (one a second)
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                try:
                    with Recording(path) as rec:
                        if len(rec.chunks) >= 3:
                            break
                except (FileNotFoundError, RecordingError):
                    pass        # created, header not written yet (the first chunk's seal)
                assert time.monotonic() < deadline, "the recorder wrote no chunks"
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            if proc.stderr:
                proc.stderr.close()
    with Recording(path) as rec:
        assert not rec.complete                      # no index: it never closed
        assert any("not closed" in str(p) or "truncated" in str(p) for p in rec.problems)
        complete_frames = sum(c.frames for c in rec.chunks)
        replay = Replay(rec).run()
    assert replay.frames == complete_frames > 0
    book = replay.books[("binance", "BTCUSDT")]
    assert book.state == "live" and book.last_update_id > 0 and len(book.book.bids_int())
    out = fastfeed("replay", path)
    assert out.returncode == 3 and "problem:" in out.stdout     # said, not hidden
