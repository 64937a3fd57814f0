"""End to end over real loopback sockets: Engine ↔ simulator, Binance spot and USD-M.

Every test compares client books with the simulator's ground truth, level by level.
"""

from __future__ import annotations

import asyncio

import pytest

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import Engine, SubscribeError
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_initial_sync_with_slow_snapshot_buffers_events(venue):
    async def body():
        async with Simulator(sim_config({venue: ["BTCUSDT"]})) as sim:
            sim.inject(venue, "BTCUSDT", "slow_snapshot", delay=0.5)
            async with Engine() as engine:
                book = await engine.subscribe(venue, "BTCUSDT", **urls(sim, venue))
                assert book.state == "live"
                assert book.buffered_messages > 0      # events arrived during the snapshot
                assert_exact(sim, book)
                await wait_for(lambda: book.messages > 50, what="traffic")
                assert_exact(sim, book)
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_snapshot_with_off_grid_bids_goes_live_and_stays_exact(venue):
    # docs/venues.md#instrument-scales: resting bids off the tick grid (left from a tick
    # size change) are in the venue's snapshot; the book goes live and keeps them exactly
    async def body():
        cfg = sim_config({venue: ["BTCUSDT"]})
        cfg.venues[venue][0].off_grid_bids = 3
        async with Simulator(cfg) as sim:
            async with Engine() as engine:
                book = await engine.subscribe(venue, "BTCUSDT", **urls(sim, venue))
                assert book.state == "live" and book.price_decimals == 8
                await wait_for(lambda: book.messages > 20, what="traffic")
                await settle(sim, [book])
                assert_exact(sim, book)             # the truth holds the off-grid bids
                deepest = book.book.bids_int()[-3:, 0].tolist()
                assert all(p % book.price_tick != 0 for p in deepest)
                # the stream never touches them: counted once per snapshot loaded
                assert book.off_grid_snapshot_levels == 3 * (1 + book.resyncs)
                assert book.counters()["off_grid_levels"] == book.off_grid_snapshot_levels
    run(body)


def test_stale_snapshot_is_fetched_again():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            sim.inject("binance", "BTCUSDT", "stale_snapshot")
            async with Engine() as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                assert book.snapshots_too_old >= 1
                assert book.snapshots_fetched >= 2
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_dropped_message_gap_then_exact_again(venue):
    async def body():
        async with Simulator(sim_config({venue: ["BTCUSDT"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe(venue, "BTCUSDT", **urls(sim, venue))
                await wait_for(lambda: book.messages > 20, what="traffic")
                sim.inject(venue, "BTCUSDT", "drop")
                await wait_for(lambda: book.resyncs >= 1 and book.state == "live",
                               what="gap detected and resynced")
                assert book.gaps == 1
                assert book.resync_duration.total_count == 1
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)


def test_disconnect_reconnects_and_resyncs():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT", "ETHUSDT"]})) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many(
                    [("binance", "BTCUSDT"), ("binance", "ETHUSDT")], **urls(sim, "binance"))
                conn = books[0].connection
                sim.inject("binance", "*", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and all(b.is_live for b in books)
                               and all(b.resyncs >= 1 for b in books), what="reconnect")
                await settle(sim, books)
                for b in books:
                    assert_exact(sim, b)
    run(body)


def test_routine_server_close_is_handled():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                conn = book.connection
                sim.inject("binance", "BTCUSDT", "close")
                await wait_for(lambda: conn.server_closes == 1 and conn.connects >= 2
                               and book.is_live, what="close and reconnect")
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)


def test_http_429_with_retry_after_is_honoured():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            sim.inject("binance", "*", "http_429", count=2, retry_after=1)
            async with Engine() as engine:
                book = await engine.subscribe("binance", "BTCUSDT", tick_size="0.01",
                                              step_size="0.00001", **urls(sim, "binance"))
                rest = book.connection.rest
                assert rest.throttled == 2
                assert rest.budget.waited_s >= 1.0       # Retry-After was respected
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)


