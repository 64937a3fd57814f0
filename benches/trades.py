"""Trade decode + record speed: ``python -m benches.trades [--json] [--quick]``.

For each venue's trade message (the real shapes of docs/venues.md, "Trades"), a list of
distinct payloads (consecutive trade ids, so every trade is recorded, none dropped as a
duplicate) goes once through a fresh ``TradeFeed``'s compiled path (decode, exact
decimals, id checks, ring record) with the loop and the clock in C
(``_benchkit.bench_trades``); best of several runs, as ns per trade. ``json.loads`` and
``orjson.loads`` of the same payloads (objects only: no exact decimals, no checks, nothing
recorded) are measured in the same run; the ratios are what to compare (a shared machine
moves absolute numbers by 20-40 %).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from fastfeed import TradeFeed, _benchkit


def _dumps(o: Any) -> bytes:
    return json.dumps(o, separators=(",", ":")).encode()


def binance_trade(i: int) -> bytes:
    """Spot ``@trade``, combined-stream form (what fastfeed's connections receive)."""
    return _dumps({"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": 1764000000000 + i, "s": "BTCUSDT", "t": 5000000000 + i,
        "p": f"{104250.33 + (i % 50) * 0.01:.8f}", "q": f"{0.00012 * (i % 97 + 1):.8f}",
        "T": 1764000000000 + i, "m": bool(i % 2), "M": True}})


def binance_agg_trade(i: int) -> bytes:
    """USD-M ``@aggTrade`` as captured (a before s, nq, st), combined-stream form."""
    return _dumps({"stream": "btcusdt@aggTrade", "data": {
        "e": "aggTrade", "E": 1791382992488 + i, "a": 3477868433 + i, "s": "BTCUSDT",
        "p": f"{83091.70 + (i % 50) * 0.1:.2f}", "q": f"{0.001 * (i % 97 + 1):.3f}",
        "nq": f"{0.001 * (i % 97 + 1):.3f}", "f": 8153634393 + 2 * i,
        "l": 8153634394 + 2 * i, "T": 1791382992338 + i, "m": bool(i % 2), "st": 1}})


def coinbase_exchange_match(i: int) -> bytes:
    return _dumps({"type": "match", "trade_id": 734680345 + i, "sequence": 50000000 + 3 * i,
                   "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8",
                   "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1",
                   "time": f"2024-12-07T18:00:{i % 60:02d}.{i % 1000000:06d}Z",
                   "product_id": "BTC-USD", "size": f"{0.00012 * (i % 97 + 1):.8f}",
                   "price": f"{97250.01 + (i % 50) * 0.01:.2f}",
                   "side": "buy" if i % 2 else "sell"})


def coinbase_market_trades(i: int, per_message: int) -> bytes:
    """An Advanced Trade ``market_trades`` update of ``per_message`` trades, newest first."""
    trades = []
    for k in reversed(range(per_message)):
        j = i * per_message + k
        trades.append({"trade_id": str(995098700 + j), "product_id": "BTC-USD",
                       "price": f"{97250.01 + (j % 50) * 0.01:.2f}",
                       "size": f"{0.00012 * (j % 97 + 1):.8f}",
                       "side": "BUY" if j % 2 else "SELL",
                       "time": f"2023-02-09T20:19:{j % 60:02d}.{j % 1000000:06d}Z"})
    return _dumps({"channel": "market_trades", "client_id": "",
                   "timestamp": "2023-02-09T20:19:35.39625135Z", "sequence_num": i,
                   "events": [{"type": "update", "trades": trades}]})


# (name, venue, symbol, tick, step, payload(i), trades per payload)
CASES: list[tuple[str, str, str, str, str, Callable[[int], bytes], int]] = [
    ("binance_trade", "binance", "BTCUSDT", "0.01", "0.00000001", binance_trade, 1),
    ("binance_usdm_agg_trade", "binance-usdm", "BTCUSDT", "0.10", "0.001", binance_agg_trade, 1),
    ("coinbase_exchange_match", "coinbase-exchange", "BTC-USD", "0.01", "0.00000001",
     coinbase_exchange_match, 1),
    ("coinbase_market_trades_1", "coinbase", "BTC-USD", "0.01", "0.00000001",
     lambda i: coinbase_market_trades(i, 1), 1),
    ("coinbase_market_trades_10", "coinbase", "BTC-USD", "0.01", "0.00000001",
     lambda i: coinbase_market_trades(i, 10), 10),
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
    for name, venue, symbol, tick, step, make, per in CASES:
        payloads = [make(i) for i in range(n)]
        best = float("inf")
        for _ in range(repeats):
            feed = TradeFeed(venue, symbol, tick, step, capacity=65_536)
            ns, recorded = _benchkit.bench_trades(feed, payloads)
            if recorded != n * per or feed.state != "live" or feed.rejected:
                raise RuntimeError(f"{name}: {recorded} of {n * per} trades recorded "
                                   f"({feed.counters()})")
            best = min(best, ns)
        trades = n * per
        case: dict[str, Any] = {
            "payload_bytes": len(payloads[0]),
            "trades_per_payload": per,
            "fastfeed_ns_per_trade": best / trades,
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
        line = (f"{name:26} {c['payload_bytes']:>5} B x{c['trades_per_payload']:<3}"
                f" fastfeed {c['fastfeed_ns_per_trade']:7.0f} ns/trade"
                f" ({c['fastfeed_ns_per_payload']:7.0f} ns/msg)"
                f"  json.loads {c['json_loads_ns_per_payload']:7.0f} ns/msg"
                f" ({c['json_loads_over_fastfeed']:.1f}x)")
        if "orjson_loads_ns_per_payload" in c:
            line += (f"  orjson.loads {c['orjson_loads_ns_per_payload']:6.0f} ns/msg"
                     f" ({c['orjson_loads_over_fastfeed']:.1f}x)")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
