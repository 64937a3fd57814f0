"""``--no-socket`` mode: decode + apply in-process, fastfeed vs json/orjson + dict book."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastfeed.bench.baselines import corrupt_dict, dict_levels, make_router
from fastfeed.bench.config import BenchConfig, RunResult
from fastfeed.bench.workload import Workload, book_levels_decimal, compare_levels, corrupt_core
from fastfeed.latency import LatencyHistogram


def inproc_run(cfg: BenchConfig, workloads: list[Workload], name: str) -> RunResult:
    """One in-process run of ``name`` over every workload (fresh books each time)."""
    res = RunResult(name)
    res.wall_start = time.time()
    if name == "fastfeed":
        from fastfeed.feed import BookFeed

        feeds = []
        for w in workloads:
            # full precision: the table's percentiles come from these histograms
            feed = BookFeed(w.venue, w.symbol, w.tick_size, w.step_size, book_latency="full")
            if w.snapshot is not None:
                feed.apply_snapshot(w.snapshot)
            for m in w.prelude:
                feed.apply_message(m)
            feeds.append(feed)
        c0 = time.process_time()
        t0 = time.perf_counter_ns()
        for w, feed in zip(workloads, feeds, strict=True):
            apply = feed.apply_message
            for m in w.messages:
                apply(m)
        res.elapsed_s = (time.perf_counter_ns() - t0) / 1e9
        res.cpu_s = time.process_time() - c0
        hist = LatencyHistogram()
        msgs = []
        for w, feed in zip(workloads, feeds, strict=True):
            assert feed.recv_to_apply is not None       # (book_latency="full")
            hist.add(feed.recv_to_apply)
            res.level_changes += feed.level_changes
            if cfg.corrupt == "fastfeed" and feed is feeds[0]:
                corrupt_core(feed)
            if feed.state != "live":
                msgs.append(f"{w.symbol}: book is {feed.state}")
                continue
            for side, got, want in (("bids", feed.book.bids_int(), w.final_bids),
                                    ("asks", feed.book.asks_int(), w.final_asks)):
                diff = compare_levels(f"{w.symbol} {side}", book_levels_decimal(
                    got, feed.price_decimals, feed.size_decimals), want)
                if diff:
                    msgs.append(diff)
        res.hist = hist
    else:
        if name == "orjson-dict":
            import orjson
            loads: Callable[[bytes], Any] = orjson.loads
        else:
            loads = json.loads
        routed = []
        for w in workloads:
            router, books = make_router(w.venue, [w.symbol])
            if w.snapshot is not None:
                books[w.symbol].load_rest(loads(w.snapshot))
            for m in w.prelude:
                router.on_message(loads(m))
            routed.append((router, books[w.symbol]))
        c0 = time.process_time()
        t0 = time.perf_counter_ns()
        for w, (router, _) in zip(workloads, routed, strict=True):
            on_message = router.on_message
            for m in w.messages:
                on_message(loads(m))
        res.elapsed_s = (time.perf_counter_ns() - t0) / 1e9
        res.cpu_s = time.process_time() - c0
        msgs = []
        for w, (_, book) in zip(workloads, routed, strict=True):
            if cfg.corrupt == name and book is routed[0][1]:
                corrupt_dict(book)
            if book.state != "live":
                msgs.append(f"{w.symbol}: book is {book.state}")
                continue
            for side, dgot, want in (("bids", dict_levels(book.bids, True), w.final_bids),
                                     ("asks", dict_levels(book.asks, False), w.final_asks)):
                diff = compare_levels(f"{w.symbol} {side}", dgot, want, float)
                if diff:
                    msgs.append(diff)
    res.messages = sum(len(w.messages) for w in workloads) + 1   # rate uses messages - 1
    res.bytes = sum(w.bytes for w in workloads)
    res.exact, res.mismatch = (not msgs, "; ".join(msgs) or None)
    res.wall_end = time.time()
    return res
