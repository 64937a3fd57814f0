"""Fan-out end to end: ``python -m benches.fanout_e2e [--json]`` (issue #15's numbers).

In one run, against one local ``nats-server`` (``fastfeed.fanout.server.NatsServer``):

``latency``
    The simulator in a child process (Binance spot, ``--books`` symbols at ``--rate``
    messages/s each), a ``fastfeed.Engine(nats=URL)`` in this process and a
    ``BookConsumers`` in ANOTHER process (this module with ``--child``). The consumer's
    callback records, for every applied delta, ``time.time_ns()`` minus the header's
    ``recv_ns`` (the engine's receive time: engine → NATS → consumer) and minus its
    ``exchange_ns`` (the venue's event time: venue → engine → NATS → consumer; Binance
    stamps ``E`` in milliseconds, so this one is quantised to 1 ms) into HDR histograms,
    over ``--seconds``. Next to them: the engine's own recv → apply from the same run
    (its connections' ``recv_to_apply``, everything since subscribing). A delta that
    coalesces several venue messages carries the last one's times, so the figures are
    those of the newest message in it. All on one host: one clock.
``rebuild``
    A ``BookFeed`` (``fastfeed.bench.workload``) of ``--rebuild-levels`` levels (both
    sides together) attached to a ``NatsPublisher`` (snapshots every
    ``--snapshot-every`` s) and fed at ``--rebuild-rate`` messages/s; a consumer process
    times a new ``BookConsumer`` from ``start()`` (connect included) until it has
    applied a delta built after ``start()`` (caught up with the live stream), repeated:
    snapshot fetch, load, and catching up on the deltas the read starts with (the
    consumer re-reads from 2 s before the snapshot). ``wait_live()`` returns earlier,
    as soon as the snapshot is loaded (reported beside it).
``throughput``
    The workload of ``benches.fanout`` (1 KB Binance events, ~30 level changes, 1,000
    levels) fed as fast as it goes to a ``BookFeed`` attached to a ``NatsPublisher``
    (a flush every ``--batch`` messages, as one socket read), while a consumer process
    keeps the book: venue messages/s and NATS messages/s from the first message until
    the consumer applied the last one, and the publisher's own rate (until the server
    answered a PING after the last).
``--workers 1`` vs ``--workers 2`` is ``benches/workers.py`` (one synchronised burst).

Every consumed book is checked: equal (levels and update id) to the publishing book
once the source is paused, and the latency run's books also to the simulator's truth.
Timings are never asserted (``benches/test_bench_fanout_e2e.py`` checks the fields and
the exactness); results are in docs/fanout.md, "Measured".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

import uvloop

from benches.scale import proc_cpu_s
from fastfeed.latency import summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: top-level fields of the report (the smoke test checks them)
REPORT_FIELDS = ("python", "machine", "cpus", "load_before", "load_after", "latency",
                 "rebuild", "throughput")
LATENCY_FIELDS = ("books", "rate", "seconds", "warmup", "deltas", "recv_to_consumer",
                  "exchange_to_consumer", "engine_recv_to_apply", "sim_cpu_pct", "exact",
                  "exact_vs_truth")
THROUGHPUT_FIELDS = ("venue_messages", "nats_messages", "venue_messages_per_s",
                     "nats_messages_per_s", "publisher_venue_messages_per_s",
                     "slow_consumers", "exact")

def _us(h: Any) -> dict[str, Any]:
    s = summary(h)
    return {"count": s["count"], **{k: round(s[k] / 1e3, 1)
                                    for k in ("p50", "p99", "p99.9", "max")}}


def _levels(book: Any) -> list[list[list[int]]]:
    return [[[int(p), int(s)] for p, s in book.bids_int()],
            [[int(p), int(s)] for p, s in book.asks_int()]]


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ------------------------------------------------------------------ the consumer process

async def child_main(spec: dict[str, Any]) -> None:
    """The consumer process: commands on stdin, one JSON line per reply on stdout."""
    from fastfeed._hist import LatencyHistogram
    from fastfeed.fanout.consumer import BookConsumer, BookConsumers

    url, prefix = spec["url"], spec["prefix"]
    books = [tuple(b) for b in spec["books"]]
    h_recv, h_ex = LatencyHistogram(), LatencyHistogram()
    rec = {"on": False, "last_apply_ns": 0}
    seen: dict[int, int] = {}

    def cb(c: Any) -> None:
        now = time.time_ns()
        rec["last_apply_ns"] = now
        if c.deltas == seen.get(id(c), 0):
            return                                  # a snapshot
        seen[id(c)] = c.deltas
        if rec["on"]:
            h_recv.record_value(now - c.recv_ns)
            if c.exchange_ns:
                h_ex.record_value(now - c.exchange_ns)

    def say(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    rebuild: list[dict[str, Any]] = []
    if spec.get("rebuild"):
        for venue, symbol in books:
            for _ in range(spec["rebuild"]):
                caught = asyncio.Event()
                t0_wall = time.time_ns()

                def on_apply(c: Any, caught: asyncio.Event = caught, t0_wall: int = t0_wall
                             ) -> None:
                    if c.publish_ns >= t0_wall:     # built after start(): caught up
                        caught.set()

                c = BookConsumer(url, venue, symbol, prefix=prefix, callback=on_apply)
                t0 = time.perf_counter_ns()
                await c.start()
                await c.wait_live(60)
                t_live = time.perf_counter_ns() - t0
                await asyncio.wait_for(caught.wait(), 60)
                t_caught = time.perf_counter_ns() - t0
                rebuild.append({"venue": venue, "symbol": symbol, "live_ms": t_live / 1e6,
                                "ms": t_caught / 1e6,
                                "levels": len(c.book.bids_int()) + len(c.book.asks_int()),
                                "deltas": c.deltas})
                await c.close()
    group = BookConsumers(url, books, prefix=prefix, callback=cb,
                          pending_msgs_limit=1 << 20, pending_bytes_limit=1 << 30)
    await group.start()
    await group.wait_live(60)
    say({"live": True, "rebuild": rebuild})
    while True:
        line = (await reader.readline()).decode().split()
        if not line or line[0] == "exit":
            break
        cmd = line[0]
        if cmd == "go":
            h_recv.reset()
            h_ex.reset()
            rec["on"] = True
            say({"ok": True})
        elif cmd == "stop":
            rec["on"] = False
            say({"recv": h_recv.encode().decode(), "exchange": h_ex.encode().decode()})
        elif cmd == "expect":           # expect V S U: wait for that book's update id U
            c = group[(line[1], line[2])]
            target = int(line[3])
            deadline = loop.time() + 120
            while c.update_id < target and loop.time() < deadline:
                await asyncio.sleep(0.001)
            say({"done_ns": rec["last_apply_ns"], "update_id": c.update_id})
        elif cmd == "dump":
            say({"books": [{"venue": c.venue, "symbol": c.symbol, "state": c.state,
                            "update_id": c.update_id, "levels": _levels(c.book),
                            "counters": c.counters()} for c in group]})
    await group.close()


class Child:
    """A consumer process (``--child``) driven over its stdin/stdout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str, prefix: str, books: list[tuple[str, str]],
                    rebuild: int = 0) -> Child:
        spec = {"url": url, "prefix": prefix, "books": books, "rebuild": rebuild}
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(ROOT, "src"), ROOT,
                                                        env.get("PYTHONPATH", "")) if p)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benches.fanout_e2e", "--child", json.dumps(spec),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            limit=1 << 28)
        return cls(proc)

    async def reply(self, timeout: float = 180) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError("the consumer process exited")
        return dict(json.loads(line))

    async def ask(self, cmd: str, timeout: float = 180) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.reply(timeout)

    async def close(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"exit\n")
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


