"""What recording and replaying cost: ``python -m benches.recording [--json]``.

On the pre-generated workloads of ``benches.feed`` (1 KB Binance depth events and
Coinbase Advanced Trade envelopes, ~30 level changes each, 1000-level book), in one run:

- **record cost per frame**: the listener's recording work (``RecordBuffer.add_frame``
  per message, chunks sealed and their buffers recycled as the recorder does) minus the
  same loop without it (``_benchkit.bench_record_frames`` vs ``bench_stamp_only``);
  target ≤ 100 ns, next to ``BookFeed.apply_message``'s own cost per message;
- **replay throughput**: ``fastfeed.replay.Replay`` over a recording of the workload
  (decompression included; and the compiled walk alone over the decompressed chunks)
  next to ``BookFeed.apply_message`` (default settings, as ``benches.feed``) looping over
  the same payloads in memory; target:
  replay within 20 % of it;
- **bytes per message on disk**: the recording next to gzip (level 6) and plain JSON
  lines (``{"t": ns, "conn": 1, "msg": "<payload>"}``) of the same frames.

Every replay's final book is checked against the in-memory one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from typing import Any

from benches.feed import fresh_feed
from fastfeed._benchkit import bench_record_frames, bench_stamp_only
from fastfeed._record import RecordBuffer, replay_records
from fastfeed.bench.workload import make_workload, record_workload
from fastfeed.recording import Recording
from fastfeed.replay import Replay, book_json

CASES = (("binance", "binance", "BTCUSDT"), ("coinbase", "coinbase", "BTC-USD"))
RECORD_TARGET_NS = 100.0
REPLAY_TARGET = 1.2         # replay ns/msg over apply_message ns/msg


def recycling_buffer() -> RecordBuffer:
    """A buffer whose full chunks are sealed and recycled at once: a recorder whose
    writer keeps up (the hot path's steady state)."""
    def seal() -> None:
        taken = buf.take()
        if taken is not None:
            buf.recycle(taken[0])
    buf = RecordBuffer(1 << 20, seal)
    return buf


def bench_case(name: str, venue: str, symbol: str, repeats: int,
               messages: int) -> dict[str, Any]:
    w = make_workload(venue, symbol, messages=messages)
    msgs = list(w.messages)
    n = len(msgs)
    payload_bytes = sum(len(m) for m in msgs)
    out: dict[str, Any] = {"case": name, "messages": n, "bytes_per_message": payload_bytes / n}

    # record cost per frame: add_frame loop minus the same loop without it (medians)
    rec_ns, base_ns = [], []
    for _ in range(repeats):
        buf = recycling_buffer()
        ns, count = bench_record_frames(buf, msgs, 20)
        rec_ns.append(ns / count)
        ns, count = bench_stamp_only(msgs, 20)
        base_ns.append(ns / count)

    # apply_message on in-memory payloads, and the replay of a recording of them
    apply_ns, replay_ns, prefetch_ns, walk_ns = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.ffrec")
        rec, frames = record_workload(w, path, max_pending_chunks=1 << 16)   # nothing drops
        rec.close()
        expected: dict[str, Any] | None = None
        for _ in range(repeats):
            feed = fresh_feed(w)
            t0 = time.perf_counter_ns()
            for m in msgs:
                feed.apply_message(m)
            apply_ns.append((time.perf_counter_ns() - t0) / n)
            expected = book_json(feed)

            with Recording(path) as recording:     # a thread decompressing ahead
                t0 = time.perf_counter_ns()
                replay = Replay(recording, prefetch=2).run()
                prefetch_ns.append((time.perf_counter_ns() - t0) / frames)
            got = book_json(replay.books[(venue, symbol)])
            if (got["bids"], got["asks"]) != (expected["bids"], expected["asks"]):
                raise AssertionError(f"{name}: the replayed book differs from apply_message's")
            with Recording(path) as recording:     # the default: decompressing in line
                t0 = time.perf_counter_ns()
                Replay(recording).run()
                replay_ns.append((time.perf_counter_ns() - t0) / frames)

            # the compiled walk alone, over chunks decompressed beforehand
            with Recording(path) as recording:
                raws = [raw for _info, raw in recording.chunk_raws()]
            walker = Replay(path)
            walker.recording.close()
            t0 = time.perf_counter_ns()
            for raw in raws:
                replay_records(raw, 0, walker.routers, walker._on_record)
            walk_ns.append((time.perf_counter_ns() - t0) / frames)

        size = os.path.getsize(path)
    lines = [json.dumps({"t": 1000 * i, "conn": 1, "msg": m.decode()}).encode() + b"\n"
             for i, m in enumerate(msgs)]
    plain = sum(len(x) for x in lines)
    gz = len(gzip.compress(b"".join(lines), compresslevel=6))

    rec_added = statistics.median(rec_ns) - statistics.median(base_ns)
    apply_med = statistics.median(apply_ns)
    replay_med = statistics.median(replay_ns)
    out.update({
        "record_ns_per_frame": round(rec_added, 1),
        "record_target_ns": RECORD_TARGET_NS,
        "record_vs_apply": round(rec_added / apply_med, 3),
        "apply_message_ns": round(apply_med, 1),
        "replay_ns_per_msg": round(replay_med, 1),
        "replay_prefetch_ns_per_msg": round(statistics.median(prefetch_ns), 1),
        "replay_walk_ns_per_msg": round(statistics.median(walk_ns), 1),
        "replay_vs_apply": round(replay_med / apply_med, 3),
        "replay_target": REPLAY_TARGET,
        "disk_bytes_per_msg": {"fastfeed": round(size / frames, 1),
                               "jsonl_gzip6": round(gz / n, 1),
                               "jsonl": round(plain / n, 1)},
    })
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every case; print a table or, with ``--json``, one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--messages", type=int, default=20000,
                        help="messages per workload (default 20000: fixed costs amortised)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small and once")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.messages = 1, 300
    results = [bench_case(name, venue, symbol, args.repeats, args.messages)
               for name, venue, symbol in CASES]
    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "machine": platform.machine(),
                          "cases": results}, indent=2))
        return 0
    for r in results:
        d = r["disk_bytes_per_msg"]
        print(f"{r['case']:>9}: record +{r['record_ns_per_frame']} ns/frame "
              f"(target <= {RECORD_TARGET_NS:.0f}; {r['record_vs_apply']:.0%} of apply); "
              f"replay {r['replay_ns_per_msg']} ns/msg vs apply_message "
              f"{r['apply_message_ns']} (x{r['replay_vs_apply']}, target <= "
              f"x{REPLAY_TARGET}); with prefetch {r['replay_prefetch_ns_per_msg']}; walk "
              f"alone {r['replay_walk_ns_per_msg']}; disk "
              f"{d['fastfeed']} B/msg vs gzip {d['jsonl_gzip6']} vs jsonl {d['jsonl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
