"""Per-message cost of ``BookFeed.apply_message``: ``python -m benches.feed [--json]``.

Workloads pre-generated with the simulator's market model and renderers
(:func:`fastfeed.bench.workload.make_workload`), each on a 1000-level book:

- ``binance``: BTCUSDT ``@depth@100ms`` events (raw-stream form, 8-decimal strings),
  ~30 distinct level changes, ~1 KB each;
- ``binance-usdm``: BTCUSDT USD-M events (``pu`` chaining), ~30 changes;
- ``coinbase``: Coinbase Advanced Trade ``l2_data`` update envelopes, ~30 changes;
- ``bybit``, ``bybit-linear``, ``okx``, ``kraken``: each venue's book messages as its
  simulator dialect renders them (docs/simulator.md), ~30 changes; Kraken's are the
  changes of the top 25 a client holds (JSON numbers, a checksum per message: fastfeed
  truncates and verifies it, the dict baseline truncates but does not checksum).

For each, in the same run and on the same bytes: fastfeed (``BookFeed.apply_message``:
decode → sequence check → int64 book → latency record), ``json.loads`` + dict book and
``orjson.loads`` + dict book (:class:`fastfeed.bench.baselines.DictBook`: float keys and sizes,
zero deletes, the venue's sequence rule). Every repeat starts from a fresh book loaded
with the snapshot (untimed) and times one pass over all messages; the figure is the
median over repeats of ns per message (contenders interleaved within each repeat).
Every contender's final book is checked against the model's truth. ``fastfeed_engine``
(on trees with per-connection latency, docs/memory.md) is the same book also recording
into a connection's full-precision histograms, as every book of an ``Engine`` does.

Targets: Binance ≤ 1.5 µs/msg and ≥ 10× the json baseline; Coinbase ≤ 2 µs and ≥ 10×;
none set yet for Bybit, OKX and Kraken (their ``meets_*`` fields are null).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from fastfeed.bench.baselines import dict_levels, make_router
from fastfeed.bench.workload import Workload, book_levels_decimal, compare_levels, make_workload
from fastfeed.feed import BookFeed

#: (workload name, venue, symbol, target µs/msg, target speedup over json; None: no target)
CASES: tuple[tuple[str, str, str, float | None, float | None], ...] = (
    ("binance", "binance", "BTCUSDT", 1.5, 10.0),
    ("binance-usdm", "binance-usdm", "BTCUSDT", 1.5, 10.0),
    ("coinbase", "coinbase", "BTC-USD", 2.0, 10.0),
    ("bybit", "bybit", "BTCUSDT", None, None),
    ("bybit-linear", "bybit-linear", "BTCUSDT", None, None),
    ("okx", "okx", "BTC-USDT", None, None),
    ("kraken", "kraken", "BTC/USD", None, None),
)


def fresh_feed(w: Workload, connection: bool = False) -> BookFeed:
    """A BookFeed loaded with the workload's snapshot (REST or in-band); with
    ``connection``, also recording into a connection's LatencySet (as in an Engine)."""
    feed = BookFeed(w.venue, w.symbol, w.tick_size, w.step_size)
    if connection:
        from fastfeed.latency import connection_latency_set

        feed._attach_latency(connection_latency_set())
    if w.snapshot is not None:
        feed.apply_snapshot(w.snapshot)
    for m in w.prelude:
        feed.apply_message(m)
    return feed


def time_fastfeed(w: Workload, connection: bool = False) -> tuple[float, str | None]:
    """ns per message of one pass, and a mismatch description (None if exact)."""
    feed = fresh_feed(w, connection)
    apply = feed.apply_message
    msgs = w.messages
    t0 = time.perf_counter_ns()
    for m in msgs:
        apply(m)
    ns = (time.perf_counter_ns() - t0) / len(msgs)
    if feed.state != "live":
        return ns, f"book is {feed.state}"
    pd, sd = feed.price_decimals, feed.size_decimals
    diff = (compare_levels("bids", book_levels_decimal(feed.book.bids_int(), pd, sd), w.final_bids)
            or compare_levels("asks", book_levels_decimal(feed.book.asks_int(), pd, sd),
                              w.final_asks))
    return ns, diff


def time_dict(w: Workload, loads: Callable[[bytes], Any]) -> tuple[float, str | None]:
    """ns per message of ``loads`` + dict book, and a mismatch description."""
    router, books = make_router(w.venue, [w.symbol])
    book = books[w.symbol]
    if w.snapshot is not None:
        book.load_rest(loads(w.snapshot))
    for m in w.prelude:
        router.on_message(loads(m))
    on_message = router.on_message
    msgs = w.messages
    t0 = time.perf_counter_ns()
    for m in msgs:
        on_message(loads(m))
    ns = (time.perf_counter_ns() - t0) / len(msgs)
    if book.state != "live":
        return ns, f"book is {book.state}"
    diff = (compare_levels("bids", dict_levels(book.bids, True), w.final_bids, float)
            or compare_levels("asks", dict_levels(book.asks, False), w.final_asks, float))
    return ns, diff


