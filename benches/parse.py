"""Decimal parse and venue decode speed: ``python -m benches.parse [--json]``.

Loops run inside the compiled module and are timed with a monotonic clock in C, so the
numbers are per-call costs without Python overhead. ``json.loads``/``orjson.loads`` of the
same payload (which only build Python objects, no exact decimals) are measured in the same
run for scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from fastfeed import _benchkit

DECIMAL_TEXT = b"104250.33000000"


def depth_event(levels: int = 30) -> dict[str, Any]:
    """A typical Binance spot ``@depth@100ms`` event as a dict, in Binance's field order."""
    bids = [[f"{104250.33 - i * 0.01:.8f}", f"{0.00012 * (i + 1):.8f}"] for i in range(levels // 2)]
    asks = [[f"{104250.34 + i * 0.01:.8f}", f"{0.0005 * (i + 1):.8f}"]
            for i in range(levels - levels // 2)]
    return {"e": "depthUpdate", "E": 1732470000123, "s": "BTCUSDT", "U": 57226893021,
            "u": 57226893080, "b": bids, "a": asks}


def depth_payload(levels: int = 30) -> bytes:
    """A typical Binance spot ``@depth@100ms`` event (~1 KB for 30 levels, 8 decimals),
    formatted as Binance does (its field order, no whitespace): the decoder's fast path."""
    return json.dumps(depth_event(levels), separators=(",", ":")).encode()


def depth_payload_shuffled(levels: int = 30) -> bytes:
    """The same event with another field order: the general (any order) decoder."""
    ev = depth_event(levels)
    order = ["u", "a", "s", "E", "b", "U", "e"]
    return json.dumps({k: ev[k] for k in order}, separators=(",", ":")).encode()


def depth_payload_spaced(levels: int = 30) -> bytes:
    """The same event with ``", "``/``": "`` separators: general decoder, levels included."""
    return json.dumps(depth_event(levels)).encode()


def coinbase_payload(levels: int = 30) -> bytes:
    """A Coinbase Advanced Trade ``l2_data`` update envelope with ``levels`` updates."""
    ts = "2026-11-24T12:00:00.123456789Z"
    ups = [{"side": "bid" if i % 2 else "offer", "event_time": ts,
            "price_level": f"{97250.01 + (i if i % 2 else -i) * 0.01:.2f}",
            "new_quantity": f"{0.00012 * (i + 1):.8f}"} for i in range(levels)]
    env = {"channel": "l2_data", "client_id": "", "timestamp": ts, "sequence_num": 6,
           "events": [{"type": "update", "product_id": "BTC-USD", "updates": ups}]}
    return json.dumps(env, separators=(",", ":")).encode()


def _best_ns_per_call(fn: Any, iterations: int, repeats: int) -> float:
    return min(fn(iterations) for _ in range(repeats)) / iterations


def _py_ns_per_call(fn: Any, payload: bytes, iterations: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(iterations):
            fn(payload)
        best = min(best, time.perf_counter_ns() - t0)
    return best / iterations


def run(quick: bool = False) -> dict[str, Any]:
    """Measure everything; ``quick`` shrinks the loops (for tests)."""
    scale = 100 if quick else 1
    payload = depth_payload()
    out: dict[str, Any] = {
        "decimal_text": DECIMAL_TEXT.decode(),
        "payload_bytes": len(payload),
        "payload_levels": 30,
    }
    out["parse_decimal_ns"] = _best_ns_per_call(
        lambda n: _benchkit.bench_parse_decimal(DECIMAL_TEXT, 8, n), 2_000_000 // scale, 7)
    out["parse_decimal_2dp_ns"] = _best_ns_per_call(
        lambda n: _benchkit.bench_parse_decimal(b"104250.33000000", 2, n), 2_000_000 // scale, 7)
    out["decode_binance_ns"] = _best_ns_per_call(
        lambda n: _benchkit.bench_decode("binance", payload, n, 8, 8), 50_000 // scale, 7)
    # Same levels, other layouts: shuffled field order (general object decoder, levels
    # still whitespace-free) and ", "/": " separators (general decoder throughout).
    for name, other in (("shuffled", depth_payload_shuffled()), ("spaced", depth_payload_spaced())):
        out[f"decode_binance_{name}_ns"] = _best_ns_per_call(
            lambda n, o=other: _benchkit.bench_decode("binance", o, n, 8, 8), 50_000 // scale, 7)
    out["fast_path_speedup_vs_shuffled"] = (out["decode_binance_shuffled_ns"]
                                            / out["decode_binance_ns"])
    cb = coinbase_payload()
    out["coinbase_payload_bytes"] = len(cb)
    out["decode_coinbase_ns"] = _best_ns_per_call(
        lambda n: _benchkit.bench_decode("coinbase", cb, n, 2, 8), 20_000 // scale, 7)
    out["coinbase_json_loads_ns"] = _py_ns_per_call(json.loads, cb, 5_000 // scale, 5)
    out["decode_coinbase_mb_per_s"] = len(cb) / out["decode_coinbase_ns"] * 1e3
    out["json_loads_ns"] = _py_ns_per_call(json.loads, payload, 10_000 // scale, 5)
    try:
        import orjson
    except ImportError:  # the bench extra is optional
        out["orjson_loads_ns"] = None
    else:
        out["orjson_loads_ns"] = _py_ns_per_call(orjson.loads, payload, 20_000 // scale, 5)
    out["decode_mb_per_s"] = len(payload) / out["decode_binance_ns"] * 1e3
    out["json_loads_over_decode"] = out["json_loads_ns"] / out["decode_binance_ns"]
    if out["orjson_loads_ns"] is not None:
        out["orjson_loads_over_decode"] = out["orjson_loads_ns"] / out["decode_binance_ns"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="short loops (smoke test)")
    args = ap.parse_args(argv)
    res = run(quick=args.quick)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"parse_decimal {res['decimal_text']!r} @8: {res['parse_decimal_ns']:.1f} ns "
          f"(@2: {res['parse_decimal_2dp_ns']:.1f} ns)")
    print(f"decode+convert Binance depth ({res['payload_bytes']} B, 30 levels): "
          f"{res['decode_binance_ns']:.0f} ns ({res['decode_mb_per_s']:.0f} MB/s); "
          f"shuffled fields {res['decode_binance_shuffled_ns']:.0f} ns, "
          f"spaced {res['decode_binance_spaced_ns']:.0f} ns")
    print(f"decode+convert Coinbase AT l2_data ({res['coinbase_payload_bytes']} B, 30 updates): "
          f"{res['decode_coinbase_ns']:.0f} ns ({res['decode_coinbase_mb_per_s']:.0f} MB/s; "
          f"json.loads {res['coinbase_json_loads_ns']:.0f} ns)")
    print(f"json.loads: {res['json_loads_ns']:.0f} ns ({res['json_loads_over_decode']:.1f}x)")
    if res["orjson_loads_ns"] is not None:
        print(f"orjson.loads: {res['orjson_loads_ns']:.0f} ns "
              f"({res['orjson_loads_over_decode']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
