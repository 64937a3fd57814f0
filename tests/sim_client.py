"""A plain, independent client for testing the simulator: websockets + json + dict books.

Deliberately shares no code with fastfeed (not even the simulator's number formatting):
prices and sizes are parsed with ``decimal.Decimal`` and divided by the instrument's
increment, so a formatting bug in the simulator cannot cancel out in the comparison.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import websockets

T = TypeVar("T")

# Hang protection only: tests never assert on timing with these.
TIMEOUT = 20.0


def run(fn: Callable[[], Awaitable[T]], timeout: float = 40.0) -> T:
    """Run an async test body on a fresh event loop with a hang guard."""

    async def guarded() -> T:
        return await asyncio.wait_for(fn(), timeout)

    return asyncio.run(guarded())


def to_int(text: str, increment: str) -> int:
    """Exact count of increments in a decimal string."""
    q = Decimal(text) / Decimal(increment)
    assert q == q.to_integral_value(), (text, increment)
    return int(q)


class DictBook:
    """An L2 book as two dicts of {price_int: size_int}."""

    def __init__(self, tick: str, step: str) -> None:
        self.tick = tick
        self.step = step
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def load(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        self.bids = {to_int(p, self.tick): to_int(q, self.step) for p, q in bids}
        self.asks = {to_int(p, self.tick): to_int(q, self.step) for p, q in asks}

    def set(self, side: str, price: str, size: str) -> None:
        book = self.bids if side in ("b", "bid", "buy") else self.asks
        p, q = to_int(price, self.tick), to_int(size, self.step)
        if q:
            book[p] = q
        else:
            book.pop(p, None)

    def apply_binance(self, event: dict[str, Any]) -> None:
        for p, q in event["b"]:
            self.set("b", p, q)
        for p, q in event["a"]:
            self.set("a", p, q)

    def sorted(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())

    def assert_not_crossed(self) -> None:
        if self.bids and self.asks:
            assert max(self.bids) < min(self.asks)


async def recv_json(ws: Any, timeout: float = TIMEOUT) -> Any:
    """Next message, parsed."""
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def count_invalid(ws: Any, frames: int) -> int:
    """Read ``frames`` frames; how many were not valid JSON."""
    bad = 0
    for _ in range(frames):
        try:
            json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        except ValueError:
            bad += 1
    return bad


def unwrap(msg: dict[str, Any]) -> dict[str, Any]:
    """Combined-stream payload -> event."""
    return msg["data"] if "stream" in msg else msg


async def get_json(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, str], Any]:
    async with session.get(url) as r:
        body = await r.read()
        return r.status, dict(r.headers), json.loads(body) if body else None


async def binance_sync(ws: Any, session: aiohttp.ClientSession, rest: str, symbol: str, *,
                       usdm: bool, tick: str, step: str, limit: int = 1000) -> tuple[DictBook, int, int]:
    """The documented sync procedure (docs/venues.md); returns (book, book id, events applied)."""
    buffered = [unwrap(await recv_json(ws))]
    first_u = buffered[0]["U"]
    path = "/fapi/v1/depth" if usdm else "/api/v3/depth"
    while True:
        status, _, snap = await get_json(session, f"{rest}{path}?symbol={symbol}&limit={limit}")
        assert status == 200, snap
        if snap["lastUpdateId"] >= first_u:
            break
    # Keep buffering until the stream has caught up with the snapshot.
    while buffered[-1]["u"] < snap["lastUpdateId"]:
        buffered.append(unwrap(await recv_json(ws)))
    book = DictBook(tick, step)
    book.load(snap["bids"], snap["asks"])
    book_id = snap["lastUpdateId"]
    applied = 0
    prev_u: int | None = None
    for ev in buffered:
        if usdm:
            if ev["u"] < book_id:
                continue
            if prev_u is None:
                assert ev["U"] <= book_id <= ev["u"], (ev["U"], book_id, ev["u"])
            else:
                assert ev["pu"] == prev_u
        else:
            if ev["u"] <= book_id:
                continue
            assert ev["U"] <= book_id + 1 <= ev["u"], (ev["U"], book_id, ev["u"])
        book.apply_binance(ev)
        book_id = ev["u"]
        prev_u = ev["u"]
        applied += 1
    return book, book_id, applied


def apply_live_binance(book: DictBook, book_id: int, ev: dict[str, Any], usdm: bool) -> int:
    """Live rule with continuity asserts; returns the new book id."""
    if usdm:
        assert ev["pu"] == book_id, (ev["pu"], book_id)
    else:
        assert ev["U"] == book_id + 1, (ev["U"], book_id)
    book.apply_binance(ev)
    return int(ev["u"])


async def connect(url: str, **kw: Any) -> Any:
    """websockets.connect with no size limit (oversized frames are tested explicitly)."""
    kw.setdefault("max_size", None)
    # Unbounded queue: with websockets' default (16) an unread backlog pauses reading and
    # close() then waits its full close_timeout for a CLOSE frame stuck behind the backlog.
    kw.setdefault("max_queue", None)
    kw.setdefault("close_timeout", 2)
    kw.setdefault("open_timeout", TIMEOUT)
    return await websockets.connect(url, **kw)
