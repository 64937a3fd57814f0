"""End to end over loopback: Engine ↔ simulator for Kraken WebSocket v2 books.

The client holds the top ``Kraken.book_depth`` levels a side (docs/venues.md, "Kraken"),
so "exact" means equal to the simulator's truth cut to that depth.
"""

from __future__ import annotations

import asyncio

import pytest

from e2e import (
    SIM_STEP,
    SIM_TICK,
    bar_values,
    book_levels,
    candle_values,
    run,
    sim_config,
    truth_levels,
    wait_for,
)
from fastfeed import Engine, SubscribeError
from fastfeed.sim import Simulator
from fastfeed.venues.kraken import Kraken

DEPTH = Kraken.book_depth


def urls(sim):
    return {"ws_url": sim.ws_url("kraken")}


def top(sim, book):
    bids, asks = truth_levels(sim, book, None)
    return bids[:DEPTH], asks[:DEPTH]


async def settle(sim, books, timeout=10.0):
    """Pause the market, wait until every book is live and equals the truth's top."""
    sim.pause()
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if all(b.state == "live" and book_levels(b) == top(sim, b) for b in books):
            return
        await asyncio.sleep(0.02)
    raise AssertionError([(b, b.last_gap_reason, book_levels(b) == top(sim, b)) for b in books])


def test_instrument_lookup_sync_exact_and_truncated():
    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD", "ETH/USD"]})) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many(
                    [("kraken", "BTC/USD"), ("kraken", "ETH/USD")], **urls(sim))
                assert books[0].instrument.tick_size == "0.01"     # the instrument channel
                assert books[0].instrument.price_precision == 2
                await wait_for(lambda: all(b.messages > 30 for b in books), what="traffic")
                for b in books:
                    assert b.gaps == 0 and b.checksum_mismatches == 0
                    bids, asks = book_levels(b)
                    assert (len(bids), len(asks)) == (DEPTH, DEPTH)  # truncated: the sim holds 60
                await settle(sim, books)
                for b in books:
                    assert book_levels(b) == top(sim, b)
    run(body)


def test_bad_checksum_resyncs_that_symbol_only():
    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD", "ETH/USD"]})) as sim:
            async with Engine() as engine:
                hit, spared = await engine.subscribe_many(
                    [("kraken", "BTC/USD"), ("kraken", "ETH/USD")], **urls(sim))
                assert hit.connection is spared.connection
                await wait_for(lambda: hit.messages > 10 and spared.messages > 10, what="traffic")
                sim.inject("kraken", "BTC/USD", "bad_checksum")
                await wait_for(lambda: hit.checksum_mismatches == 1 and hit.resyncs >= 1
                               and hit.is_live, what="resubscribe")
                assert "checksum mismatch" in (hit.last_gap_reason or "")
                assert spared.gaps == 0 and spared.checksum_mismatches == 0 and spared.is_live
                assert hit.connection.connects == 1          # never a reconnect
                assert sim.faults_fired["bad_checksum"] == 1
                await settle(sim, [hit, spared])
    run(body)


def test_push_out_and_drop_keep_the_book_exact():
    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("kraken", "BTC/USD", **urls(sim))
                await wait_for(lambda: book.messages > 10, what="traffic")
                sim.inject("kraken", "BTC/USD", "push_out", count=3)
                await wait_for(lambda: sim.faults_fired.get("push_out", 0) == 3
                               and book.messages > 40, what="push_out")
                assert book.gaps == 0
                await settle(sim, [book])
                sim.resume()
                sim.inject("kraken", "BTC/USD", "drop")     # no sequence: the checksum tells
                await wait_for(lambda: book.checksum_mismatches >= 1 and book.is_live,
                               what="resubscribe")
                await settle(sim, [book])
    run(body)


def test_reconnect_resubscribes():
    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("kraken", "BTC/USD", **urls(sim))
                conn = book.connection
                sim.inject("kraken", "*", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and book.is_live, what="reconnect")
                await settle(sim, [book])
    run(body)


def test_corrupt_level_in_the_top_ten_is_caught_by_the_checksum():
    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("kraken", "BTC/USD", **urls(sim))
                await wait_for(lambda: book.messages > 10, what="traffic")
                sim.inject("kraken", "BTC/USD", "corrupt_level", side="bid", index=2)
                await wait_for(lambda: book.checksum_mismatches == 1 and book.resyncs >= 1
                               and book.is_live, what="resubscribe")
                await settle(sim, [book])
    run(body)


def test_instrument_lookup_failure_is_a_clear_error():
    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]})) as sim:
            async with Engine() as engine:
                with pytest.raises(SubscribeError, match=r"/kraken/v2.*no instrument DOGE/USD"):
                    await engine.subscribe("kraken", "DOGE/USD", **urls(sim), timeout=5)
    run(body)


