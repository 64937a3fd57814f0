"""``python -m benches.scale``: a small run has every field, with sane types and values.

Runs the benchmark as a user would (a child process that starts the simulator and one
child per contender) with 20 books for a few seconds. No timing assertions: only that
every figure is there, rates and costs are positive, every book went live and the
sampled books agree with the simulator's truth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benches.scale import DEFAULT_CONTENDERS, RESULT_FIELDS, WINDOW_FIELDS, parse_strace

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parent.parent
BOOKS = 20


def scale(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    """Run ``python -m benches.scale --json ARGS``; (exit status, parsed JSON, stderr)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "benches.scale", "--json", *args],
                          capture_output=True, text=True, timeout=220, env=env, cwd=ROOT)
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    return proc.returncode, data, proc.stderr


def test_a_small_run_reports_every_figure_for_both_contenders():
    rc, data, err = scale("--books", str(BOOKS), "--seconds", "2", "--warmup", "0.5",
                          "--sample-books", "5")
    assert data is not None, err
    assert rc == 0, (data.get("notes"), err[-2000:])
    for key in ("bench", "date", "commit", "machine", "config", "contenders", "ratio",
                "simulator", "notes", "ok", "elapsed_s"):
        assert key in data, key
    assert data["ok"] is True
    assert data["config"]["books"] == BOOKS
    assert set(data["contenders"]) == set(DEFAULT_CONTENDERS)
    for name, c in data["contenders"].items():
        assert set(RESULT_FIELDS) <= set(c), (name, set(RESULT_FIELDS) - set(c))
        assert c["error"] is None, (name, c["error"])
        assert c["books"] == BOOKS and c["books_live"] == BOOKS, name
        assert isinstance(c["time_to_all_live_s"], float) and c["time_to_all_live_s"] > 0
        assert isinstance(c["rss_per_book_kib"], float)
        assert c["rss_live_mib"] > 0 and c["rss_before_mib"] > 0
        assert sum(c["snapshot_depths"].values()) == BOOKS
        assert c["exact"] == {"checked": 5, "exact": 5, "mismatched": []}, (name, c["exact"])
        w = c["window"]
        assert set(WINDOW_FIELDS) <= set(w), (name, set(WINDOW_FIELDS) - set(w))
        assert w["messages"] > 0 and w["messages_per_s"] > 0, (name, w)
        assert w["cpu_s"] > 0 and w["cpu_us_per_msg"] > 0 and 0 < w["cpu_pct"] < 200, (name, w)
        assert isinstance(w["wakeups"], int) and w["wakeups"] >= 0
        assert abs(w["user_s"] + w["sys_s"] - w["cpu_s"]) < 1e-3
    r = data["ratio"]
    assert r["target"] == 0.2
    assert isinstance(r["cpu_us_per_msg"], float) and r["cpu_us_per_msg"] > 0
    assert isinstance(r["met"], bool)
    assert data["simulator"]["messages_sent_per_s"] > 0
    assert all(isinstance(n, str) and n for n in data["notes"])


def test_bad_options_are_refused_with_a_usage_error():
    rc, data, err = scale("--profile", "valgrind")
    assert rc == 2 and data is None
    assert "unknown profiler 'valgrind'" in err
    rc, _, err = scale("--contenders", "fastfeed,zeromq")
    assert rc == 2 and "--contenders" in err


def test_strace_summaries_are_read_by_syscall():
    text = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.000600           1       500           epoll_pwait
 39.00    0.000390           1       490        12 read
  1.00    0.000010          10         1           sendto
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000           1       991        12 total
"""
    assert parse_strace(text) == {"epoll_pwait": 500, "read": 490, "sendto": 1}
