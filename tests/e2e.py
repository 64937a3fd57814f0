"""Helpers for end-to-end tests: a simulator in-process, an Engine pointed at it, and a
level-by-level comparison of a client book with the simulator's ground truth."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import uvloop

from fastfeed.sim import SimConfig, Simulator, SymbolConfig


def run(coro_fn: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    """Run an async test body on uvloop with a hang guard."""
    async def guarded() -> Any:
        return await asyncio.wait_for(coro_fn(), timeout)
    return uvloop.run(guarded())


def sim_config(venues: dict[str, list[str]], *, rate: float = 100.0, levels: int = 8,
               depth: int = 60, trade_rate: float = 0.0, **kw: Any) -> SimConfig:
    """Simulator config with every symbol at the same rate/levels/depth/trade rate."""
    return SimConfig(
        venues={v: [SymbolConfig(s, rate=rate, levels_per_message=levels, depth=depth,
                                 trade_rate=trade_rate)
                    for s in symbols] for v, symbols in venues.items()},
        ping_interval=kw.pop("ping_interval", 5.0), **kw)


def book_levels(book: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The client's book as int pairs, best first."""
    bids = [(int(p), int(q)) for p, q in book.book.bids_int()]
    asks = [(int(p), int(q)) for p, q in book.book.asks_int()]
    return bids, asks


def truth_levels(sim: Simulator, book: Any, last_id: int | None) -> tuple[list, list]:
    """The simulator's book in the client's units (truth counts ticks and lots; its
    off-grid bids are decimal texts, below every other bid)."""
    t = sim.truth(book.venue, book.symbol, last_id)
    pt, ss = book.price_tick, book.size_step
    off_grid = [(int(Decimal(p).scaleb(book.price_decimals)),
                 int(Decimal(q).scaleb(book.size_decimals))) for p, q in t.off_grid_bids]
    return ([(p * pt, q * ss) for p, q in t.bids] + off_grid,
            [(p * pt, q * ss) for p, q in t.asks])


def assert_exact(sim: Simulator, book: Any) -> None:
    """The live book equals the simulator's truth at the book's update id."""
    assert book.state == "live", (book, book.last_gap_reason, book.last_error)
    last_id = book.last_update_id if book.last_update_id >= 0 else None
    assert book_levels(book) == truth_levels(sim, book, last_id), book


#: SymbolConfig's default tick and step: a simulator fill's price and size units
SIM_TICK, SIM_STEP = Decimal(SymbolConfig.tick_size), Decimal(SymbolConfig.step_size)


def bar_values(fills: list[Any]) -> list[Decimal]:
    """Open, high, low, close and volume of the simulator's ``fills`` (oldest first, in
    ``SIM_TICK`` and ``SIM_STEP`` units), exact."""
    prices = [f.price for f in fills]
    return [prices[0] * SIM_TICK, max(prices) * SIM_TICK, min(prices) * SIM_TICK,
            prices[-1] * SIM_TICK, sum(f.size for f in fills) * SIM_STEP]


def candle_values(row: Any, price_decimals: int, size_decimals: int) -> list[Decimal]:
    """Open, high, low, close and volume of one candle row (its int64 fields at the
    stream's scales), exact: comparable with :func:`bar_values`."""
    return [Decimal(int(row[k])).scaleb(-price_decimals)
            for k in ("open", "high", "low", "close")] + [
        Decimal(int(row["volume"])).scaleb(-size_decimals)]


async def settle(sim: Simulator, books: list[Any], timeout: float = 10.0) -> None:
    """Pause the market and wait until every book is live and caught up with it."""
    sim.pause()
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if all(b.state == "live" and _caught_up(sim, b) for b in books):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"books did not settle: {books}")


def _caught_up(sim: Simulator, book: Any) -> bool:
    if book.last_update_id < 0:      # in-band venue: compare with the current truth
        return book_levels(book) == truth_levels(sim, book, None)
    return book.last_update_id == sim.truth(book.venue, book.symbol).last_id


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``cond`` until true (hang protection, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.01)
