"""What publishing to NATS costs the hot path: ``python -m benches.fanout [--json]``.

On the pre-generated workloads of ``benches.feed`` (1 KB Binance depth events and
Coinbase Advanced Trade envelopes, ~30 level changes each, 1000-level book), in one run,
medians of ``--repeats``:

- ``apply_message`` alone (the baseline);
- the same messages into a second book attached to a ``FanHub`` and flushed every
  ``--batch`` messages (the publisher flushes at the end of a loop turn, at most every
  ``coalesce_ms``: in a burst, ``--batch`` is the messages of one such window) into the
  framed buffer the publisher writes, kept: the fan-out's own CPU (change log, dirty
  list, the messages built and framed in C), and the time inside the flushes alone;
- the same with a real ``NatsPublisher`` connected to a local ``nats-server``
  (``fastfeed.fanout.server``): the flush writes into the socket; the run ends when the
  server answered a PING sent after the last message. Timed in the publishing thread's
  CPU time (the server runs on the same two cores; wall time would bill its work here).

The two books take the messages in alternating slices of 250 (a busier machine slows
both alike); the added cost is their difference, which on a shared machine is within
noise of zero: ``flush_ns_per_message`` (timed inside the loop) is the robust figure.

Target (issue #15): publisher overhead ≤ 10 % of the hot path at burst rates. Every
rebuilt book is checked against the publishing one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvloop

from benches.feed import fresh_feed
from fastfeed._fanout import FanHub
from fastfeed.bench.workload import make_workload
from fastfeed.fanout import wire

CASES = (("binance", "binance", "BTCUSDT"), ("coinbase", "coinbase", "BTC-USD"))
TARGET = 0.10


def _rebuild(messages: list[bytes]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for data in messages:
        m = wire.decode(data)
        if m.kind == wire.SNAPSHOT:
            bids.clear()
            asks.clear()
        for side, px, sz in ((bids, m.bid_prices, m.bid_sizes), (asks, m.ask_prices,
                                                                  m.ask_sizes)):
            for p, s in zip(px.tolist(), sz.tolist(), strict=True):
                if s:
                    side[p] = s
                else:
                    side.pop(p, None)
    return sorted(bids.items(), reverse=True), sorted(asks.items())


def _levels(feed: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return ([tuple(map(int, r)) for r in feed.book.bids_int()],
            [tuple(map(int, r)) for r in feed.book.asks_int()])


CHUNK = 250     # messages per timed slice: the baseline and the publishing book alternate


def _slices(msgs: list[bytes], batch: int) -> Iterator[list[bytes]]:
    # a whole number of runs a slice, so a flush comes every `batch` messages exactly
    size = max(batch, CHUNK // batch * batch)
    for start in range(0, len(msgs), size):
        yield msgs[start:start + size]


def _noop() -> None:
    pass


def _alternate(base_feed: Any, feed: Any, part: list[bytes], batch: int,
               flush: Callable[[], None], clock: Callable[[], int]) -> tuple[int, int]:
    """One slice into the baseline book, then into the publishing one, both in runs of
    ``batch`` messages followed by a call (the baseline's does nothing: both loops cost
    the same Python), the publishing one's ``flush``; the two durations."""
    runs = [part[j:j + batch] for j in range(0, len(part), batch)]
    apply = base_feed.apply_message
    t0 = clock()
    for run in runs:
        for m in run:
            apply(m)
        _noop()
    t1 = clock()
    apply = feed.apply_message
    for run in runs:
        for m in run:
            apply(m)
        flush()
    return t1 - t0, clock() - t1


def bench_in_process(w: Any, msgs: list[bytes], batch: int) -> tuple[float, float, float, int]:
    """(apply ns/msg, apply + fan-out ns/msg, of which flushing ns/msg, bytes published).

    Two books take the same messages in alternating slices of CHUNK (a machine that gets
    busier slows both alike): one alone, one attached to a FanHub that is flushed every
    ``batch`` messages into a publish function that keeps the bytes."""
    base_feed = fresh_feed(w)
    feed = fresh_feed(w)
    hub = FanHub()
    hub.set_subjects(hub.attach(feed), b"ff.book.bench", b"ff.snap.bench")
    out: list[bytes] = []
    keep = out.append

    def drain() -> None:                    # what NatsPublisher's flush does, minus the write
        hub.drain_framed()
        keep(hub.take_framed())

    drain()
    clock = time.perf_counter_ns
    flush = 0

    def timed_drain() -> None:
        nonlocal flush
        t = clock()
        drain()
        flush += clock() - t

    base = fan = 0
    for part in _slices(msgs, batch):
        b, f = _alternate(base_feed, feed, part, batch, timed_drain, clock)
        base += b
        fan += f
    drain()
    payloads = list(_unframe(b"".join(out)))
    if _rebuild(payloads) != _levels(feed) or _levels(feed) != _levels(base_feed):
        raise AssertionError("the book rebuilt from the messages differs")
    n = len(msgs)
    return base / n, fan / n, flush / n, sum(len(x) for x in payloads)


