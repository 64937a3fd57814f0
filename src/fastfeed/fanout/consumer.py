"""Rebuild exact books from a fastfeed fan-out over NATS JetStream.

The rules are ``docs/wire.md`` ("Rebuilding a book exactly"); the API, the states and the
failure behaviour are ``docs/fanout.md`` ("Consumer"). One NATS connection serves every
book of a :class:`BookConsumers`; each book has its own JetStream ordered consumer on its
delta subject, started at its own snapshot's time and replaced on its own resync
(``docs/fanout.md``, "One ordered consumer per book").
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

import numpy as np

from fastfeed._book import L2Book
from fastfeed.fanout.wire import (
    DELTA,
    SNAPSHOT,
    STATE_NAMES,
    Message,
    WireError,
    book_id,
    decode,
    stream_name,
    subject,
)
from fastfeed.logsafe import RateLimitedLog, describe_exc, redact_url

__all__ = ["BookConsumer", "BookConsumers"]

log = logging.getLogger(__name__)
_rlog = RateLimitedLog(log)

#: deltas are read from this long before the snapshot's publish time (docs/wire.md, rule 2)
START_BEFORE_NS = 2_000_000_000
#: a consumer's nats-py pending limits per book (bounded memory; exceeding them is a slow
#: consumer: docs/fanout.md, "Failure behaviour")
PENDING_MSGS = 8192
PENDING_BYTES = 64 * 1024 * 1024
#: connection attempts at start() before it fails (NoServersError)
INITIAL_CONNECT_ATTEMPTS = 3


class _Link:
    """The one NATS connection of a set of books, and its events dispatched to them."""

    def __init__(self, url: str, connect_options: dict[str, Any]) -> None:
        self.url = url
        self.options = connect_options
        self.nc: Any = None
        self.js: Any = None
        self.books: list[BookConsumer] = []

    async def open(self) -> None:
        import nats

        options: dict[str, Any] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.25,
                                   "connect_timeout": 5}
        options.update(self.options)
        reconnects = options.pop("max_reconnect_attempts")
        # nats-py applies the reconnect limit to the first connect too: a server that is
        # not there at start is an error after a few tries, a lost one is retried forever
        self.nc = await nats.connect(self.url, error_cb=self._error,
                                     disconnected_cb=self._disconnected,
                                     reconnected_cb=self._reconnected,
                                     max_reconnect_attempts=INITIAL_CONNECT_ATTEMPTS, **options)
        self.nc.options["max_reconnect_attempts"] = reconnects
        self.js = self.nc.jetstream()

    async def close(self) -> None:
        nc, self.nc = self.nc, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception as exc:           # closing a broken connection: nothing left
                log.debug("closing the NATS connection: %s", describe_exc(exc))

    async def _error(self, exc: Exception) -> None:
        from nats.errors import SlowConsumerError

        if isinstance(exc, SlowConsumerError):
            for b in self.books:
                if b._psub is not None and exc.sub is b._psub._sub:
                    b._slow()
                    return
        _rlog.warning(("nats", type(exc).__name__), "NATS %s: %s", redact_url(self.url),
                      describe_exc(exc))

    async def _disconnected(self) -> None:
        for b in self.books:
            b._set_connected(False)

    async def _reconnected(self) -> None:
        for b in self.books:
            b._set_connected(True)
            b._trouble_now("reconnected", "stale")


class BookConsumer:
    """One book rebuilt exactly from the fan-out (``docs/fanout.md``, "Consumer").

    ``book`` (an :class:`~fastfeed._book.L2Book`, scales from the snapshot), ``state``,
    ``update_id``, ``epoch``, ``seq`` and the counters read like an engine's live book.
    ``callback(consumer)`` runs after each applied message (snapshot or delta).
    """

    def __init__(self, url: str, venue: str, symbol: str, *, prefix: str = "ff",
                 callback: Callable[[BookConsumer], None] | None = None,
                 pending_msgs_limit: int = PENDING_MSGS,
                 pending_bytes_limit: int = PENDING_BYTES,
                 retry_pause: float = 0.05, max_retry_pause: float = 2.0,
                 connect_options: dict[str, Any] | None = None,
                 _link: _Link | None = None) -> None:
        if pending_msgs_limit < 1 or pending_bytes_limit < 1:
            raise ValueError("pending limits must be positive")
        if not 0 < retry_pause <= max_retry_pause:
            raise ValueError("need 0 < retry_pause <= max_retry_pause")
        self.venue = venue
        self.symbol = symbol
        self.prefix = prefix
        self.callback = callback
        self.pending_msgs_limit = pending_msgs_limit
        self.pending_bytes_limit = pending_bytes_limit
        self.retry_pause = retry_pause
        self.max_retry_pause = max_retry_pause
        self.book_id = book_id(venue, symbol)
        self.book_subject = subject(prefix, "book", venue, symbol)
        self.snap_subject = subject(prefix, "snap", venue, symbol)
        self._book_stream = stream_name(prefix, "book")
        self._snap_stream = stream_name(prefix, "snap")
        self._own_link = _link is None
        self._link = _link if _link is not None else _Link(url, connect_options or {})
        self._link.books.append(self)
        #: the rebuilt book (replaced when a snapshot brings other scales)
        self.book = L2Book(0, 0)
        self.epoch = 0
        self.seq = 0
        #: the venue's last update id applied (-1: none)
        self.update_id = -1
        self.publish_ns = 0             # publisher's build time of the last applied message
        self.exchange_ns = 0
        self.recv_ns = 0
        self.deltas = 0
        self.snapshots = 0
        self.resyncs = 0
        self.duplicates = 0
        self.gaps = 0
        self.slow_consumers = 0
        self.rejected: Counter[str] = Counter()
        self.callback_errors = 0
        #: why the book last left ``live`` (or was rejected), for views
        self.last_gap_reason = ""
        self._held = False              # a snapshot was loaded at least once
        self._state = "syncing"         # the publisher's (header) or our own while rebuilding
        self._connected = False
        self._closed = False
        self._need = (0, 0)             # the least (epoch, seq) a fetched snapshot must have
        self._trouble = asyncio.Event()
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._psub: Any = None
        self._generation = 0
        self._idle_resyncs = 0          # resyncs since a delta was last applied

    # ---- the LiveBook surface --------------------------------------------------------

    @property
    def state(self) -> str:
        """``syncing``/``live``/``gap``/``stale``/``closed``: the publisher's state of the
        book from the last applied header, ``stale`` while disconnected from NATS, the
        consumer's own ``syncing``/``gap`` while it rebuilds, ``closed`` after close()."""
        if self._closed:
            return "closed"
        if not self._connected:
            return "stale"
        return self._state

    @property
    def is_live(self) -> bool:
        """The book is exact as of ``update_id`` (docs/wire.md)."""
        return self.state == "live"

    @property
    def last_update_id(self) -> int:
        """``update_id`` under the name engine books and ``replay.book_json`` use."""
        return self.update_id

    @property
    def price_decimals(self) -> int:
        """A price is ``ticks / 10**price_decimals``."""
        return int(self.book.price_decimals)

    @property
    def size_decimals(self) -> int:
        """A size is ``lots / 10**size_decimals``."""
        return int(self.book.size_decimals)

    @property
    def lag_ns(self) -> int | None:
        """How far behind the publisher the held book is: now minus the ``publish_ns`` of
        the last applied message (None before the first). Right after ``wait_live`` the
        book may be the snapshot's, up to the publisher's ``snapshot_every`` old, until
        the deltas after it are read (milliseconds); a consumer that needs the current
        book waits for a small lag (docs/fanout.md, "States")."""
        return time.time_ns() - self.publish_ns if self.publish_ns else None

    @property
    def messages(self) -> int:
        """Messages applied (snapshots and deltas)."""
        return self.deltas + self.snapshots

    #: no latency histograms on the consumer side (views read this)
    latency = None

    def counters(self) -> dict[str, Any]:
        """Every counter, ``rejected`` by reason."""
        return {"deltas": self.deltas, "snapshots": self.snapshots, "resyncs": self.resyncs,
                "duplicates": self.duplicates, "gaps": self.gaps,
                "slow_consumers": self.slow_consumers, "rejected": dict(self.rejected),
                "callback_errors": self.callback_errors}

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until the book is live; ``TimeoutError`` after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._live.wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self.venue}:{self.symbol} not live after {timeout} s "
                               f"(state {self.state})") from None

    # ---- life cycle ------------------------------------------------------------------

    async def start(self) -> BookConsumer:
        """Connect (a stand-alone consumer) and start rebuilding."""
        if self._task is not None:
            return self
        if self._own_link:
            await self._link.open()
        self._connected = self._link.nc is not None and self._link.nc.is_connected
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def close(self) -> None:
        """Stop, drop the subscription (and a stand-alone consumer's connection)."""
        if self._closed:
            return
        self._closed = True
        self._update_live()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self._drop_sub()
        if self._own_link:
            await self._link.close()

    async def __aenter__(self) -> BookConsumer:
        return await self.start()

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # ---- rebuilding (docs/wire.md, "Rebuilding a book exactly") ----------------------

    async def _run(self) -> None:
        while not self._closed:
            try:
                await self._sync()
                await self._trouble.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:            # NATS down, a timeout: try again later
                _rlog.warning((self.book_id, "sync", type(exc).__name__),
                              "%s:%s: resync failed: %s", self.venue, self.symbol,
                              describe_exc(exc))
                await asyncio.sleep(self._pause())
            finally:
                await self._drop_sub()

    def _pause(self) -> float:
        return float(min(self.max_retry_pause, self.retry_pause * 2 ** self._idle_resyncs))

    async def _sync(self) -> None:
        """Take the last snapshot (or keep the held book), then subscribe to the deltas."""
        if self._held:
            self.resyncs += 1
            if self._idle_resyncs:                  # the last resync did not help: back off
                await asyncio.sleep(self._pause())
            self._idle_resyncs += 1
        self._trouble.clear()
        while True:
            snap, stored_ns = await self._fetch_snapshot()
            if snap is not None and (snap.epoch, snap.seq) >= max(self._need,
                                                                  (self.epoch, self.seq)):
                self._load(snap)
                # the server's clock stamps the stream too: a publisher clock ahead of it
                # cannot make the start miss deltas (docs/fanout.md, "Rules")
                start_ns = min(snap.publish_ns, stored_ns or snap.publish_ns)
                break
            if self._held and (self.epoch, self.seq) >= self._need:
                # the held book is as good as a snapshot of (epoch, seq): read on after it
                start_ns = self.publish_ns
                break
            await asyncio.sleep(self._pause())
            self._idle_resyncs += 1
        await self._subscribe(start_ns - START_BEFORE_NS)

    async def _fetch_snapshot(self) -> tuple[Message | None, int]:
        """The last snapshot (None: none, or unusable) and when the server stored it."""
        from nats.js.errors import NotFoundError

        try:
            raw = await self._link.js.get_last_msg(self._snap_stream, self.snap_subject,
                                                   direct=True)
        except NotFoundError:
            return None, 0
        stored_ns = int(raw.time.timestamp() * 1e6) * 1000 if raw.time is not None else 0
        return self._checked_snapshot(raw.data), stored_ns

    def _checked_snapshot(self, data: bytes) -> Message | None:
        m = self._check(data, SNAPSHOT)
        if m is None:
            return None
        try:
            for prices, sizes, sign in ((m.bid_prices, m.bid_sizes, -1),
                                        (m.ask_prices, m.ask_sizes, 1)):
                if len(prices) and (prices.min() < 0 or sizes.min() <= 0):
                    raise WireError("a snapshot level with a negative price or a size <= 0")
                if len(prices) > 1 and not np.all(np.diff(prices) * sign > 0):
                    raise WireError("snapshot levels not strictly best first")
        except WireError as exc:
            self._reject("snapshot_levels", str(exc))
            return None
        return m

    def _load(self, m: Message) -> None:
        """The snapshot's levels, inserted worst first (each insert lands at the best end,
        O(1): docs/architecture.md, book storage)."""
        book = self.book
        if (book.price_decimals, book.size_decimals) != (m.price_decimals, m.size_decimals):
            book = L2Book(m.price_decimals, m.size_decimals,
                          max(1024, len(m.bid_prices), len(m.ask_prices)))
        else:
            book.clear()
        nb, na = len(m.bid_prices), len(m.ask_prices)
        sides = np.concatenate((np.zeros(nb, np.int64), np.ones(na, np.int64)))
        book.apply_many(sides, np.concatenate((m.bid_prices[::-1], m.ask_prices[::-1])),
                        np.concatenate((m.bid_sizes[::-1], m.ask_sizes[::-1])))
        self.book = book
        self._held = True
        self.snapshots += 1
        self._need = (m.epoch, m.seq)
        self._take_header(m)

    def _take_header(self, m: Message) -> None:
        self.epoch, self.seq = m.epoch, m.seq
        self.update_id = m.last_update_id
        self.publish_ns, self.exchange_ns, self.recv_ns = m.publish_ns, m.exchange_ns, m.recv_ns
        self._state = STATE_NAMES[m.state]
        self._update_live()
        if self.callback is not None:
            try:
                self.callback(self)
            except Exception as exc:            # a user's bug must not stop the book
                self.callback_errors += 1
                _rlog.warning((self.book_id, "callback"), "%s:%s: callback raised %s",
                              self.venue, self.symbol, describe_exc(exc))

    async def _subscribe(self, start_ns: int) -> None:
        from nats.js.api import ConsumerConfig, DeliverPolicy

        if start_ns > 0:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=datetime.datetime.fromtimestamp(start_ns / 1e9,
                                                               datetime.timezone.utc))
        else:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        self._generation += 1
        generation = self._generation

        async def on_msg(msg: Any) -> None:
            if generation == self._generation:
                self._on_delta(msg.data)

        self._psub = await self._link.js.subscribe(
            self.book_subject, stream=self._book_stream, cb=on_msg, config=config,
            ordered_consumer=True, pending_msgs_limit=self.pending_msgs_limit,
            pending_bytes_limit=self.pending_bytes_limit)

    async def _drop_sub(self) -> None:
        self._generation += 1                   # whatever is still queued is ignored
        psub, self._psub = self._psub, None
        if psub is None:
            return
        try:
            await psub.unsubscribe()
        except Exception as exc:                # the connection is gone: so is the sub
            log.debug("unsubscribe: %s", describe_exc(exc))

    def _on_delta(self, data: bytes) -> None:
        if self._trouble.is_set():
            return                              # a resync is coming: it re-reads these
        m = self._check(data, DELTA)
        if m is None:
            return
        if m.epoch < self.epoch or (m.epoch == self.epoch and m.seq <= self.seq):
            self.duplicates += 1
            return
        if m.epoch > self.epoch:
            self._trouble_now(f"epoch {m.epoch} replaces {self.epoch}", "gap",
                              need=(m.epoch, 0))
            return
        if m.seq != self.seq + 1:
            self.gaps += 1
            self._trouble_now(f"seq {m.seq} after {self.seq}", "gap")
            return
        if (m.price_decimals, m.size_decimals) != (self.book.price_decimals,
                                                   self.book.size_decimals):
            self._reject("scales", f"delta scales {m.price_decimals}/{m.size_decimals} in "
                         f"an epoch of {self.book.price_decimals}/{self.book.size_decimals}")
            self._trouble_now("a delta with other scales", "gap")
            return
        nb, na = len(m.bid_prices), len(m.ask_prices)
        try:
            self.book.apply_many(
                np.concatenate((np.zeros(nb, np.int64), np.ones(na, np.int64))),
                np.concatenate((m.bid_prices, m.ask_prices)),
                np.concatenate((m.bid_sizes, m.ask_sizes)))
        except ValueError as exc:               # checked before any row is applied
            self._reject("delta_levels", str(exc))
            self._trouble_now("an unusable delta", "gap")
            return
        self.deltas += 1
        self._idle_resyncs = 0
        self._take_header(m)

    def _check(self, data: bytes, kind: int) -> Message | None:
        """The decoded message if it is this book's and of ``kind``; else counted."""
        try:
            m = decode(data)
        except WireError as exc:
            self._reject("wire", str(exc))
            return None
        if m.book_id != self.book_id:
            self._reject("book_id", f"book_id {m.book_id:#010x}, this book's is "
                         f"{self.book_id:#010x}")
            return None
        if m.kind != kind:
            where = self.book_subject if kind == DELTA else self.snap_subject
            self._reject("kind", f"kind {m.kind} on {where}")
            return None
        return m

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        _rlog.warning((self.book_id, reason), "%s:%s: rejected a message (%s): %s",
                      self.venue, self.symbol, reason, detail)

    def _trouble_now(self, reason: str, state: str, need: tuple[int, int] | None = None) -> None:
        """Rebuild: show ``state`` until a snapshot (or the held book) is proven again."""
        if self._closed:
            return
        self._need = max(self._need, need or (self.epoch, self.seq))
        self.last_gap_reason = reason
        if self._held:
            self._state = state
        self._update_live()
        self._trouble.set()

    def _slow(self) -> None:
        self.slow_consumers += 1
        _rlog.warning((self.book_id, "slow"), "%s:%s: slow consumer (pending limits %d "
                      "messages / %d bytes exceeded): re-snapshotting", self.venue,
                      self.symbol, self.pending_msgs_limit, self.pending_bytes_limit)
        self._trouble_now("slow consumer: messages dropped", "gap")

    def _set_connected(self, connected: bool) -> None:
        self._connected = connected
        if not connected:
            self.last_gap_reason = "NATS disconnected"
        self._update_live()

    def _update_live(self) -> None:
        if self.state == "live":
            self._live.set()
        else:
            self._live.clear()


