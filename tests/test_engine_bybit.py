"""End to end over loopback: Engine ↔ simulator for Bybit spot and linear books
(docs/venues.md, "Bybit"): sync, exact against the simulator's truth, a u jump on one
symbol resubscribes that symbol only, a u == 1 restart snapshot is not a gap, reconnects,
the {"op":"ping"} keep-alive."""

from __future__ import annotations

import asyncio

from e2e import book_levels, run, sim_config, truth_levels, wait_for
from fastfeed import Engine
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


async def settle_now(sim, books, timeout=10.0):
    """Pause the market and wait until every book is live and equals the current truth
    (Bybit's u is the venue's own counter, not the simulator's update id)."""
    sim.pause()
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if all(b.state == "live" and book_levels(b) == truth_levels(sim, b, None) for b in books):
            return
        await asyncio.sleep(0.02)
    for b in books:
        assert b.state == "live", (b, b.last_gap_reason, b.last_error)
        assert book_levels(b) == truth_levels(sim, b, None), b


def test_spot_and_linear_instruments_sync_exact():
    async def body():
        cfg = sim_config({"bybit": ["BTCUSDT", "ETHUSDT"], "bybit-linear": ["BTCUSDT"]})
        async with Simulator(cfg) as sim:
            async with Engine() as engine:
                spot = await engine.subscribe_many(
                    [("bybit", "BTCUSDT"), ("bybit", "ETHUSDT")], **urls(sim, "bybit"))
                linear = await engine.subscribe("bybit-linear", "BTCUSDT", **urls(sim, "bybit-linear"))
                # scales from instruments-info (spot basePrecision, linear qtyStep)
                assert spot[0].instrument.tick_size == "0.01"
                assert linear.instrument.step_size == "0.00001"
                books = [*spot, linear]
                await wait_for(lambda: all(b.messages > 20 for b in books), what="traffic")
                assert all(b.last_update_id > 0 for b in books)     # the venue's u
                await settle_now(sim, books)
                assert all(b.gaps == 0 for b in books)
    run(body)


def test_u_jump_resubscribes_that_symbol_only_and_restart_is_not_a_gap():
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]

    async def body():
        async with Simulator(sim_config({"bybit": symbols})) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many([("bybit", s) for s in symbols],
                                                    tick_size="0.01", step_size="0.00001",
                                                    **urls(sim, "bybit"))
                assert len(engine.connections) == 1
                hit, spared = books[0], books[1:]
                await wait_for(lambda: all(b.messages > 10 for b in books), what="traffic")
                sim.inject("bybit", "BTCUSDT", "drop")
                await wait_for(lambda: hit.gaps == 1 and hit.is_live, what="resubscribe")
                assert "sequence gap" in hit.last_gap_reason
                assert all(b.gaps == 0 and b.is_live for b in spared)
                # the venue restarts: a u == 1 snapshot, then u == 2, 3, ...
                sim.inject("bybit", "ETHUSDT", "restart")
                # (the simulator's u starts above 1_000_000: below it, u restarted from 1)
                await wait_for(lambda: 0 < books[1].last_update_id < 1_000_000, what="restart snapshot")
                await wait_for(lambda: books[1].last_update_id > 5, what="deltas after restart")
                assert books[1].gaps == 0 and books[1].is_live
                # a duplicate is old, not a gap
                sim.inject("bybit", "SOLUSDT", "duplicate")
                await wait_for(lambda: books[2].old_messages >= 1, what="duplicate")
                assert books[2].gaps == 0
                await settle_now(sim, books)
                assert hit.gaps == 1 and books[1].gaps == 0 and books[2].gaps == 0
    run(body)


def test_reconnect_malformed_and_keepalive():
    async def body():
        async with Simulator(sim_config({"bybit-linear": ["BTCUSDT", "ETHUSDT"]}, rate=20)) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many(
                    [("bybit-linear", s) for s in ("BTCUSDT", "ETHUSDT")],
                    tick_size="0.01", step_size="0.00001", **urls(sim, "bybit-linear"))
                conn = books[0].connection
                await wait_for(lambda: all(b.is_live for b in books), what="live")
                # a lost message (unreadable) shows as a u jump on that book only
                sim.inject("bybit-linear", "BTCUSDT", "malformed", replace=True)
                await wait_for(lambda: books[0].gaps == 1 and books[0].is_live, what="resubscribe")
                assert books[1].gaps == 0
                sim.inject("bybit-linear", "*", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and all(b.is_live for b in books),
                               what="reconnect")
                await settle_now(sim, books)
    run(body)


def test_op_ping_keepalive_is_sent_and_answered(monkeypatch):
    from fastfeed.venues import get_venue

    # the real interval is 20 s; the same code path on a shorter one
    monkeypatch.setattr(get_venue("bybit"), "keepalive_every", 0.4)

    async def body():
        async with Simulator(sim_config({"bybit": ["BTCUSDT"]}, rate=5)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("bybit", "BTCUSDT", tick_size="0.01",
                                              step_size="0.00001", **urls(sim, "bybit"))
                conn = book.connection
                await wait_for(lambda: book.is_live, what="live")
                sim.pause()     # from now on only the pongs arrive
                router = conn.listener.router
                m0, pings0 = router.messages, conn.keepalive_pings
                await wait_for(lambda: router.messages >= m0 + 3, what="pongs")
                assert conn.keepalive_pings >= pings0 + 3
                assert router.decode_errors == 0 and router.control_messages == 1   # the ack
                assert book.is_live and book.gaps == 0 and book.rejected == 0
    run(body)
