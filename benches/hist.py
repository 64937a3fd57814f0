"""Cost of recording a latency sample: ``python -m benches.hist [--json]``.

Measured in one run, on the same int64 arrays:

- ``record``: ns per ``LatencyHistogram.record`` from a nogil C loop (``bench_record``);
- ``baseline``: the same loop with the record replaced by a volatile store
  (``bench_baseline``), so ``added = record - baseline`` is what recording adds per
  message;
- ``hdrh_record_value``: the ``hdrhistogram`` package's ``record_value`` called from
  Python (what you would pay without the compiled histogram);
- ``py_record_value``: ``LatencyHistogram.record_value`` from Python (call overhead);
- ``record_word4``: the same C loop into int32 counts (``word_size=4``);
  ``record_coarse``: into a book's default ``coarse`` histogram (1 significant figure,
  int32); ``record_pair``: what a default engine book records per sample, its coarse
  histogram and its connection's full-precision one (``bench_record_pair``,
  ``record_into`` both, as ``BookCore`` does). Absent when measuring a tree without
  word sizes (the "before" of docs/memory.md).
- cold-path costs: ``percentiles`` (5 points, C walk) vs the package's
  ``get_value_at_percentile`` (one point), ``swap_interval``, ``encode``.

Two value distributions: ``lognormal`` (µs-scale latencies, a few hot buckets) and
``wide`` (log-uniform over 1 ns..60 s: random buckets across the whole 216 KiB counts
array, a cache-unfriendly worst case). Each figure is the minimum over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from fastfeed import _benchkit
from fastfeed._benchkit import bench_baseline, bench_record
from fastfeed._hist import LatencyHistogram

HIGHEST = 60_000_000_000


def make_values(kind: str, n: int, seed: int = 1) -> np.ndarray:
    """int64 latency samples in ns."""
    rng = np.random.default_rng(seed)
    if kind == "lognormal":
        return np.ascontiguousarray(rng.lognormal(np.log(3_000), 0.6, n).astype(np.int64))
    if kind == "wide":
        # log-uniform over 1 ns..60 s: every bucket of the counts array gets hit
        return np.exp2(rng.uniform(0.0, np.log2(HIGHEST), n)).astype(np.int64)
    raise ValueError(kind)


def per_call_ns(fn: Callable[[], Any], calls: int, repeat: int) -> float:
    """Minimum over ``repeat`` runs of the mean ns per call of ``fn``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter_ns() - t0) / calls)
    return best


def run(n: int = 2_000_000, repeat: int = 7, py_n: int = 100_000) -> dict[str, Any]:
    """Run every measurement and return the results as a dict."""
    out: dict[str, Any] = {
        "bench": "hist",
        "n": n,
        "repeat": repeat,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "unit": "ns per call",
    }
    pair = getattr(_benchkit, "bench_record_pair", None)   # None: a tree without it
    for kind in ("lognormal", "wide"):
        values = make_values(kind, n)
        hist = LatencyHistogram()
        bench_record(hist, values[: n // 10])  # warm caches and page in the counts
        bench_baseline(values[: n // 10])
        more: dict[str, Any] = {}
        if pair is not None:
            h4 = LatencyHistogram(word_size=4)
            coarse = LatencyHistogram(1, HIGHEST, 1, word_size=4)
            conn = LatencyHistogram(word_size=4)
            for h in (h4, coarse, conn):
                bench_record(h, values[: n // 10])
            more = {"record_word4": float("inf"), "record_coarse": float("inf"),
                    "record_pair": float("inf")}
        rec, base = float("inf"), float("inf")
        for _ in range(repeat):
            # interleaved so every loop sees the same machine state
            base = min(base, bench_baseline(values) / n)
            rec = min(rec, bench_record(hist, values) / n)
            if pair is not None:
                more["record_word4"] = min(more["record_word4"], bench_record(h4, values) / n)
                more["record_coarse"] = min(more["record_coarse"],
                                            bench_record(coarse, values) / n)
                more["record_pair"] = min(more["record_pair"],
                                          pair(coarse, conn, values) / n)
        py_vals = values[:py_n].tolist()
        ref = HdrHistogram(1, HIGHEST, 3)
        t0 = time.perf_counter_ns()
        for v in py_vals:
            ref.record_value(v)
        hdrh_ns = (time.perf_counter_ns() - t0) / len(py_vals)
        h2 = LatencyHistogram()
        rv = h2.record_value
        best_py = float("inf")
        for _ in range(3):
            t0 = time.perf_counter_ns()
            for v in py_vals:
                rv(v)
            best_py = min(best_py, (time.perf_counter_ns() - t0) / len(py_vals))
        out[kind] = {
            "record": round(rec, 3),
            "baseline": round(base, 3),
            "added": round(rec - base, 3),
            "hdrh_record_value": round(hdrh_ns, 1),
            "py_record_value": round(best_py, 1),
            "ratio_hdrh_vs_record": round(hdrh_ns / rec, 1),
            "ratio_hdrh_vs_added": round(hdrh_ns / max(rec - base, 1e-3), 1),
            **{k: round(v, 3) for k, v in more.items()},
        }
    # cold path, on a realistic histogram
    hist = LatencyHistogram()
    hist.record_array(make_values("lognormal", 100_000))
    ref = hist.to_hdr()
    out["cold"] = {
        "percentiles_5pts": round(per_call_ns(hist.percentiles, 200, 3)),
        "hdrh_get_value_at_percentile_1pt": round(
            per_call_ns(lambda: ref.get_value_at_percentile(99.9), 5, 3)),
        "mean": round(per_call_ns(hist.mean, 100, 3)),
        "swap_interval": round(per_call_ns(lambda: hist.copy().swap_interval(), 200, 3)
                               - per_call_ns(hist.copy, 200, 3)),
        "to_hdr": round(per_call_ns(hist.to_hdr, 100, 3)),
        "encode": round(per_call_ns(hist.encode, 50, 3)),
    }
    return out


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("-n", type=int, default=2_000_000, help="samples per C loop")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    res = run(args.n, args.repeat)
    if args.json:
        print(json.dumps(res))
        return
    for kind in ("lognormal", "wide"):
        r = res[kind]
        print(f"[{kind}] record {r['record']:.2f} ns  baseline {r['baseline']:.2f} ns  "
              f"added {r['added']:.2f} ns/msg | hdrh.record_value {r['hdrh_record_value']:.0f} ns "
              f"({r['ratio_hdrh_vs_record']}x) | record_value from Python "
              f"{r['py_record_value']:.0f} ns")
        if "record_pair" in r:
            print(f"[{kind}] word4 {r['record_word4']:.2f} ns  coarse {r['record_coarse']:.2f}"
                  f" ns  book+connection pair {r['record_pair']:.2f} ns")
    c = res["cold"]
    print(f"[cold] percentiles(5 pts) {c['percentiles_5pts'] / 1e3:.1f} µs vs hdrh 1 pt "
          f"{c['hdrh_get_value_at_percentile_1pt'] / 1e3:.0f} µs; mean {c['mean'] / 1e3:.1f} µs; "
          f"swap_interval {c['swap_interval'] / 1e3:.1f} µs; to_hdr {c['to_hdr'] / 1e3:.0f} µs; "
          f"encode {c['encode'] / 1e3:.0f} µs")


if __name__ == "__main__":
    main()
