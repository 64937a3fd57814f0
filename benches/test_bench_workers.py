"""Smoke test of ``python -m benches.workers``: a tiny run, every field present, the books
exact against the simulator's truth and the message counts complete (no timing checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benches.workers import RUN_FIELDS, balanced_symbols
from fastfeed.workers import shard_of


def test_balanced_symbols_split_evenly():
    syms = balanced_symbols(6)
    assert len(set(syms)) == 6
    assert sorted(shard_of("binance", s, 2) for s in syms) == [0, 0, 0, 1, 1, 1]


def test_bench_workers_tiny_run_is_exact_and_complete():
    out = subprocess.run(
        [sys.executable, "-m", "benches.workers", "--books", "4", "--burst", "1500",
         "--repeats", "1", "--json"], capture_output=True, timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    doc = json.loads(out.stdout)
    assert doc["exact"] is True and doc["counts_ok"] is True
    assert [r["workers"] for r in doc["runs"]] == [1, 2]        # interleaved
    for r in doc["runs"]:
        assert set(RUN_FIELDS) <= set(r)
        assert r["messages"] == 4 * 1500 and r["exact"] and r["counts_ok"]
        assert sum(r["shards"]) == 4 and len(r["shards"]) == r["workers"]
        assert len(r["per_worker"]) == r["workers"]
        assert r["span_s"] > 0 and r["cpu_s_per_million"] >= 0
    assert set(doc["median"]) == {"1", "2"} and "ratio_two_over_one" in doc
