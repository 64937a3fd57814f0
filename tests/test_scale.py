"""Many books on one engine (docs/states.md, "Syncing at scale"): a short Binance URL plus
paced SUBSCRIBE batches, one snapshot queue per venue endpoint instead of a task per book,
batched instrument lookups, the snapshot depth chosen from the weight budget, loud
retries for a snapshot that keeps failing, opt-in per-book stale detection. Real loopback
sockets against the simulator; timings are reported by benchmarks, never asserted."""

from __future__ import annotations

import asyncio
import logging

import pytest

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import Engine
from fastfeed.rest import RetryPolicy
from fastfeed.sim import Simulator


def urls(sim, venue="binance"):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def assert_no_limit_tripped(sim):
    """The simulator enforces Binance's limits (docs/simulator.md): none may trip."""
    trips = sim.limit_trips()
    assert not any(sum(t.values()) for t in trips.values()), trips


def test_300_books_share_one_connection_short_url_then_subscribe_batches():
    symbols = [f"S{i:03d}USDT" for i in range(300)]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=2, depth=20)) as sim:
            async with Engine() as engine:
                tasks_before = len(asyncio.all_tasks())
                books = await engine.subscribe_many([("binance", s) for s in symbols],
                                                    wait=False, **urls(sim))
                # 300 syncing books cost a fixed handful of tasks (connection, watchdog,
                # snapshot workers), not one each
                assert len(asyncio.all_tasks()) - tasks_before < 12
                await engine.wait_live(books, timeout=90)
                assert len(engine.connections) == 1
                conn = engine.connections[0].stats()
                # 100 streams in the URL, the other 200 in one SUBSCRIBE
                assert conn["control_sent"] == 1, conn
                assert conn["connects"] == 1 and not conn["errors"], conn
                rest = next(iter(engine.stats()["rest"].values()))
                # three exchangeInfo?symbols=[...] lookups of 100, one snapshot per book
                assert rest["requests"] == 3 + 300, rest
                await settle(sim, books, timeout=30)
                for book in books:
                    assert_exact(sim, book)
                    assert book.snapshot_limit in engine.connections[0].venue.snapshot_depths
                assert_no_limit_tripped(sim)
    run(body, timeout=150)


def test_mass_resync_after_a_disconnect_brings_every_book_back_exact():
    symbols = [f"M{i:03d}USDT" for i in range(200)]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=2, depth=20)) as sim:
            async with Engine(reconnect_base=0.05) as engine:
                books = await engine.subscribe_many([("binance", s) for s in symbols],
                                                    timeout=90, **urls(sim))
                conn = engine.connections[0]
                sim.inject("binance", "*", "disconnect")
                await wait_for(lambda: conn.connects >= 2, timeout=30, what="reconnect")
                await engine.wait_live(books, timeout=90)
                assert all(b.resyncs >= 1 for b in books)
                await settle(sim, books, timeout=30)
                for book in books:
                    assert_exact(sim, book)
                snaps = next(iter(engine.stats()["snapshots"].values()))
                assert snaps["fetched"] >= 400 and snaps["waiting"] == {}, snaps
                assert_no_limit_tripped(sim)
    run(body, timeout=200)


def test_a_snapshot_that_keeps_failing_is_retried_loudly_while_the_book_stays_syncing(caplog):
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=20)) as sim:
            async with Engine(retry=RetryPolicy(attempts=1), reconnect_base=0.01,
                              snapshot_retry_cap=0.2) as engine:
                await engine.instrument("binance", "BTCUSDT", sim.rest_url("binance"))
                sim.inject("binance", "BTCUSDT", "http_500", count=4)     # the snapshots
                book = await engine.subscribe("binance", "BTCUSDT", wait=False, **urls(sim))
                await wait_for(lambda: book.snapshot_failures >= 3, timeout=20,
                               what="three failed snapshots")
                assert book.state == "syncing"
                assert "HTTP 500" in book.last_error and "attempt 3" in book.last_error
                await book.wait_live(30)
                assert book.snapshot_failures == 4
                assert book.counters()["snapshot_failures"] == 4
                await settle(sim, [book])
                assert_exact(sim, book)
    with caplog.at_level(logging.WARNING, logger="fastfeed.engine"):
        run(body, timeout=60)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "BTCUSDT" in r.message]
    assert errors, "after three failures in a row the log must say so at ERROR"


def test_book_stale_after_resyncs_a_live_book_whose_stream_went_silent():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT", "ETHUSDT"]}, rate=0)) as sim:
            async with Engine(book_stale_after=0.4, first_event_timeout=0.05) as engine:
                quiet, busy = await engine.subscribe_many(
                    [("binance", "BTCUSDT"), ("binance", "ETHUSDT")], **urls(sim))
                conn = quiet.connection
                stop = asyncio.Event()

                async def keep_eth_busy() -> None:
                    while not stop.is_set():
                        sim.step("binance", "ETHUSDT", 1)
                        await asyncio.sleep(0.05)
                feeder = asyncio.create_task(keep_eth_busy())
                try:
                    await wait_for(lambda: quiet.resyncs >= 1, timeout=10,
                                   what="the silent book resynced")
                    assert conn.stats()["stale_books"] >= 1
                    assert "book_stale_after" in (quiet.last_gap_reason or "")
                    assert busy.gaps == 0, "a book with traffic is never marked"
                finally:
                    stop.set()
                    await feeder
                await quiet.wait_live(10)
                await settle(sim, [quiet, busy])
                assert_exact(sim, quiet)
    run(body, timeout=40)


def test_read_interval_batches_reads_and_keeps_books_exact():
    # Engine(read_interval=): one read per interval, whatever arrived meanwhile in one go
    # (docs/robustness.md, "Read batching"); a pause never loses or reorders a frame
    symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=150)) as sim:
            async with Engine(read_interval=0.03) as engine:
                books = await engine.subscribe_many([("binance", s) for s in symbols],
                                                    **urls(sim))
                listener = books[0].connection.listener
                await wait_for(lambda: listener.read_pauses >= 20, what="read pauses")
                counters = listener.counters()
                assert counters["read_pauses"] == listener.read_pauses
                # 450 frames a second, one read per 30 ms: reads carry several frames
                assert listener.frames > 2 * listener.read_pauses, counters
                await settle(sim, books)
                for book in books:
                    assert book.gaps == 0
                    assert_exact(sim, book)
    run(body, timeout=60)


def test_read_interval_is_bounded():
    for bad in (-0.001, 0.5):
        with pytest.raises(ValueError, match="read_interval"):
            Engine(read_interval=bad)
