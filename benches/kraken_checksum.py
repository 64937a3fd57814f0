"""What Kraken's book checksum costs per message: ``python -m benches.kraken_checksum``.

The CRC32 over the top 10 levels a side (docs/venues.md, "Kraken") that the hot path
computes after every Kraken book message, timed through ``BookCore.checksum()`` on the
book of the Kraken workload of ``benches.feed`` (25 levels a side), minus the cost of a
call that does next to no work (``L2Book.is_crossed()``) in the same run; next to it, the same
checksum in pure Python (``fastfeed.reference.decode.kraken_checksum``). The issue's aim:
well under 1 µs (peers: ~2 µs in a C order-book library, 10–100 µs in Python).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from benches.feed import fresh_feed
from fastfeed.bench.workload import make_workload
from fastfeed.reference.decode import kraken_checksum

CALLS = 200_000


def main(argv: list[str] | None = None) -> int:
    """Print the medians of ``--repeats`` runs (``--json``: as one JSON object)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    feed = fresh_feed(make_workload("kraken", "BTC/USD", messages=200))
    bids = [tuple(map(int, r)) for r in feed.book.bids_int()]
    asks = [tuple(map(int, r)) for r in feed.book.asks_int()]
    want = feed.checksum()
    pd, sd = feed.price_decimals, feed.size_decimals
    if kraken_checksum(asks, bids, pd, sd, pd, sd) != want:   # precisions: the scales
        raise AssertionError("the compiled and the reference checksums differ")
    compiled, empty, python = [], [], []
    ck, nothing = feed.checksum, feed.book.is_crossed
    for _ in range(args.repeats):
        t0 = time.perf_counter_ns()
        for _ in range(CALLS):
            ck()
        t1 = time.perf_counter_ns()
        for _ in range(CALLS):
            nothing()
        t2 = time.perf_counter_ns()
        for _ in range(CALLS // 100):
            kraken_checksum(asks, bids, pd, sd, pd, sd)
        t3 = time.perf_counter_ns()
        compiled.append((t1 - t0) / CALLS)
        empty.append((t2 - t1) / CALLS)
        python.append((t3 - t2) / (CALLS // 100))
    c, e, p = (statistics.median(x) for x in (compiled, empty, python))
    out = {"levels_a_side": [len(bids), len(asks)], "checksum_call_ns": round(c, 1),
           "empty_call_ns": round(e, 1), "checksum_ns": round(c - e, 1),
           "python_reference_ns": round(p, 1), "python_over_compiled": round(p / (c - e), 1)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"Kraken checksum: {out['checksum_ns']} ns per message (call {c:.1f} ns - "
              f"empty call {e:.1f} ns); pure Python {p / 1000:.1f} µs "
              f"({out['python_over_compiled']}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
