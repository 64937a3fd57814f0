"""Sharded engines (fastfeed.workers, ``fastfeed run --workers N``): stable shards, a
supervisor that restarts a killed worker, and books on NATS that end exactly equal to an
in-process engine's on the same simulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import Engine
from fastfeed.fanout.server import NatsServer
from fastfeed.sim import Simulator
from fastfeed.workers import Supervisor, shard_of, shards
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
