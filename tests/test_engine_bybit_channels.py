"""Bybit tickers through the Engine against the simulator's Bybit dialect (docs/venues.md,
"Bybit tickers"): subscribed on the book's connection beside books and trades, linear
deltas merged into the snapshot, the merged ticker equal to what the simulator last
pushed. Real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from e2e import SIM_STEP, bar_values, candle_values, run, sim_config, wait_for
from fastfeed import Engine
from fastfeed.reference.decode import DecodeFailed
from fastfeed.reference.quotes import _dec
from fastfeed.sim import Simulator
from fastfeed.sim.dialects.bybit import BybitWire


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


@asynccontextmanager
async def book_on_sim(venue: str, trade_rate: float = 0.0) -> AsyncIterator[
        tuple[Simulator, Engine, Any]]:
    """A simulator serving ``venue``'s BTCUSDT, an Engine, and that book subscribed."""
    async with Simulator(sim_config({venue: ["BTCUSDT"]}, rate=40,
                                    trade_rate=trade_rate)) as sim:
        async with Engine() as engine:
            yield sim, engine, await engine.subscribe(venue, "BTCUSDT", **urls(sim, venue))


def assert_decoded_all(book) -> None:
    """The book's connection met no message it could not decode."""
    counters = book.connection.listener.counters()
    assert counters["decode_errors"] == 0, counters


def _pushed(sim, venue: str, symbol: str) -> dict[str, str] | None:
    wire = sim.find_market(venue, symbol).wire
    assert isinstance(wire, BybitWire)
    return wire.ticker_sent


def _same(ticker, sent: dict[str, str] | None, pd: int) -> bool:
    """The live ticker holds exactly the simulator's last pushed fields."""
    if ticker.ticker() is None or sent is None:
        return False
    t = ticker.ticker()
    try:
        return (t.last_price, t.high, t.low, t.open) == tuple(
            _dec("p", sent[k], pd) for k in ("lastPrice", "highPrice24h", "lowPrice24h",
                                             "prevPrice24h"))
    except DecodeFailed:
        return False


@pytest.mark.parametrize("venue", ["bybit", "bybit-linear"])
def test_bybit_ticker_live_beside_book_and_trades(venue):
    async def body():
        async with book_on_sim(venue, trade_rate=20) as (sim, engine, book):
            trades = await engine.subscribe_trades(venue, "BTCUSDT", **urls(sim, venue))
            ticker = await engine.subscribe_ticker(venue, "BTCUSDT", **urls(sim, venue))
            await wait_for(lambda: ticker.recorded >= 10 and trades.recorded >= 5,
                           timeout=30, what="tickers and trades")
            assert ticker.connection is book.connection is trades.connection
            assert ticker.state == "live" and ticker.merges_deltas
            assert ticker.unmerged == 0 and ticker.has_snapshot
            # the merged state follows the simulator's pushes exactly
            await wait_for(lambda: _same(ticker, _pushed(sim, venue, "BTCUSDT"),
                                         ticker.price_decimals),
                           timeout=30, what="the ticker the simulator pushed")
            t = ticker.ticker()
            assert t.high >= t.low and t.volume >= 0
            assert_decoded_all(book)
            assert ticker.rejected == 0
    run(body, timeout=60)


@pytest.mark.parametrize("venue", ["bybit", "bybit-linear"])
def test_bybit_bbo_from_orderbook_1_beside_the_depth_50_book(venue):
    async def body():
        async with book_on_sim(venue) as (sim, engine, book):
            bbo = await engine.subscribe_bbo(venue, "BTCUSDT", **urls(sim, venue))
            await wait_for(lambda: bbo.recorded >= 5 and book.state == "live",
                           timeout=30, what="BBO records")
            assert bbo.channel == "orderbook.1" and bbo.connection is book.connection

            def agree() -> bool:
                top_b, top_a = book.book.best_bid_int(), book.book.best_ask_int()
                b = bbo.bbo()
                return (top_b is not None and top_a is not None
                        and (b.bid_price, b.bid_size, b.ask_price, b.ask_size)
                        == (top_b[0], top_b[1], top_a[0], top_a[1]))
            # the 1-level book never reaches the depth-50 book: both stay exact
            await wait_for(agree, timeout=30, what="the BBO equal to the book's top")
            assert book.gaps == 0 and book.state == "live"
            assert_decoded_all(book)
            assert bbo.rejected == 0
    run(body, timeout=60)


