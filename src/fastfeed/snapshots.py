"""Snapshot scheduling: one queue per venue REST endpoint brings REST-synced books live.

Every book of a REST-synced venue (Binance) that needs a snapshot — subscribed,
reconnected, or gapped — is handed to the :class:`SnapshotScheduler` of its REST client.
The scheduler, not the book, decides when (docs/states.md, "Syncing at scale"):

1. a book whose ``SUBSCRIBE`` still waits in its connection's paced control queue waits
   for it to leave (the connection reports every movement of its queue);
2. then for the first event its stream delivers (the compiled core reports it) or, for a
   quiet symbol, ``first_event_timeout`` (one timer, not a task);
3. then it joins one FIFO queue; at most ``snapshot_concurrency`` worker tasks take books
   from it in order, every request waiting for its weight in the venue's budget.

Nothing polls and no book runs a task of its own, so the cost is flat in the number of
books. The snapshot depth is chosen from the queue and the budget (:func:`choose_depth`):
when the budget cannot fetch every waiting book at full depth within
``snapshot_horizon`` seconds, books get shallower snapshots (deeper levels then appear as
they change) so that all of them go live within the time the budget allows. A snapshot
that keeps failing is retried on a slow, capped cadence with ``last_error`` set and an
escalating log; the book stays ``syncing`` (never a silent loop).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from fastfeed._core import DecodeRejected
from fastfeed.logsafe import RateLimitedLog, describe_exc, venue_text
from fastfeed.rest import RestClient, RestError

if TYPE_CHECKING:
    from fastfeed.engine import Connection, LiveBook
    from fastfeed.venues.binance import BinanceSpot

log = logging.getLogger("fastfeed.engine")
rlog = RateLimitedLog(log)

#: snapshot failures in a row after which a book's log line turns from WARNING to ERROR
LOUD_AFTER_FAILURES = 3


class SnapshotPolicy(Protocol):
    """What the scheduler reads from its engine (``fastfeed.Engine`` provides it)."""

    snapshot_limit: int | None
    snapshot_concurrency: int
    snapshot_horizon: float
    snapshot_retry_cap: float
    first_event_timeout: float

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter (seconds)."""


def choose_depth(depths: Sequence[int], weight_of: Any, books: int, tokens: float,
                 rate: float, horizon: float) -> int:
    """The deepest snapshot limit in ``depths`` (deepest first) for which ``books``
    snapshots fit in what the budget can spend within ``horizon`` seconds (``tokens`` now
    plus ``rate`` weight per second); the shallowest when none fits."""
    affordable = tokens + rate * horizon
    for limit in depths:
        if books * weight_of(limit) <= affordable:
            return limit
    return depths[-1]


