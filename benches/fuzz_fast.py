"""Differential fuzzing of the Coinbase Advanced Trade fast path against the general decoder.

``python -m benches.fuzz_fast [--payloads N] [--seed S] [--json]``

The fast path (``parse/coinbase_at.pxi``: the whole ``l2_data`` envelope and runs of
updates in Coinbase's own layout, docs/venues.md "Coinbase Advanced Trade fast path")
must give exactly the batch the general decoder gives, or step aside. For every payload
this compares ``fastfeed._parse._decode_raw(..., fast=True)`` with ``fast=False`` (return
code, kind, ids, times, error code, offset and detail, every segment and every level's
spans, and the phase 2 integers at a scale drawn per payload). The payloads are envelopes
in the exact fast layout (with and without ``client_id``, one to three events, up to 40
updates, repeated and differing ``event_time``, quantities ``"0"`` and long fractions)
and simulator workload messages, mutated with the tree and byte mutations of
:mod:`benches.fuzz` (most stay close to the fast layout, so the deviation lands inside
it). A finding is a payload where the two differ, or where either raises.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

from benches.fuzz import Obj, _mutate_bytes, _mutate_tree, _o, dump
from fastfeed import _parse

_TS = ["2023-02-09T20:32:50.714964855Z", "2023-02-09T20:32:50.714964856Z",
       "2023-02-09T20:32:50.7Z", "2023-02-09T20:32:50Z", "2023-02-09T20:32:50.714964855+01:00"]
_PRICES = ["21921.73", "21921.7", "97250.01", "1650.10", "0.00001234", "123456789.12345678",
           "5", "0", "1e5", "-1.5", "97250.015"]
_QTYS = ["0.06317902", "0", "0.00000000", "12", "1.5", "12345678.12345678", "0.1", "007",
         "1.", ".5"]
#: the scales a payload is converted at (price decimals, size decimals)
_SCALES = [(2, 8), (8, 8), (0, 0), (1, 4), (12, 12)]


def _envelope(rng: random.Random) -> Obj:
    """A random l2_data envelope in the fast path's layout."""
    events = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        ts = rng.choice(_TS)
        ups = []
        for _ in range(rng.choice((0, 1, 2, 5, 30, 40))):
            if rng.random() < 0.1:
                ts = rng.choice(_TS)
            ups.append(_o(side=rng.choice(("bid", "offer")), event_time=ts,
                          price_level=rng.choice(_PRICES[:7] if rng.random() < 0.9 else _PRICES),
                          new_quantity=rng.choice(_QTYS[:7] if rng.random() < 0.9 else _QTYS)))
        events.append(_o(type=rng.choice(("update", "update", "snapshot")),
                         product_id=rng.choice(("BTC-USD", "ETH-USD", "")), updates=ups))
    env = _o(channel="l2_data", client_id="", timestamp=rng.choice(_TS),
             sequence_num=rng.choice((0, 2, 6, 2**62, 10**17)), events=events)
    if rng.random() < 0.5:
        env.pop(1)                       # the production feed omits client_id
    return env


def _workload_seeds() -> list[bytes]:
    """Simulator-rendered Coinbase AT book messages (the benches.feed workload)."""
    from fastfeed.bench.workload import make_workload
    w = make_workload("coinbase", "BTC-USD", messages=50, levels_per_message=30.0, depth=100)
    return [m for m in [*w.prelude, *w.messages] if m.startswith(b'{"channel":"l2_data"')]


def payload(rng: random.Random, workload: list[bytes]) -> bytes:
    """One mutated payload (a third of them from the workload messages)."""
    if workload and rng.random() < 0.33:
        b = rng.choice(workload)
        if rng.random() < 0.3:
            b = dump(_mutate_tree(json.loads(b, object_pairs_hook=Obj), rng)).encode(
                "utf-8", "surrogateescape")
    else:
        v = _envelope(rng)
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            v = _mutate_tree(v, rng)
        b = dump(v).encode("utf-8", "surrogateescape")
    for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
        b = _mutate_bytes(b, rng)
    return b


def _compare(p: bytes, price_decimals: int, size_decimals: int) -> tuple[str | None, bool]:
    """(a description of the difference or None, whether the payload decoded cleanly)."""
    try:
        a = _parse._decode_raw("coinbase", p, price_decimals, size_decimals, fast=True)
        b = _parse._decode_raw("coinbase", p, price_decimals, size_decimals, fast=False)
    except Exception as exc:  # never allowed: decoders return codes
        return f"raised {type(exc).__name__}: {exc}", False
    if a == b:
        return None, a[0] == 0
    return f"fast {a!r:.300} / general {b!r:.300}", False


def check(p: bytes, price_decimals: int = 2, size_decimals: int = 8) -> str | None:
    """None if the fast and the general decoder give the same batch for ``p``."""
    return _compare(p, price_decimals, size_decimals)[0]


def fuzz(n: int, seed: int, keep: int = 20) -> dict[str, Any]:
    """``n`` payloads; findings (at most ``keep`` shown) and how many decoded cleanly."""
    rng = random.Random(f"coinbase-fast:{seed}")
    workload = _workload_seeds()
    findings: list[dict[str, str]] = []
    n_findings = ok = 0
    t0 = time.perf_counter()
    for _ in range(n):
        p = payload(rng, workload)
        diff, decoded = _compare(p, *rng.choice(_SCALES))
        ok += decoded
        if diff is not None:
            n_findings += 1
            if len(findings) < keep:
                findings.append({"payload": p.decode("utf-8", "backslashreplace"),
                                 "diff": diff[:700]})
    return {"payloads": n, "seed": seed, "findings": n_findings, "decoded": ok,
            "seconds": round(time.perf_counter() - t0, 1), "examples": findings}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benches.fuzz_fast [--payloads N] [--seed S] [--json]``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--payloads", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    r = fuzz(args.payloads, args.seed)
    if args.json:
        print(json.dumps(r, indent=1))
    else:
        print(f"coinbase-at fast/general {r['payloads']:>9} payloads  {r['findings']:>6} "
              f"findings  {r['decoded']:>9} decoded  {r['seconds']:>7} s")
        for ex in r["examples"][:3]:
            print(f"    {ex['payload'][:200]}\n      {ex['diff'][:400]}")
    return 1 if r["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
