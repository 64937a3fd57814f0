"""Shared-memory books: ``python -m benches.shm [--json]``.

- ``publish_ns``: one ``ff_shm_publish`` of a 1000-level book's top-20 (the hot-path hook's
  work per applied message), GIL released, back to back.
- ``feed_ns_per_msg``: ``BookFeed.apply_message`` over the Binance workload of
  ``benches.feed`` with and without the book attached to a segment (interleaved repeats,
  medians and minima: minima resist a busy host best) and the difference: the end-to-end cost of publishing per message.
- ``read_ns``: ``SegmentView.read`` (a ``Snapshot`` with its two int64 arrays) from Python,
  idle and while another process publishes into the same slot back to back; and
  ``Reader.book`` (the public call, name lookup included), idle.
- ``writer_publishes_per_s``: back-to-back synthetic top-20 publishes in one process with
  0 and 8 reader processes spinning on the slot.
- ``visible_ns``: publish → visible in another process (a spinning reader's copy done)
  at one publish per ~20 µs sleep (paced writer): p50 / p99 / max.

Target: publish ≤ 100 ns per applied message; snapshot read ≤ 1 µs. On a host with few
cores the multi-process figures include scheduling (this one says how many it has).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
import uuid
from typing import Any

import numpy as np

from fastfeed.shm import Publisher, Reader

FORK = mp.get_context("fork")


def _l2book(levels: int = 1000) -> Any:
    from fastfeed.feed import BookFeed

    feed = BookFeed("binance", "BTCUSDT", "0.01", "0.001")
    feed.start_sync()
    bids = [[f"{50000 - i * 0.01:.2f}", "1.000"] for i in range(levels)]
    asks = [[f"{50000.01 + i * 0.01:.2f}", "1.000"] for i in range(levels)]
    feed.apply_snapshot(json.dumps({"lastUpdateId": 1, "bids": bids, "asks": asks}).encode())
    return feed


def bench_publish(pub: Publisher, repeat: int) -> dict[str, float]:
    feed = _l2book()
    slot = pub.writer.slot_of("bench", "PUBLISH")
    pub.writer._bench_publish(feed.book, slot, 100_000)       # warm-up
    runs = [pub.writer._bench_publish(feed.book, slot, 1_000_000) for _ in range(repeat)]
    return {"median": round(statistics.median(runs), 1), "min": round(min(runs), 1)}


def bench_feed(pub: Publisher, repeat: int, messages: int = 2000) -> dict[str, float]:
    from benches.feed import fresh_feed
    from fastfeed.bench.workload import make_workload

    w = make_workload("binance", "BTCUSDT", messages=messages, levels_per_message=30.0,
                      depth=1000)

    def one(attach: bool) -> float:
        feed = fresh_feed(w)
        if attach:
            pub.attach(feed)
        apply = feed.apply_message
        t0 = time.perf_counter_ns()
        for m in w.messages:
            apply(m)
        ns = (time.perf_counter_ns() - t0) / len(w.messages)
        if attach:
            pub.detach(feed)
        return ns

    one(False)
    one(True)
    off, on = [], []
    for _ in range(repeat):
        off.append(one(False))
        on.append(one(True))
    m_off, m_on = statistics.median(off), statistics.median(on)
    return {"without_shm": round(m_off, 1), "with_shm": round(m_on, 1),
            "difference": round(m_on - m_off, 1), "without_shm_min": round(min(off), 1),
            "with_shm_min": round(min(on), 1), "difference_min": round(min(on) - min(off), 1)}


def _hammer_for(pub: Publisher, slot: int, seconds: float, out: Any = None) -> None:
    end = time.monotonic() + seconds
    n = 0
    first = 1
    t = 0
    while time.monotonic() < end:
        t += pub.writer._hammer(slot, 50_000, first)
        first += 50_000
        n += 50_000
    if out is not None:
        out.put(n / (t / 1e9))


def _spin_reader(name: str, slot: int, seconds: float) -> None:
    Reader(name).view._check_reads(slot, 1 << 62, int(seconds * 1e9))


def bench_reads(pub: Publisher, name: str, n: int) -> dict[str, float]:
    slot = pub.writer.slot_of("bench", "READ")
    pub.writer._hammer(slot, 1)
    reader = Reader(name)
    view = reader.view
    view._bench_read(slot, 10_000)
    idle = [view._bench_read(slot, n) for _ in range(5)]
    public = []
    book = reader.book
    for _ in range(5):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            book("bench", "READ")
        public.append((time.perf_counter_ns() - t0) / n)
    writer = FORK.Process(target=_hammer_for, args=(pub, slot, 1.5))
    writer.start()
    time.sleep(0.1)
    busy = [view._bench_read(slot, n // 10) for _ in range(5)]
    writer.join()
    return {"read_idle": round(statistics.median(idle), 1), "read_idle_min": round(min(idle), 1),
            "reader_book_idle": round(statistics.median(public), 1),
            "reader_book_idle_min": round(min(public), 1),
            "read_busy_writer": round(statistics.median(busy), 1),
            "read_busy_writer_min": round(min(busy), 1)}


def bench_throughput(pub: Publisher, name: str, readers: int, seconds: float) -> float:
    slot = pub.writer.slot_of("bench", "THROUGHPUT")
    pub.writer._hammer(slot, 1)
    out = FORK.Queue()
    procs = [FORK.Process(target=_spin_reader, args=(name, slot, seconds + 0.5))
             for _ in range(readers)]
    for p in procs:
        p.start()
    time.sleep(0.2)
    w = FORK.Process(target=_hammer_for, args=(pub, slot, seconds, out))
    w.start()
    rate = out.get(timeout=seconds + 30)
    w.join()
    for p in procs:
        p.join()
    return float(rate)


def _paced_writer(pub: Publisher, slot: int, n: int) -> None:
    # sleeps between publishes (a busy-wait would steal the reader's core on small hosts)
    for i in range(n):
        pub.writer._hammer(slot, 1, i, 0, True)     # stamps CLOCK_MONOTONIC at publish
        time.sleep(20e-6)


def bench_visible(pub: Publisher, name: str, n: int) -> dict[str, float]:
    slot = pub.writer.slot_of("bench", "VISIBLE")
    pub.writer._hammer(slot, 1)
    reader = Reader(name)
    w = FORK.Process(target=_paced_writer, args=(pub, slot, n + 200))
    w.start()
    lat = reader.view._visible_latency(slot, n, int(10e9))
    w.join()
    lat = lat[100:] if len(lat) > 200 else lat
    return {"samples": len(lat), "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "min": float(lat.min()),
            "max": float(lat.max())}


def run(repeat: int = 9, quick: bool = False) -> dict[str, Any]:
    """All the figures above as a dict."""
    name = f"ffbench-{uuid.uuid4().hex[:10]}"
    pub = Publisher(name, capacity=16, depth=20)
    try:
        out: dict[str, Any] = {
            "bench": "shm", "depth": 20, "python": platform.python_version(),
            "machine": platform.machine(), "cpus": os.cpu_count(), "unit": "ns",
            "publish_ns": bench_publish(pub, repeat),
            "feed_ns_per_msg": bench_feed(pub, repeat, 500 if quick else 2000),
            "read_ns": bench_reads(pub, name, 20_000 if quick else 200_000),
            "writer_publishes_per_s": {
                str(k): round(bench_throughput(pub, name, k, 0.5 if quick else 1.5))
                for k in (0, 8)},
            "visible_ns": bench_visible(pub, name, 2000 if quick else 20_000),
            "targets": {"publish_ns": 100, "read_ns": 1000},
        }
    finally:
        pub.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m benches.shm [--json] [--quick]``."""
    ap = argparse.ArgumentParser(prog="python -m benches.shm", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--quick", action="store_true", help="fewer samples (smoke test)")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args(argv)
    res = run(args.repeat, args.quick)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    f = res["feed_ns_per_msg"]
    r = res["read_ns"]
    v = res["visible_ns"]
    p = res["publish_ns"]
    print(f"publish (top-20 of a 1000-level book): {p['median']:.1f} ns median, "
          f"{p['min']:.1f} ns min")
    print(f"BookFeed.apply_message binance: {f['without_shm']:.0f} ns without shm, "
          f"{f['with_shm']:.0f} ns with ({f['difference']:+.0f} ns; minima "
          f"{f['without_shm_min']:.0f} / {f['with_shm_min']:.0f}, {f['difference_min']:+.0f})")
    print(f"read: {r['read_idle']:.0f} ns idle (min {r['read_idle_min']:.0f}), "
          f"{r['read_busy_writer']:.0f} ns under a busy writer; Reader.book "
          f"{r['reader_book_idle']:.0f} ns (min {r['reader_book_idle_min']:.0f})")
    for k, rate in res["writer_publishes_per_s"].items():
        print(f"writer: {rate / 1e6:.1f} M publishes/s with {k} readers")
    print(f"publish -> visible: p50 {v['p50']:.0f} ns, p99 {v['p99']:.0f} ns, "
          f"min {v['min']:.0f} ns "
          f"({v['samples']} samples, {res['cpus']} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
