"""``fastfeed run --workers 1`` vs ``--workers 2``: aggregate throughput on one host.

``python -m benches.workers [--books 6] [--burst 100000] [--repeats 3] [--json]``

One simulator process (``python -m fastfeed.sim``) holds ``--books`` Binance symbols in
burst mode with ``--burst-gate`` (docs/simulator.md, "Synchronized bursts"): every
message is generated and framed once at its start, and every connection's burst waits
for one release (``POST /debug/burst``), so all the workers' bursts start at the same
instant and the simulator only copies bytes into sockets. Then, alternating 1, 2, 1, 2,
... workers (``fastfeed.workers.Supervisor``, ``--shm`` into a segment directory):

1. start the workers and wait until every book's burst waits at the gate and every book
   has loaded its REST snapshot (the gate lets each burst's first message through), so
   start-up work is out of the window;
2. read every process's CPU time (``/proc/<pid>/stat``), release the bursts (``t_ns``:
   the simulator's clock at the release; one host, one clock);
3. read the books through ``fastfeed.shm.Reader(NAME)`` (one reader for every worker's
   segment) until each is ``live`` at the burst's last update id; the window ends at the
   latest ``recv_ts_ns`` (the receive time of the last message) of any book;
4. read the CPU times again, check every book's top levels exactly against the
   simulator's truth, and the workers' message counts (status lines) against the burst.

Per run: ``messages_per_s`` = every message of every book / (last receive - release);
``cpu_s_per_million`` = the workers' CPU seconds over the window per million messages
(flat from 1 to 2 workers when sharding costs nothing); each worker's own window and CPU
share; the simulator's CPU share. Medians over ``--repeats`` per worker count, and the
ratio of the medians. The window ends when the books are done, so the idle time after
it costs nothing; the CPU reads have a 10 ms tick.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from benches.scale import proc_cpu_s

#: the fields every run's record has (the smoke test checks them)
RUN_FIELDS = ("workers", "shards", "messages", "span_s", "messages_per_s", "cpu_s",
              "cpu_s_per_million", "per_worker", "sim_cpu_pct", "exact", "counts_ok",
              "loadavg")


def balanced_symbols(n: int, workers: int = 2) -> list[str]:
    """``n`` symbols that :func:`fastfeed.workers.shard_of` splits evenly over ``workers``."""
    from fastfeed.workers import shard_of

    out: list[str] = []
    per = [0] * workers
    i = 0
    while len(out) < n:
        sym = f"W{i}USDT"
        k = shard_of("binance", sym, workers)
        if per[k] < -(-n // workers):
            per[k] += 1
            out.append(sym)
        i += 1
    return out


def truth_levels(truth: dict[str, Any], price_decimals: int, size_decimals: int,
                 depth: int) -> tuple[list[list[int]], list[list[int]]]:
    """The top ``depth`` levels of a ``/debug/truth`` answer in a book's integer units
    (``price_decimals`` / ``size_decimals``), exactly (decimal texts, never floats)."""
    def conv(rows: list[list[str]]) -> list[list[int]]:
        return [[int(Decimal(p).scaleb(price_decimals)), int(Decimal(s).scaleb(size_decimals))]
                for p, s in rows[:depth]]
    return conv(truth["bids"]), conv(truth["asks"])


def snapshot_levels(snap: Any) -> tuple[list[list[int]], list[list[int]]]:
    """A shared-memory ``Snapshot``'s levels as int lists."""
    return ([[int(p), int(s)] for p, s in snap.bids_int],
            [[int(p), int(s)] for p, s in snap.asks_int])


def _loadavg() -> float:
    return round(os.getloadavg()[0], 2)