class _Job:
    """One book's way to a snapshot."""

    __slots__ = ("attempts", "book", "connection", "phase", "timer")

    def __init__(self, book: LiveBook, connection: Connection) -> None:
        self.book = book
        self.connection = connection
        self.phase = "new"      # subscribe → first_event → ready → fetching (→ retry)
        self.timer: asyncio.TimerHandle | None = None
        self.attempts = 0       # failed fetches in a row

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class SnapshotScheduler:
    """Fetches REST snapshots for the books of one venue endpoint, fairly and within its
    weight budget (see the module docstring)."""

    def __init__(self, policy: SnapshotPolicy, venue: BinanceSpot, rest: RestClient) -> None:
        self.policy = policy
        self.venue = venue
        self.rest = rest
        self._jobs: dict[LiveBook, _Job] = {}
        self._ready: collections.deque[_Job] = collections.deque()
        self._workers: set[asyncio.Task[None]] = set()
        # the shallowest depth chosen since the queue was last empty: a burst (start-up,
        # mass resync) is fetched at one depth, so its tail does not stretch the time to
        # all-live by growing deeper as the queue shrinks
        self._burst_depth: int | None = None
        self.fetched = 0
        self.failures = 0
        self.depths: collections.Counter[int] = collections.Counter()   # limit → books

    # ------------------------------------------------------------------ requests

    def request(self, book: LiveBook, connection: Connection) -> None:
        """``book`` needs a snapshot (it is ``syncing`` or ``gap``). Idempotent."""
        job = self._jobs.get(book)
        if job is not None:
            return      # already on its way (a gap while fetching is handled after)
        job = self._jobs[book] = _Job(book, connection)
        self._advance(job)

    def cancel(self, books: Iterable[LiveBook]) -> None:
        """Forget these books (removed, or their connection dropped)."""
        for book in books:
            job = self._jobs.pop(book, None)
            if job is not None:
                job.cancel_timer()
                job.phase = "cancelled"     # a worker holding it drops its result
        if not self._jobs:
            self._burst_depth = None

    def pending(self) -> int:
        """Books waiting for (or fetching) a snapshot."""
        return len(self._jobs)

    def phases(self) -> collections.Counter[str]:
        """Waiting books by phase (``subscribe``, ``first_event``, ``ready``, ...)."""
        return collections.Counter(job.phase for job in self._jobs.values())

    # ------------------------------------------------------------------ events

    def on_control_moved(self, connection: Connection) -> None:
        """The connection's control queue moved: books whose subscribe left may go on."""
        waiting = [j for j in self._jobs.values()
                   if j.phase == "subscribe" and j.connection is connection]
        if not waiting:
            return
        pending = connection.pending_subscribes()
        for job in waiting:
            if job.book.symbol not in pending:
                self._advance(job)

    def on_first_event(self, book: LiveBook) -> None:
        """The stream delivered ``book``'s first event: its snapshot may be fetched."""
        job = self._jobs.get(book)
        if job is not None and job.phase == "first_event":
            job.cancel_timer()
            self._make_ready(job)

    # ------------------------------------------------------------------ phases

    def _advance(self, job: _Job) -> None:
        job.cancel_timer()
        if job.connection.transport is None:
            self.cancel([job.book])     # the reconnect requests it again
            return
        if job.book.symbol in job.connection.pending_subscribes():
            # not at the venue yet: nothing can be buffered, and a snapshot now would make
            # a book "live" that its stream never confirmed
            job.phase = "subscribe"
            return
        if job.book.buffered == 0 and self.policy.first_event_timeout > 0:
            # the snapshot is checked against the first buffered event; a quiet symbol
            # gets it after the timeout and goes live flagged idle (docs/states.md)
            job.phase = "first_event"
            job.timer = asyncio.get_running_loop().call_later(
                self.policy.first_event_timeout, self._make_ready, job)
            return
        self._make_ready(job)

    def _make_ready(self, job: _Job) -> None:
        job.timer = None
        if self._jobs.get(job.book) is not job:
            return
        job.phase = "ready"
        self._ready.append(job)
        if len(self._workers) < self.policy.snapshot_concurrency:
            task = asyncio.create_task(self._work(), name=f"fastfeed:{self.venue.name}:snapshots")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    def _retry_later(self, job: _Job, delay: float) -> None:
        job.phase = "retry"
        job.timer = asyncio.get_running_loop().call_later(delay, self._advance, job)

    # ------------------------------------------------------------------ workers

    def depth(self) -> int:
        """The snapshot limit for the next request (``Engine(snapshot_limit=)`` fixes it)."""
        fixed = self.policy.snapshot_limit
        if fixed:
            return fixed
        budget = self.rest.budget
        limit = choose_depth(self.venue.snapshot_depths, self.venue.snapshot_weight,
                             max(1, len(self._jobs)), budget.available(), budget.rate,
                             self.policy.snapshot_horizon)
        if self._burst_depth is not None:
            limit = min(limit, self._burst_depth)
        self._burst_depth = limit
        return limit

    async def _work(self) -> None:
        while self._ready:
            job = self._ready.popleft()
            if self._jobs.get(job.book) is not job or job.phase != "ready":
                continue
            job.phase = "fetching"
            try:
                await self._fetch(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:    # a bug: never let it end the worker silently
                job.book.last_error = f"snapshot sync failed: {describe_exc(exc)}"
                rlog.log(logging.ERROR, (id(job.book), "sync_bug"), "%s:%s %s",
                         job.book.venue, job.book.symbol, job.book.last_error, exc_info=exc)
                if self._jobs.get(job.book) is job:
                    self._failed(job, job.book.last_error)

    async def _fetch(self, job: _Job) -> None:
        book = job.book
        limit = self.depth()
        try:
            body = await self.venue.snapshot(self.rest, book.symbol, limit)
        except (RestError, aiohttp.ClientError, ValueError, asyncio.TimeoutError) as exc:
            # a RestError's text is already escaped and redacted (rest.py)
            why = str(exc) if isinstance(exc, RestError) else describe_exc(exc)
            if self._jobs.get(book) is job:
                self._failed(job, f"snapshot failed: {why}")
            return
        self.fetched += 1
        book.snapshots_fetched += 1
        if self._jobs.get(book) is not job or book.state not in ("syncing", "gap"):
            return      # cancelled meanwhile (reconnect, unsubscribe): the body is stale
        try:
            result = book.apply_snapshot(body)
        except DecodeRejected as exc:   # an error body or garbage: fetch again later
            self._failed(job, venue_text(str(exc)))
            return
        job.attempts = 0
        if result == "live":
            del self._jobs[book]
            if not self._jobs:
                self._burst_depth = None    # the burst is over: full depth again
            book.snapshot_limit = limit
            self.depths[limit] += 1
            return
        if result == "too_old":
            book.snapshots_too_old += 1
            rlog.info((id(book), "too_old"), "%s:%s snapshot older than the stream; fetching "
                      "again", book.venue, book.symbol)
            self._retry_later(job, random.uniform(0.02, 0.1))
            return
        self._advance(job)      # replay found a gap: the rest of the buffer waits

    def _failed(self, job: _Job, why: str) -> None:
        """A fetch or its body failed: retry on a capped cadence, louder each time."""
        self.failures += 1
        job.attempts += 1
        book = job.book
        book.snapshot_failures += 1
        delay = min(self.policy.snapshot_retry_cap, self.policy.backoff(job.attempts))
        delay = max(delay, 0.05)
        book.last_error = (f"{why} (attempt {job.attempts}; next in {delay:.1f}s)")
        level = logging.ERROR if job.attempts >= LOUD_AFTER_FAILURES else logging.WARNING
        rlog.log(level, (id(book), "snapshot", level), "%s:%s %s", book.venue, book.symbol,
                 book.last_error)
        self._retry_later(job, delay)

    async def close(self) -> None:
        """Cancel every timer and worker."""
        self.cancel(list(self._jobs))
        self._ready.clear()
        workers = list(self._workers)
        for task in workers:
            task.cancel()
        for task in workers:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    def stats(self) -> dict[str, Any]:
        """Queue and outcome counters (``Engine.stats()["snapshots"]``)."""
        return {"waiting": dict(self.phases()), "fetched": self.fetched,
                "failures": self.failures, "workers": len(self._workers),
                "depths": {str(k): v for k, v in sorted(self.depths.items())}}
