"""Cost of one L2 level change: ``python -m benches.book [--json]``.

Every book starts from the same snapshot: per side a grid of 7500 price slots, each filled
with probability 2/3 (about 5000 levels a side). A workload is a pre-generated stream of
changes (side, price, size): a random slot in a region of the grid, size 0 (a delete,
of a present or absent level) with probability 1/3, else a new random size. The grid's
occupancy stays at 2/3, so the depth stays near 5000 for the whole run.

Workloads (slot 0 is the best price of a side):

- ``near_top``: slots 0..74, i.e. within the top ~50 levels;
- ``deep``: slots 3750..7499, the bottom half (~levels 2500..5000);
- ``uniform``: any slot.
- ``near_top_1k`` / ``near_top_10k``: ``near_top`` changes in books of about 1,000 and
  10,000 levels a side (a grid of 1500 / 15000 slots): the cost must not grow with depth;
- ``near_top_msgs_1k`` / ``near_top_msgs_10k``: the same changes as messages of 30, each
  side's changes last-wins deduplicated and sorted best first, as Binance sends them
  (runs that ``apply_deltas`` merges in one pass), one ``apply_deltas`` call a message;
- ``binance_realistic``: not the grid above: the converted level changes of
  :func:`fastfeed.bench.workload.make_workload` ``("binance", ...)`` BTCUSDT ``@depth@100ms``
  messages (the simulator's market model, ~30 changes a message, 1000-level book),
  replayed in order into a book loaded from that workload's REST snapshot. Most changes
  hit the top few levels; about a fifth insert or delete at the bottom of the 1000-level
  book (the model keeps its depth). ``dict_best`` reads the top once per message.

Rows, in ns per change (median over ``--repeat`` runs, all in one process):

- ``compiled``: ``L2Book.apply_many`` over the whole stream: one Python call, the loop
  runs in Cython (validation pass + chunked ``apply_deltas``);
- ``compiled_apply_deltas``: the bare cdef ``apply_deltas`` over a C ``Delta`` array
  (``fastfeed._benchkit.bench_apply_deltas``), which is how the listener drives the book:
  one call a message for ``binance_realistic`` and ``near_top_msgs_*``, one call for the
  whole stream otherwise;
- ``compiled_per_change``: the same calls with run merging off
  (``fastfeed._book.set_run_merging(False)``): every change one by one, the path a
  book took before runs were merged; ``merge_speedup`` is it over
  ``compiled_apply_deltas`` (docs/performance.md, "Book apply");
- ``reference``: the pure-Python ``ReferenceBook.apply`` per change;
- ``dict``: the plain dict book: ``d[price] = size`` or ``d.pop(price, None)`` per change
  and nothing else (no best price ever computed: a floor for any dict-based book);
- ``dict_best``: the same dict book that also answers best bid and best ask (``max`` /
  ``min`` over the keys, computed only when asked) once per ``--changes-per-read``
  changes, i.e. once per message of that many changes. ``reference_best`` likewise.
  The compiled book's best is O(1) and always current, so it pays nothing extra.

Plus ``parse_decimal`` ns per parse when ``fastfeed._benchkit.bench_parse_decimal`` exists.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from typing import Any

import numpy as np

from fastfeed._benchkit import bench_apply_deltas
from fastfeed._book import ASK, BID, L2Book, set_run_merging
from fastfeed.reference.book import ReferenceBook

SLOTS = 7_500
FILL = 2 / 3
MID = 1_000_000
REGIONS = {"near_top": (0, 75), "deep": (SLOTS // 2, SLOTS), "uniform": (0, SLOTS)}
#: near_top at other depths: workload -> grid slots a side (2/3 filled).
DEPTHS = {"near_top_1k": 1_500, "near_top_10k": 15_000}
#: The same as messages: workload -> the DEPTHS workload it regroups.
MESSAGES = {"near_top_msgs_1k": "near_top_1k", "near_top_msgs_10k": "near_top_10k"}
#: Changes per message of the MESSAGES workloads.
PER_MESSAGE = 30
REALISTIC = "binance_realistic"
#: Messages of the realistic workload (~30 changes each).
REALISTIC_MESSAGES = 4_000


def slot_price(side: np.ndarray | int, slot: np.ndarray | int) -> np.ndarray | int:
    """Bids below MID, asks above; slot 0 is each side's best price."""
    return np.where(np.asarray(side) == BID, MID - 1 - np.asarray(slot), MID + np.asarray(slot))