async def _wait(cond: Any, timeout: float, what: str, every: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(f"benches.workers: {what} after {timeout:.0f} s")
        await asyncio.sleep(every)


async def run_once(sim: Any, syms: list[str], n: int, truths: dict[str, dict[str, Any]],
                   burst: int, name: str, timeout: float) -> dict[str, Any]:
    """One run with ``n`` workers (see the module doc); its record."""
    from fastfeed.shm import Reader
    from fastfeed.workers import Supervisor

    sup = Supervisor([("binance", s) for s in syms], n,
                     worker_args=["--ws-url", sim.ws_url("binance"),
                                  "--rest-url", sim.rest_url("binance")], shm=name)
    last_id = {s: truths[s]["last_id"] for s in syms}
    reader: Reader | None = None
    await sup.start()
    try:
        await _wait(lambda: sim.debug("/debug/stats")["bursts_waiting"] >= len(syms), timeout,
                    "the workers' bursts not all waiting at the gate", every=0.2)
        reader = Reader(name)

        def synced() -> bool:           # each book loaded its snapshot (first message out)
            try:
                return all(reader.book("binance", s).update_id >= 0 for s in syms)
            except KeyError:
                return False
        await _wait(synced, timeout, "books without a snapshot before the release")
        await asyncio.sleep(0.5)
        pids = {w.index: w.pid for w in sup.workers}
        assert sim.proc is not None
        sim_pid = sim.proc.pid
        cpu0 = {i: proc_cpu_s(p) for i, p in pids.items() if p}
        sim0, load0 = proc_cpu_s(sim_pid), _loadavg()
        t_ns = sim.debug("/debug/burst", {})["t_ns"]
        snaps: dict[str, Any] = {}

        def done() -> bool:
            for s in syms:
                if s not in snaps:
                    try:
                        snap = reader.book("binance", s)
                    except KeyError:
                        return False
                    if snap.state != "live" or snap.update_id != last_id[s]:
                        return False
                    snaps[s] = snap
            return True
        await _wait(done, timeout, "books not live at the burst's last id")
        cpu1 = {i: proc_cpu_s(p) for i, p in pids.items() if p}
        sim1 = proc_cpu_s(sim_pid)
        expect = {w.index: len(w.specs) * burst for w in sup.workers}

        def counted() -> bool:
            return all(sum(b.get("messages", 0) for b in w.status.get("books", []))
                       >= expect[w.index] for w in sup.workers)
        try:
            await _wait(counted, 5.0, "status lines")
        except TimeoutError:
            pass
        got = {w.index: sum(b.get("messages", 0) for b in w.status.get("books", []))
               for w in sup.workers}
        restarts = sum(w.restarts for w in sup.workers)
    finally:
        if reader is not None:
            reader.close()
        await sup.close()
    end_ns = max(s.recv_ts_ns for s in snaps.values())
    span = (end_ns - t_ns) / 1e9
    exact = all(snapshot_levels(snaps[s]) == truth_levels(
        truths[s], snaps[s].price_decimals, snaps[s].size_decimals, len(snaps[s].bids_int))
        and len(snaps[s].bids_int) == min(len(truths[s]["bids"]), 20) for s in syms)
    per_worker = []
    for w in sup.workers:
        w_end = max(snaps[s].recv_ts_ns for v, s in w.specs)
        w_span = (w_end - t_ns) / 1e9
        cpu = cpu1[w.index] - cpu0[w.index]
        per_worker.append({
            "index": w.index, "books": len(w.specs), "messages": expect[w.index],
            "span_s": round(w_span, 3),
            "messages_per_s": round(expect[w.index] / w_span) if w_span > 0 else None,
            "cpu_s": round(cpu, 2), "cpu_pct": round(100 * cpu / w_span, 1) if w_span else None,
            "cpu_s_per_million": round(cpu / (expect[w.index] / 1e6), 3)})
    total = len(syms) * burst
    cpu_s = sum(cpu1[i] - cpu0[i] for i in cpu1)
    return {"workers": n, "shards": [len(w.specs) for w in sup.workers], "messages": total,
            "span_s": round(span, 3),
            "messages_per_s": round(total / span) if span > 0 else None,
            "cpu_s": round(cpu_s, 2), "cpu_s_per_million": round(cpu_s / (total / 1e6), 3),
            "per_worker": per_worker,
            "sim_cpu_pct": round(100 * (sim1 - sim0) / span, 1) if span > 0 else None,
            "exact": exact, "counts_ok": got == expect and restarts == 0,
            "loadavg": [load0, _loadavg()]}


def _median(xs: list[Any]) -> Any:
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 3) if xs else None


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Every run (alternating 1 and 2 workers) and the medians."""
    from fastfeed.sim.process import SimProcess

    syms = balanced_symbols(args.books)
    sim = SimProcess(["--binance", ",".join(syms), "--burst", str(args.burst), "--burst-gate",
                      "--levels", str(args.levels), "--depth", "200", "--no-limits",
                      "--ping-interval", "0"])
    t0 = time.monotonic()
    await asyncio.to_thread(sim.start, args.timeout + args.books * args.burst / 2000)
    prerender_s = time.monotonic() - t0
    runs: list[dict[str, Any]] = []
    try:
        truths = {s: sim.debug("/debug/truth", query={"venue": "binance", "symbol": s})
                  for s in syms}
        for k in range(args.repeats):
            for n in (1, 2):
                runs.append(await run_once(sim, syms, n, truths, args.burst,
                                           f"ffbw{os.getpid()}-{k}-{n}", args.timeout))
                if not args.json:
                    r = runs[-1]
                    print(f"  workers {n}: {r['messages_per_s']:>9,} msg/s over {r['span_s']} s, "
                          f"{r['cpu_s_per_million']} CPU-s/M, sim {r['sim_cpu_pct']} %, "
                          f"exact {r['exact']}", file=sys.stderr, flush=True)
    finally:
        sim.stop()
    med = {n: {f: _median([r[f] for r in runs if r["workers"] == n])
               for f in ("messages_per_s", "span_s", "cpu_s_per_million", "sim_cpu_pct")}
           for n in (1, 2)}
    one, two = med[1]["messages_per_s"], med[2]["messages_per_s"]
    return {"books": args.books, "burst": args.burst, "levels": args.levels,
            "repeats": args.repeats, "cpus": os.cpu_count(), "prerender_s": round(prerender_s, 1),
            "median": {str(n): m for n, m in med.items()},
            "ratio_two_over_one": round(two / one, 2) if one and two else None,
            "exact": all(r["exact"] for r in runs),
            "counts_ok": all(r["counts_ok"] for r in runs), "runs": runs}


def _text(doc: dict[str, Any]) -> str:
    m1, m2 = doc["median"]["1"], doc["median"]["2"]
    return "\n".join([
        f"{doc['books']} books x {doc['burst']:,} messages ({doc['levels']} level changes "
        f"each), {doc['repeats']} runs per worker count, {doc['cpus']} CPUs, "
        f"pre-rendered in {doc['prerender_s']} s",
        f"  workers 1: {m1['messages_per_s']:,} msg/s (median), {m1['cpu_s_per_million']} "
        f"CPU-s per million, simulator {m1['sim_cpu_pct']} % of a core",
        f"  workers 2: {m2['messages_per_s']:,} msg/s (median), {m2['cpu_s_per_million']} "
        f"CPU-s per million, simulator {m2['sim_cpu_pct']} % of a core",
        f"  ratio 2/1: {doc['ratio_two_over_one']}; books exact {doc['exact']}, "
        f"counts {doc['counts_ok']}"])


def main(argv: list[str] | None = None) -> int:
    """``python -m benches.workers``."""
    ap = argparse.ArgumentParser(prog="python -m benches.workers", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--books", type=int, default=6, help="symbols (split evenly over 2)")
    ap.add_argument("--burst", type=int, default=100_000, help="messages per book")
    ap.add_argument("--levels", type=int, default=10, help="level changes per message")
    ap.add_argument("--repeats", type=int, default=3, help="runs per worker count")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per wait")
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = ap.parse_args(argv)
    doc = asyncio.run(bench(args))
    print(json.dumps(doc) if args.json else _text(doc))
    return 0 if doc["exact"] and doc["counts_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
