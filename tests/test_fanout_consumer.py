"""BookConsumer against a real nats-server (docs/wire.md "Rebuilding a book exactly",
docs/fanout.md "Consumer"): hand-built wire messages published with nats-py into the
streams, the rebuilt book compared with a reference dict book."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nats")

import nats

from fastfeed._parse import format_decimal_py
from fastfeed.fanout.consumer import BookConsumer, BookConsumers
from fastfeed.fanout.server import NatsServer
from fastfeed.fanout.streams import StreamLimits, ensure_streams
from fastfeed.fanout.wire import DELTA, FLAG_REPLACED, SNAPSHOT, book_id, encode, subject

PD, SD = 2, 3
VENUE, SYMBOL = "binance", "BTCUSDT"
_prefixes = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[NatsServer]:
    with NatsServer() as srv:
        yield srv


class Pub:
    """A hand-driven publisher of one book with its reference (dict) book."""

    def __init__(self, nc: Any, prefix: str, venue: str = VENUE, symbol: str = SYMBOL,
                 epoch: int = 1_000) -> None:
        self.nc, self.prefix, self.venue, self.symbol = nc, prefix, venue, symbol
        self.epoch, self.seq, self.uid = epoch, 0, 100
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.rng = random.Random(hash((prefix, symbol)) & 0xFFFF)

    def header(self, **kw: Any) -> dict[str, Any]:
        h = dict(state=1, book=book_id(self.venue, self.symbol), price_decimals=PD,
                 size_decimals=SD, epoch=self.epoch, seq=self.seq, last_update_id=self.uid,
                 publish_ns=time.time_ns())
        h.update(kw)
        return h

    def snapshot_bytes(self, **kw: Any) -> bytes:
        bids = sorted(self.bids.items(), reverse=True)
        asks = sorted(self.asks.items())
        return encode(SNAPSHOT, bids=bids, asks=asks, **self.header(**kw))

    async def snapshot(self, **kw: Any) -> None:
        await self.nc.publish(subject(self.prefix, "snap", self.venue, self.symbol),
                              self.snapshot_bytes(**kw))
        await self.nc.flush()

    def random_delta(self) -> bytes:
        """Advance the reference by a few random changes; the delta that carries them."""
        bids, asks = [], []
        for _ in range(self.rng.randint(0, 4)):
            p, q = self.rng.randint(9_000, 9_999), self.rng.choice((0, self.rng.randint(1, 9999)))
            bids.append((p, q))
            self.bids[p] = q
        for _ in range(self.rng.randint(0, 4)):
            p, q = self.rng.randint(10_000, 11_000), self.rng.choice((0, self.rng.randint(1, 9999)))
            asks.append((p, q))
            self.asks[p] = q
        self.bids = {p: q for p, q in self.bids.items() if q}
        self.asks = {p: q for p, q in self.asks.items() if q}
        self.seq += 1
        self.uid += 1
        return encode(DELTA, bids=bids, asks=asks, **self.header())

    async def send(self, data: bytes) -> None:
        await self.nc.publish(subject(self.prefix, "book", self.venue, self.symbol), data)

    async def deltas(self, n: int, *, twice: bool = False) -> None:
        for _ in range(n):
            data = self.random_delta()
            await self.send(data)
            if twice:
                await self.send(data)
        await self.nc.flush()

    def expect(self) -> tuple[list[list[int]], list[list[int]]]:
        return ([[p, q] for p, q in sorted(self.bids.items(), reverse=True)],
                [[p, q] for p, q in sorted(self.asks.items())])


def levels(c: BookConsumer) -> tuple[list[list[int]], list[list[int]]]:
    return c.book.bids_int().tolist(), c.book.asks_int().tolist()


async def until(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for ``cond`` (a deadline only for failing, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)


async def setup(url: str) -> tuple[Any, str]:
    prefix = f"t{next(_prefixes)}"
    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    await ensure_streams(nc.jetstream(), prefix, StreamLimits())
    return nc, prefix


async def seeded(url: str) -> tuple[Any, Pub]:
    nc, prefix = await setup(url)
    pub = Pub(nc, prefix)
    for i in range(20):
        pub.bids[9_500 - i] = 1000 + i
        pub.asks[10_500 + i] = 2000 + i
    await pub.snapshot(flags=FLAG_REPLACED)
    return nc, pub


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 120))


def test_rebuild_from_snapshot_and_deltas(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        seen: list[int] = []
        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix,
                                callback=lambda c: seen.append(c.seq)) as c:
            await c.wait_live(30)
            assert levels(c) == pub.expect() and c.seq == 0 and c.snapshots == 1
            assert (c.price_decimals, c.size_decimals) == (PD, SD)
            await pub.deltas(200)
            await until(lambda: c.seq == 200, "seq 200")
            assert levels(c) == pub.expect()
            assert c.state == "live" and c.update_id == pub.uid and c.epoch == pub.epoch
            assert c.deltas == 200 and c.gaps == 0 and c.resyncs == 0 and not c.rejected
            assert seen == list(range(201))
            lag = c.lag_ns
            assert lag is not None and lag >= 0 and c.publish_ns > 0
        assert c.state == "closed"
        await nc.close()
    run(main())


def test_late_join_drops_what_the_snapshot_holds(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        await pub.deltas(150)
        await pub.snapshot()                    # seq 150: deltas 1..150 are in it
        await pub.deltas(30)
        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix) as c:
            await until(lambda: c.seq == 180, "seq 180")
            assert levels(c) == pub.expect()
            assert c.deltas == 30 and c.duplicates > 0 and c.snapshots == 1
        await nc.close()
    run(main())


def test_duplicate_publishes_ignored(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix) as c:
            await c.wait_live(30)
            await pub.deltas(100, twice=True)
            await until(lambda: c.seq == 100 and c.duplicates == 100, "100 duplicates")
            assert levels(c) == pub.expect() and c.deltas == 100 and c.gaps == 0
        await nc.close()
    run(main())


def test_gap_resyncs_to_the_next_snapshot(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix) as c:
            await c.wait_live(30)
            await pub.deltas(5)
            await until(lambda: c.seq == 5, "seq 5")
            pub.random_delta()                  # seq 6 never published
            await pub.deltas(3)
            await until(lambda: c.state == "gap", "the gap seen")
            assert c.seq == 5 and c.gaps >= 1
            await pub.snapshot()                # seq 9: what the publisher holds
            await pub.deltas(10)
            await until(lambda: c.seq == 19 and c.state == "live", "healed at seq 19")
            assert levels(c) == pub.expect() and c.resyncs >= 1 and c.snapshots == 2
        await nc.close()
    run(main())


def test_epoch_change_resyncs_and_waits_for_the_new_snapshot(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix,
                                max_retry_pause=0.2) as c:
            await c.wait_live(30)
            await pub.deltas(10)
            await until(lambda: c.seq == 10, "seq 10")
            old = pub.epoch
            pub.epoch, pub.seq = old + 5, 0     # the publisher replaced its book
            pub.bids = {9_000: 1}
            pub.asks = {11_000: 2}
            await pub.deltas(1)                 # its first delta before its snapshot
            await until(lambda: c.state == "gap", "the new epoch seen")
            assert c.epoch == old               # the old snapshot is not taken
            await pub.snapshot(flags=FLAG_REPLACED)
            await pub.deltas(5)
            await until(lambda: c.epoch == old + 5 and c.seq == 6 and c.state == "live",
                        "the new epoch taken")
            assert levels(c) == pub.expect() and c.resyncs >= 1
            # a delta of the old epoch now is dropped, not applied
            await pub.send(encode(DELTA, bids=[(9_999, 5)], **pub.header(epoch=old, seq=11)))
            await pub.deltas(1)
            await until(lambda: c.seq == 7, "seq 7")
            assert levels(c) == pub.expect() and c.duplicates >= 1
        await nc.close()
    run(main())


def test_wrong_book_and_corrupt_messages_rejected(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix) as c:
            await c.wait_live(30)
            await pub.deltas(3)
            # same subject token, another symbol ("BTC/USDT" normalises alike)
            await pub.send(encode(DELTA, bids=[(9_990, 7)], **pub.header(
                seq=4, book=book_id(VENUE, "BTC/USDT"))))
            good = pub.random_delta()           # seq 4
            await pub.send(good[:-8])           # truncated
            await pub.send(b"XXXX" + good[4:])  # bad magic
            await pub.send(good[:4] + b"\x02\x00" + good[6:])   # version 2
            await pub.send(good)
            await pub.deltas(2)
            await until(lambda: c.seq == 6, "seq 6")
            assert levels(c) == pub.expect()
            assert c.rejected == {"book_id": 1, "wire": 3}
            assert c.gaps == 0 and c.state == "live"
        await nc.close()
    run(main())


def test_negative_size_delta_rejected_and_resynced(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix) as c:
            await c.wait_live(30)
            await pub.send(encode(DELTA, bids=[(9_990, -7)], **pub.header(seq=1)))
            await pub.nc.flush()
            await until(lambda: c.rejected["delta_levels"] >= 1, "rejected")
            # marked gap (it may already have healed from the seq-0 snapshot: a race the
            # state alone would lose on a busy machine) and nothing applied
            assert c.last_gap_reason == "an unusable delta"
            assert levels(c) == pub.expect()
            await pub.deltas(2)
            await pub.snapshot()
            await pub.deltas(2)
            await until(lambda: c.seq == 4 and c.state == "live", "healed")
            assert levels(c) == pub.expect()
        await nc.close()
    run(main())


def test_many_books_one_connection(server: NatsServer) -> None:
    async def main() -> None:
        nc, prefix = await setup(server.url)
        pubs = [Pub(nc, prefix, VENUE, "BTCUSDT"), Pub(nc, prefix, "kraken", "BTC/USD")]
        for p in pubs:
            p.bids, p.asks = {9_500: 1}, {10_500: 1}
            await p.snapshot()
        async with BookConsumers(server.url, [(p.venue, p.symbol) for p in pubs],
                                 prefix=prefix) as cs:
            await cs.wait_live(30)
            for p in pubs:
                await p.deltas(50)
            await until(lambda: all(c.seq == 50 for c in cs), "both at seq 50")
            for p in pubs:
                assert levels(cs[p.venue, p.symbol]) == p.expect()
        await nc.close()
    run(main())


def test_consume_json_in_another_process(server: NatsServer) -> None:
    async def main() -> Pub:
        nc, pub = await seeded(server.url)
        await pub.deltas(300)
        await nc.close()
        return pub

    pub = run(main())
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    out = subprocess.run([sys.executable, "-m", "fastfeed", "consume", server.url,
                          f"{VENUE}:{SYMBOL}", "--duration", "4", "--json", "--prefix",
                          pub.prefix], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    bids, asks = pub.expect()
    assert json.loads(line) == {
        "venue": VENUE, "symbol": SYMBOL, "state": "live", "update_id": pub.uid,
        "bids": [[format_decimal_py(p, PD), format_decimal_py(q, SD)] for p, q in bids],
        "asks": [[format_decimal_py(p, PD), format_decimal_py(q, SD)] for p, q in asks]}


def test_server_restart_heals(tmp_path: Path) -> None:
    async def main(srv: NatsServer) -> None:
        nc, pub = await seeded(srv.url)
        states: set[str] = set()

        async def watch(c: BookConsumer) -> None:
            while True:
                states.add(c.state)
                await asyncio.sleep(0.002)

        async with BookConsumer(srv.url, VENUE, SYMBOL, prefix=pub.prefix,
                                max_retry_pause=0.3) as c:
            await c.wait_live(30)
            await pub.deltas(50)
            await until(lambda: c.seq == 50, "seq 50")
            watcher = asyncio.get_running_loop().create_task(watch(c))
            await asyncio.to_thread(srv.restart, kill=True)
            await until(lambda: nc.is_connected, "the publisher reconnected")
            await pub.deltas(50)
            await until(lambda: c.seq == 100 and c.state == "live", "healed at seq 100")
            assert levels(c) == pub.expect() and c.resyncs >= 1
            watcher.cancel()
            assert "stale" in states
        await nc.close()

    with NatsServer(tmp_path / "nats") as srv:
        run(main(srv))


def test_slow_consumer_detected_and_recovered(server: NatsServer) -> None:
    async def main() -> None:
        nc, pub = await seeded(server.url)
        blocked: list[int] = []

        def stall(c: BookConsumer) -> None:
            if c.seq == 1 and not blocked:      # the loop stops reading: the flood piles up
                blocked.append(1)
                time.sleep(0.5)

        async with BookConsumer(server.url, VENUE, SYMBOL, prefix=pub.prefix,
                                pending_msgs_limit=10, callback=stall,
                                max_retry_pause=0.2) as c:
            await c.wait_live(30)
            await pub.deltas(2000)
            await until(lambda: c.slow_consumers >= 1, "the slow consumer reported")
            # the flood is older than the 2 s look-back of the next snapshot
            await asyncio.sleep(2.5)
            await pub.snapshot()
            for _ in range(10):
                await pub.deltas(1)
                await asyncio.sleep(0.01)
            await until(lambda: c.seq == 2010 and c.state == "live", "recovered at 2010")
            assert levels(c) == pub.expect() and c.resyncs >= 1
        await nc.close()
    run(main())


def test_no_server_at_start_is_an_error() -> None:
    async def main() -> None:
        from nats.errors import NoServersError

        c = BookConsumer("nats://127.0.0.1:1", VENUE, SYMBOL)
        with pytest.raises(NoServersError):
            await c.start()
        await c.close()
        assert c.state == "closed"
    run(main())
