"""End to end over loopback: Engine ↔ simulator for Coinbase Advanced Trade and Exchange."""

from __future__ import annotations

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import Engine
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def test_advanced_trade_products_lookup_sync_and_exact():
    async def body():
        async with Simulator(sim_config({"coinbase": ["BTC-USD", "ETH-USD"]})) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many(
                    [("coinbase", "BTC-USD"), ("coinbase", "ETH-USD")], **urls(sim, "coinbase"))
                assert books[0].instrument.tick_size == "0.01"   # from the products endpoint
                await wait_for(lambda: all(b.messages > 20 for b in books), what="traffic")
                await settle(sim, books)
                for b in books:
                    assert_exact(sim, b)
    run(body)


def test_dropped_envelope_resubscribes_that_connection_only():
    products = ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD"]

    async def body():
        async with Simulator(sim_config({"coinbase": products})) as sim:
            async with Engine(streams_per_connection=2) as engine:
                books = await engine.subscribe_many([("coinbase", p) for p in products],
                                                    tick_size="0.01", step_size="0.00001",
                                                    **urls(sim, "coinbase"))
                assert len(engine.connections) == 2
                hit, spared = books[:2], books[2:]
                await wait_for(lambda: all(b.messages > 10 for b in books), what="traffic")
                sim.inject("coinbase", "BTC-USD", "drop")
                await wait_for(lambda: all(b.resyncs >= 1 and b.is_live for b in hit),
                               what="resubscribe")
                assert hit[0].connection.listener.sequence_gaps == 1
                assert all(b.gaps == 0 for b in spared)
                await settle(sim, books)
                for b in books:
                    assert_exact(sim, b)
    run(body)


def test_advanced_trade_twenty_products_one_connection_and_reconnect():
    products = [f"C{i:02d}-USD" for i in range(20)]

    async def body():
        async with Simulator(sim_config({"coinbase": products}, rate=30, levels=4,
                                        depth=30)) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many([("coinbase", p) for p in products],
                                                    tick_size="0.01", step_size="0.00001",
                                                    **urls(sim, "coinbase"))
                assert len(engine.connections) == 1
                conn = engine.connections[0]
                sim.inject("coinbase", "*", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and all(b.is_live for b in books),
                               what="reconnect")
                await settle(sim, books, timeout=20)
                for b in books:
                    assert_exact(sim, b)
    run(body, timeout=90)


def test_exchange_sync_reconnect_and_malformed_resubscribe():
    async def body():
        async with Simulator(sim_config({"coinbase-exchange": ["BTC-USD"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("coinbase-exchange", "BTC-USD",
                                              **urls(sim, "coinbase-exchange"))
                conn = book.connection
                sim.inject("coinbase-exchange", "BTC-USD", "malformed", replace=True)
                await wait_for(lambda: book.gaps == 1 and book.is_live, what="resubscribe")
                sim.inject("coinbase-exchange", "*", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and book.is_live, what="reconnect")
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)
