"""Memory per book: ``python -m benches.memory [--json] [-n BOOKS] [--messages M]``.

Each measurement runs in a fresh child process (so one scenario's heap does not leak into
the next) and reports the resident set size (RSS, ``/proc/self/statm``) the books added,
per book, next to what the books' ``memory()`` accounting says (docs/memory.md):

- ``bookfeed``: N offline ``BookFeed`` books (each owns its router);
- ``engine``: N ``LiveBook`` books as an ``Engine`` holds them, offline: routed by one
  router per 200 books, each group with its connection's full-precision ``LatencySet``
  (``Connection.add`` wires the same), rotated once half-way as ``latency_interval``
  does (so cumulative totals and ``last_intervals`` exist), then fed the rest.

Every book is a realistic Binance spot book: a 1000-level-a-side REST snapshot, then
``--messages`` depth events of ~30 level changes, symbols patched into the payloads in
place (nothing allocated per message). Book latency modes: ``coarse`` (default),
``full`` and ``off``; run against a tree without them (``PYTHONPATH=/work/main/src``
for "before") it measures the one mode that tree has (``legacy``) and reports RSS only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
from typing import Any

GROUP = 200             # books per router ("connection") in the engine scenario
SCENARIOS = ("bookfeed", "engine")
MODES = ("coarse", "full", "off")


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _has_modes() -> bool:
    """Whether the fastfeed being measured has book latency modes (and ``memory()``)."""
    from fastfeed._core import BookCore

    return hasattr(BookCore, "memory")


def child(scenario: str, mode: str, n: int, messages: int) -> dict[str, Any]:
    """Build ``n`` books in this process and measure them (see the module doc)."""
    from fastfeed.bench.workload import make_workload
    from fastfeed.engine import LiveBook
    from fastfeed.feed import BookFeed
    from fastfeed.venues import Instrument

    modes = mode != "legacy"
    w = make_workload("binance", messages=messages, depth=1000)
    assert w.snapshot is not None
    key = b'"s":"BTCUSDT"'
    templates = [bytearray(m) for m in w.messages]
    offsets = [m.index(key) + 5 for m in templates]
    symbols = [f"B{i:04d}XY" for i in range(n)]         # 7 letters, as BTCUSDT
    kw = {"book_latency": mode} if modes else {}
    gc.collect()
    r0 = rss_bytes()

    books: list[Any] = []
    conns: list[Any] = []       # (router, connection LatencySet or None)
    for sym in symbols:
        if scenario == "bookfeed":
            b = BookFeed("binance", sym, w.tick_size, w.step_size, **kw)
        else:
            b = LiveBook("binance", sym, Instrument(sym, w.tick_size, w.step_size), **kw)
        if b.apply_snapshot(w.snapshot) != "live":
            raise RuntimeError(f"{sym}: snapshot did not make the book live")
        books.append(b)
    route: list[Any] = []
    if scenario == "engine":
        from fastfeed._router import Router

        for g in range(0, n, GROUP):
            group = books[g:g + GROUP]
            router = Router("binance", None, group)
            ls = None
            if modes:
                from fastfeed.latency import connection_latency_set

                ls = connection_latency_set()
                for b in group:
                    b._attach_latency(ls)
            conns.append([router, ls, {}])
            route.extend([router.route_payload] * len(group))
    else:
        route = [b.apply_message for b in books]

    def feed(lo: int, hi: int) -> None:
        for k in range(lo, hi):
            buf, off = templates[k], offsets[k]
            for i, sym in enumerate(symbols):
                buf[off:off + 7] = sym.encode()
                route[i](buf)

    feed(0, messages // 2)
    if scenario == "engine":            # what Engine.rotate_latency does, once
        for c in conns:
            if c[1] is not None:
                c[2] = c[1].rotate()
        for b in books:
            if b.latency is not None:
                b.last_intervals = b.latency.rotate()
    feed(messages // 2, messages)
    gc.collect()
    r1 = rss_bytes()
    if any(b.state != "live" for b in books):
        raise RuntimeError("a book left live during the run")

    out: dict[str, Any] = {"scenario": scenario, "mode": mode, "books": n,
                           "messages_per_book": messages,
                           "rss_per_book": (r1 - r0) / n}
    if hasattr(books[0], "memory"):
        parts: dict[str, float] = {}
        for b in books:
            for part, v in b.memory().items():
                parts[part] = parts.get(part, 0) + v
        out["accounted_per_book"] = {k: v / n for k, v in parts.items()}
        out["max_beyond_levels"] = max(b.memory()["beyond_levels"] for b in books)
        conn_bytes = 0
        for router, ls, last in conns:
            conn_bytes += sum(router.memory().values())
            if ls is not None:
                conn_bytes += ls.memory_bytes() + sum(
                    h.nbytes + sys.getsizeof(h) for h in last.values())
        out["connection_per_book"] = conn_bytes / n
    return out


def run(n: int = 500, messages: int = 200) -> dict[str, Any]:
    """Every scenario and mode, each in a child process."""
    modes = MODES if _has_modes() else ("legacy",)
    res: dict[str, Any] = {"bench": "memory", "python": sys.version.split()[0],
                           "machine": platform.machine(), "books": n,
                           "messages_per_book": messages, "unit": "bytes", "runs": []}
    for scenario in SCENARIOS:
        for mode in modes:
            cmd = [sys.executable, "-m", "benches.memory", "--child", scenario, mode,
                   "-n", str(n), "--messages", str(messages)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{scenario}/{mode} failed:\n{done.stderr[-2000:]}")
            res["runs"].append(json.loads(done.stdout))
    import fastfeed._core as core

    res["bound"] = getattr(core, "BOOK_MEMORY_BOUND", None)
    return res


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("-n", type=int, default=500, help="books per measurement")
    ap.add_argument("--messages", type=int, default=200, help="depth events per book")
    ap.add_argument("--child", nargs=2, metavar=("SCENARIO", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.n, args.messages)))
        return
    res = run(args.n, args.messages)
    if args.json:
        print(json.dumps(res))
        return
    kib = 1024.0
    print(f"{res['books']} books, 1000 levels a side, {res['messages_per_book']} events each"
          f" (bound beyond level arrays: "
          f"{res['bound'] / kib:.0f} KiB)" if res["bound"] else "")
    for r in res["runs"]:
        line = f"{r['scenario']:<9} {r['mode']:<7} RSS {r['rss_per_book'] / kib:8.1f} KiB/book"
        a = r.get("accounted_per_book")
        if a:
            line += (f" | accounted {a['total'] / kib:7.1f} KiB: levels {a['levels'] / kib:.1f}"
                     f", latency {a['latency'] / kib:.1f}, scratch {a['scratch'] / kib:.1f}"
                     f", buffer {a['buffer'] / kib:.1f}, objects {a['objects'] / kib:.1f};"
                     f" beyond levels {a['beyond_levels'] / kib:.1f} (max "
                     f"{r['max_beyond_levels'] / kib:.1f}) + connection "
                     f"{r['connection_per_book'] / kib:.1f} KiB/book")
        print(line)


if __name__ == "__main__":
    main()
