"""Engine → NATS JetStream over real sockets: a simulator, a real nats-server, and an
independent reader (nats-py, the rules of docs/wire.md written out here) that must end with
exactly the engine's books — through venue faults and a NATS server restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

import pytest

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import Engine
from fastfeed.fanout.publisher import NatsPublisher, parse_nats_url
from fastfeed.fanout.server import NatsServer
from fastfeed.replay import book_json
from fastfeed.sim import Simulator
from nats_reader import read_book, read_trades


@pytest.fixture
def server(tmp_path):
    with NatsServer(tmp_path / "nats") as s:
        yield s


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def levels(book):
    return ([tuple(map(int, r)) for r in book.book.bids_int()],
            [tuple(map(int, r)) for r in book.book.asks_int()])


async def published(engine):
    """Wait until the publisher has sent everything the books did (a round trip)."""
    pub = engine.nats
    await wait_for(lambda: pub.hub.dirty == 0 and not pub.hub.armed, what="flush")
    await pub.link.ping()


def test_books_published_equal_the_engine_through_gaps_and_reconnects(server):
    async def body():
        venues = {"binance": ["BTCUSDT", "ETHUSDT"], "coinbase": ["BTC-USD"]}
        async with Simulator(sim_config(venues, rate=200.0, trade_rate=30.0)) as sim:
            async with Engine(nats=server.url, nats_options={"snapshot_every": 2.0}) as engine:
                books = [await engine.subscribe(v, s, **urls(sim, v))
                         for v, symbols in venues.items() for s in symbols]
                trades = await engine.subscribe_trades("binance", "BTCUSDT",
                                                       **urls(sim, "binance"))
                await wait_for(lambda: all(b.messages > 30 for b in books)
                               and trades.recorded > 10, what="traffic")
                sim.inject("binance", "BTCUSDT", "drop")            # a gap: REST resync
                sim.inject("coinbase", "BTC-USD", "drop")           # a sequence_num jump
                await wait_for(lambda: books[0].resyncs >= 1 and books[2].resyncs >= 1,
                               what="resyncs")
                sim.inject("binance", "ETHUSDT", "disconnect")
                await wait_for(lambda: any(c.connects >= 2 for c in engine.connections),
                               what="reconnect")
                await settle(sim, books)
                for book in books:
                    assert_exact(sim, book)
                await published(engine)
                stats = engine.stats()["nats"]
                assert stats["deltas"] > 50 and stats["refused"] == 0
                for book in books:
                    got, state, *_ = await read_book(server.url, book.venue, book.symbol)
                    assert got == levels(book) and state == "live"
                await asyncio.sleep(0.2)           # trades in flight at the pause land
                await published(engine)
                tape = await read_trades(server.url, "binance", "BTCUSDT")
                ring = trades.trades()
                assert len(tape) == trades.recorded == len(ring)
                for name in ("trade_id", "price", "size", "side", "exchange_ns"):
                    assert tape[name].tolist() == ring[name].tolist()
                epochs = {}
                for book in books:
                    epochs[book.symbol] = (await read_book(server.url, book.venue,
                                                           book.symbol))[2]
            # closed: the last published state of every book says so
            for book in books:
                got, state, epoch, *_ = await read_book(server.url, book.venue, book.symbol)
                assert state == "closed" and epoch == epochs[book.symbol]
                assert got == levels(book)
    run(body, timeout=90)


def test_nats_restart_bumps_every_epoch_and_never_blocks_the_books(server):
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=300.0)) as sim:
            async with Engine(nats=server.url) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                await wait_for(lambda: book.messages > 30, what="traffic")
                await published(engine)
                before = (await read_book(server.url, "binance", "BTCUSDT"))[2]
                pub = engine.nats
                server.stop()
                applied = book.messages
                # the books keep going while NATS is away
                await wait_for(lambda: book.messages > applied + 100 and not pub.ready,
                               what="traffic while NATS is down")
                assert book.state == "live"
                server.start()                      # same port, same store
                await wait_for(lambda: pub.ready and pub.epoch_restarts == 1,
                               timeout=20, what="publisher back")
                await settle(sim, [book])
                assert_exact(sim, book)
                await published(engine)
                got, state, epoch, *_ = await read_book(server.url, "binance", "BTCUSDT")
                assert epoch > before and state == "live" and got == levels(book)
                assert pub.link.disconnects == 1 and pub.link.connects == 2
    run(body, timeout=90)


def test_unreachable_nats_costs_the_engine_nothing():
    with socket.socket() as s:      # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine(nats=f"nats://127.0.0.1:{port}") as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                await wait_for(lambda: book.messages > 30, what="traffic")
                await settle(sim, [book])
                assert_exact(sim, book)
                st = engine.stats()["nats"]
                assert not st["ready"] and st["connects"] == 0 and st["messages"] == 0
                assert engine.memory()["nats"] == engine.nats.memory() > 0
    run(body)


@pytest.mark.parametrize("url", ["http://127.0.0.1:4222", "nats://", "nats://u:p@h:1",
                                 "nats://h:99999"])
def test_bad_urls_are_refused_at_construction(url):
    with pytest.raises(ValueError):
        NatsPublisher(url)
    with pytest.raises(ValueError):
        Engine(nats=url)


def test_url_parsing_and_option_checks():
    assert parse_nats_url("nats://127.0.0.1") == ("127.0.0.1", 4222)
    assert parse_nats_url("nats://h:5000") == ("h", 5000)
    with pytest.raises(ValueError, match="snapshot_every"):
        NatsPublisher("nats://h:1", snapshot_every=10_000.0)
    with pytest.raises(ValueError, match="prefix"):
        NatsPublisher("nats://h:1", prefix="a.*")


def test_consumer_processes_end_equal_to_the_engine_through_venue_faults(server):
    # the end-to-end test: the engine publishes through a REST resync, an in-band
    # resync and a reconnect; a `fastfeed consume` process that joins late (after the
    # faults began) ends with exactly the engine's books, level for level
    async def body():
        venues = {"binance": ["BTCUSDT"], "coinbase": ["BTC-USD"]}
        async with Simulator(sim_config(venues, rate=200.0)) as sim:
            async with Engine(nats=server.url, nats_options={"snapshot_every": 1.0}) as engine:
                books = [await engine.subscribe(v, s, **urls(sim, v))
                         for v, symbols in venues.items() for s in symbols]
                await wait_for(lambda: all(b.messages > 30 for b in books), what="traffic")
                sim.inject("binance", "BTCUSDT", "drop")
                consumer = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "fastfeed", "consume", server.url,
                    "binance:BTCUSDT", "coinbase:BTC-USD", "--duration", "6", "--json",
                    stdout=asyncio.subprocess.PIPE,
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
                await wait_for(lambda: books[0].resyncs >= 1, what="REST resync")
                sim.inject("coinbase", "BTC-USD", "drop")
                sim.inject("binance", "BTCUSDT", "disconnect")
                await wait_for(lambda: books[1].resyncs >= 1, what="in-band resync")
                await settle(sim, books)
                for book in books:
                    assert_exact(sim, book)
                await published(engine)
                out, _ = await asyncio.wait_for(consumer.communicate(), 30)
                assert consumer.returncode == 0
                got = {(d["venue"], d["symbol"]): d for d in map(json.loads, out.splitlines())}
                for book in books:
                    assert got[(book.venue, book.symbol)] == book_json(book)
    run(body, timeout=90)