def test_malformed_frame_is_rejected_counted_and_book_stays_exact():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                conn = book.connection
                sim.inject("binance", "BTCUSDT", "malformed")
                sim.inject("binance", "BTCUSDT", "truncated")
                await wait_for(lambda: conn.listener.decode_errors >= 2, what="rejections")
                # the truncated message was lost: the next event reveals the gap
                await wait_for(lambda: book.gaps >= 1 and book.is_live, what="resync")
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)


def test_sixty_symbols_over_connections_one_gaps_others_stay_live():
    symbols = [f"S{i:02d}USDT" for i in range(60)]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=20, levels=4,
                                        depth=30)) as sim:
            async with Engine(streams_per_connection=25) as engine:
                books = await engine.subscribe_many([("binance", s) for s in symbols],
                                                    tick_size="0.01", step_size="0.00001",
                                                    **urls(sim, "binance"))
                assert len(engine.connections) == 3
                await wait_for(lambda: all(b.messages > 3 for b in books), what="traffic")
                victim = books[7]
                sim.inject("binance", victim.symbol, "drop")
                await wait_for(lambda: victim.resyncs == 1 and victim.is_live, what="resync")
                assert victim.gaps == 1
                others = [b for b in books if b is not victim]
                assert all(b.gaps == 0 and b.resyncs == 0 for b in others)
                await settle(sim, books, timeout=20)
                for b in books:
                    assert_exact(sim, b)
    run(body, timeout=120)


def test_unreachable_venue_is_a_clear_error():
    async def body():
        async with Engine(reconnect_cap=0.2) as engine:
            with pytest.raises(SubscribeError, match=r"cannot connect|not live"):
                await engine.subscribe("binance", "BTCUSDT", tick_size="0.01",
                                       step_size="0.01", ws_url="ws://127.0.0.1:9",
                                       rest_url="http://127.0.0.1:9", timeout=1.5)
    run(body)


def test_unknown_symbol_instrument_lookup_fails_clearly():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim, Engine() as engine:
            with pytest.raises(SubscribeError, match="tick/step"):
                await engine.subscribe("binance", "NOPEUSDT", **urls(sim, "binance"))
    run(body)


def test_oversized_message_is_refused_counted_and_recovered():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine(max_message_bytes=256 * 1024) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                conn = book.connection
                sim.inject("binance", "BTCUSDT", "oversized", size=1024 * 1024)
                await wait_for(lambda: conn.listener.oversized == 1, what="refusal")
                # the refused message carried updates: the next event reveals the gap
                await wait_for(lambda: book.gaps == 1 and book.is_live, what="resync")
                await settle(sim, [book])
                assert_exact(sim, book)
    run(body)


def test_symbols_added_to_a_live_connection_share_one_paced_subscribe():
    symbols = [f"A{i:02d}USDT" for i in range(30)]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=20, levels=4,
                                        depth=30)) as sim:
            async with Engine() as engine:
                first = await engine.subscribe("binance", symbols[0], tick_size="0.01",
                                               step_size="0.00001", **urls(sim, "binance"))
                conn = first.connection
                assert conn.control_sent == 0            # the first streams are in the URL
                books = await engine.subscribe_many([("binance", s) for s in symbols[1:]],
                                                    tick_size="0.01", step_size="0.00001",
                                                    **urls(sim, "binance"))
                assert conn.control_sent == 1            # one SUBSCRIBE for all 29
                # Binance disconnects above 5 control messages/s: the outbox paces them
                loop = asyncio.get_running_loop()
                start = loop.time()
                conn._send(conn.venue.unsubscribe_messages(["NOPEUSDT"]) * 9)
                assert conn.control_sent - 1 <= 4        # at most 4 now, the rest wait
                await wait_for(lambda: conn.control_sent == 10, what="paced sends")
                assert loop.time() - start >= 1.0
                await settle(sim, [first, *books], timeout=20)
                for b in [first, *books]:
                    assert_exact(sim, b)
    run(body, timeout=90)
