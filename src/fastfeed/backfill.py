"""REST backfill of lost trades: one :class:`Backfiller` per venue REST endpoint.

A live trade stream whose ids are contiguous (Binance ``aggTrade``, Coinbase Exchange
``matches``) knows exactly which trades it lost (``missing``: inclusive id ranges). The
backfiller fetches them from the venue's REST trade endpoint (``Venue.backfill_path``)
and hands each page to the stream's compiled ``TradeCore.backfill``, which records the
trades inside the missing ranges (appended after the live ones, in id order) and heals
the ranges; the stream is ``live`` again when nothing is missing (docs/venues.md,
"Backfill").

The cold-path queue follows the snapshot scheduler (``snapshots.py``): a FIFO of
``(stream, range)`` requests, ``workers`` tasks taking them in order, every request
through the shared :class:`~fastfeed.rest.RestClient` and its weight budget. Backfill
must never starve snapshots, so a request is only sent while the budget is at most
``1 - budget_share`` used (default: at most half), i.e. it leaves the other half of the
bucket to snapshots; the weight is then spent through ``RestClient.get(weight=...)``
like any request. Pages are at most ``Venue.backfill_limit`` trades: Binance by
``fromId`` (ascending), Coinbase Exchange by cursor (``after=``, newest first).
Transient failures are retried ``attempts`` times with capped exponential backoff and
full jitter (the client itself already retries 5xx and honours 429/418 pauses).

What cannot be healed is reported plainly, counted (``unhealable``) and written to the
stream's ``last_error``; its range stays in ``missing`` (the stream stays ``gap``):

- a venue or stream without a REST backfill (Coinbase Advanced Trade; Binance spot
  ``trade``, whose ids the ``aggTrades`` endpoint does not serve);
- unknown ranges ``(-1, -1)``: no id to ask for;
- a range older than the venue keeps (Binance USD-M answers ``-4166`` beyond 48 h; a
  venue that returns none of the asked ids, e.g. past its retention, likewise);
- a request the venue refuses (4xx) or a body that does not decode.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from typing import Any

import aiohttp

from fastfeed._core import DecodeRejected
from fastfeed.logsafe import RateLimitedLog, venue_text
from fastfeed.rest import RestClient, RestError
from fastfeed.venues import Venue, get_venue

log = logging.getLogger("fastfeed.backfill")
rlog = RateLimitedLog(log)


class Backfiller:
    """The backfill queue of one venue REST endpoint (share its :class:`RestClient`
    with the snapshot scheduler so both spend one budget).

    ``request(stream)`` queues each of the stream's missing ranges; ``stats()`` reports;
    ``await close()`` stops the workers. ``budget_share``: the part of the weight
    bucket backfill may use (requests wait while more than ``1 - budget_share`` of it is
    spent). ``attempts``, ``base_delay``, ``max_delay``: the retries of a failing page.
    ``page_limit``: trades asked per page (default and at most ``Venue.backfill_limit``).
    """

    def __init__(self, rest: RestClient, venue: Venue | str, *, workers: int = 1,
                 budget_share: float = 0.5, attempts: int = 4, base_delay: float = 0.5,
                 max_delay: float = 30.0, page_limit: int | None = None) -> None:
        if workers < 1 or attempts < 1:
            raise ValueError("workers and attempts must be at least 1")
        if not 0 < budget_share <= 1:
            raise ValueError("budget_share must be in (0, 1]")
        self.rest = rest
        self.venue: Venue = get_venue(venue) if isinstance(venue, str) else venue
        limit = self.venue.backfill_limit
        if page_limit is not None and not 1 <= page_limit <= limit:
            raise ValueError(f"page_limit must be in 1..{limit}")
        self.page_limit = page_limit or limit
        self.workers = workers
        self.budget_share = budget_share
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._queue: collections.deque[tuple[Any, int, int]] = collections.deque()
        self._queued: set[tuple[int, int, int]] = set()    # (id(stream), first, last)
        self._given_up: dict[int, list[tuple[int, int]]] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()    # set while nothing is queued or being fetched
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0
        self._closed = False
        # counters
        self.requests = 0           # REST pages fetched
        self.weight = 0.0           # weight those pages were charged
        self.trades = 0             # trades recorded from them
        self.healed = 0             # ranges fully healed
        self.unhealable = 0         # ranges (or requests) reported as cannot be healed
        self.retries = 0
        self.waited_s = 0.0         # time spent waiting for the budget share
        self.last_error: str | None = None

    # ------------------------------------------------------------------ interface

    def request(self, stream: Any) -> int:
        """Queue the stream's missing ranges (those not already queued or given up);
        returns how many were queued. Ranges that cannot be healed are reported at once.
        Safe to call from the engine's ``on_trades_gap`` (it only queues)."""
        if self._closed:
            return 0
        reason = self._cannot(stream)
        given_up = self._given_up.get(id(stream), ())
        n = 0
        for first, last in stream.missing:
            key = (id(stream), first, last)
            if key in self._queued or any(a <= first and last <= z for a, z in given_up):
                continue                    # already queued, or already reported
            if reason is not None:
                self._give_up(stream, first, last, reason)
                continue
            if first < 0:
                self._give_up(stream, first, last,
                              "unknown range (-1, -1): no trade ids to ask the venue for")
                continue
            self._queued.add(key)
            self._queue.append((stream, first, last))
            n += 1
        if n:
            self._idle.clear()
            self._start()
            self._wake.set()
        return n

    def stats(self) -> dict[str, Any]:
        """Counters as a plain dict (for monitoring)."""
        return {
            "venue": self.venue.name,
            "queued": len(self._queue),
            "busy": self._busy,
            "requests": self.requests,
            "weight": self.weight,
            "trades": self.trades,
            "healed": self.healed,
            "unhealable": self.unhealable,
            "retries": self.retries,
            "waited_s": round(self.waited_s, 3),
            "last_error": self.last_error,
        }

    async def idle(self) -> None:
        """Wait until nothing is queued or being fetched (woken by the last worker)."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop the workers (queued requests are dropped)."""
        self._closed = True
        self._queue.clear()
        self._queued.clear()
        self._idle.set()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # ------------------------------------------------------------------ workers

    def _cannot(self, stream: Any) -> str | None:
        v = self.venue
        if not v.backfill_decoder:
            return f"{v.name} has no REST trade backfill"
        if stream.stream is not None and stream.stream != v.backfill_stream:
            return (f"{v.name} {stream.stream} trades have no REST backfill "
                    f"(only {v.backfill_stream})")
        return None

    def _start(self) -> None:
        self._tasks = [t for t in self._tasks if not t.done()]
        while len(self._tasks) < self.workers:
            self._tasks.append(asyncio.get_running_loop().create_task(self._worker()))

    async def _worker(self) -> None:
        while not self._closed:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            stream, first, last = self._queue.popleft()
            self._busy += 1
            try:
                await self._heal(stream, first, last)
            except asyncio.CancelledError:
                raise
            except Exception as exc:       # never let one range kill the worker
                self._give_up(stream, first, last, f"{type(exc).__name__}: {exc}")
                log.exception("backfill of %s:%s %d..%d failed", stream.venue,
                              stream.symbol, first, last)
            finally:
                self._busy -= 1
                self._queued.discard((id(stream), first, last))
                if not self._queue and not self._busy:
                    self._idle.set()

    def _left(self, stream: Any, first: int, last: int) -> list[tuple[int, int]]:
        """What of ``first..last`` the stream still misses."""
        return [(max(a, first), min(z, last)) for a, z in stream.missing
                if a >= 0 and a <= last and z >= first]

    async def _heal(self, stream: Any, first: int, last: int) -> None:
        v = self.venue
        attempt = 0
        while not self._closed:
            if stream.state == "closed":
                return
            left = self._left(stream, first, last)
            if not left:
                self.healed += 1
                return
            cursor = v.backfill_paging == "cursor"
            lo, hi = max(left, key=lambda r: r[1]) if cursor else min(left)
            count = min(self.page_limit, hi - lo + 1)
            path = v.backfill_path.format(symbol=stream.symbol)
            params: dict[str, Any] = ({"after": hi + 1, "limit": count} if cursor else
                                      {"symbol": stream.symbol, "fromId": lo, "limit": count})
            await self._budget_share(v.backfill_weight)
            try:
                body = await self.rest.get(path, params, weight=v.backfill_weight,
                                           record=False)     # the backfill op records it
            except RestError as exc:
                text = str(exc)
                if v.backfill_too_old and v.backfill_too_old in text:
                    self._give_up(stream, lo, hi, "older than the venue keeps: " + text)
                    return
                if exc.status is not None and 400 <= exc.status < 500:
                    self._give_up(stream, lo, hi, "refused: " + text)
                    return
                if not await self._retry(attempt, text):
                    self._give_up(stream, lo, hi, f"giving up after {attempt + 1} tries: {text}")
                    return
                attempt += 1
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                text = f"{type(exc).__name__}: {exc}"
                if not await self._retry(attempt, text):
                    self._give_up(stream, lo, hi, f"giving up after {attempt + 1} tries: {text}")
                    return
                attempt += 1
                continue
            self.requests += 1
            self.weight += v.backfill_weight
            try:
                n = stream.backfill(body)
            except (DecodeRejected, ValueError) as exc:
                self._give_up(stream, lo, hi, f"unusable body: {exc}")
                return
            self.trades += n
            attempt = 0
            if n == 0:
                self._give_up(stream, lo, hi, f"the venue returned none of trades {lo}..{hi} "
                                              "(older than it keeps?)")
                return

    async def _budget_share(self, weight: float) -> None:
        """Wait while more than ``1 - budget_share`` of the weight bucket is spent."""
        budget = self.rest.budget
        need = min(budget.capacity, budget.capacity * (1 - self.budget_share) + weight)
        while not self._closed:
            avail = budget.available()
            if avail >= need:
                return
            delay = min(5.0, max(0.05, (need - avail) / budget.rate if budget.rate else 1.0))
            self.waited_s += delay
            await asyncio.sleep(delay)

    async def _retry(self, attempt: int, text: str) -> bool:
        """Sleep before the next try; False when the tries are used up."""
        self.last_error = venue_text(text)
        if attempt + 1 >= self.attempts:
            return False
        self.retries += 1
        delay = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        rlog.info((id(self), "retry"), "%s backfill: %s; retrying in %.2fs", self.venue.name,
                  self.last_error, delay)
        await asyncio.sleep(delay)
        return True

    def _give_up(self, stream: Any, first: int, last: int, reason: str) -> None:
        self.unhealable += 1
        self._given_up.setdefault(id(stream), []).append((first, last))
        text = venue_text(f"backfill {first}..{last}: cannot be healed: {reason}")
        self.last_error = text
        try:
            stream.last_error = text
        except AttributeError:        # an offline TradeFeed has no last_error
            pass
        rlog.warning((id(stream), "backfill"), "%s:%s %s", stream.venue, stream.symbol, text)
