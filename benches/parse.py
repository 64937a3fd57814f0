"""Decimal parse and venue decode speed: ``python -m benches.parse [--json]``.

Loops run inside the compiled module and are timed with a monotonic clock in C, so the
numbers are per-call costs without Python overhead. ``json.loads``/``orjson.loads`` of the
same payload (which only build Python objects, no exact decimals) are measured in the same
run for scale.

The Binance spot and USD-M events are also decoded at every SIMD level the machine runs
(docs/architecture.md, "Decoder fast paths"), decode alone and decode + convert: rounds
interleave the levels, each row is the median of its rounds, and ``*_vs_scalar`` is that
median over the scalar level's from the same run (below 1: faster than scalar).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from fastfeed import _benchkit, _parse

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


def usdm_payload(levels: int = 30) -> bytes:
    """The USD-M form of the event, combined stream (``T`` and ``pu`` in Binance's order)."""
    ev = depth_event(levels)
    usdm = {"e": ev["e"], "E": ev["E"], "T": ev["E"] - 5, "s": ev["s"], "U": ev["U"],
            "u": ev["u"], "pu": ev["U"] - 1, "b": ev["b"], "a": ev["a"]}
    env = {"stream": "btcusdt@depth@100ms", "data": usdm}
    return json.dumps(env, separators=(",", ":")).encode()


def simd_rows(quick: bool = False, rounds: int = 15) -> dict[str, Any]:
    """ns per call and GB/s of the Binance spot and USD-M events at every SIMD level,
    decode alone and decode + convert, interleaved rounds, medians."""
    iters = 200 if quick else 5_000
    rounds = 3 if quick else rounds
    work = {"spot": depth_payload(), "usdm": usdm_payload()}
    times: dict[tuple[str, str, bool], list[float]] = {}
    old = _parse.simd_level()
    try:
        for _ in range(rounds):
            for level in _parse.simd_levels():
                _parse._set_simd_level(level)
                for name, p in work.items():
                    for conv in (False, True):
                        t = _benchkit.bench_decode("binance", p, iters, 8, 8, convert=conv)
                        times.setdefault((name, level, conv), []).append(t / iters)
    finally:
        _parse._set_simd_level(old)
    out: dict[str, Any] = {"simd_levels": list(_parse.simd_levels()), "simd_rounds": rounds}
    for (name, level, conv), ts in times.items():
        key = f"binance_{name}_{level}_{'decode_convert' if conv else 'decode'}"
        med = statistics.median(ts)
        out[f"{key}_ns"] = med
        out[f"{key}_gb_per_s"] = len(work[name]) / med
        base = statistics.median(times[(name, "scalar", conv)])
        out[f"{key}_vs_scalar"] = med / base
    return out


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
    out.update(simd_rows(quick))
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
    print(f"Binance at each SIMD level (median of {res['simd_rounds']} interleaved rounds; "
          f"x: over scalar in this run):")
    for name in ("spot", "usdm"):
        for level in res["simd_levels"]:
            cells = []
            for what in ("decode", "decode_convert"):
                k = f"binance_{name}_{level}_{what}"
                cells.append(f"{what.replace('_', '+')} {res[k + '_ns']:.0f} ns "
                             f"{res[k + '_gb_per_s']:.2f} GB/s x{res[k + '_vs_scalar']:.2f}")
            print(f"  {name:4} {level:6}  " + "   ".join(cells))
    print(f"json.loads: {res['json_loads_ns']:.0f} ns ({res['json_loads_over_decode']:.1f}x)")
    if res["orjson_loads_ns"] is not None:
        print(f"orjson.loads: {res['orjson_loads_ns']:.0f} ns "
              f"({res['orjson_loads_over_decode']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