def _unframe(data: bytes) -> Iterator[bytes]:
    """The payloads of a run of ``PUB <subject> <size>\\r\\n<payload>\\r\\n`` frames."""
    i = 0
    while i < len(data):
        eol = data.index(b"\r\n", i)
        size = int(data[i:eol].rsplit(b" ", 1)[1])
        yield data[eol + 2:eol + 2 + size]
        i = eol + 4 + size


async def _bench_nats(w: Any, msgs: list[bytes], batch: int,
                      url: str) -> tuple[float, float, float, int]:
    """(apply ns/msg, apply + publishing to a real server ns/msg, the writer thread's CPU
    ns/msg, NATS messages sent), the two books alternating slices as in bench_in_process;
    the publishing book's flushes go to the socket, and the run ends with a PING answered
    after the last. Timed in this thread's CPU time (system calls included): the
    nats-server process shares the machine's cores, and wall time would bill its work to
    the publisher; the socket writer thread's CPU is reported on its own."""
    from fastfeed.fanout.publisher import NatsPublisher

    base_feed = fresh_feed(w)
    feed = fresh_feed(w)
    pub = NatsPublisher(url, max_buffer_bytes=256 << 20)
    pub.attach(feed)
    pub.start()
    while not pub.ready:                    # connect + stream set-up, once
        await asyncio.sleep(0.01)
    await pub.link.ping()
    base = fan = 0
    clock = time.thread_time_ns
    p0 = time.process_time_ns() - clock()   # other threads of this process: the writer
    for part in _slices(msgs, batch):
        # pub._flush is what the loop turn's flush does
        b, f = _alternate(base_feed, feed, part, batch, pub._flush, clock)
        base += b
        fan += f
        await asyncio.sleep(0)              # a loop turn: the writer's wake-ups
    pub._flush()
    t0 = clock()
    await pub.link.ping()                   # the server has every message
    fan += clock() - t0
    writer = time.process_time_ns() - clock() - p0
    sent = pub.messages
    await pub.close()
    return base / len(msgs), fan / len(msgs), writer / len(msgs), sent


def bench_case(name: str, venue: str, symbol: str, repeats: int, messages: int, batch: int,
               url: str | None) -> dict[str, Any]:
    w = make_workload(venue, symbol, messages=messages)
    msgs = list(w.messages)
    base, fan, flush, nats_base, nats_ns, writer = [], [], [], [], [], []
    published = 0
    sent = 0
    for _ in range(repeats):
        b, f, fl, published = bench_in_process(w, msgs, batch)
        base.append(b)
        fan.append(f)
        flush.append(fl)
        if url is not None:
            nb, ns, wr, sent = uvloop.run(_bench_nats(w, msgs, batch, url))
            nats_base.append(nb)
            nats_ns.append(ns)
            writer.append(wr)
    b, f = statistics.median(base), statistics.median(fan)
    out: dict[str, Any] = {
        "case": name, "messages": len(msgs), "batch": batch,
        "apply_message_ns": round(b, 1), "with_fanout_ns": round(f, 1),
        "fanout_added_ns": round(f - b, 1), "fanout_vs_apply": round((f - b) / b, 3),
        "flush_ns_per_message": round(statistics.median(flush), 1),
        "target": TARGET, "wire_bytes_per_venue_message": round(published / len(msgs), 1),
    }
    if nats_ns:
        nb, n = statistics.median(nats_base), statistics.median(nats_ns)
        out.update({"nats_apply_message_ns": round(nb, 1), "with_nats_ns": round(n, 1),
                    "nats_added_ns": round(n - nb, 1), "nats_vs_apply": round((n - nb) / nb, 3),
                    "writer_thread_ns": round(statistics.median(writer), 1),
                    "nats_messages_per_s": round(sent / (n * len(msgs) / 1e9)),
                    "venue_messages_per_s": round(1e9 / n)})
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every case; print a table or, with ``--json``, one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=3,
                        help="venue messages per flush (per socket read); default 3")
    parser.add_argument("--no-server", action="store_true",
                        help="skip the runs against a local nats-server")
    args = parser.parse_args(argv)
    server = None
    url = None
    if not args.no_server:
        from fastfeed.fanout.server import NatsServer

        server = NatsServer().start()
        url = server.url
    try:
        results = [bench_case(n, v, s, args.repeats, args.messages, args.batch, url)
                   for n, v, s in CASES]
    finally:
        if server is not None:
            server.close()
    doc = {"python": sys.version.split()[0], "machine": platform.machine(),
           "results": results}
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for r in results:
        line = (f"{r['case']:>9}: apply {r['apply_message_ns']:7.1f} ns/msg, + fan-out "
                f"{r['fanout_added_ns']:6.1f} ns ({100 * r['fanout_vs_apply']:.1f} %)")
        if "with_nats_ns" in r:
            line += (f", + NATS {r['nats_added_ns']:6.1f} ns ({100 * r['nats_vs_apply']:.1f} %),"
                     f" writer thread {r['writer_thread_ns']:6.1f} ns,"
                     f" {r['nats_messages_per_s']:,} NATS msg/s")
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