class BookConsumers:
    """Many books over one NATS connection; ``consumers[(venue, symbol)]`` or iterate.

    Each book is a :class:`BookConsumer` with its own ordered consumer (docs/fanout.md,
    "One ordered consumer per book"); keyword arguments are passed to each.
    """

    def __init__(self, url: str, books: Iterable[tuple[str, str]], *, prefix: str = "ff",
                 connect_options: dict[str, Any] | None = None, **options: Any) -> None:
        self._link = _Link(url, connect_options or {})
        self.consumers: dict[tuple[str, str], BookConsumer] = {}
        for venue, symbol in books:
            if (venue, symbol) in self.consumers:
                raise ValueError(f"{venue}:{symbol} given twice")
            self.consumers[venue, symbol] = BookConsumer(url, venue, symbol, prefix=prefix,
                                                         _link=self._link, **options)
        if not self.consumers:
            raise ValueError("no books to consume")

    def __getitem__(self, key: tuple[str, str]) -> BookConsumer:
        return self.consumers[key]

    def __iter__(self) -> Iterator[BookConsumer]:
        return iter(self.consumers.values())

    def __len__(self) -> int:
        return len(self.consumers)

    async def start(self) -> BookConsumers:
        """Connect once and start every book."""
        await self._link.open()
        for c in self:
            await c.start()
        return self

    async def close(self) -> None:
        """Close every book, then the connection."""
        for c in self:
            await c.close()
        await self._link.close()

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until every book is live; ``TimeoutError`` after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(asyncio.gather(*(c._live.wait() for c in self)), timeout)
        except asyncio.TimeoutError:
            waiting = [f"{c.venue}:{c.symbol} ({c.state})" for c in self if not c.is_live]
            raise TimeoutError(f"not live after {timeout} s: {', '.join(waiting)}") from None

    async def __aenter__(self) -> BookConsumers:
        return await self.start()

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
