"""Candle speed: ``python -m benches.candles [--json] [--quick]``.

1. Venue candles: distinct kline / candles payloads (the real shapes of channels.md 1.6,
   2.4, 3.5; prices and volumes moving, buckets rolling every 30 updates so closes happen)
   go through a fresh ``CandleFeed``'s compiled path (decode, exact decimals incl. the
   128-bit quote volume, the open candle updated, closed ones recorded), ns per payload,
   next to ``json.loads`` and ``orjson.loads`` of the same payloads (objects only: no
   exact decimals, nothing recorded). All three loops are Python ``for`` loops calling one
   function per payload, so they carry the same call overhead.
2. Local candles: ns per trade aggregated by ``LocalCandles.add_trades`` (a
   ``TRADE_DTYPE`` array, the loop in C) next to two pure-Python baselines over the same
   trades: the reference builder (``fastfeed.reference.candles``) and a minimal
   dict-free loop (bucket, OHLC, volume, quote volume as Python ints).

Best of several runs; the ratios are what to compare (a shared machine moves absolute
numbers by 20-40 %).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from fastfeed import CandleFeed, LocalCandles
from fastfeed.reference.candles import LocalCandleBuilder
from fastfeed.trades import TRADE_DTYPE


def _dumps(o: Any) -> bytes:
    return json.dumps(o, separators=(",", ":")).encode()


def binance_kline(i: int) -> bytes:
    """Spot ``@kline_1m``, combined-stream form; a new bucket every 30 updates."""
    t = 1764000000000 + (i // 30) * 60_000
    return _dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": t + i % 30,
        "s": "BTCUSDT", "k": {"t": t, "T": t + 59_999, "s": "BTCUSDT", "i": "1m",
        "f": 5000000000 + i, "L": 5000000100 + i, "o": "104250.33000000",
        "c": f"{104250.33 + (i % 50) * 0.01:.8f}", "h": "104260.00000000",
        "l": "104240.00000000", "v": f"{1.5 + (i % 97) * 0.001:.8f}", "n": 100 + i % 30,
        "x": i % 30 == 29, "q": f"{156375.5 + (i % 97) * 104.25:.8f}",
        "V": "0.75000000", "Q": "78187.75000000", "B": "0"}}})


def usdm_kline(i: int) -> bytes:
    """USD-M ``@kline_1m`` as captured (channels.md 2.4)."""
    t = 1791382980000 + (i // 30) * 60_000
    return _dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": t + i % 30,
        "s": "BTCUSDT", "k": {"t": t, "T": t + 59_999, "s": "BTCUSDT", "i": "1m",
        "f": 8153633367 + i, "L": 8153634395 + i, "o": "83084.90",
        "c": f"{83091.6 + (i % 50) * 0.1:.2f}", "h": "83191.70", "l": "83051.20",
        "v": f"{13.551 + (i % 97) * 0.001:.3f}", "n": 1027 + i % 30, "x": i % 30 == 29,
        "q": f"{1125714.7396 + (i % 97) * 83.1:.5f}", "V": "6.426", "Q": "533856.66860",
        "B": "0"}}})


def coinbase_candles(i: int) -> bytes:
    """Advanced Trade ``candles`` update; a new 5-minute bucket every 30 updates."""
    start = 1688998200 + (i // 30) * 300
    return _dumps({"channel": "candles", "client_id": "",
                   "timestamp": "2023-06-09T20:19:35.39625135Z", "sequence_num": i,
                   "events": [{"type": "update", "candles": [{
                       "start": str(start), "high": "1867.72", "low": "1865.63",
                       "open": "1867.38", "close": f"{1866.81 + (i % 50) * 0.01:.2f}",
                       "volume": f"{0.20269406 + (i % 97) * 1e-8:.8f}",
                       "product_id": "ETH-USD"}]}]})


# (name, venue, symbol, interval, tick, step, payload(i))
CASES: list[tuple[str, str, str, str, str, str, Callable[[int], bytes]]] = [
    ("binance_kline", "binance", "BTCUSDT", "1m", "0.01", "0.00001", binance_kline),
    ("binance_usdm_kline", "binance-usdm", "BTCUSDT", "1m", "0.10", "0.001", usdm_kline),
    ("coinbase_candles", "coinbase", "ETH-USD", "5m", "0.01", "0.00000001",
     coinbase_candles),
]


def _py_ns(fn: Callable[[Any], Any], items: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for p in items:
            fn(p)
        best = min(best, time.perf_counter_ns() - t0)
    return best


def trades_for(n: int) -> np.ndarray:
    """``n`` trades over ~n/50 one-minute buckets, prices and sizes moving, 1 % late."""
    rng = np.random.default_rng(5)
    arr = np.zeros(n, dtype=TRADE_DTYPE)
    t = 1764000000 * 10**9 + np.cumsum(rng.integers(0, 2 * 60 * 10**9 // 50, n))
    late = rng.random(n) < 0.01
    t[late] -= 90 * 10**9         # a bucket already closed: dropped, counted
    arr["exchange_ns"] = t
    arr["price"] = 104250_33000000 + rng.integers(-10**8, 10**8, n)
    arr["size"] = rng.integers(1, 10**8, n)
    arr["trade_id"] = np.arange(n) + 5000000000
    return arr


def _minimal_python(rows: list[tuple[int, int, int, int]], ival: int) -> int:
    """The least a Python aggregation does: bucket, OHLC, sums, a tuple per closed candle
    (no late or out-of-order handling)."""
    closed: list[tuple[int, ...]] = []
    cur = -1
    o = h = lo = c = v = q = 0
    for t, p, s, _tid in rows:
        b = t - t % ival
        if b != cur:
            if cur >= 0:
                closed.append((cur, o, h, lo, c, v, q))
            cur, o, h, lo, c, v, q = b, p, p, p, p, 0, 0
        else:
            h = p if p > h else h
            lo = p if p < lo else lo
            c = p
        v += s
        q += p * s
    return len(closed)


def run(quick: bool = False) -> dict[str, Any]:
    """Measure every case; ``quick`` shrinks the runs (for tests)."""
    n = 300 if quick else 20_000
    repeats = 2 if quick else 7
    try:
        import orjson
    except ImportError:  # the bench extra is optional
        orjson = None
    out: dict[str, Any] = {"payloads_per_run": n, "repeats": repeats, "cases": {}}
    for name, venue, symbol, interval, tick, step, make in CASES:
        payloads = [make(i) for i in range(n)]
        best = float("inf")
        for _ in range(repeats):
            feed = CandleFeed(venue, symbol, interval, tick_size=tick, step_size=step)
            t0 = time.perf_counter_ns()
            applied = 0
            for p in payloads:
                applied += feed.apply_message(p)
            best = min(best, time.perf_counter_ns() - t0)
            if applied != n or feed.rejected or feed.closed_count < n // 30 - 1:
                raise RuntimeError(f"{name}: {applied} of {n} applied ({feed.counters()})")
        case: dict[str, Any] = {
            "payload_bytes": len(payloads[0]),
            "fastfeed_ns_per_payload": best / n,
            "json_loads_ns_per_payload": _py_ns(json.loads, payloads, repeats) / n,
        }
        case["json_loads_over_fastfeed"] = (case["json_loads_ns_per_payload"]
                                            / case["fastfeed_ns_per_payload"])
        if orjson is not None:
            case["orjson_loads_ns_per_payload"] = _py_ns(orjson.loads, payloads, repeats) / n
            case["orjson_loads_over_fastfeed"] = (case["orjson_loads_ns_per_payload"]
                                                  / case["fastfeed_ns_per_payload"])
        out["cases"][name] = case
    nt = 2_000 if quick else 200_000
    trades = trades_for(nt)
    rows = list(zip(trades["exchange_ns"].tolist(), trades["price"].tolist(),
                    trades["size"].tolist(), trades["trade_id"].tolist(), strict=True))
    best = float("inf")
    for _ in range(repeats):
        lc = LocalCandles("1m", 8, 8)
        t0 = time.perf_counter_ns()
        lc.add_trades(trades)
        best = min(best, time.perf_counter_ns() - t0)
    ref_best = float("inf")
    for _ in range(max(2, repeats // 2)):
        ref = LocalCandleBuilder(60 * 10**9)
        t0 = time.perf_counter_ns()
        for r in rows:
            ref.add(*r)
        ref_best = min(ref_best, time.perf_counter_ns() - t0)
    if [int(x) for x in lc.candles()["close"]] != [c["close"] for c in ref.closed]:
        raise RuntimeError("local candles differ from the reference builder")
    min_best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        _minimal_python(rows, 60 * 10**9)
        min_best = min(min_best, time.perf_counter_ns() - t0)
    out["local"] = {
        "trades": nt,
        "candles": int(lc.closed_count),
        "late": int(lc.late),
        "fastfeed_ns_per_trade": best / nt,
        "reference_python_ns_per_trade": ref_best / nt,
        "minimal_python_ns_per_trade": min_best / nt,
        "reference_over_fastfeed": ref_best / best,
        "minimal_python_over_fastfeed": min_best / best,
    }
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
        line = (f"{name:20} {c['payload_bytes']:>5} B  fastfeed {c['fastfeed_ns_per_payload']:6.0f}"
                f" ns/msg  json.loads {c['json_loads_ns_per_payload']:6.0f} ns/msg"
                f" ({c['json_loads_over_fastfeed']:.1f}x)")
        if "orjson_loads_ns_per_payload" in c:
            line += (f"  orjson.loads {c['orjson_loads_ns_per_payload']:6.0f} ns/msg"
                     f" ({c['orjson_loads_over_fastfeed']:.1f}x)")
        print(line)
    lo = res["local"]
    print(f"local candles (1m, {lo['trades']} trades, {lo['candles']} candles): fastfeed "
          f"{lo['fastfeed_ns_per_trade']:.1f} ns/trade  reference Python "
          f"{lo['reference_python_ns_per_trade']:.0f} ns/trade "
          f"({lo['reference_over_fastfeed']:.0f}x)  minimal Python "
          f"{lo['minimal_python_ns_per_trade']:.0f} ns/trade "
          f"({lo['minimal_python_over_fastfeed']:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
