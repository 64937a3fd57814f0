"""Sharded engines (fastfeed.workers, ``fastfeed run --workers N``): stable shards, a
supervisor that restarts a killed worker, and books on NATS that end exactly equal to an
in-process engine's on the same simulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from decimal import Decimal

import pytest

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import BookFeed, Engine
from fastfeed.fanout.server import NatsServer
from fastfeed.sim import Simulator
from fastfeed.workers import Supervisor, book_status, shard_of, shards
from nats_reader import read_book

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT"]


def test_shards_are_stable_and_cover_every_book():
    specs = [("binance", s) for s in SYMBOLS] + [("coinbase", "BTC-USD")]
    for n in (1, 2, 3, 7):
        parts = shards(specs, n)
        assert len(parts) == n and sorted(x for part in parts for x in part) == sorted(specs)
        for i, part in enumerate(parts):
            assert all(shard_of(v, s, n) == i for v, s in part)
    assert shards(specs, 1) == [specs]
    assert shard_of("binance", "BTCUSDT", 4) == shard_of("binance", "BTCUSDT", 4)
    with pytest.raises(ValueError):
        shard_of("binance", "BTCUSDT", 0)
    with pytest.raises(ValueError, match="no books"):
        Supervisor([], 2)


@pytest.mark.parametrize(("bid", "ask"), [("43210.12", "43210.123456"),
                                          ("0.00001234", "0.00001235")])
def test_status_line_best_prices_are_exact_decimal_text(bid, ask):
    # the int64 ticks at the book's scale as text (a float's %.8g printed 1.234e-05 and
    # 43210.123): docs/fanout.md, "Workers"
    feed = BookFeed("binance", "BTCUSDT", "0.00000001", "0.00001")
    assert book_status(feed)["best"] == ["", ""]
    pd = feed.book.price_decimals
    feed.replace_levels([(int(Decimal(bid).scaleb(pd)), 1)], [(int(Decimal(ask).scaleb(pd)), 1)])
    best = book_status(feed)["best"]
    assert [Decimal(x) for x in best] == [Decimal(bid), Decimal(ask)]
    assert all(len(x.split(".")[1]) == pd for x in best)       # the book's scale, always


def test_workers_publish_exact_books_and_a_killed_worker_comes_back(tmp_path):
    async def body():
        with NatsServer(tmp_path / "nats") as nats:
            cfg = sim_config({"binance": SYMBOLS}, rate=100.0)
            async with Simulator(cfg) as sim:
                args = ["--ws-url", sim.ws_url("binance"), "--rest-url", sim.rest_url("binance"),
                        "--nats", nats.url]
                sup = Supervisor([("binance", s) for s in SYMBOLS], 2, worker_args=args,
                                 backoff_min=0.1)
                assert sorted(x for w in sup.workers for x in w.specs) == \
                    sorted(("binance", s) for s in SYMBOLS)
                async with sup:
                    def all_live():
                        return all(b["state"] == "live" and b.get("messages", 0) > 20
                                   for b in sup.books())
                    await wait_for(all_live, timeout=30, what="every book live in a worker")
                    victim = sup.workers[0]
                    pid = victim.pid
                    os.kill(pid, signal.SIGKILL)
                    await wait_for(lambda: victim.restarts == 1 and victim.pid != pid,
                                   timeout=20, what="restart")
                    await wait_for(all_live, timeout=30, what="live again after the restart")
                    summary = sup.summary()
                    assert [w["restarts"] for w in summary["workers"]] == [1, 0]
                    assert summary["workers"][0]["last_exit"] == -signal.SIGKILL
                    # an in-process engine on the same market: the reference
                    async with Engine() as engine:
                        ref = [await engine.subscribe("binance", s, ws_url=sim.ws_url("binance"),
                                                      rest_url=sim.rest_url("binance"))
                               for s in SYMBOLS]
                        await settle(sim, ref)
                        for book in ref:
                            assert_exact(sim, book)

                        def published(book):
                            return lambda: any(
                                b["symbol"] == book.symbol
                                and b.get("update_id") == book.last_update_id
                                for b in sup.books())
                        for book in ref:
                            await wait_for(published(book), timeout=10, what="workers caught up")
                        for book in ref:
                            for _ in range(50):     # the last flush may still be in flight
                                got, state, *_, update_id = await read_book(
                                    nats.url, "binance", book.symbol)
                                if update_id == book.last_update_id:
                                    break
                                await asyncio.sleep(0.1)
                            levels = ([tuple(map(int, r)) for r in book.book.bids_int()],
                                      [tuple(map(int, r)) for r in book.book.asks_int()])
                            assert got == levels and state == "live", book.symbol
    run(body, timeout=120)


def test_cli_run_workers_prints_a_merged_summary():
    async def body():
        async with Simulator(sim_config({"binance": SYMBOLS[:3]}, rate=100.0)) as sim:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fastfeed", "run", *(f"binance:{s}" for s in SYMBOLS[:3]),
                "--workers", "2", "--duration", "6", "--ws-url", sim.ws_url("binance"),
                "--rest-url", sim.rest_url("binance"), stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
            out, _ = await proc.communicate()
            assert proc.returncode == 0
            lines = out.decode().strip().splitlines()
            summary = json.loads(lines[-1])         # the last line: the merged view as JSON
            assert sorted(b["symbol"] for b in summary["books"]) == sorted(SYMBOLS[:3])
            assert all(b["state"] == "live" for b in summary["books"]), summary
            assert {b["worker"] for b in summary["books"]} <= {0, 1}
            assert "worker 0: pid" in out.decode() or "worker 1: pid" in out.decode()
    run(body, timeout=60)


def _shm_exact(sim, reader, symbol):
    """The book in shared memory equals the simulator's truth at its update id (the
    top levels the segment holds)."""
    snap = reader.book("binance", symbol)
    if snap.state != "live":
        return False
    t = sim.truth("binance", symbol, snap.update_id)
    pq, sq = 10 ** (snap.price_decimals - t.price_decimals), 10 ** (snap.size_decimals
                                                                  - t.size_decimals)
    depth = len(snap.bids_int)
    return (snap.bids_int.tolist() == [[p * pq, q * sq] for p, q in t.bids[:depth]]
            and snap.asks_int.tolist() == [[p * pq, q * sq] for p, q in t.asks[:depth]]
            and depth == min(len(t.bids), reader.depth))


def test_shm_directory_reads_every_worker_and_follows_a_restarted_one(name):
    from fastfeed.shm import BookNotPublished, BookRestarting, Reader, segment_path

    async def body():
        async with Simulator(sim_config({"binance": SYMBOLS}, rate=50.0)) as sim:
            args = ["--ws-url", sim.ws_url("binance"), "--rest-url", sim.rest_url("binance")]
            sup = Supervisor([("binance", s) for s in SYMBOLS], 2, worker_args=args,
                             shm=name, backoff_min=0.1)
            async with sup:
                reader = Reader(name)           # one reader, opened once, for every worker
                assert reader.is_directory
                assert reader.segments() == [f"{name}-w{w.index}" for w in sup.workers]

                def all_live():
                    try:
                        return all(reader.book("binance", s).state == "live" for s in SYMBOLS)
                    except BookNotPublished:
                        return False
                await wait_for(all_live, timeout=30, what="every book live in shared memory")
                for w in sup.workers:
                    for _, s in w.specs:
                        assert reader.segment_of("binance", s) == sup.segment(w)
                sim.pause()
                await asyncio.sleep(0.3)        # the last messages reach the workers
                for s in SYMBOLS:
                    await wait_for(lambda s=s: _shm_exact(sim, reader, s), timeout=10,
                                   what=f"{s} exact in shared memory")
                sim.resume()
                # `fastfeed top NAME` shows every book of both workers
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "fastfeed", "top", name, "--once", "--json",
                    stdout=asyncio.subprocess.PIPE,
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
                out, _ = await proc.communicate()
                top = json.loads(out)
                assert sorted(b["symbol"] for b in top["books"]) == sorted(SYMBOLS)
                assert top["publisher"]["status"] == "ok"
                assert len(top["publisher"]["members"]) == 2
                # kill worker 0: its segment is replaced by the restarted worker's, and the
                # same reader's book() reads the new one (no reopen by hand)
                victim = sup.workers[0]
                sym = victim.specs[0][1]
                before = reader.health()["members"][0]["generation"]
                held = reader.book("binance", sym).update_id
                pid = victim.pid
                os.kill(pid, signal.SIGKILL)
                await wait_for(lambda: victim.restarts == 1 and victim.pid != pid,
                               timeout=20, what="restart")

                def moved_on():
                    try:
                        snap = reader.book("binance", sym)
                    except BookRestarting:      # remapped: the new worker has not got it yet
                        return False
                    return snap.state == "live" and snap.update_id > held
                await wait_for(moved_on, timeout=30, what="the restarted worker's book")
                member = reader.health()["members"][0]
                assert member["generation"] != before and member["pid"] == victim.pid
                assert member["status"] == "ok"
                await wait_for(all_live, timeout=30, what="every book live after the restart")
                reader_health = reader.health()
            assert reader_health["status"] == "ok"
            assert reader.health()["status"] == "closed"
            assert not os.path.exists(segment_path(name))
            for w in sup.workers:               # the workers closed theirs; nothing left
                assert not os.path.exists(segment_path(sup.segment(w)))
            reader.close()
    run(body, timeout=150)


def test_gated_bursts_start_together_at_the_release():
    from fastfeed.sim import SimConfig, SymbolConfig

    syms = ["BTCUSDT", "ETHUSDT"]
    cfg = SimConfig(venues={"binance": [SymbolConfig(s, burst=500, levels_per_message=5)
                                        for s in syms]}, burst_gate=True, ping_interval=0)

    async def body():
        async with Simulator(cfg) as sim, Engine() as engine:
            books = [await engine.subscribe("binance", s, ws_url=sim.ws_url("binance"),
                                            rest_url=sim.rest_url("binance"), wait=False)
                     for s in syms]
            await wait_for(lambda: sim.stats()["bursts_waiting"] == 2, timeout=20,
                           what="both bursts at the gate")
            final = {b.symbol: sim.truth("binance", b.symbol).last_id for b in books}
            # only each burst's first message is out (a book can fetch its snapshot)
            assert all(b.messages <= 1 and b.last_update_id < final[b.symbol] for b in books)
            released = sim.release_bursts()
            assert released["released"] == 2 and released["t_ns"] > 0
            assert sim.stats()["bursts_waiting"] == 0 and sim.stats()["burst_releases"] == 1
            await wait_for(lambda: all(b.last_update_id == final[b.symbol] for b in books),
                           timeout=20, what="bursts applied")
            for b in books:
                assert_exact(sim, b)
    run(body, timeout=60)
