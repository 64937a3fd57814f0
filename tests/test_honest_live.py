"""Honest "live" (docs/states.md): a REST-synced book is live only with its stream behind
it, or flagged ``idle`` when the stream has carried nothing for it yet; a subscription
still waiting in the paced control queue keeps its book ``syncing``. Real loopback
sockets against the simulator."""

from __future__ import annotations

import asyncio

from e2e import assert_exact, run, sim_config, wait_for
from fastfeed import Engine
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def test_quiet_symbol_goes_live_flagged_idle_until_its_first_event():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=0)) as sim:
            async with Engine(first_event_timeout=0.2) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                assert book.state == "live"
                assert book.idle, "the snapshot alone must be flagged"
                assert book.last_message_age is None
                assert book.counters()["idle"] is True
                sim.step("binance", "BTCUSDT", 3)
                await wait_for(lambda: not book.idle, what="first event")
                assert book.state == "live" and book.messages >= 1
                assert 0 <= book.last_message_age < 5
                assert_exact(sim, book)
    run(body)


def test_busy_symbol_is_never_idle_once_live():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=200)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                await wait_for(lambda: book.messages > 5, what="traffic")
                assert book.state == "live" and not book.idle
    run(body)


def test_subscription_waiting_in_the_control_queue_keeps_the_book_syncing():
    """Books added to a running Binance connection share SUBSCRIBEs paced at 4 a second;
    churn fills the queue, and a book whose SUBSCRIBE has not left it stays syncing (its
    snapshot would otherwise make it "live" with nothing proving the stream)."""
    symbols = ["BTCUSDT", "ETHUSDT"] + [f"S{i}USDT" for i in range(12)]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=50)) as sim:
            async with Engine(first_event_timeout=0.05) as engine:
                first = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                conn = first.connection
                for s in symbols[2:]:       # each its own loop turn: one SUBSCRIBE each
                    await engine.subscribe("binance", s, wait=False, **urls(sim, "binance"))
                    await asyncio.sleep(0)
                late = await engine.subscribe("binance", "ETHUSDT", wait=False,
                                              **urls(sim, "binance"))
                await asyncio.sleep(0.5)
                assert conn.subscribe_pending("ETHUSDT"), conn.stats()["control_queued"]
                assert late.state == "syncing"
                await wait_for(lambda: late.state == "live", timeout=15, what="late book live")
                assert not conn.subscribe_pending("ETHUSDT")
                await wait_for(lambda: not late.idle, what="late book's first event")
    run(body, timeout=40)