def make_snapshot(
    seed: int = 1, slots: int = SLOTS
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """About ``slots * 2/3`` (5000) levels a side, best first like a venue's REST snapshot."""
    rng = np.random.default_rng(seed)
    out = []
    for side in (BID, ASK):
        filled = np.flatnonzero(rng.random(slots) < FILL)
        prices = slot_price(side, filled)
        sizes = rng.integers(1, 1_000_000, size=len(filled))
        out.append(list(zip(prices.tolist(), sizes.tolist(), strict=True)))
    return out[0], out[1]


def make_changes(region: str, n: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` changes in ``region`` (of REGIONS or DEPTHS): (sides, prices, sizes) int64."""
    rng = np.random.default_rng(seed)
    lo, hi = REGIONS[region] if region in REGIONS else REGIONS["near_top"]
    sides = rng.integers(0, 2, size=n).astype(np.int64)
    prices = slot_price(sides, rng.integers(lo, hi, size=n)).astype(np.int64)
    sizes = np.where(rng.random(n) < 1 - FILL, 0, rng.integers(1, 1_000_000, size=n))
    return sides, prices, sizes.astype(np.int64)


def as_messages(
    changes: tuple[np.ndarray, np.ndarray, np.ndarray], per: int = PER_MESSAGE
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Regroup changes into messages of ``per`` as a venue sends them: in each, per
    side (bids first), the last change of each price, sorted best first. Returns the
    rows and the row count of each message (the book after each message is unchanged)."""
    rows: list[tuple[int, int, int]] = []
    counts = []
    sides, prices, sizes = (c.tolist() for c in changes)
    for at in range(0, len(sides), per):
        last: tuple[dict[int, int], dict[int, int]] = ({}, {})
        for s, p, q in zip(*(c[at : at + per] for c in (sides, prices, sizes)), strict=True):
            last[s][p] = q
        for side in (BID, ASK):
            best_first = sorted(last[side].items(), reverse=side == BID)
            rows.extend((side, p, q) for p, q in best_first)
        counts.append(len(last[0]) + len(last[1]))
    cols = tuple(np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    return (cols[0], cols[1], cols[2]), np.array(counts, dtype=np.int64)


def make_realistic(
    messages: int = REALISTIC_MESSAGES, seed: int = 1
) -> tuple[Any, tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, tuple[int, int]]:
    """Realistic Binance traffic: (snapshot, changes, changes of each message, decimals).

    The snapshot and messages come from ``make_workload("binance")``; prices and sizes
    are converted exactly (``Decimal``) at the workload's tick / step scale. Messages
    the venue rule drops as old (``u <= lastUpdateId``) are skipped, as the feed does.
    """
    from decimal import Decimal

    from fastfeed.bench.workload import make_workload

    w = make_workload("binance", messages=messages, seed=seed)
    assert w.snapshot is not None
    pd = -Decimal(w.tick_size).normalize().as_tuple().exponent
    sd = -Decimal(w.step_size).normalize().as_tuple().exponent
    pd, sd = max(int(pd), 0), max(int(sd), 0)

    def conv(levels: list[list[str]]) -> list[tuple[int, int]]:
        return [(int(Decimal(p).scaleb(pd)), int(Decimal(q).scaleb(sd))) for p, q in levels]

    snap = json.loads(w.snapshot)
    last = snap["lastUpdateId"]
    rows: list[tuple[int, int, int]] = []
    counts = []
    for m in w.messages:
        ev = json.loads(m)
        if ev["u"] <= last:
            continue
        at = len(rows)
        for side, key in ((BID, "b"), (ASK, "a")):
            rows.extend((side, p, q) for p, q in conv(ev[key]))
        counts.append(len(rows) - at)
    cols = tuple(np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    changes = (cols[0], cols[1], cols[2])
    snapshot = (conv(snap["bids"]), conv(snap["asks"]))
    return snapshot, changes, np.array(counts, dtype=np.int64), (pd, sd)


def _median_ns_per_change(samples: list[float]) -> float:
    return round(statistics.median(samples), 2)


def bench_compiled(
    snapshot: Any,
    changes: Any,
    repeat: int,
    decimals: tuple[int, int] = (2, 8),
    counts: np.ndarray | None = None,
) -> dict[str, float]:
    """The compiled rows; ``counts``: one ``apply_deltas`` call per message of that many.

    The three contenders run interleaved in each repeat, so a noisy spell hits all.
    """
    n = len(changes[0])
    out: dict[str, list[float]] = {"compiled": [], "compiled_apply_deltas": [], "per": []}
    for _ in range(repeat):
        book = L2Book(*decimals)
        book.load(*snapshot)
        t0 = time.perf_counter_ns()
        book.apply_many(*changes)
        out["compiled"].append((time.perf_counter_ns() - t0) / n)
        for key, merge in (("compiled_apply_deltas", True), ("per", False)):
            book = L2Book(*decimals)
            book.load(*snapshot)
            set_run_merging(merge)
            try:
                out[key].append(bench_apply_deltas(book, *changes, counts) / n)
            finally:
                set_run_merging(True)
    row = {k: _median_ns_per_change(v) for k, v in out.items()}
    row["compiled_per_change"] = row.pop("per")
    row["merge_speedup"] = round(row["compiled_per_change"] / row["compiled_apply_deltas"], 2)
    return row


def _dict_run(snapshot: Any, rows: list[tuple[int, int, int]], every: int) -> float:
    books: tuple[dict[int, int], dict[int, int]] = (dict(snapshot[0]), dict(snapshot[1]))
    bids, asks = books
    sink = 0
    t0 = time.perf_counter_ns()
    if every <= 0:
        for s, p, q in rows:
            d = books[s]
            if q:
                d[p] = q
            else:
                d.pop(p, None)
    else:
        for i, (s, p, q) in enumerate(rows, 1):
            d = books[s]
            if q:
                d[p] = q
            else:
                d.pop(p, None)
            if i % every == 0:  # a message ends: the service reads top of book
                sink += max(bids) - min(asks)
    dt = time.perf_counter_ns() - t0
    return dt / len(rows) + (0 * sink)


def _reference_run(snapshot: Any, rows: list[tuple[int, int, int]], every: int) -> float:
    book = ReferenceBook(2, 8)
    book.load(*snapshot)
    apply = book.apply
    t0 = time.perf_counter_ns()
    for i, (s, p, q) in enumerate(rows, 1):
        apply(s, p, q)
        if every > 0 and i % every == 0:
            book.best_bid_int()
            book.best_ask_int()
    return (time.perf_counter_ns() - t0) / len(rows)


def bench_python(snapshot: Any, changes: Any, repeat: int, n: int, every: int) -> dict[str, float]:
    rows = list(zip(*(c[:n].tolist() for c in changes), strict=True))
    out: dict[str, list[float]] = {
        "reference": [],
        "reference_best": [],
        "dict": [],
        "dict_best": [],
    }
    for _ in range(repeat):
        out["dict"].append(_dict_run(snapshot, rows, 0))
        out["dict_best"].append(_dict_run(snapshot, rows, every))
        out["reference"].append(_reference_run(snapshot, rows, 0))
        out["reference_best"].append(_reference_run(snapshot, rows, every))
    return {k: _median_ns_per_change(v) for k, v in out.items()}


def bench_parse(repeat: int, iterations: int = 2_000_000) -> dict[str, float] | None:
    """ns per decimal parse via ``fastfeed._benchkit.bench_parse_decimal``."""
    try:
        from fastfeed._benchkit import bench_parse_decimal
    except ImportError:
        return None
    out = {}
    for text, decimals in ((b"27123.45", 2), (b"0.00012345", 8)):
        samples = [
            bench_parse_decimal(text, decimals, iterations) / iterations for _ in range(repeat)
        ]
        out[text.decode()] = _median_ns_per_change(samples)
    return out


def run(n: int = 400_000, py_n: int = 40_000, repeat: int = 7, every: int = 10) -> dict[str, Any]:
    """All rows for all workloads, in one process: the ratios compare like with like."""
    snapshot = make_snapshot()
    result: dict[str, Any] = {
        "unit": "ns per level change (median)",
        "levels_per_side": [len(snapshot[0]), len(snapshot[1])],
        "changes": {"compiled": n, "python": py_n},
        "changes_per_best_read": every,
        "repeat": repeat,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "workloads": {},
    }
    for region in (*REGIONS, *DEPTHS, *MESSAGES, REALISTIC):
        if region == REALISTIC:
            snap, changes, counts, decimals = make_realistic()
            per_msg = len(changes[0]) / len(counts)
            row = bench_compiled(snap, changes, repeat, decimals, counts)
            row.update(bench_python(snap, changes, repeat, py_n, round(per_msg)))
            row["changes"] = len(changes[0])
            row["changes_per_message"] = round(per_msg, 1)
        elif region in MESSAGES:
            snap = make_snapshot(slots=DEPTHS[MESSAGES[region]])
            changes, counts = as_messages(make_changes(MESSAGES[region], n))
            row = bench_compiled(snap, changes, repeat, counts=counts)
            row.update(bench_python(snap, changes, repeat, py_n, every))
            row["levels_per_side"] = len(snap[0])
        else:
            snap = make_snapshot(slots=DEPTHS[region]) if region in DEPTHS else snapshot
            changes = make_changes(region, n)
            row = bench_compiled(snap, changes, repeat)
            row.update(bench_python(snap, changes, repeat, py_n, every))
            row["levels_per_side"] = len(snap[0])
        row["speedup_vs_dict"] = round(row["dict"] / row["compiled"], 1)
        row["speedup_vs_dict_best"] = round(row["dict_best"] / row["compiled"], 1)
        row["speedup_vs_reference"] = round(row["reference"] / row["compiled"], 1)
        result["workloads"][region] = row
    parse = bench_parse(repeat)
    if parse is not None:
        result["parse_decimal_ns"] = parse
    top = result["workloads"]["near_top"]
    result["targets"] = {
        "near_top_compiled_le_40ns": top["compiled"] <= 40.0,
        "near_top_20x_vs_dict": top["speedup_vs_dict"] >= 20.0,
        "near_top_20x_vs_dict_best": top["speedup_vs_dict_best"] >= 20.0,
    }
    return result


def _table(result: dict[str, Any]) -> str:
    cols = [
        "compiled",
        "compiled_apply_deltas",
        "compiled_per_change",
        "merge_speedup",
        "reference",
        "reference_best",
        "dict",
        "dict_best",
        "speedup_vs_dict",
        "speedup_vs_dict_best",
    ]
    lines = [f"{'workload':<20}" + "".join(f"{c:>22}" for c in cols)]
    for name, row in result["workloads"].items():
        lines.append(f"{name:<20}" + "".join(f"{row[c]:>22}" for c in cols))
    if "parse_decimal_ns" in result:
        lines.append(f"parse_decimal ns: {result['parse_decimal_ns']}")
    lines.append(f"targets: {result['targets']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benches.book", description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--n", type=int, default=400_000, help="changes per compiled run")
    ap.add_argument("--py-n", type=int, default=40_000, help="changes per Python run")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--changes-per-read", type=int, default=10, help="dict_best/reference_best")
    args = ap.parse_args(argv)
    result = run(args.n, args.py_n, args.repeat, args.changes_per_read)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