# --------------------------------------------------------------------------- 1. latency

def _truth_equal(sim: Any, venue: str, symbol: str, book: dict[str, Any],
                 price_decimals: int, size_decimals: int) -> bool:
    t = sim.debug("/debug/truth", query={"venue": venue, "symbol": symbol,
                                         "last_id": str(book["update_id"])})
    pq, sq = Decimal(1).scaleb(-price_decimals), Decimal(1).scaleb(-size_decimals)

    def conv(rows: list[list[str]]) -> list[list[int]]:
        return [[int(Decimal(p) / pq), int(Decimal(s) / sq)] for p, s in rows]

    return bool(book["levels"] == [conv(t["bids"]), conv(t["asks"])]
                and t["last_id"] == book["update_id"])


async def bench_latency(args: argparse.Namespace, url: str) -> dict[str, Any]:
    from fastfeed import Engine
    from fastfeed.sim.process import SimProcess

    syms = [f"L{i}USDT" for i in range(args.books)]
    sim = SimProcess(["--binance", ",".join(syms), "--rate", str(args.rate), "--levels", "10",
                      "--depth", "200", "--history", str(int(args.rate * 60) + 1000),
                      "--no-limits"])
    await asyncio.to_thread(sim.start, 120)
    child = None
    try:
        async with Engine(nats=url, nats_options={"prefix": "lat"}) as engine:
            books = [await engine.subscribe("binance", s, ws_url=sim.ws_url("binance"),
                                            rest_url=sim.rest_url("binance")) for s in syms]
            await engine.wait_live(books, 60)
            child = await Child.start(url, "lat", [("binance", s) for s in syms])
            await child.reply()
            await asyncio.sleep(args.warmup)    # live = snapshot loaded; let it catch up
            assert sim.proc is not None
            c0 = proc_cpu_s(sim.proc.pid)
            t0 = time.monotonic()
            await child.ask("go")
            await asyncio.sleep(args.seconds)
            hists = await child.ask("stop")
            sim_cpu = (proc_cpu_s(sim.proc.pid) - c0) / (time.monotonic() - t0)
            await asyncio.to_thread(sim.debug, "/debug/pause", {})
            await asyncio.sleep(1.0)
            dump = (await child.ask("dump"))["books"]
            exact, exact_truth = True, True
            for b, d in zip(books, dump, strict=True):
                if (d["update_id"] != b.last_update_id or d["levels"] != _levels(b.book)
                        or d["state"] != "live"):
                    exact = False
                exact_truth &= await asyncio.to_thread(
                    _truth_equal, sim, "binance", b.symbol, d, int(b.book.price_decimals),
                    int(b.book.size_decimals))
            eng = None
            for conn in engine.connections:
                h = conn.latency.cumulative("recv_to_apply")
                if eng is None:
                    eng = h.copy()
                else:
                    eng.add(h)
    finally:
        if child is not None:
            await child.close()
        sim.stop()
    from fastfeed._hist import LatencyHistogram

    h_recv = LatencyHistogram.decode(hists["recv"])
    h_ex = LatencyHistogram.decode(hists["exchange"])
    return {"books": args.books, "rate": args.rate, "seconds": args.seconds,
            "warmup": args.warmup,
            "deltas": h_recv.total_count, "recv_to_consumer": _us(h_recv),
            "exchange_to_consumer": _us(h_ex),
            "engine_recv_to_apply": _us(eng) if eng is not None else None,
            "sim_cpu_pct": round(100 * sim_cpu, 1), "exact": exact,
            "exact_vs_truth": exact_truth}