def test_linear_ticker_lost_delta_resubscribes_for_a_fresh_snapshot():
    # a truncated tickers message (its topic read) may have been a delta: the stream drops its merged
    # state, the engine resubscribes, and the venue's new snapshot makes it whole again
    async def body():
        venue = "bybit-linear"
        async with Simulator(sim_config({venue: ["BTCUSDT"]}, rate=40, trade_rate=20)) as sim:
            async with Engine() as engine:
                ticker = await engine.subscribe_ticker(venue, "BTCUSDT", **urls(sim, venue))
                await wait_for(lambda: ticker.recorded >= 3, timeout=30, what="tickers")
                sim.inject(venue, "BTCUSDT", "truncated", channel="tickers")
                await wait_for(lambda: ticker.last_reject is not None, timeout=30,
                               what="the reject")
                before = ticker.recorded
                await wait_for(lambda: ticker.has_snapshot and ticker.recorded > before + 2,
                               timeout=30, what="tickers after the resubscribe")
                await wait_for(lambda: _same(ticker, _pushed(sim, venue, "BTCUSDT"),
                                             ticker.price_decimals),
                               timeout=30, what="the ticker the simulator pushed")
                assert ticker.state == "live"
    run(body, timeout=60)


def _tape_prefix_matches(row, fills, pd: int, sd: int) -> bool:
    """The open candle is the tape's bar up to some fill: the fills of its minute, oldest
    first, whose sizes sum to its volume (a unique prefix: sizes are positive) have its
    open, high, low and close exactly."""
    lo, hi = int(row["open_ns"]), int(row["close_ns"])
    bar = [f for f in fills if lo <= f.t_ns < hi]
    got = candle_values(row, pd, sd)
    total = Decimal(0)
    for i, f in enumerate(bar):
        total += f.size * SIM_STEP
        if total == got[4]:
            return bar_values(bar[:i + 1]) == got
    return False


@pytest.mark.parametrize("venue", ["bybit", "bybit-linear"])
def test_bybit_kline_live_beside_book_equals_the_tape(venue):
    # docs/venues.md, "Bybit candles": kline.{interval}.{symbol} on the book's connection;
    # the shortest interval is a minute, so the open candle is compared (a closed one
    # would take a minute: the final update is covered offline and in test_sim_bybit)
    async def body():
        async with book_on_sim(venue, trade_rate=30) as (sim, engine, book):
            candles = await engine.subscribe_candles(venue, "BTCUSDT", "1", **urls(sim, venue))
            assert candles.channel == "kline.1"
            pd, sd = candles.price_decimals, candles.size_decimals

            def matched():
                cur = candles.current()
                return (candles.updates >= 3 and cur is not None and len(cur) == 1
                        and int(cur["volume"][0]) > 0
                        and _tape_prefix_matches(cur[0], sim.trades(venue, "BTCUSDT"),
                                                 pd, sd))
            await wait_for(matched, timeout=30, what="an open kline equal to the tape")
            cur = candles.current()[0]
            assert int(cur["close_ns"]) - int(cur["open_ns"]) == 60 * 10**9
            assert int(cur["open_ns"]) % (60 * 10**9) == 0 and int(cur["closed"]) == 0
            assert candles.connection is book.connection
            assert candles.rejected == 0 and candles.state == "live"
            assert_decoded_all(book)
    run(body, timeout=60)