def run(messages: int = 2000, repeat: int = 7, levels: float = 30.0, depth: int = 1000,
        cases: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run every case; returns the results as a dict (ns per message, ratios, checks)."""
    try:
        import orjson
        orjson_loads: Callable[[bytes], Any] | None = orjson.loads
    except ImportError:
        orjson_loads = None
    out: dict[str, Any] = {
        "bench": "feed", "messages": messages, "repeat": repeat, "book_depth": depth,
        "levels_per_message": levels, "python": platform.python_version(),
        "machine": platform.machine(), "unit": "ns per message (median of repeats)",
        "results": {},
    }
    if orjson_loads is None:
        out["note"] = "orjson is not installed: orjson baseline skipped"
    for name, venue, symbol, target_us, target_x in CASES:
        if cases and name not in cases:
            continue
        w = make_workload(venue, symbol, messages=messages, levels_per_message=levels,
                          depth=depth)
        contenders: dict[str, Callable[[], tuple[float, str | None]]] = {
            "fastfeed": lambda w=w: time_fastfeed(w),
            "json": lambda w=w: time_dict(w, json.loads),
        }
        if hasattr(BookFeed, "_attach_latency"):
            contenders["fastfeed_engine"] = lambda w=w: time_fastfeed(w, True)
        if orjson_loads is not None:
            contenders["orjson"] = lambda w=w, lo=orjson_loads: time_dict(w, lo)
        samples: dict[str, list[float]] = {k: [] for k in contenders}
        mismatch: dict[str, str | None] = {k: None for k in contenders}
        for fn in contenders.values():     # warm-up pass (imports, caches, allocator)
            fn()
        for _ in range(repeat):
            for k, fn in contenders.items():
                ns, diff = fn()
                samples[k].append(ns)
                mismatch[k] = mismatch[k] or diff
        med = {k: statistics.median(v) for k, v in samples.items()}
        res: dict[str, Any] = {
            "venue": venue, "symbol": symbol,
            "avg_message_bytes": round(w.bytes / len(w.messages), 1),
            "level_changes_per_message": round(w.level_changes / len(w.messages), 2),
            "ns_per_msg": {k: round(v, 1) for k, v in med.items()},
            "ns_per_msg_min": {k: round(min(v), 1) for k, v in samples.items()},
            "speedup_vs_json": round(med["json"] / med["fastfeed"], 2),
            "target_us": target_us, "target_speedup": target_x,
            "exact": {k: v is None for k, v in mismatch.items()},
        }
        if "orjson" in med:
            res["speedup_vs_orjson"] = round(med["orjson"] / med["fastfeed"], 2)
        res["meets_latency_target"] = (None if target_us is None
                                       else med["fastfeed"] <= target_us * 1000)
        res["meets_speedup_target"] = (None if target_x is None
                                       else res["speedup_vs_json"] >= target_x)
        if any(mismatch.values()):
            res["mismatch"] = {k: v for k, v in mismatch.items() if v}
        out["results"][name] = res
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benches.feed [--json] [--messages N] [--repeat N]``."""
    p = argparse.ArgumentParser(prog="python -m benches.feed", description=__doc__.split("\n")[0])
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--messages", type=int, default=2000, help="messages per workload")
    p.add_argument("--repeat", type=int, default=7, help="repeats (median reported)")
    p.add_argument("--levels", type=float, default=30.0, help="distinct level changes/msg")
    p.add_argument("--depth", type=int, default=1000, help="levels per side")
    p.add_argument("--case", action="append", choices=[c[0] for c in CASES],
                   help="run only this workload (repeatable)")
    args = p.parse_args(argv)
    out = run(args.messages, args.repeat, args.levels, args.depth,
              tuple(args.case) if args.case else None)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, r in out["results"].items():
            ns = r["ns_per_msg"]
            line = (f"{name:<13} fastfeed {ns['fastfeed'] / 1e3:6.2f} µs/msg  "
                    f"json {ns['json'] / 1e3:6.2f} µs ({r['speedup_vs_json']:.1f}×)")
            if "orjson" in ns:
                line += f"  orjson {ns['orjson'] / 1e3:6.2f} µs ({r['speedup_vs_orjson']:.1f}×)"
            if "fastfeed_engine" in ns:
                line += f"  +connection latency {ns['fastfeed_engine'] / 1e3:6.2f} µs"
            target = ("no target" if r["target_us"] is None
                      else f"target ≤{r['target_us']} µs, ≥{r['target_speedup']:.0f}×")
            line += (f"  [{r['level_changes_per_message']:.0f} changes, "
                     f"{r['avg_message_bytes']:.0f} B; {target}]")
            if not all(r["exact"].values()):
                line += f"  MISMATCH {r['mismatch']}"
            print(line)
    return 1 if any(not all(r["exact"].values()) for r in out["results"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