# --------------------------------------------------------------------------- 2. rebuild

async def _feed(feed: Any, msgs: list[bytes], rate: float, stop: asyncio.Event) -> int:
    """Apply ``msgs`` at ``rate``/s (the publisher flushes by itself) until ``stop``."""
    period = 1.0 / rate
    loop = asyncio.get_running_loop()
    t = loop.time()
    n = 0
    for m in msgs:
        if stop.is_set():
            break
        feed.apply_message(m)
        n += 1
        t += period
        await asyncio.sleep(max(0.0, t - loop.time()))
    return n


async def bench_rebuild(args: argparse.Namespace, url: str) -> list[dict[str, Any]]:
    from benches.feed import fresh_feed
    from fastfeed.bench.workload import make_workload
    from fastfeed.fanout.publisher import NatsPublisher

    out = []
    for levels in args.rebuild_levels:
        sym = f"R{levels}USDT"
        n = int(args.rebuild_rate * (args.rebuild_repeats * 3 + 30)) + 100
        w = make_workload("binance", sym, messages=n, depth=levels // 2, levels_per_message=10)
        feed = fresh_feed(w)
        pub = NatsPublisher(url, prefix="rb", snapshot_every=args.snapshot_every)
        pub.attach(feed)
        pub.start()
        stop = asyncio.Event()
        child = None
        try:
            while not pub.ready:
                await asyncio.sleep(0.01)
            task = asyncio.get_running_loop().create_task(
                _feed(feed, list(w.messages), args.rebuild_rate, stop))
            await asyncio.sleep(min(args.snapshot_every, 3.0))     # a stream to catch up on
            child = await Child.start(url, "rb", [("binance", sym)],
                                      rebuild=args.rebuild_repeats)
            r = await child.reply(600)
            stop.set()
            sent = await task
            await asyncio.sleep(1.0)
            d = (await child.ask("dump"))["books"][0]
            exact = (d["update_id"] == feed.last_update_id and d["levels"] == _levels(feed.book))
        finally:
            stop.set()
            if child is not None:
                await child.close()
            await pub.close()
        ms = [x["ms"] for x in r["rebuild"]]
        live = [x["live_ms"] for x in r["rebuild"]]
        out.append({"levels": r["rebuild"][0]["levels"], "repeats": len(ms),
                    "start_to_caught_up_ms_median": round(statistics.median(ms), 1),
                    "start_to_caught_up_ms_min": round(min(ms), 1),
                    "start_to_caught_up_ms_max": round(max(ms), 1),
                    "start_to_wait_live_ms_median": round(statistics.median(live), 1),
                    "deltas_caught_up_median": statistics.median(x["deltas"]
                                                                 for x in r["rebuild"]),
                    "rate": args.rebuild_rate, "snapshot_every_s": args.snapshot_every,
                    "venue_messages": sent, "exact": exact})
    return out


# ------------------------------------------------------------------------ 3. throughput

async def _throughput_once(url: str, messages: int, batch: int, index: int) -> dict[str, Any]:
    from benches.feed import fresh_feed
    from fastfeed.bench.workload import make_workload
    from fastfeed.fanout.publisher import NatsPublisher

    sym = f"T{index}USDT"
    w = make_workload("binance", sym, messages=messages)
    msgs = list(w.messages)
    feed = fresh_feed(w)
    pub = NatsPublisher(url, prefix="tp", max_buffer_bytes=256 << 20)
    pub.attach(feed)
    pub.start()
    child = None
    try:
        while not pub.ready:
            await asyncio.sleep(0.01)
        await pub.link.ping()
        child = await Child.start(url, "tp", [("binance", sym)])
        await child.reply()
        m0 = pub.messages
        t0_wall = time.time_ns()
        t0 = time.perf_counter_ns()
        for i, m in enumerate(msgs):
            feed.apply_message(m)
            if i % batch == batch - 1:
                pub._flush()                    # what the loop turn's flush does
                if i % (batch * 64) == batch * 64 - 1:
                    await asyncio.sleep(0)      # let the transport write (a loop turn)
        pub._flush()
        await pub.link.ping()
        pub_ns = time.perf_counter_ns() - t0
        sent = pub.messages - m0
        done = await child.ask(f"expect binance {sym} {feed.last_update_id}")
        d = (await child.ask("dump"))["books"][0]
    finally:
        if child is not None:
            await child.close()
        await pub.close()
    wall = (done["done_ns"] - t0_wall) / 1e9
    return {"venue_messages": len(msgs), "nats_messages": sent, "wall_s": wall,
            "pub_s": pub_ns / 1e9, "slow_consumers": d["counters"]["slow_consumers"],
            "resyncs": d["counters"]["resyncs"],
            "exact": d["update_id"] == feed.last_update_id and d["levels"] == _levels(feed.book)}


async def bench_throughput(args: argparse.Namespace, url: str) -> dict[str, Any]:
    runs = [await _throughput_once(url, args.messages, args.batch, i)
            for i in range(args.repeats)]
    wall = statistics.median(r["wall_s"] for r in runs)
    pub = statistics.median(r["pub_s"] for r in runs)
    n, k = runs[0]["venue_messages"], statistics.median(r["nats_messages"] for r in runs)
    return {"venue_messages": n, "nats_messages": k, "batch": args.batch,
            "repeats": len(runs), "venue_messages_per_s": round(n / wall),
            "nats_messages_per_s": round(k / wall),
            "publisher_venue_messages_per_s": round(n / pub),
            "slow_consumers": sum(r["slow_consumers"] for r in runs),
            "resyncs": sum(r["resyncs"] for r in runs),
            "exact": all(r["exact"] for r in runs)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from fastfeed.fanout.server import NatsServer

    doc: dict[str, Any] = {"python": sys.version.split()[0], "machine": platform.machine(),
                           "cpus": os.cpu_count(), "load_before": _loadavg()}
    server = NatsServer().start()
    try:
        doc["latency"] = await bench_latency(args, server.url)
        doc["rebuild"] = await bench_rebuild(args, server.url)
        doc["throughput"] = await bench_throughput(args, server.url)
    finally:
        server.close()
    doc["load_after"] = _loadavg()
    return doc


def render(doc: dict[str, Any]) -> str:
    lat, tp = doc["latency"], doc["throughput"]
    lines = [f"load {doc['load_before']} -> {doc['load_after']}, {doc['cpus']} cpus"]
    for name in ("recv_to_consumer", "exchange_to_consumer", "engine_recv_to_apply"):
        h = lat[name]
        lines.append(f"{name:>22}: p50 {h['p50']} us  p99 {h['p99']}  p99.9 {h['p99.9']}  "
                     f"max {h['max']}  (n={h['count']})")
    lines.append(f"  latency books exact {lat['exact']} (truth {lat['exact_vs_truth']}), "
                 f"sim cpu {lat['sim_cpu_pct']} %")
    for r in doc["rebuild"]:
        lines.append(f"rebuild {r['levels']:>5} levels: caught up median "
                     f"{r['start_to_caught_up_ms_median']} ms (min "
                     f"{r['start_to_caught_up_ms_min']}, max {r['start_to_caught_up_ms_max']}"
                     f"; wait_live {r['start_to_wait_live_ms_median']} ms, deltas "
                     f"{r['deltas_caught_up_median']}), exact {r['exact']}")
    lines.append(f"throughput: {tp['venue_messages_per_s']:,} venue msg/s, "
                 f"{tp['nats_messages_per_s']:,} NATS msg/s (consumer kept up), publisher "
                 f"alone {tp['publisher_venue_messages_per_s']:,} venue msg/s, exact "
                 f"{tp['exact']}, slow consumers {tp['slow_consumers']}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--books", type=int, default=4, help="latency: books (default 4)")
    ap.add_argument("--rate", type=float, default=100.0,
                    help="latency: messages/s per book (default 100)")
    ap.add_argument("--seconds", type=float, default=20.0, help="latency window (default 20)")
    ap.add_argument("--warmup", type=float, default=3.0,
                    help="latency: seconds between the consumer live and the window")
    ap.add_argument("--rebuild-levels", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--rebuild-repeats", type=int, default=7)
    ap.add_argument("--rebuild-rate", type=float, default=100.0)
    ap.add_argument("--snapshot-every", type=float, default=5.0)
    ap.add_argument("--messages", type=int, default=30_000, help="throughput: venue messages")
    ap.add_argument("--batch", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="throughput repeats")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.child:
        uvloop.run(child_main(json.loads(args.child)))
        return 0
    doc = uvloop.run(run(args))
    print(json.dumps(doc, indent=2) if args.json else render(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
