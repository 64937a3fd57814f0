"""BBO and ticker decode + record speed: ``python -m benches.quotes [--json] [--quick]``.

For each venue's BBO and ticker message (the real shapes of docs/venues.md, "Best
bid/offer" and "Tickers"), a list of distinct payloads (increasing update ids where the
venue has them, so every one is recorded, none stale) goes once through a fresh
``BboFeed`` / ``TickerFeed``'s compiled path (decode, exact decimals, staleness, ring
record) with the loop and the clock in C (``_benchkit.bench_quotes``); best of several
runs, as ns per record. ``json.loads`` and ``orjson.loads`` of the same payloads (objects
only: no exact decimals, no checks, nothing recorded) are measured in the same run; the
ratios are what to compare (a shared machine moves absolute numbers by 20-40 %).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from fastfeed import BboFeed, TickerFeed, _benchkit


def _dumps(o: Any) -> bytes:
    return json.dumps(o, separators=(",", ":")).encode()


def binance_book_ticker(i: int) -> bytes:
    """Spot ``@bookTicker`` (no e, no E), combined-stream form."""
    return _dumps({"stream": "btcusdt@bookTicker", "data": {
        "u": 400900217 + 3 * i, "s": "BTCUSDT", "b": f"{104250.33 + (i % 50) * 0.01:.8f}",
        "B": f"{0.00012 * (i % 97 + 1):.8f}", "a": f"{104250.34 + (i % 50) * 0.01:.8f}",
        "A": f"{0.00034 * (i % 89 + 1):.8f}"}})


def usdm_book_ticker(i: int) -> bytes:
    """USD-M ``@bookTicker`` as captured (channels.md 2.2), combined-stream form."""
    return _dumps({"stream": "btcusdt@bookTicker", "data": {
        "e": "bookTicker", "u": 11757092630476 + 5 * i, "s": "BTCUSDT", "ps": "BTCUSDT",
        "b": f"{83091.60 + (i % 50) * 0.1:.2f}", "B": f"{0.001 * (i % 97 + 1):.3f}",
        "a": f"{83091.70 + (i % 50) * 0.1:.2f}", "A": f"{0.001 * (i % 89 + 1):.3f}",
        "T": 1791382994657 + i, "E": 1791382994658 + i, "st": 1}})


def binance_ticker(i: int) -> bytes:
    """Spot ``@ticker`` (24hrTicker), combined-stream form."""
    return _dumps({"stream": "btcusdt@ticker", "data": {
        "e": "24hrTicker", "E": 1672515782136 + 1000 * i, "s": "BTCUSDT",
        "p": f"{-120.5 + (i % 50) * 0.01:.8f}", "P": "-0.145", "w": "104000.12345678",
        "x": "104370.83000000", "c": f"{104250.33 + (i % 50) * 0.01:.8f}",
        "Q": "0.00012000", "b": "104250.32000000", "B": "1.20000000",
        "a": "104250.34000000", "A": "0.50000000", "o": "104370.83000000",
        "h": "105000.00000000", "l": "103000.10000000", "v": f"{15000.123 + i:.8f}",
        "q": f"{1561234567.89 + i:.8f}", "O": 1672429382136 + 1000 * i,
        "C": 1672515782136 + 1000 * i, "F": 5000000000 + i, "L": 5003634394 + i,
        "n": 3634395}})


def coinbase_ticker(i: int) -> bytes:
    """Advanced Trade ``ticker`` with one ticker (channels.md 3.4)."""
    return _dumps({"channel": "ticker", "client_id": "",
                   "timestamp": f"2023-02-09T20:30:{i % 60:02d}.{i % 1000000:06d}Z",
                   "sequence_num": i, "events": [{"type": "update", "tickers": [{
                       "type": "ticker", "product_id": "BTC-USD",
                       "price": f"{21932.98 + (i % 50) * 0.01:.2f}",
                       "volume_24_h": "16038.28770938", "low_24_h": "21835.29",
                       "high_24_h": "23011.18", "low_52_w": "15460", "high_52_w": "48240",
                       "price_percent_chg_24_h": "-4.15775596190603",
                       "best_bid": f"{21931.98 + (i % 50) * 0.01:.2f}",
                       "best_bid_quantity": f"{0.00012 * (i % 97 + 1):.8f}",
                       "best_ask": f"{21933.98 + (i % 50) * 0.01:.2f}",
                       "best_ask_quantity": "8038.07770938"}]}]})


def coinbase_exchange_ticker(i: int) -> bytes:
    """Exchange ``ticker`` with best_bid_size/best_ask_size (channels.md 4.2)."""
    return _dumps({"type": "ticker", "sequence": 29912240 + 7 * i, "product_id": "BTC-USD",
                   "price": f"{40552.26 + (i % 50) * 0.01:.2f}", "open_24h": "40552.26",
                   "volume_24h": "1234.43526841", "low_24h": "40552.26",
                   "high_24h": "40662.06", "volume_30d": "160.65999711",
                   "best_bid": f"{40552.25 + (i % 50) * 0.01:.2f}", "best_bid_size": "0.25",
                   "best_ask": f"{40552.27 + (i % 50) * 0.01:.2f}", "best_ask_size": "1.5",
                   "side": "sell", "time": f"2022-03-16T18:42:{i % 60:02d}.{i % 1000000:06d}Z",
                   "trade_id": 131414 + i, "last_size": "0.00002465"})


# (name, feed class, venue, symbol, tick, step, payload(i))
CASES: list[tuple[str, type, str, str, str, str, Callable[[int], bytes]]] = [
    ("binance_book_ticker", BboFeed, "binance", "BTCUSDT", "0.01", "0.00001",
     binance_book_ticker),
    ("binance_usdm_book_ticker", BboFeed, "binance-usdm", "BTCUSDT", "0.10", "0.001",
     usdm_book_ticker),
    ("coinbase_ticker_bbo", BboFeed, "coinbase", "BTC-USD", "0.01", "0.00000001",
     coinbase_ticker),
    ("coinbase_exchange_ticker_bbo", BboFeed, "coinbase-exchange", "BTC-USD", "0.01",
     "0.00000001", coinbase_exchange_ticker),
    ("binance_ticker", TickerFeed, "binance", "BTCUSDT", "0.01", "0.00001", binance_ticker),
    ("coinbase_ticker", TickerFeed, "coinbase", "BTC-USD", "0.01", "0.00000001",
     coinbase_ticker),
    ("coinbase_exchange_ticker", TickerFeed, "coinbase-exchange", "BTC-USD", "0.01",
     "0.00000001", coinbase_exchange_ticker),
]


def _py_ns(fn: Callable[[bytes], Any], payloads: list[bytes], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for p in payloads:
            fn(p)
        best = min(best, time.perf_counter_ns() - t0)
    return best


def run(quick: bool = False) -> dict[str, Any]:
    """Measure every case; ``quick`` shrinks the runs (for tests)."""
    n = 500 if quick else 20_000
    repeats = 2 if quick else 7
    try:
        import orjson
    except ImportError:  # the bench extra is optional
        orjson = None
    out: dict[str, Any] = {"payloads_per_run": n, "repeats": repeats, "cases": {}}
    for name, cls, venue, symbol, tick, step, make in CASES:
        payloads = [make(i) for i in range(n)]
        best = float("inf")
        for _ in range(repeats):
            feed = cls(venue, symbol, tick, step, capacity=65_536)
            ns, recorded = _benchkit.bench_quotes(feed, payloads)
            if recorded != n or feed.rejected or feed.stale:
                raise RuntimeError(f"{name}: {recorded} of {n} recorded ({feed.counters()})")
            best = min(best, ns)
        case: dict[str, Any] = {
            "payload_bytes": len(payloads[0]),
            "fastfeed_ns_per_record": best / n,
            "json_loads_ns_per_payload": _py_ns(json.loads, payloads, repeats) / n,
        }
        case["json_loads_over_fastfeed"] = (case["json_loads_ns_per_payload"]
                                            / case["fastfeed_ns_per_record"])
        if orjson is not None:
            case["orjson_loads_ns_per_payload"] = _py_ns(orjson.loads, payloads, repeats) / n
            case["orjson_loads_over_fastfeed"] = (case["orjson_loads_ns_per_payload"]
                                                  / case["fastfeed_ns_per_record"])
        out["cases"][name] = case
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    args = ap.parse_args(argv)
    res = run(quick=args.quick)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    for name, c in res["cases"].items():
        line = (f"{name:30} {c['payload_bytes']:>5} B"
                f" fastfeed {c['fastfeed_ns_per_record']:7.0f} ns/msg"
                f"  json.loads {c['json_loads_ns_per_payload']:7.0f} ns/msg"
                f" ({c['json_loads_over_fastfeed']:.1f}x)")
        if "orjson_loads_ns_per_payload" in c:
            line += (f"  orjson.loads {c['orjson_loads_ns_per_payload']:6.0f} ns/msg"
                     f" ({c['orjson_loads_over_fastfeed']:.1f}x)")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