def test_trades_share_the_book_connection_and_equal_the_simulators_tape():
    # docs/venues.md, "Kraken trades": `trade` beside `book` on one connection; the
    # subscribe's snapshot (the last trades) then updates, every trade recorded equal to
    # the simulator's tape (exact price and size from JSON numbers, taker side), none
    # missing between the first and the last
    from decimal import Decimal

    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("kraken", "BTC/USD", **urls(sim))
                await wait_for(lambda: len(sim.trades("kraken", "BTC/USD")) >= 5,
                               what="trades on the tape before the subscribe")
                trades = await engine.subscribe_trades("kraken", "BTC/USD", **urls(sim))
                assert trades.stream == "kraken-trade"
                await wait_for(lambda: trades.recorded >= 40, timeout=30, what="40 trades")
                got = trades.trades()
                tick, step = SIM_TICK, SIM_STEP
                truth = {f.trade_id: (f.price * tick, f.size * step, f.taker)
                         for f in sim.trades("kraken", "BTC/USD")}
                pd, sd = trades.price_decimals, trades.size_decimals
                ids = [int(i) for i in got["trade_id"]]
                assert ids[0] == min(truth)      # the snapshot brought the tape's start
                for row in got:
                    tid = int(row["trade_id"])
                    price = Decimal(int(row["price"])).scaleb(-pd)
                    size = Decimal(int(row["size"])).scaleb(-sd)
                    assert (price, size, int(row["side"])) == truth[tid], tid
                assert ids == list(range(ids[0], ids[-1] + 1))
                assert trades.gaps == 0 and trades.id_jumps == 0 and trades.state == "live"
                assert trades.duplicates == 0 and trades.rejected == 0
                assert book.is_live and book.gaps == 0 and book.rejected == 0
                assert len(engine.connections) == 1
    run(body, timeout=60)


def test_a_book_resubscribe_leaves_the_trade_stream_running():
    # a checksum mismatch unsubscribes and resubscribes `book` of that symbol only: the
    # trades of the same symbol on the same connection go on without a gap
    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("kraken", "BTC/USD", **urls(sim))
                trades = await engine.subscribe_trades("kraken", "BTC/USD", **urls(sim))
                await wait_for(lambda: trades.recorded >= 5 and book.is_live, what="traffic")
                sim.inject("kraken", "BTC/USD", "bad_checksum", count=1)
                await wait_for(lambda: book.gaps == 1 and book.is_live, what="resubscribe")
                before = trades.recorded
                await wait_for(lambda: trades.recorded >= before + 10, what="trades after it")
                assert trades.gaps == 0 and trades.id_jumps == 0 and trades.state == "live"
    run(body, timeout=60)


def test_ticker_and_bbo_share_the_book_connection_and_equal_the_simulator():
    # docs/venues.md, "Kraken ticker and best bid/offer": `ticker` (event_trigger trades)
    # and the BBO stream (`ticker` with event_trigger bbo) beside `book` on one
    # connection; the BBO equals the book's top, the ticker's last price the tape's
    from decimal import Decimal

    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("kraken", "BTC/USD", **urls(sim))
                bbo = await engine.subscribe_bbo("kraken", "BTC/USD", **urls(sim))
                ticker = await engine.subscribe_ticker("kraken", "BTC/USD", **urls(sim))
                await wait_for(lambda: bbo.recorded >= 20 and ticker.recorded >= 10
                               and book.is_live, timeout=30, what="BBOs and tickers")
                sim.pause()
                await asyncio.sleep(0.3)
                b = bbo.bbo()
                bids, asks = book_levels(book)
                assert (b.bid_price, b.bid_size) == bids[0]
                assert (b.ask_price, b.ask_size) == asks[0]
                last = sim.trades("kraken", "BTC/USD")[-1]
                t = ticker.ticker()
                tick = SIM_TICK
                assert Decimal(t.last_price).scaleb(-ticker.price_decimals) == last.price * tick
                assert bbo.rejected == 0 and ticker.rejected == 0
                assert len(engine.connections) == 1
    run(body, timeout=60)


def test_ohlc_candles_beside_the_book_equal_the_tape():
    # docs/venues.md, "Kraken candles": `ohlc` on the book's connection, updated on
    # trades; the open candle is the tape's bar of its minute exactly

    async def body():
        async with Simulator(sim_config({"kraken": ["BTC/USD"]}, rate=40,
                                        trade_rate=20)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("kraken", "BTC/USD", **urls(sim))
                candles = await engine.subscribe_candles("kraken", "BTC/USD", "1m",
                                                         **urls(sim))
                assert candles.channel == "ohlc-1m"
                await wait_for(lambda: candles.updates >= 10 and book.is_live, timeout=30,
                               what="candle updates")
                sim.pause()
                await asyncio.sleep(0.3)
                fills = sim.trades("kraken", "BTC/USD")
                pd, sd = candles.price_decimals, candles.size_decimals
                rows = list(candles.candles()) + list(candles.current())
                assert rows
                for row in rows:
                    lo, hi = int(row["open_ns"]), int(row["close_ns"])
                    assert hi - lo == 60 * 10**9
                    bar = [f for f in fills if lo <= f.t_ns < hi]
                    assert candle_values(row, pd, sd) == bar_values(bar)
                    assert int(row["trades"]) == len(bar)
                assert candles.rejected == 0 and candles.state == "live"
                assert candles.connection is book.connection
                assert candles.connection.listener.counters()["decode_errors"] == 0
    run(body, timeout=60)
