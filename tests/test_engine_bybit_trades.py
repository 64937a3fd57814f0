"""Bybit ``publicTrade`` through the Engine and TradeFeed (docs/venues.md, "Bybit"): on the
book's connection, trades equal to the simulator's tape, a dropped message counted as
nothing (no id rule can see it). Real sockets against the simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from e2e import run, sim_config, wait_for
from fastfeed import Engine, TradeFeed
from fastfeed.sim import Simulator
from fastfeed.sim.dialects.base import wire_of
from fastfeed.sim.dialects.bybit import BybitWire

TICK, STEP = Decimal("0.01"), Decimal("0.00001")    # SymbolConfig's defaults


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def rows_of(trades) -> list[tuple]:
    got = trades.trades()
    pd, sd = trades.price_decimals, trades.size_decimals
    return [(int(r["exchange_ns"]) // 1_000_000, Decimal(int(r["price"])).scaleb(-pd),
             Decimal(int(r["size"])).scaleb(-sd), int(r["side"]), int(r["trade_id"]))
            for r in got]


@pytest.mark.parametrize("venue", ["bybit", "bybit-linear"])
def test_live_trades_equal_the_simulators_tape(venue):
    # every trade recorded is on the tape in order (time, price, size, taker side; spot
    # also its numeric id), none missing between the first and the last recorded
    async def body():
        async with Simulator(sim_config({venue: ["BTCUSDT"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe(venue, "BTCUSDT", **urls(sim, venue))
                trades = await engine.subscribe_trades(venue, "BTCUSDT", **urls(sim, venue))
                assert trades.channel == "publicTrade"
                assert trades.connection is book.connection and len(engine.connections) == 1
                await wait_for(lambda: trades.recorded >= 40, timeout=30, what="40 trades")
                got = rows_of(trades)
                tape = [(f.t_ns // 1_000_000, f.price * TICK, f.size * STEP, f.taker,
                         f.trade_id if venue == "bybit" else -1)
                        for f in sim.trades(venue, "BTCUSDT")]
                start = tape.index(got[0])
                assert got == tape[start:start + len(got)]
                assert trades.gaps == 0 and trades.state == "live" and book.is_live
                assert not trades.rejects
    run(body, timeout=60)


def test_trades_go_on_after_the_book_is_unsubscribed():
    async def body():
        async with Simulator(sim_config({"bybit": ["BTCUSDT"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("bybit", "BTCUSDT", **urls(sim, "bybit"))
                trades = await engine.subscribe_trades("bybit", "BTCUSDT", **urls(sim, "bybit"))
                await wait_for(lambda: trades.recorded >= 5, timeout=30, what="5 trades")
                await engine.unsubscribe(book)
                seen = trades.recorded
                await wait_for(lambda: trades.recorded >= seen + 10, timeout=30,
                               what="trades after the book's unsubscribe")
                assert trades.state == "live"
    run(body, timeout=60)


def test_trade_feed_offline_reads_the_simulators_messages():
    # TradeFeed on the dialect's own bytes (several fills in one message), no sockets
    async def body():
        async with Simulator(sim_config({"bybit-linear": ["BTCUSDT"]}, rate=50,
                                        trade_rate=30)) as sim:
            await wait_for(lambda: len(sim.trades("bybit-linear", "BTCUSDT")) >= 6,
                           timeout=30, what="6 fills")
            fills = sim.trades("bybit-linear", "BTCUSDT")[:6]
            wire = wire_of(sim.market("bybit-linear", "BTCUSDT"), BybitWire)
            feed = TradeFeed("bybit-linear", "BTCUSDT", "0.01", "0.00001")
            feed.apply_message(wire.trades(fills[:2]))
            feed.apply_message(wire.trades(fills[2:]))
            got = feed.trades()
            assert [int(p) for p in got["price"]] == [f.price for f in fills]
            assert [int(q) for q in got["size"]] == [f.size for f in fills]
            assert [int(s) for s in got["side"]] == [f.taker for f in fills]
            assert [int(t) for t in got["trade_id"]] == [-1] * 6       # UUIDs
            assert feed.gaps == 0 and feed.state == "live"
    run(body, timeout=60)
