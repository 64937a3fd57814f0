"""REST audit of live books: rebuild a shadow from a fresh snapshot, compare, heal.

Sequence numbers prove that no update was *lost*; they cannot prove that every update
was *right* (a wrong size under a correct id, a venue bug, memory corruption). With
``Engine(audit_every=S)`` one :class:`Auditor` per engine checks one live REST-synced book
every ``S`` seconds, round robin (docs/states.md, "Audit"):

1. open the book's tap (the compiled core keeps a copy of every payload it applies);
2. fetch a snapshot of ``audit_limit`` levels (default 100: weight 5 on Binance) within
   the venue's budget — only when the budget is at least half full and no book waits for
   a snapshot, so audits never delay a resync;
3. build a shadow book the way a resync would: the tapped payloads buffered, the
   snapshot loaded, the buffer replayed; then feed it what the live book applies until
   both stand at the same update id (the REST snapshot is often ahead of the stream);
4. compare the two exactly over the snapshot's price range (deeper levels are not in the
   snapshot and cannot be judged);
5. on a difference, count it, log the first differing level, and heal the live book in
   place: the shadow's levels inside the range, the live book's outside it.

Everything runs in one task for the whole engine; the only wait that repeats is the
short catch-up of step 3 for the one book under audit.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from fastfeed._core import DecodeRejected
from fastfeed._parse import parse_decimal_py
from fastfeed._router import OfflineCore
from fastfeed.logsafe import RateLimitedLog, describe_exc
from fastfeed.rest import RestError

if TYPE_CHECKING:
    from fastfeed.engine import Engine, LiveBook

log = logging.getLogger("fastfeed.audit")
rlog = RateLimitedLog(log)

Levels = list[tuple[int, int]]

#: how long the shadow may take to reach the live book's update id
CATCH_UP_S = 5.0
_CATCH_UP_STEP_S = 0.01


@dataclass(frozen=True)
class AuditResult:
    """One audit of one book: ``outcome`` is ``ok``, ``diverged`` (healed) or
    ``inconclusive`` (``detail`` says why: the book left ``live``, the snapshot was older
    than the tap, the shadow could not catch up, a REST failure)."""

    outcome: str
    update_id: int = -1
    levels_compared: int = 0
    differences: int = 0
    detail: str = ""


def price_range(body: bytes, price_decimals: int) -> tuple[int | None, int | None]:
    """The snapshot's lowest bid and highest ask at the book's scale (None: side empty).
    Levels a snapshot holds lie between them; nothing outside can be judged."""
    doc = json.loads(body)
    bids = [parse_decimal_py(p, price_decimals) for p, _ in doc.get("bids", [])]
    asks = [parse_decimal_py(p, price_decimals) for p, _ in doc.get("asks", [])]
    return (min(bids) if bids else None), (max(asks) if asks else None)


def _inside(levels: Levels, low: int | None, high: int | None) -> Levels:
    return [(p, q) for p, q in levels
            if (low is None or p >= low) and (high is None or p <= high)]


def compare(live: tuple[Levels, Levels], shadow: tuple[Levels, Levels],
            low_bid: int | None, high_ask: int | None) -> tuple[int, int, str]:
    """(levels compared, differences, first difference as text) over the snapshot range:
    bids at or above ``low_bid``, asks at or below ``high_ask`` (an empty side of the
    snapshot covers nothing on that side)."""
    compared = differences = 0
    first = ""
    for name, lv, sh, low, high in (("bid", live[0], shadow[0], low_bid, None),
                                    ("ask", live[1], shadow[1], None, high_ask)):
        if (name == "bid" and low_bid is None) or (name == "ask" and high_ask is None):
            continue
        a = dict(_inside(lv, low, high))
        b = dict(_inside(sh, low, high))
        for price in sorted(a.keys() | b.keys()):
            compared += 1
            if a.get(price) != b.get(price):
                differences += 1
                if not first:
                    first = (f"{name} {price}: live {a.get(price, 'absent')}, "
                             f"snapshot {b.get(price, 'absent')}")
    return compared, differences, first


def healed(live: Levels, shadow: Levels, low: int | None, high: int | None) -> Levels:
    """The shadow's levels inside the range, the live book's outside it."""
    outside = [(p, q) for p, q in live
               if not ((low is None or p >= low) and (high is None or p <= high))]
    return outside + _inside(shadow, low, high)


def _levels(core: Any) -> tuple[Levels, Levels]:
    return ([(int(p), int(q)) for p, q in core.book.bids_int()],
            [(int(p), int(q)) for p, q in core.book.asks_int()])


class Auditor:
    """The engine's audit loop (``Engine(audit_every=...)``); see the module docstring."""

    def __init__(self, engine: Engine, every: float, limit: int) -> None:
        self.engine = engine
        self.every = every
        self.limit = limit
        self.counts: collections.Counter[str] = collections.Counter()
        self._next = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fastfeed:audit")

    async def close(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    def _candidates(self) -> list[LiveBook]:
        return [b for b in self.engine.books
                if b.is_live and b.connection is not None and b.connection.connected
                and b.connection.snapshots is not None]

    def _budget_free(self, book: LiveBook) -> bool:
        conn = book.connection
        assert conn is not None and conn.snapshots is not None
        budget = conn.rest.budget
        return conn.snapshots.pending() == 0 and budget.available() >= budget.capacity / 2

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            books = self._candidates()
            if not books:
                continue
            book = books[self._next % len(books)]
            self._next += 1
            if not self._budget_free(book):
                self.counts["skipped_busy"] += 1
                continue
            try:
                await self.audit(book)
            except asyncio.CancelledError:
                raise
            except Exception as exc:    # a bug: say so, keep auditing
                self.counts["errors"] += 1
                rlog.log(logging.ERROR, "audit_bug", "audit of %s:%s failed: %s", book.venue,
                         book.symbol, describe_exc(exc), exc_info=exc)

    async def audit(self, book: LiveBook) -> AuditResult:
        """Audit one live book now (the loop calls this; tests may too)."""
        result = await self._audit(book)
        self.counts[result.outcome] += 1
        book.audits += 1
        book.last_audit = result
        if result.outcome == "diverged":
            book.audit_divergences += 1
            rlog.warning((id(book), "diverged"), "%s:%s audit: %d of %d levels differed "
                         "from a fresh snapshot at id %d (first: %s); healed", book.venue,
                         book.symbol, result.differences, result.levels_compared,
                         result.update_id, result.detail)
        elif result.outcome == "inconclusive":
            log.debug("%s:%s audit inconclusive: %s", book.venue, book.symbol, result.detail)
        return result

    async def _audit(self, book: LiveBook) -> AuditResult:
        conn = book.connection
        if conn is None or not book.is_live:
            return AuditResult("inconclusive", detail="not live")
        venue = conn.venue
        book.start_tap()
        try:
            try:
                body = await venue.snapshot(conn.rest, book.symbol, self.limit)
            except (RestError, aiohttp.ClientError, ValueError, asyncio.TimeoutError) as exc:
                return AuditResult("inconclusive", detail=f"snapshot failed: {exc}")
            shadow = OfflineCore(book.venue, book.symbol, book.price_decimals,
                                 book.size_decimals, book.price_tick, book.size_step,
                                 strict=False, book_latency="off")
            tapped = book.take_tap()
            if tapped is None or not book.is_live:
                return AuditResult("inconclusive", detail="the book left live (or the tap "
                                   "overflowed) during the audit")
            for payload in tapped:
                shadow.apply_message(payload)       # buffered: the shadow is syncing
            try:
                state = shadow.apply_snapshot(body)
            except DecodeRejected as exc:
                return AuditResult("inconclusive", detail=f"unusable snapshot: {exc}")
            if state != "live":
                return AuditResult("inconclusive", detail=f"shadow {state} after the snapshot")
            low, high = price_range(body, book.price_decimals)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + CATCH_UP_S
            while True:
                tapped = book.take_tap()
                if tapped is None or not book.is_live:
                    return AuditResult("inconclusive", detail="the book left live during "
                                       "the audit")
                for payload in tapped:
                    shadow.apply_message(payload)
                if not shadow.is_live:
                    return AuditResult("inconclusive", detail="the shadow saw a gap")
                if shadow.last_update_id == book.last_update_id:
                    break       # no await from here on: the live book cannot move
                if loop.time() > deadline:
                    return AuditResult("inconclusive", detail=(
                        f"shadow at {shadow.last_update_id}, book at {book.last_update_id} "
                        f"after {CATCH_UP_S:.0f}s"))
                await asyncio.sleep(_CATCH_UP_STEP_S)
            live, ref = _levels(book), _levels(shadow)
            compared, differences, first = compare(live, ref, low, high)
            if differences == 0:
                return AuditResult("ok", book.last_update_id, compared)
            book.replace_levels(healed(live[0], ref[0], low, None),
                                healed(live[1], ref[1], None, high))
            return AuditResult("diverged", book.last_update_id, compared, differences, first)
        finally:
            book.stop_tap()

    def stats(self) -> dict[str, Any]:
        """Audits by outcome (``Engine.stats()["audit"]``)."""
        return {"every_s": self.every, "limit": self.limit, **dict(self.counts)}
