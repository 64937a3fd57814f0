"""Live trade streams through the Engine (docs/venues.md, "Live trade streams"): they
share connections with books within the venue's stream limit, subscribe in the venue's
own way, and mark their state honestly across disconnects. Real sockets against the
simulator."""

from __future__ import annotations

import pytest

from e2e import run, sim_config, wait_for
from fastfeed import Engine
from fastfeed.engine import SubscribeError
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def test_trades_share_the_book_connection_and_follow_it_through_a_reconnect():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                trades = await engine.subscribe_trades("binance", "BTCUSDT",
                                                       **urls(sim, "binance"))
                assert trades.channel == "aggTrade"
                assert trades.connection is book.connection and len(engine.connections) == 1
                await wait_for(lambda: trades.state == "live", what="trades subscribed")
                conn = book.connection
                assert conn.stats()["trade_streams"] == 1
                sim.inject("binance", "BTCUSDT", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=20,
                               what="reconnected")
                # aggTrade ids are contiguous: the reconnect alone is no loss
                await wait_for(lambda: trades.state == "live", what="trades resubscribed")
                assert trades.gaps == 0
                await engine.unsubscribe_trades(trades)
                assert trades.state == "closed" and conn.trades == []
    run(body)


def test_usdm_trades_use_their_own_route():
    # USD-M serves depth on /public and aggTrade on /market: different connections
    async def body():
        async with Simulator(sim_config({"binance-usdm": ["BTCUSDT"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("binance-usdm", "BTCUSDT",
                                              **urls(sim, "binance-usdm"))
                trades = await engine.subscribe_trades("binance-usdm", "BTCUSDT",
                                                       **urls(sim, "binance-usdm"))
                assert trades.connection is not book.connection
                assert (book.connection.route, trades.connection.route) == ("/public", "/market")
                await wait_for(lambda: trades.state == "live", what="trades connected")
    run(body)


def test_coinbase_trades_subscribe_their_channel_beside_level2():
    async def body():
        async with Simulator(sim_config({"coinbase-exchange": ["BTC-USD"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("coinbase-exchange", "BTC-USD",
                                              **urls(sim, "coinbase-exchange"))
                trades = await engine.subscribe_trades("coinbase-exchange", "BTC-USD",
                                                       **urls(sim, "coinbase-exchange"))
                assert trades.channel == "matches" and trades.connection is book.connection
                await wait_for(lambda: trades.state == "live", what="matches subscribed")
                assert book.connection.control_sent >= 2      # level2_batch, then matches
    run(body)


def test_subscribe_trades_errors_are_clear():
    async def body():
        async with Engine() as engine:
            with pytest.raises(SubscribeError, match="no trade stream 'bookTicker'"):
                await engine.subscribe_trades("binance", "BTCUSDT", stream="bookTicker",
                                              tick_size="0.01", step_size="0.001")
            with pytest.raises(ValueError, match="unknown venue"):
                await engine.subscribe_trades("kraken", "XBT/USD")
            first = await engine.subscribe_trades("binance", "BTCUSDT", tick_size="0.01",
                                                  step_size="0.001", ws_url="ws://127.0.0.1:9")
            assert first.state == "syncing"     # nothing was subscribed: not live
            with pytest.raises(SubscribeError, match="already subscribed"):
                await engine.subscribe_trades("binance", "BTCUSDT", tick_size="0.01",
                                              step_size="0.001", ws_url="ws://127.0.0.1:9")
    run(body)
