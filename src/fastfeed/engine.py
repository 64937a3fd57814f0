"""Engine: connections, subscriptions, resyncs — the cold path around the compiled core.

One ``Engine`` owns, per venue endpoint, a REST client with a shared weight budget and a
set of WebSocket connections, each carrying up to the venue's stream limit. Books are
``LiveBook`` objects (a ``BookCore`` plus async helpers); the per-frame work happens in
``FeedListener`` (compiled). This module only reacts to events:

* connect → every book on the connection (re)starts syncing: Binance books buffer live
  events and fetch a REST snapshot (one rate budget per venue); Coinbase books get a
  subscribe and wait for their in-band snapshot;
* a gap on one book → resync that book only (Binance snapshot; Coinbase resubscribe);
  a Coinbase Advanced Trade sequence jump → every book on that connection;
* disconnect, server close (the 24 h limit) or silence → books marked ``stale``,
  reconnect with capped exponential backoff and full jitter, resubscribe, resync.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from picows import WSError, WSMsgType, ws_connect

from fastfeed._core import BookCore, monotonic_time_ns
from fastfeed._hist import LatencyHistogram
from fastfeed._listener import MAX_READ_INTERVAL, FeedListener
from fastfeed.audit import Auditor, AuditResult
from fastfeed.backfill import Backfiller
from fastfeed.candles import LiveCandles
from fastfeed.fanout.publisher import NatsPublisher
from fastfeed.feed import instrument_scales
from fastfeed.latency import BOOK_LATENCY, HlogWriter, connection_latency_set
from fastfeed.logsafe import RateLimitedLog, describe_exc, redact_url, venue_text
from fastfeed.quotes import LiveBbo, LiveTicker
from fastfeed.recorder import Recorder
from fastfeed.rest import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_RETRY_AFTER,
    RestClient,
    RestError,
    RetryPolicy,
    WeightBudget,
)
from fastfeed.shm import Publisher, SegmentFull, segment_size
from fastfeed.snapshots import SnapshotScheduler
from fastfeed.tokenmetrics import VENUE as TOKENMETRICS
from fastfeed.tokenmetrics import WS_URL as TOKENMETRICS_WS_URL
from fastfeed.tokenmetrics import PriceStream, PriceUpdate
from fastfeed.trades import DEFAULT_CAPACITY, LiveTrades, TradesCallback
from fastfeed.venues import BOOK, Instrument, Venue, get_venue

log = logging.getLogger("fastfeed.engine")
# every repeated cold-path warning goes through this (docs/robustness.md)
rlog = RateLimitedLog(log)

BookCallback = Callable[["LiveBook"], Any]
LatencyCallback = Callable[["LiveBook", dict[str, LatencyHistogram]], Any]


#: a non-book stream a connection carries (docs/architecture.md, "Channels")
ChannelStream = LiveTrades | LiveBbo | LiveTicker | LiveCandles


class ProtocolViolation(ConnectionError):
    """The server broke RFC 6455 in a way the listener detects itself (a reserved bit, an
    extension fastfeed never offered): the connection is failed and reconnected."""


class SubscribeError(RuntimeError):
    """A subscription could not be set up (unreachable venue, unknown symbol, timeout)."""


def _unusable(venue: str, instrument: Instrument) -> str | None:
    """Why ``instrument``'s tick/step sizes cannot scale a book, or None if they can."""
    try:
        instrument_scales(venue, instrument.tick_size, instrument.step_size)
    except (ValueError, TypeError, OverflowError) as exc:
        return (f"unusable tick/step sizes {venue_text(instrument.tick_size, 40)}/"
                f"{venue_text(instrument.step_size, 40)}: {exc}")
    return None


class LiveBook(BookCore):
    """A book kept live by an :class:`Engine`.

    Read ``state`` (``syncing`` → ``live``; ``gap``/``stale`` while not trustworthy),
    ``book`` (the L2 book), ``counters()``, ``memory()``, and the latency histograms
    ``recv_to_apply``/``recv_to_publish``/``exchange_to_recv``/``resync_duration``
    (at the engine's ``book_latency`` precision; None with ``"off"``).
    """

    # a mistyped attribute (or an attempt to rewire the engine) fails loudly
    __slots__ = ("_live_since_ns", "_messages_at_sync", "_waiters", "audit_divergences",
                 "audits", "connection", "instrument", "last_audit", "last_error",
                 "last_intervals", "recorder", "snapshot_failures", "snapshot_limit",
                 "snapshots_fetched", "snapshots_too_old")

    def __init__(self, venue: str, symbol: str, instrument: Instrument,
                 book_latency: str = "coarse") -> None:
        super().__init__(venue, symbol, *instrument_scales(venue, instrument.tick_size,
                                                           instrument.step_size), strict=False,
                         book_latency=book_latency)
        self.instrument = instrument
        precisions = getattr(instrument, "price_precision", None), \
            getattr(instrument, "qty_precision", None)
        if precisions[0] is not None and precisions[1] is not None:
            # Kraken: the checksum's fixed precisions (docs/venues.md, "Kraken integrity")
            self.set_checksum_precisions(precisions[0], precisions[1])
        self.snapshots_fetched = 0
        self.snapshots_too_old = 0
        self.snapshot_failures = 0
        #: levels a side the snapshot that made the book live asked for (None: in-band)
        self.snapshot_limit: int | None = None
        self.last_error: str | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._live_since_ns = 0     # when a snapshot last made it live (monotonic)
        self.audits = 0             # Engine(audit_every=): audits run, and how many
        self.audit_divergences = 0  # found (and healed) a difference
        self.last_audit: AuditResult | None = None
        self.connection: Connection | None = None
        self.last_intervals: dict[str, LatencyHistogram] = {}
        self._messages_at_sync = 0
        #: Engine(record=): every operation on the book is recorded (docs/recording.md)
        self.recorder: Recorder | None = None

    def start_sync(self, state: str = "syncing") -> None:
        """Begin (re)synchronising after a (re)subscribe: the stream must prove itself again."""
        if self.recorder is not None:
            self.recorder.op("start_sync", self, state=state)
        super().start_sync(state)
        self._messages_at_sync = self.messages

    def apply_snapshot(self, body: Any) -> str:
        """``BookCore.apply_snapshot``, recorded with its body."""
        if self.recorder is not None:
            self.recorder.op("snapshot", self, body=bytes(body))
        result: str = super().apply_snapshot(body)
        return result

    def mark_stale(self, reason: str) -> None:
        """``BookCore.mark_stale``, recorded."""
        if self.recorder is not None:
            self.recorder.op("mark_stale", self, reason=reason)
        super().mark_stale(reason)

    def gaps_on_connection(self, reason: str) -> None:
        """``BookCore.gaps_on_connection`` (the engine's own verdict: silence), recorded."""
        if self.recorder is not None:
            self.recorder.op("gap", self, reason=reason)
        super().gaps_on_connection(reason)

    def replace_levels(self, bids: Any, asks: Any) -> None:
        """``BookCore.replace_levels`` (an audit healing the book), recorded."""
        if self.recorder is not None:
            levels = [[[int(p), int(q)] for p, q in side] for side in (bids, asks)]
            self.recorder.op("replace_levels", self, body=json.dumps(levels).encode())
        super().replace_levels(bids, asks)

    def declaration(self) -> dict[str, Any]:
        """What a replay needs to build the same book (docs/recording.md, DECLARE)."""
        return {"venue": self.venue, "symbol": self.symbol,
                "tick_size": self.instrument.tick_size, "step_size": self.instrument.step_size,
                "price_decimals": self.price_decimals, "size_decimals": self.size_decimals}

    @property
    def idle(self) -> bool:
        """Live, but its stream has carried nothing for this book since the subscription:
        the book is the snapshot alone (a quiet symbol, or a subscription that never took
        effect). It turns False with the first message of the book (docs/states.md)."""
        return self.is_live and self.messages == self._messages_at_sync

    @property
    def last_message_age(self) -> float | None:
        """Seconds since the last message for this book arrived (None: none yet)."""
        if not self.last_recv_ns:
            return None
        return (monotonic_time_ns() - self.last_recv_ns) / 1e9

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait until the book is live; ``TimeoutError`` after ``timeout`` seconds.
        (Woken by the book's own transitions, never by polling.)"""
        async def _wait() -> None:
            loop = asyncio.get_running_loop()
            while not self.is_live:
                if self.state == "closed":
                    raise SubscribeError(f"{self.venue}:{self.symbol} was closed")
                waiter = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                finally:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
        await asyncio.wait_for(_wait(), timeout)

    def _went_live_now(self) -> None:
        """A snapshot made the book live (the engine's hook): note when, wake waiters."""
        self._live_since_ns = monotonic_time_ns()
        self._wake()

    def _wake(self) -> None:
        """The book went live or closed: waiters look again."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def close(self) -> None:
        """Stop applying anything to this book (waiters are told)."""
        if self.recorder is not None:
            self.recorder.op("close", self)
        super().close()
        self._wake()

    def memory(self) -> dict[str, int]:
        """``BookCore.memory()`` plus the last latency intervals kept in
        ``last_intervals`` (docs/memory.md)."""
        out: dict[str, int] = super().memory()
        kept = sum(h.nbytes + sys.getsizeof(h) for h in self.last_intervals.values())
        kept += sys.getsizeof(self.last_intervals)
        out["latency"] += kept
        out["total"] += kept
        out["beyond_levels"] += kept
        return out

    def counters(self) -> dict[str, Any]:
        """Book counters plus the sync-side ones kept in Python."""
        out: dict[str, Any] = super().counters()
        out.update(snapshots_fetched=self.snapshots_fetched,
                   snapshots_too_old=self.snapshots_too_old,
                   snapshot_failures=self.snapshot_failures,
                   snapshot_limit=self.snapshot_limit, audits=self.audits,
                   audit_divergences=self.audit_divergences, last_error=self.last_error,
                   idle=self.idle, last_message_age=self.last_message_age)
        return out


class _Control:
    """A queued subscribe or unsubscribe of one channel's symbols, rendered to the
    venue's messages on sending."""

    __slots__ = ("channel", "kind", "symbols")

    def __init__(self, kind: str, symbols: list[str], channel: str = BOOK) -> None:
        self.kind = kind
        self.symbols = symbols
        self.channel = channel

    def render(self, venue: Venue) -> list[bytes]:
        make = venue.subscribe_messages if self.kind == "subscribe" else venue.unsubscribe_messages
        return make(self.symbols, self.channel)


class _Rendered(bytes):
    """A control message rendered from a ``_Control``, waiting in the outbox: remembers
    which symbols it subscribes (a book whose subscribe has not left is still syncing)."""

    subscribes: tuple[str, ...] = ()


class Connection:
    """One WebSocket connection carrying several books and trade streams of one venue
    (one ``route`` of it: docs/architecture.md, "Channels").

    ``last_error`` is the last problem seen on it (kept after a reconnect; ``connected``
    says whether the socket is open now); ``stats()`` has the counters
    (docs/robustness.md).
    """

    def __init__(self, engine: Engine, venue: Venue, ws_base: str, rest: RestClient,
                 route: str = "") -> None:
        self.engine = engine
        self.venue = venue
        self.ws_base = ws_base
        self.rest = rest
        self.route = route
        self.books: list[LiveBook] = []
        self.channels: list[ChannelStream] = []   # trades, BBO, tickers, candles
        self.listener: FeedListener | None = None     # the latest connection's listener
        self.transport: Any = None
        self.connects = 0
        self.connect_failures = 0
        self.server_closes = 0
        self.stale_disconnects = 0
        self.control_sent = 0
        self.keepalive_pings = 0    # PINGs sent to an idle connection (_watch_stale)
        self.late_events = 0
        self.last_error: str | None = None
        self.errors: collections.Counter[str] = collections.Counter()  # by exception kind
        self.restarts = 0
        self._task: asyncio.Task[None] | None = None
        self._connected_at: float | None = None
        # REST-synced venues: the endpoint's snapshot queue (None: snapshots in-band)
        self.snapshots: SnapshotScheduler | None = (
            engine.snapshot_scheduler(venue, rest) if venue.uses_rest_snapshots else None)
        self._in_url: set[LiveBook | ChannelStream] = set()    # what the current URL named
        self.stale_books = 0
        self.record_conn = 0        # the current connection's id in the recording
        self._resubscribe: set[LiveBook] = set()
        self._pending_subscribe: list[LiveBook] = []
        self._pending_channels: list[ChannelStream] = []
        # paced control queue: raw messages, or (kind, symbols) rendered when they leave
        # so that a subscribe still queued can cancel against a later unsubscribe
        self._outbox: collections.deque[bytes | _Control] = collections.deque()
        self.control_coalesced = 0
        self.control_overflows = 0
        self._sent_at: collections.deque[float] = collections.deque()
        self._drain_handle: asyncio.TimerHandle | None = None
        self._closing = False
        # every book on this connection also records here, at full precision
        # (docs/memory.md); rotated with the books' histograms
        self.latency = connection_latency_set()
        self.last_intervals: dict[str, LatencyHistogram] = {}

    def __repr__(self) -> str:
        trades = f" {len(self.channels)} channel streams" if self.channels else ""
        return (f"<Connection {self.venue.name} {len(self.books)} books{trades} "
                f"{redact_url(self.ws_base)}>")

    @property
    def connected(self) -> bool:
        """True while the WebSocket is open."""
        return self.transport is not None

    def has_room(self) -> bool:
        """Whether one more stream fits within the per-connection stream limit."""
        return len(self.books) + len(self.channels) < self.engine.streams_limit(self.venue)

    @property
    def trades(self) -> list[LiveTrades]:
        """The trade streams this connection carries."""
        return [s for s in self.channels if isinstance(s, LiveTrades)]

    def add(self, book: LiveBook) -> None:
        """Carry ``book`` on this connection (subscribing on the fly if connected)."""
        self.books.append(book)
        book.connection = self
        book._attach(self)
        book._attach_latency(self.latency)
        if self.listener is not None and self.transport is not None:
            self._route(self.listener)
            book.start_sync("syncing")
            # books added in one loop iteration share one subscribe message
            self._pending_subscribe.append(book)
            if len(self._pending_subscribe) == 1:
                asyncio.get_running_loop().call_soon(self._flush_subscribe)
        if self._task is None:
            self._start_task()

    def add_channel(self, stream: ChannelStream) -> None:
        """Carry a channel stream (trades, BBO, ticker, candles; subscribing on the fly if
        connected)."""
        self.channels.append(stream)
        stream.connection = self
        stream._attach(self)
        if self.listener is not None and self.transport is not None:
            self._route(self.listener)
            self._pending_channels.append(stream)
            if len(self._pending_channels) == 1:
                asyncio.get_running_loop().call_soon(self._flush_subscribe)
        if self._task is None:
            self._start_task()

    def remove_channel(self, stream: ChannelStream) -> None:
        """Stop carrying a channel stream (what it holds stays readable)."""
        if stream in self.channels:
            self.channels.remove(stream)
            if self.listener is not None:
                self._route(self.listener)
            if self.transport is not None and not any(
                    (s.channel, s.symbol) == (stream.channel, stream.symbol)
                    for s in self.channels):    # (Coinbase BBO and ticker share one)
                self._control("unsubscribe", [stream.symbol], stream.channel)
        stream._attach(None)
        stream.close()

    def remove(self, book: LiveBook) -> None:
        """Stop carrying ``book``."""
        if book in self.books:
            self.books.remove(book)
            if self.listener is not None:
                self._route(self.listener)
            if self.transport is not None:
                self._control("unsubscribe", [book.symbol])
        if self.snapshots is not None:
            self.snapshots.cancel([book])
        book._attach_latency(None)
        book.close()

    # ------------------------------------------------------------------ connection loop

    def _start_task(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"fastfeed:{self.venue.name}")
        self._task.add_done_callback(self._on_task_done)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        """Supervisor: the run loop catches everything, but if its task still ends while
        the connection is open (a bug, or a cancel from outside), start it again."""
        if self._closing or task is not self._task:
            return
        exc = None if task.cancelled() else task.exception()
        self._record_error("connection task ended", exc or asyncio.CancelledError())
        self.restarts += 1
        self._start_task()

    def _record_error(self, what: str, exc: BaseException) -> None:
        """One failure of this connection: counted by kind, kept in ``last_error`` (the
        connection's and its books'), logged at most once per interval per kind."""
        kind = type(exc).__name__
        self.errors[kind] += 1
        self.last_error = f"{what}: {describe_exc(exc)}"
        for book in self.books:
            book.last_error = self.last_error
        for stream in self.channels:
            stream.last_error = self.last_error
        # a network or protocol failure is routine; anything else is a bug: show where
        routine = isinstance(exc, (OSError, WSError, asyncio.TimeoutError))
        rlog.log(logging.WARNING, (id(self), kind), "%s: %s", self, self.last_error,
                 exc_info=None if routine else exc)

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            self._connected_at = None
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:    # anything at all: record it, then reconnect
                self._record_error("connection failed", exc)
            if self._closing:
                break
            if self._connected_at is not None and time.monotonic() - self._connected_at > 30:
                attempt = 0     # it was a healthy connection: start backoff afresh
            delay = self.engine.backoff(attempt)
            attempt += 1
            rlog.info((id(self), "reconnect"), "%s: disconnected; reconnecting in %.2fs",
                      self, delay)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        """Connect, serve until the socket closes; raises whatever ended it abnormally."""
        # Binance: the first streams in the URL (a short one), the rest by SUBSCRIBE once
        # connected (on_listener_connected), paced under the venue's control-message limit
        # The URL names streams of one channel: the books, or (a trade-only connection)
        # the first trade stream's channel; the others are subscribed once connected.
        channel = BOOK if self.books or not self.channels else self.channels[0].channel
        in_url: list[LiveBook | ChannelStream] = (
            list(self.books) if channel == BOOK
            else [t for t in self.channels if t.channel == channel])
        if self.venue.max_url_streams is not None:
            in_url = in_url[:self.venue.max_url_streams]
        self._in_url = set(in_url)
        url = self.venue.connection_url(self.ws_base, [b.symbol for b in in_url], channel)
        errors_before = sum(self.errors.values())
        try:
            transport, listener = await ws_connect(self._new_listener, url,
                websocket_handshake_timeout=self.engine.connect_timeout,
                max_frame_size=self.engine.max_frame_size,
                use_aiofastnet=False,
                logger_name=f"fastfeed.{self.venue.name}",
            )
        except Exception as exc:     # OSError, WSError, TimeoutError, anything: retry
            self.connect_failures += 1
            self._record_error(f"cannot connect to {redact_url(url)}", exc)
            return
        if self.transport is not transport:
            # picows returns a transport when the server closes without answering the
            # upgrade (e.g. a request line too long for it), or when the listener failed
            # the handshake itself (a reason is then recorded already): not a connection
            self.connect_failures += 1
            transport.disconnect(False)
            if sum(self.errors.values()) > errors_before:
                return
            self._record_error(f"cannot connect to {redact_url(url)}", ConnectionError(
                f"the server closed the connection without answering the WebSocket "
                f"upgrade (request {len(url)} bytes of URL)"))
            return
        self.listener = cast(FeedListener, listener)
        self._connected_at = time.monotonic()
        watchdog = asyncio.create_task(self._watch_stale(transport, self.listener))
        try:
            # what was added during the handshake (or beyond the URL) is routed too
            self._route(self.listener)
            # raises what picows saw: a protocol violation, an exception in a callback
            await transport.wait_disconnected()
        finally:
            watchdog.cancel()
            if self.transport is transport:
                # (a failure before picows' disconnect callback: the books go stale here)
                self.on_listener_disconnected(transport)
                transport.disconnect(False)
            self.transport = None   # the listener stays readable for its counters

    def _new_listener(self) -> FeedListener:
        listener = FeedListener(self.venue.name, self, self.books,
                                self.engine.max_message_bytes, self.engine.read_interval)
        recorder = self.engine.recorder
        if recorder is not None:
            listener.recorder = recorder.buffer
            listener.record_conn = self.record_conn = recorder.connection(
                self.venue.name, redact_url(self.ws_base), self.route)
        self._route(listener)
        return listener

    def _route(self, listener: FeedListener) -> None:
        """Route this connection's books and channel streams (replacing the tables)."""
        listener.set_cores(self.books)
        listener.router.set_channel_cores(self.channels)
        if self.engine.recorder is not None and listener.recorder is not None:
            self.engine.recorder.route(listener.record_conn, self.books, self.channels)

    async def _watch_stale(self, transport: Any, listener: FeedListener) -> None:
        """One watchdog per connection (docs/robustness.md, "Silence"). A heartbeat venue's
        connection without a frame for ``stale_after`` is reopened. Elsewhere silence may
        be a quiet market: a connection idle for half of ``stale_after`` gets a PING
        (paced with the control messages) and is reopened only when nothing, not even
        the PONG, arrived within ``stale_after``. With ``Engine(book_stale_after=)`` a
        live book silent that long is resynced."""
        limit_ns = int(self.engine.stale_limit(self.venue) * 1e9)
        book_limit = self.engine.book_stale_after
        book_ns = int(book_limit * 1e9) if book_limit else 0
        keepalive = not self.venue.sends_heartbeats
        period = min(limit_ns, book_ns or limit_ns) / 4e9
        text = self.venue.keepalive_text
        if text is not None:
            period = min(period, self.venue.keepalive_every / 4)
        start = last_text = monotonic_time_ns()
        every_ns = int(self.venue.keepalive_every * 1e9)
        while True:
            await asyncio.sleep(max(0.05, period))
            now = monotonic_time_ns()
            silent = now - max(listener.last_frame_ns, start)
            if silent > limit_ns:
                self.stale_disconnects += 1
                self.last_error = (f"nothing from the server for {limit_ns / 1e9:.1f}s, not "
                                   f"even a pong to our ping" if keepalive else
                                   f"no data for {limit_ns / 1e9:.1f}s (heartbeats stopped)")
                rlog.warning((id(self), "stale"), "%s: %s; reconnecting", self, self.last_error)
                transport.disconnect(False)
                return
            if text is not None:
                # the venue's own ping, on its schedule (and when idle): its pong counts
                if ((now - last_text >= every_ns or (keepalive and silent > limit_ns // 2
                                                     and now - last_text >= every_ns // 4))
                        and self._take_control_slot()):
                    transport.send(WSMsgType.TEXT, text)
                    last_text = now
                    self.keepalive_pings += 1
            elif keepalive and silent > limit_ns // 2 and self._take_control_slot():
                transport.send_ping(b"fastfeed")   # any frame back counts (its PONG)
                self.keepalive_pings += 1
            if book_ns:
                self._resync_silent_books(now, book_ns)

    def _resync_silent_books(self, now: int, limit_ns: int) -> None:
        """Live books whose last message is older than ``limit_ns`` (or that never had
        one since going live) are no longer trusted: marked ``gap`` and resynced."""
        for book in self.books:
            if book.is_live and now - max(book.last_recv_ns, book._live_since_ns) > limit_ns:
                self.stale_books += 1
                book.gaps_on_connection(f"no message for this book for "
                                        f"{limit_ns / 1e9:.0f}s (book_stale_after)")

    # ------------------------------------------------------------------ listener events

    def on_listener_connected(self, transport: Any) -> None:
        """Connected: every book starts syncing afresh."""
        self.transport = transport
        self.connects += 1
        for book in self.books:
            book.start_sync("syncing")
        # in-band venues subscribe everything now; Binance what the URL did not carry
        rest = [b.symbol for b in self.books
                if not self.venue.uses_rest_snapshots or b not in self._in_url]
        if rest:
            self._control("subscribe", rest)
        self._subscribe_channels([t for t in self.channels
                                  if not self.venue.uses_rest_snapshots or t not in self._in_url])
        for stream in self.channels:
            if self.venue.uses_rest_snapshots and stream in self._in_url:
                stream.resume()     # subscribed by the URL itself
        for book in self.books:
            self._start_sync(book)

    def _subscribe_channels(self, streams: list[ChannelStream]) -> None:
        """One subscribe per channel for ``streams`` (a symbol once per channel)."""
        by_channel: dict[str, list[str]] = {}
        for t in streams:
            symbols = by_channel.setdefault(t.channel, [])
            if t.symbol not in symbols:
                symbols.append(t.symbol)
        for channel, symbols in by_channel.items():
            self._control("subscribe", symbols, channel)

    def on_listener_disconnected(self, transport: Any) -> None:
        """Lost the socket: nothing on it can be trusted until resynced."""
        if self.transport is not None and transport is not self.transport:
            self.late_events += 1
            return      # a late event from an earlier connection: the current one is fine
        self.transport = None
        if self.engine.recorder is not None:
            self.engine.recorder.event("disconnect", conn=self.record_conn)
        if self.snapshots is not None:
            self.snapshots.cancel(self.books)   # the reconnect syncs them afresh
        for book in self.books:
            if book.state != "closed":
                book.mark_stale("disconnected")
        for stream in self.channels:
            stream.mark_stale()

    def on_listener_protocol_error(self, reason: str) -> None:
        """The listener is failing the connection (it closes with 1002; we reconnect)."""
        self._record_error("protocol violation", ProtocolViolation(reason))

    def on_listener_close_frame(self, code: Any, reason: str) -> None:
        """The server closed the connection (Binance does every 24 h): routine."""
        self.server_closes += 1
        if self.engine.recorder is not None:
            self.engine.recorder.event("close_frame", conn=self.record_conn,
                                       code=None if code is None else int(code),
                                       reason=venue_text(reason))
        rlog.info((id(self), "close"), "%s: server closed the connection (%s %s)", self, code,
                  venue_text(reason))

    # ------------------------------------------------------------------ router reports

    def on_router_reject(self, text: str, head: bytes) -> None:
        """A payload on this connection could not be used at all."""
        rlog.warning((id(self), "reject"), "%s: rejected frame (%s): %s", self,
                     venue_text(text), venue_text(head, 64))

    def on_router_control(self, payload: bytes, is_error: bool) -> None:
        """Subscribe acks and venue error messages."""
        if is_error:
            self.last_error = f"venue error: {venue_text(payload)}"
            rlog.warning((id(self), "venue_error"), "%s: %s", self, self.last_error)
        else:
            log.debug("%s: control %s", self, venue_text(payload))

    def on_router_connection_gap(self, reason: str) -> None:
        """Messages were lost on this connection: the router marked its live books ``gap``
        (each then asked for its resync through ``on_book_gap``)."""
        rlog.warning((id(self), "connection_gap"), "%s: %s; resyncing all %d books", self,
                     venue_text(reason), len(self.books))

    # ------------------------------------------------------------------ book events

    def on_book_gap(self, book: LiveBook, reason: str) -> None:
        """A book turned invalid: resync it (REST snapshot, or resubscribe in-band)."""
        if book.state != "gap" or self.transport is None:
            return      # stale/closed: the reconnect path resyncs
        rlog.warning((id(book), "gap"), "%s:%s gap: %s", book.venue, book.symbol,
                     venue_text(reason))
        if self.venue.uses_rest_snapshots:
            self._start_sync(book)
        else:
            self._resubscribe.add(book)
            if len(self._resubscribe) == 1:
                asyncio.get_running_loop().call_soon(self._flush_resubscribe)

    def on_book_reject(self, book: LiveBook, text: str) -> None:
        """A book refused an update (logged; the book's state says what it means)."""
        book.last_error = venue_text(text)
        rlog.warning((id(book), "reject"), "%s:%s rejected message: %s", book.venue,
                     book.symbol, book.last_error)

    def on_book_buffered(self, book: LiveBook) -> None:
        """A syncing book's stream delivered its first event: the snapshot may follow."""
        if self.snapshots is not None:
            self.snapshots.on_first_event(book)

    def on_trades_gap(self, stream: LiveTrades, reason: str) -> None:
        """A trade stream lost trades (ids jumped, or the connection lost messages): the
        stream says so (``gap``, ``missing``); backfilling is the user's (docs/venues.md,
        "Live trade streams")."""
        stream.last_error = venue_text(reason)
        rlog.warning((id(stream), "gap"), "%s:%s %s trades lost: %s", stream.venue,
                     stream.symbol, stream.channel, stream.last_error)
        if self.engine.backfill:
            # heal the missing ids from REST within the shared weight budget (a range
            # the venue cannot serve is reported on the stream: docs/venues.md "Backfill")
            self.engine.backfiller(self.venue, self.rest).request(stream)

    def on_trades_reject(self, stream: LiveTrades, text: str) -> None:
        """A trade stream refused a message (counted; logged at a bounded rate)."""
        stream.last_error = venue_text(text)
        rlog.warning((id(stream), "reject"), "%s:%s %s rejected message: %s", stream.venue,
                     stream.symbol, stream.channel, stream.last_error)

    def on_quotes_gap(self, stream: Any, reason: str) -> None:
        """A BBO or ticker stream's connection lost messages (counted; the next quote
        replaces what may be old). A delta-merging ticker that lost its snapshot
        (docs/venues.md, "Bybit tickers") is resubscribed for a fresh one."""
        stream.last_error = venue_text(reason)
        if (getattr(stream, "merges_deltas", False) and not stream.has_snapshot
                and stream in self.channels and self.transport is not None):
            self._control("unsubscribe", [stream.symbol], stream.channel)
            self._control("subscribe", [stream.symbol], stream.channel)

    def on_quotes_reject(self, stream: Any, text: str) -> None:
        """A BBO or ticker stream refused a message (counted; logged at a bounded rate)."""
        stream.last_error = venue_text(text)
        rlog.warning((id(stream), "reject"), "%s:%s %s rejected message: %s", stream.venue,
                     stream.symbol, stream.channel, stream.last_error)

    on_candles_gap = on_quotes_gap
    on_candles_reject = on_quotes_reject

    def on_book_live(self, book: LiveBook) -> None:
        """A snapshot made the book live: whoever waits for it looks again."""
        book._went_live_now()

    def _flush_resubscribe(self) -> None:
        symbols = [b.symbol for b in self._resubscribe if b.state == "gap"]
        self._resubscribe.clear()
        if symbols and self.transport is not None:
            self._control("unsubscribe", symbols)
            self._control("subscribe", symbols)

    def _flush_subscribe(self) -> None:
        books = [b for b in self._pending_subscribe if b in self.books]
        trades = [t for t in self._pending_channels if t in self.channels]
        self._pending_subscribe.clear()
        self._pending_channels.clear()
        if self.transport is None:
            return
        if books:
            self._control("subscribe", [b.symbol for b in books])
            for book in books:
                self._start_sync(book)
        self._subscribe_channels(trades)

    def _control(self, kind: str, symbols: list[str], channel: str = BOOK) -> None:
        """Queue a ``subscribe``/``unsubscribe`` of ``symbols`` on ``channel``. A symbol
        whose latest queued entry (same channel) is a subscribe not yet sent: an
        unsubscribe cancels it (neither is sent), a second subscribe is dropped. (An
        unsubscribe followed by a subscribe is a deliberate resubscribe and is kept.)"""
        if self.transport is None:
            return      # a reconnect resubscribes everything anyway
        keep = []
        for symbol in symbols:
            latest = next((e for e in reversed(self._outbox)
                           if isinstance(e, _Control) and e.channel == channel
                           and symbol in e.symbols), None)
            if latest is not None and latest.kind == "subscribe":
                self.control_coalesced += 1
                if kind == "unsubscribe":
                    latest.symbols.remove(symbol)
                    if not latest.symbols:
                        self._outbox.remove(latest)
                    self._wake_outbox_waiters()
                continue
            keep.append(symbol)
        if keep:
            self._enqueue([_Control(kind, keep, channel)])

    def _send(self, messages: list[bytes]) -> None:
        """Queue control messages; they leave at most ``max_control_per_second`` a second
        (Binance drops connections that send more than 5 a second)."""
        if self.transport is not None:
            self._enqueue(messages)

    def _enqueue(self, entries: Sequence[bytes | _Control]) -> None:
        self._outbox.extend(entries)
        if len(self._outbox) > self.engine.max_control_queue:
            # the venue is far behind what we want: reconnecting subscribes exactly the
            # current books, in the URL or one message (docs/robustness.md)
            self.control_overflows += 1
            self._outbox.clear()
            self._wake_outbox_waiters()
            self.last_error = (f"control queue over {self.engine.max_control_queue} "
                               f"messages; reconnecting to resubscribe")
            rlog.warning((id(self), "control_overflow"), "%s: %s", self, self.last_error)
            self.transport.disconnect(False)
            return
        if self._drain_handle is None:     # exactly one drain timer per connection
            self._drain_outbox()

    def _drain_outbox(self) -> None:
        self._drain_handle = None
        if self.transport is None:
            self._outbox.clear()    # a reconnect resubscribes everything anyway
            self._wake_outbox_waiters()
            return
        now = self._prune_sent_at()
        while self._outbox and len(self._sent_at) < self.venue.max_control_per_second:
            entry = self._outbox.popleft()
            if isinstance(entry, _Control):     # render now; its messages go first
                if entry.symbols:
                    rendered = [_Rendered(m) for m in entry.render(self.venue)]
                    if entry.kind == "subscribe" and entry.channel == BOOK:
                        for m in rendered:
                            m.subscribes = tuple(entry.symbols)
                    elif entry.kind == "subscribe":
                        self._channels_subscribed(entry.channel, entry.symbols)
                    self._outbox.extendleft(reversed(rendered))
                continue
            self.transport.send(WSMsgType.TEXT, entry)
            self._sent_at.append(now)
            self.control_sent += 1
        self._wake_outbox_waiters()
        if self._outbox:
            delay = 1.0 - (now - self._sent_at[0])
            self._drain_handle = asyncio.get_running_loop().call_later(delay,
                                                                       self._drain_outbox)

    def _prune_sent_at(self) -> float:
        """Forget control messages older than a second; returns the time now."""
        now = time.monotonic()
        while self._sent_at and now - self._sent_at[0] >= 1.0:
            self._sent_at.popleft()
        return now

    def _take_control_slot(self) -> bool:
        """Reserve one of this second's control messages (a keep-alive PING) if one is
        free: the venue counts pings against the same per-second limit."""
        now = self._prune_sent_at()
        if len(self._sent_at) >= self.venue.max_control_per_second:
            return False
        self._sent_at.append(now)
        return True

    def _channels_subscribed(self, channel: str, symbols: list[str]) -> None:
        # their subscribe is leaving now: live (the next messages carry their data)
        wanted = set(symbols)
        for stream in self.channels:
            if stream.channel == channel and stream.symbol in wanted:
                stream.resume()

    def _wake_outbox_waiters(self) -> None:
        # books whose subscribe just left the queue may fetch their snapshot now
        if self.snapshots is not None:
            self.snapshots.on_control_moved(self)

    def pending_subscribes(self) -> set[str]:
        """Symbols whose book subscribe still waits in the paced control queue."""
        out: set[str] = set()
        for e in self._outbox:
            if isinstance(e, _Control):
                if e.kind == "subscribe" and e.channel == BOOK:
                    out.update(e.symbols)
            else:
                out.update(getattr(e, "subscribes", ()))
        return out

    def subscribe_pending(self, symbol: str) -> bool:
        """True while a subscribe of ``symbol`` waits in the paced control queue."""
        return symbol in self.pending_subscribes()

    def _start_sync(self, book: LiveBook) -> None:
        if self.snapshots is not None:
            self.snapshots.request(book, self)

    async def close(self) -> None:
        """Close the socket and cancel every task of this connection."""
        self._closing = True
        if self._drain_handle is not None:
            self._drain_handle.cancel()
        if self.snapshots is not None:
            self.snapshots.cancel(self.books)
        if self.transport is not None:
            self.transport.send_close()
            self.transport.disconnect()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        for book in self.books:
            book.close()
        for stream in self.channels:
            stream.close()

    def stats(self) -> dict[str, Any]:
        """Connection counters (listener counters included when connected)."""
        out: dict[str, Any] = {
            "venue": self.venue.name, "url": redact_url(self.ws_base), "books": len(self.books),
            "channel_streams": len(self.channels), "route": self.route,
            "connected": self.connected, "connects": self.connects,
            "connect_failures": self.connect_failures, "server_closes": self.server_closes,
            "stale_disconnects": self.stale_disconnects, "control_sent": self.control_sent,
            "keepalive_pings": self.keepalive_pings,
            "control_queued": len(self._outbox), "control_coalesced": self.control_coalesced,
            "control_overflows": self.control_overflows,
            "late_events": self.late_events, "stale_books": self.stale_books,
            "errors": dict(self.errors), "restarts": self.restarts,
            "last_error": self.last_error,
        }
        if self.listener is not None:
            out.update(self.listener.counters())
        out["memory"] = self.memory()
        return out

    def memory(self) -> dict[str, int]:
        """Bytes this connection holds beside its books (docs/memory.md): ``latency``
        (its full-precision histograms and last intervals), ``scratch`` (the listener's
        decode batch), ``objects`` (the router and its symbol table), ``total``."""
        latency = self.latency.memory_bytes() + sum(
            h.nbytes + sys.getsizeof(h) for h in self.last_intervals.values())
        out = {"latency": latency, "scratch": 0, "objects": 0}
        if self.listener is not None:
            for part, n in self.listener.router.memory().items():
                out[part] += n
        out["total"] = sum(out.values())
        return out


class Engine:
    """Keeps live books from venue WebSocket feeds.

    ``async with fastfeed.Engine() as engine: book = await engine.subscribe("binance",
    "BTCUSDT")``. Options: ``rest_weight_share`` — the most of a venue's per-minute REST
    weight this engine spends in any rolling minute (snapshots are the expensive part); ``snapshot_limit`` —
    levels per snapshot (venue default); ``streams_per_connection`` — cap below the venue
    limit to spread books over more connections; ``reconnect_base``/``reconnect_cap`` —
    backoff seconds; ``stale_after`` — seconds of silence before reconnecting (venue
    default); ``snapshot_concurrency`` — snapshot requests in flight per venue;
    ``max_message_bytes`` — larger messages are refused (counted as ``oversized``) before
    decoding; ``max_frame_size`` — picows' per-frame limit (it closes the connection).
    REST against broken servers: ``max_body_bytes`` — larger responses are refused;
    ``max_retry_after`` — the longest pause a 429/418 ``Retry-After`` may impose;
    ``redirect_hosts`` — other hosts a REST redirect may go to (none by default);
    ``max_control_queue`` — queued subscribe/unsubscribe messages per connection beyond
    which the queue is dropped and the connection reconnects (counted ``control_overflows``).
    ``first_event_timeout`` — seconds a REST-synced book waits for its first stream event
    before taking the snapshot anyway; it then goes live flagged ``idle`` (the snapshot
    alone, not yet confirmed by its stream) until that event arrives.
    Snapshots (``fastfeed.snapshots``): ``snapshot_horizon`` — seconds within which the
    queue of books waiting for a snapshot should drain; when the weight budget cannot
    fetch them all at ``snapshot_limit`` in that time, books get shallower snapshots
    (``book.snapshot_limit`` says which; a fixed ``snapshot_limit`` turns this off);
    ``snapshot_retry_cap`` — the longest pause between attempts for a snapshot that keeps
    failing (the book stays ``syncing`` with ``last_error`` saying why and when).
    ``book_stale_after`` — seconds without a message for one live book after which it is
    resynced (off by default: a quiet Binance symbol legitimately sends nothing).
    ``audit_every`` — every that many seconds, audit one live REST-synced book against a
    fresh ``audit_limit``-level snapshot and heal it if it differs (``fastfeed.audit``;
    off by default).

    Latency: every book records receive→applied, receive→published (callback returned),
    exchange time→receive and resync duration into HdrHistogram-layout histograms
    (``book.latency``) at the precision ``book_latency`` names: ``"coarse"`` (default:
    within 6.25 %, ~2 KiB a histogram), ``"full"`` (within 0.1 %, ~108 KiB a histogram)
    or ``"off"`` (none; ``book.latency`` is None). Each connection records the same
    stages for all of its books at full precision (``connection.latency``), so the
    engine's hot-path latency is exact to 0.1 % whatever the per-book mode
    (docs/memory.md). With ``latency_interval`` the engine rotates them every that many
    seconds: each book's interval goes to ``on_latency(book, {name: histogram})``, to
    the ``.hlog`` file ``hlog_path`` (one tagged line per book and histogram,
    ``venue:SYMBOL:name``, and per connection, ``venue:connection-N:name``; readable by
    the HdrHistogram tools), and to ``book.last_intervals`` (``connection.last_intervals``);
    ``.latency.cumulative(name)`` keeps the totals. ``stats()["memory"]`` reports the
    bytes the engine holds.

    Trades: with ``backfill`` (default) a trade stream's detected loss (ids jumped) is
    healed from the venue's REST trades within the shared weight budget (at most half
    of it; ``fastfeed.backfill``, docs/venues.md "Backfill"); what cannot be healed is
    reported on the stream. ``stats()["backfill"]`` counts it.

    CPU at low rates (docs/robustness.md, "Read batching"): with ``read_interval=S``
    (at most 0.1) each connection's socket is read at most once every S seconds; frames
    that arrive meanwhile wait in the kernel and are handled in one wake-up. It trades up
    to S of added latency (before the receive stamp, so ``recv_to_apply`` does not show
    it; ``exchange_to_recv`` does) for far fewer wake-ups when many quiet books share a
    connection; a frame after a quiet spell is read at once. Off (0) by default.

    Recording (``docs/recording.md``): with ``record=PATH`` every message received, every
    REST body used and every operation on a book or stream is written to ``PATH`` by a
    background thread (``fastfeed replay`` reproduces the books from it; ``stats()
    ["recording"]`` counts what was written and dropped). ``close()`` finishes the file.

    Shared memory (``docs/shm.md``): with ``shm="NAME"`` the engine creates
    ``/dev/shm/NAME`` and publishes every book's top ``shm_depth`` levels into it after each
    applied message, for ``fastfeed.shm.Reader`` in other processes; ``shm_books`` books
    fit (a subscribe beyond that raises ``SubscribeError``). ``close()`` unlinks it.

    Fan-out (``docs/fanout.md``): with ``nats="nats://host:port"`` every book's changes
    go to NATS JetStream (deltas coalesced per loop turn, snapshots after each resync and
    every ``snapshot_every`` seconds, status events; wire format ``docs/wire.md``) for
    ``fastfeed.fanout.BookConsumer`` anywhere; ``nats_options`` are
    :class:`fastfeed.fanout.NatsPublisher` keywords. The ingestion loop never waits on
    NATS: a slow or lost server makes books coalesce, then resend whole.
    """

    def __init__(self, *, rest_weight_share: float = 0.9, snapshot_limit: int | None = None,
                 streams_per_connection: int | None = None, reconnect_base: float = 0.1,
                 reconnect_cap: float = 10.0, stale_after: float | None = None,
                 snapshot_concurrency: int = 4, connect_timeout: float = 10.0,
                 max_frame_size: int = 8 * 1024 * 1024,
                 max_message_bytes: int = 4 * 1024 * 1024,
                 retry: RetryPolicy | None = None,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
                 redirect_hosts: tuple[str, ...] = (), max_control_queue: int = 1000,
                 first_event_timeout: float = 5.0, snapshot_horizon: float = 30.0,
                 snapshot_retry_cap: float = 60.0, book_stale_after: float | None = None,
                 audit_every: float | None = None, audit_limit: int = 100,
                 latency_interval: float | None = None, hlog_path: str | None = None,
                 on_latency: LatencyCallback | None = None, shm: str | None = None,
                 shm_books: int = 1024, shm_depth: int = 20,
                 book_latency: str = "coarse", read_interval: float = 0.0,
                 backfill: bool = True, record: str | None = None,
                 nats: str | None = None, nats_options: dict[str, Any] | None = None) -> None:
        if not 0 < rest_weight_share <= 1:
            raise ValueError("rest_weight_share must be in (0, 1]")
        self.rest_weight_share = rest_weight_share
        self.snapshot_limit = snapshot_limit
        self.streams_per_connection = streams_per_connection
        self.reconnect_base = reconnect_base
        self.reconnect_cap = reconnect_cap
        self.stale_after = stale_after
        self.snapshot_concurrency = snapshot_concurrency
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self.max_message_bytes = max_message_bytes
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self.max_retry_after = max_retry_after
        self.redirect_hosts = redirect_hosts
        self.max_control_queue = max_control_queue
        if first_event_timeout < 0:
            raise ValueError("first_event_timeout must be >= 0")
        self.first_event_timeout = first_event_timeout
        if snapshot_horizon <= 0 or snapshot_retry_cap <= 0:
            raise ValueError("snapshot_horizon and snapshot_retry_cap must be positive")
        if snapshot_concurrency < 1:
            raise ValueError("snapshot_concurrency must be >= 1")
        self.snapshot_horizon = snapshot_horizon
        self.snapshot_retry_cap = snapshot_retry_cap
        if book_stale_after is not None and book_stale_after <= 0:
            raise ValueError("book_stale_after must be positive (or None)")
        self.book_stale_after = book_stale_after
        if audit_every is not None and audit_every <= 0:
            raise ValueError("audit_every must be positive (or None)")
        self.auditor = Auditor(self, audit_every, audit_limit) if audit_every else None
        self.books: list[LiveBook] = []
        self.streams: list[ChannelStream] = []     # trades, BBO, tickers, candles
        self.connections: list[Connection] = []
        self._rest: dict[tuple[str, str], RestClient] = {}
        self._schedulers: dict[RestClient, SnapshotScheduler] = {}
        self._backfillers: dict[RestClient, Backfiller] = {}
        self.backfill = backfill
        self._instruments: dict[tuple[str, str, str], Instrument] = {}
        # instrument lookups asked for in one loop turn go out as one batched request
        self._lookups: dict[tuple[str, str], dict[str, asyncio.Future[Instrument]]] = {}
        self._closed = False
        if latency_interval is not None and latency_interval <= 0:
            raise ValueError("latency_interval must be positive")
        self.latency_interval = latency_interval
        self.on_latency = on_latency
        if book_latency not in BOOK_LATENCY:
            raise ValueError(f"book_latency must be one of {', '.join(BOOK_LATENCY)}, "
                             f"got {book_latency!r}")
        self.book_latency = book_latency
        self._hlog = HlogWriter(hlog_path) if hlog_path else None
        self._rotation: asyncio.Task[None] | None = None
        #: Token Metrics price streams (Python-level, docs/venues.md "Token Metrics")
        self.price_streams: list[PriceStream] = []
        if not 0 <= read_interval <= MAX_READ_INTERVAL:
            raise ValueError(f"read_interval must be within 0..{MAX_READ_INTERVAL} seconds")
        self.read_interval = read_interval
        self.shm: Publisher | None = Publisher(shm, shm_books, shm_depth) if shm else None
        self._shm_bytes = segment_size(shm_books, shm_depth) if shm else 0
        self.recorder: Recorder | None = Recorder(record) if record else None
        self.nats: NatsPublisher | None = (NatsPublisher(nats, **(nats_options or {}))
                                           if nats else None)

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ policy

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter."""
        return random.uniform(0, min(self.reconnect_cap, self.reconnect_base * 2**attempt))

    def streams_limit(self, venue: Venue) -> int:
        """Books per connection for ``venue``."""
        limit = venue.max_streams_per_connection
        if self.streams_per_connection:
            limit = min(limit, self.streams_per_connection)
        return limit

    def stale_limit(self, venue: Venue) -> float:
        """Seconds of silence before a connection is dropped and reopened."""
        return self.stale_after if self.stale_after is not None else venue.stale_after

    def rest_client(self, venue: Venue, rest_url: str) -> RestClient:
        """The shared REST client (and weight budget) for a venue endpoint."""
        key = (venue.name, rest_url)
        if key not in self._rest:
            budget = WeightBudget(venue.weight_per_minute * self.rest_weight_share)
            rest = RestClient(rest_url, budget, self.retry, max_body_bytes=self.max_body_bytes,
                              max_retry_after=self.max_retry_after,
                              redirect_hosts=self.redirect_hosts)
            rest.on_throttle = lambda text: self._on_rest_throttle(rest, text)
            if self.recorder is not None:
                rest.on_body = self.recorder.rest_body
            self._rest[key] = rest
        return self._rest[key]

    def _on_rest_throttle(self, rest: RestClient, text: str) -> None:
        # books waiting on this budget would otherwise sit in `syncing` saying nothing
        for book in self.books:
            if book.connection is not None and book.connection.rest is rest \
                    and not book.is_live:
                book.last_error = text

    def backfiller(self, venue: Venue, rest: RestClient) -> Backfiller:
        """The trade backfill queue of a venue endpoint (one per REST client)."""
        if rest not in self._backfillers:
            self._backfillers[rest] = Backfiller(rest, venue)
        return self._backfillers[rest]

    def snapshot_scheduler(self, venue: Venue, rest: RestClient) -> SnapshotScheduler:
        """The snapshot queue of a venue endpoint (one per REST client)."""
        if rest not in self._schedulers:
            self._schedulers[rest] = SnapshotScheduler(self, cast(Any, venue), rest)
        return self._schedulers[rest]

    # ------------------------------------------------------------------ API

    async def instrument(self, venue: str, symbol: str, rest_url: str | None = None,
                         ws_url: str | None = None) -> Instrument:
        """Tick/step sizes for a symbol (fetched once, then cached). ``ws_url``: where a
        venue that looks instruments up over its WebSocket (Kraken) does so."""
        spec = get_venue(venue)
        rest_url = rest_url or spec.rest_url
        if spec.instruments_over_ws:
            rest_url = ws_url or spec.ws_url     # the lookup's endpoint is the WebSocket
        key = (venue, rest_url, symbol)
        if key not in self._instruments:
            info = await self._lookup(spec, rest_url, symbol)
            problem = _unusable(venue, info)
            if problem is not None:     # never cached: a later call asks the venue again
                raise RestError(f"unusable instrument from {redact_url(rest_url)}: {problem}")
            self._instruments[key] = info
        return self._instruments[key]

    def _lookup(self, spec: Venue, rest_url: str, symbol: str) -> asyncio.Future[Instrument]:
        """A future for ``symbol``'s instrument; lookups of one loop turn share a request."""
        batch_key = (spec.name, rest_url)
        batch = self._lookups.get(batch_key)
        if batch is None:
            batch = self._lookups[batch_key] = {}
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self._run_lookups(spec, rest_url, batch_key)))
        if symbol not in batch:
            batch[symbol] = asyncio.get_running_loop().create_future()
        return batch[symbol]

    async def _run_lookups(self, spec: Venue, rest_url: str, batch_key: tuple[str, str]) -> None:
        batch = self._lookups.pop(batch_key)
        try:
            if spec.instruments_over_ws:    # rest_url is then the WebSocket URL (Kraken)
                found = await spec.instruments_ws(rest_url, list(batch))
            else:
                found = await spec.instruments(self.rest_client(spec, rest_url), list(batch))
        except Exception as exc:    # anything: every waiter hears it
            found = {s: RestError(describe_exc(exc)) for s in batch}
        for symbol, fut in batch.items():
            if fut.done():
                continue
            result = found.get(symbol, RestError(f"no instrument data for {symbol}"))
            if isinstance(result, BaseException):
                fut.set_exception(result)
            else:
                fut.set_result(result)

    async def subscribe(self, venue: str, symbol: str, *, ws_url: str | None = None,
                        rest_url: str | None = None, tick_size: str | None = None,
                        step_size: str | None = None, callback: BookCallback | None = None,
                        callback_per_read: bool = False, wait: bool = True,
                        timeout: float = 30.0) -> LiveBook:
        """Start keeping ``symbol``'s book on ``venue`` and return its handle.

        ``ws_url``/``rest_url`` override the venue endpoints (testnets, proxies, the
        simulator). ``tick_size``/``step_size`` skip the instrument lookup. ``callback``
        is called with the book after every applied message, inside the hot path: it
        costs one Python call (~0.1 µs) plus whatever it does, and delays every later
        message on the connection — keep it short; with ``callback_per_read`` it runs
        once per socket read that applied any (docs/architecture.md, "Per read, not per
        frame"). With ``wait`` (default) this returns
        once the book is live, raising ``SubscribeError`` after ``timeout`` seconds.
        """
        if self._closed:
            raise SubscribeError("engine is closed")
        spec = get_venue(venue)
        symbol = spec.normalize_symbol(symbol)
        ws_url = ws_url or spec.ws_url
        rest_url = rest_url or spec.rest_url
        for existing in self.books:
            if existing.venue == venue and existing.symbol == symbol \
                    and existing.connection is not None and existing.connection.ws_base == ws_url:
                raise SubscribeError(f"{venue}:{symbol} is already subscribed")
        instrument = await self._scales(venue, symbol, rest_url, tick_size, step_size,
                                        ws_url=ws_url)
        book = LiveBook(venue, symbol, instrument, self.book_latency)
        book.callback = callback
        book.callback_per_read = callback_per_read
        if self.recorder is not None:
            self.recorder.declare(book, "book", **book.declaration())
            book.recorder = self.recorder
        if self.shm is not None:
            try:
                self.shm.attach(book)
            except (SegmentFull, ValueError) as exc:
                raise SubscribeError(f"{venue}:{symbol}: shared memory: {exc}") from None
            self.shm.start_heartbeat()
        if self.nats is not None:
            self.nats.attach(book)
            self.nats.start()
        conn = self._connection_for(spec, ws_url, rest_url, spec.channel_route(BOOK))
        self.books.append(book)
        conn.add(book)
        if self.auditor is not None:
            self.auditor.start()
        if self.latency_interval is not None and self._rotation is None:
            self._rotation = asyncio.create_task(self._rotate_latency(self.latency_interval),
                                                 name="fastfeed:latency")
        if wait:
            try:
                await book.wait_live(timeout)
            except asyncio.TimeoutError:
                detail = book.last_error or conn.last_error or "no snapshot yet"
                raise SubscribeError(f"{venue}:{symbol} not live after {timeout:.0f}s "
                                     f"(state {book.state}): {detail}") from None
        return book

    async def _scales(self, venue: str, symbol: str, rest_url: str, tick_size: str | None,
                      step_size: str | None, ws_url: str | None = None) -> Instrument:
        """The instrument's tick/step: given, or looked up (batched, cached); a looked-up
        instrument keeps its venue fields (Kraken's checksum precisions)."""
        if tick_size is None or step_size is None:
            try:
                info = await self.instrument(venue, symbol, rest_url, ws_url)
            except RestError as exc:
                spec = get_venue(venue)     # Kraken looks up over its WebSocket
                where = (ws_url or spec.ws_url) if spec.instruments_over_ws else rest_url
                raise SubscribeError(f"{venue}:{symbol}: cannot get tick/step sizes from "
                                     f"{redact_url(where)}: {exc}") from exc
            instrument = dataclasses.replace(info, tick_size=tick_size or info.tick_size,
                                             step_size=step_size or info.step_size)
        else:
            instrument = Instrument(symbol, tick_size, step_size)
        problem = _unusable(venue, instrument)
        if problem is not None:
            raise SubscribeError(f"{venue}:{symbol}: {problem} (given, or from "
                                 f"{redact_url(rest_url)})")
        return instrument

    def _connection_for(self, spec: Venue, ws_url: str, rest_url: str,
                        route: str) -> Connection:
        """A connection of this endpoint and route with room for one more stream."""
        rest = self.rest_client(spec, rest_url)
        conn = next((c for c in self.connections if c.venue is spec and c.ws_base == ws_url
                     and c.rest is rest and c.route == route and c.has_room()), None)
        if conn is None:
            conn = Connection(self, spec, ws_url, rest, route)
            self.connections.append(conn)
        return conn

    async def subscribe_trades(self, venue: str, symbol: str, *, stream: str | None = None,
                               capacity: int = DEFAULT_CAPACITY, ws_url: str | None = None,
                               rest_url: str | None = None, tick_size: str | None = None,
                               step_size: str | None = None,
                               callback: TradesCallback | None = None,
                               callback_per_read: bool = False) -> LiveTrades:
        """Start recording ``symbol``'s trades on ``venue`` and return the stream's handle
        (:class:`fastfeed.trades.LiveTrades`), live at once: a trade stream needs no
        snapshot. It shares connections with books and other streams within the venue's
        stream limit (USD-M serves trades on another route, so on other connections).

        ``stream`` picks the venue's trade stream (``Venue.trade_streams``; default its
        first: Binance ``aggTrade``, Coinbase ``market_trades`` / ``matches``).
        ``capacity`` bounds the ring buffer of trades held (the oldest are overwritten,
        counted in ``overwritten``). ``callback(stream)`` runs after each message that
        recorded trades, inside the hot path (keep it short); with ``callback_per_read``
        once per socket read that recorded any (picows' ``last_in_buffer``: a burst of
        frames read at once costs one call; read the new trades with
        ``trades(since=...)``). The other arguments are those of :meth:`subscribe`.
        """
        if self._closed:
            raise SubscribeError("engine is closed")
        spec = get_venue(venue)
        names = [name for name, _ in spec.trade_streams]
        if not names:
            raise SubscribeError(f"{venue} has no trade streams")
        stream = stream or names[0]
        if stream not in names:
            raise SubscribeError(f"{venue} has no trade stream {stream!r} "
                                 f"(expected one of {', '.join(names)})")
        symbol = spec.normalize_symbol(symbol)
        ws_url = ws_url or spec.ws_url
        rest_url = rest_url or spec.rest_url
        instrument = await self._scales(venue, symbol, rest_url, tick_size, step_size, ws_url)
        trades = LiveTrades(venue, symbol, instrument, stream, capacity)
        trades.callback = callback
        trades.callback_per_read = callback_per_read
        if self.shm is not None:
            try:
                self.shm.attach_trades(trades)
            except (SegmentFull, ValueError) as exc:
                raise SubscribeError(f"{venue}:{symbol} trades: shared memory: {exc}") from None
            self.shm.start_heartbeat()
        if self.nats is not None:
            self.nats.attach_trades(trades)
            self.nats.start()
        self._add_channel(spec, trades, ws_url, rest_url)
        return trades

    async def subscribe_bbo(self, venue: str, symbol: str, *, source: str = "venue",
                            capacity: int = 65_536,
                            ws_url: str | None = None, rest_url: str | None = None,
                            tick_size: str | None = None, step_size: str | None = None,
                            callback: Callable[[Any], Any] | None = None,
                            callback_per_read: bool = False) -> LiveBbo:
        """Start recording ``symbol``'s best bid/offer stream (Binance ``@bookTicker``,
        Coinbase ``ticker``) and return its handle (:class:`fastfeed.quotes.LiveBbo`):
        ``bbo()`` the latest, ``updates()`` a ring of ``capacity``. A book's own top is
        ``book.book.best_bid_int()`` (every venue). ``callback``/``callback_per_read`` as
        for trades. With ``source="book"`` the stream is fed
        from the subscribed book's top instead (after each message the book applies while
        live, when the top changed): a BBO on any venue, no extra subscription. Arguments
        as :meth:`subscribe_trades`."""
        spec, symbol, ws_url, rest_url = self._channel_args(venue, symbol, ws_url, rest_url)
        if source not in ("venue", "book"):
            raise ValueError(f"source must be 'venue' or 'book', got {source!r}")
        if source == "book":
            book = next((b for b in self.books if b.venue == venue and b.symbol == symbol),
                        None)
            if book is None:
                raise SubscribeError(f"{venue}:{symbol}: subscribe the book first "
                                     f"(source='book' follows its top)")
            stream = LiveBbo(venue, symbol, book.instrument, "book", capacity)
            stream.callback = callback
            stream.follow(book)
            self.streams.append(stream)
            return stream
        channel = self._channel_of(spec, "bbo")
        instrument = await self._scales(venue, symbol, rest_url, tick_size, step_size, ws_url)
        stream = LiveBbo(venue, symbol, instrument, channel, capacity)
        stream.callback = callback
        stream.callback_per_read = callback_per_read
        if self.shm is not None:
            try:
                self.shm.attach_bbo(stream)
            except (SegmentFull, ValueError) as exc:
                raise SubscribeError(f"{venue}:{symbol} BBO: shared memory: {exc}") from None
            self.shm.start_heartbeat()
        self._add_channel(spec, stream, ws_url, rest_url)
        return stream

    async def subscribe_ticker(self, venue: str, symbol: str, *, mini: bool = False,
                               capacity: int = 4096, ws_url: str | None = None,
                               rest_url: str | None = None, tick_size: str | None = None,
                               step_size: str | None = None,
                               callback: Callable[[Any], Any] | None = None,
                               callback_per_read: bool = False) -> LiveTicker:
        """Start recording ``symbol``'s 24 h ticker (Binance ``@ticker``, or
        ``@miniTicker`` with ``mini``; Coinbase ``ticker``) and return its handle
        (:class:`fastfeed.quotes.LiveTicker`): ``ticker()`` the latest, ``tickers()`` a
        ring of ``capacity``. Arguments as :meth:`subscribe_trades`."""
        spec, symbol, ws_url, rest_url = self._channel_args(venue, symbol, ws_url, rest_url)
        channel = self._channel_of(spec, "mini_ticker" if mini else "ticker")
        instrument = await self._scales(venue, symbol, rest_url, tick_size, step_size, ws_url)
        stream = LiveTicker(venue, symbol, instrument, channel, capacity)
        stream.callback = callback
        stream.callback_per_read = callback_per_read
        self._add_channel(spec, stream, ws_url, rest_url)
        return stream

    async def subscribe_prices(self, venue: str, tokens: Sequence[str], *, api_key: str | None = None,
                               ws_url: str | None = None, capacity: int = 1024,
                               callback: Callable[[PriceUpdate], Any] | None = None) -> PriceStream:
        """Start a price stream of ``tokens`` (slugs such as ``bitcoin``) and return its
        handle (:class:`fastfeed.tokenmetrics.PriceStream`): ``price(token)`` the latest,
        ``updates()`` a ring of ``capacity``. Only ``venue="tokenmetrics"``; the key from
        ``api_key`` or the environment (``MissingApiKey`` before connecting). A
        Python-level stream beside the compiled channels (docs/venues.md "Token Metrics")."""
        if venue != TOKENMETRICS:
            raise SubscribeError(f"subscribe_prices: only {TOKENMETRICS!r} has a price stream, not {venue!r}")
        stream = PriceStream(tokens, api_key=api_key, url=ws_url or TOKENMETRICS_WS_URL,
                             capacity=capacity, callback=callback)
        self.price_streams.append(stream)
        stream.start()
        return stream

    async def subscribe_candles(self, venue: str, symbol: str, interval: str | None = None,
                                *, capacity: int = 4096, ws_url: str | None = None,
                                rest_url: str | None = None, tick_size: str | None = None,
                                step_size: str | None = None,
                                callback: Callable[[Any], Any] | None = None,
                                callback_per_read: bool = False) -> LiveCandles:
        """Start recording the venue's own ``interval`` candles of ``symbol`` (Binance
        ``@kline_<interval>``, default ``1m``; Coinbase Advanced Trade ``candles``, 5 m
        only) and return the handle (:class:`fastfeed.candles.LiveCandles`):
        ``candles()`` the closed ones, ``current()`` the open one. For candles of any
        interval on any venue, feed a ``fastfeed.LocalCandles`` from a trade stream
        (``LocalCandles.attach(engine.subscribe_trades(...))``)."""
        spec, symbol, ws_url, rest_url = self._channel_args(venue, symbol, ws_url, rest_url)
        self._channel_of(spec, "candles", "")       # the venue has candles at all
        if interval is None:
            interval = (spec.candle_intervals[0] if len(spec.candle_intervals) == 1
                        else "1m")
        if interval not in spec.candle_intervals:
            raise SubscribeError(f"{venue} has no {interval!r} candles (expected one of "
                                 f"{', '.join(spec.candle_intervals) or 'none'})")
        channel = self._channel_of(spec, "candles", interval)
        instrument = await self._scales(venue, symbol, rest_url, tick_size, step_size, ws_url)
        stream = LiveCandles(venue, symbol, instrument, interval, channel, capacity)
        stream.callback = callback
        stream.callback_per_read = callback_per_read
        self._add_channel(spec, stream, ws_url, rest_url)
        return stream

    def _channel_args(self, venue: str, symbol: str, ws_url: str | None,
                      rest_url: str | None) -> tuple[Venue, str, str, str]:
        if self._closed:
            raise SubscribeError("engine is closed")
        spec = get_venue(venue)
        return (spec, spec.normalize_symbol(symbol), ws_url or spec.ws_url,
                rest_url or spec.rest_url)

    @staticmethod
    def _channel_of(spec: Venue, kind: str, interval: str | None = None) -> str:
        try:
            return spec.channel_name(kind, interval)
        except ValueError as exc:
            raise SubscribeError(str(exc)) from None

    def _add_channel(self, spec: Venue, stream: ChannelStream, ws_url: str,
                     rest_url: str) -> None:
        for existing in self.streams:
            if (type(existing) is type(stream) and existing.venue == stream.venue
                    and existing.symbol == stream.symbol
                    and existing.channel == stream.channel
                    and existing.connection is not None
                    and existing.connection.ws_base == ws_url):
                raise SubscribeError(f"{stream.venue}:{stream.symbol} {stream.channel} is "
                                     f"already subscribed")
        conn = self._connection_for(spec, ws_url, rest_url, spec.channel_route(stream.channel))
        self.streams.append(stream)
        if self.recorder is not None:
            self.recorder.declare(stream, stream.record_kind, **stream.declaration())
            stream.recorder = self.recorder
            self.recorder.op("start_sync", stream)
        conn.add_channel(stream)

    async def unsubscribe_trades(self, stream: LiveTrades) -> None:
        """Stop recording ``stream`` (the trades it holds stay readable)."""
        await self.unsubscribe_channel(stream)

    async def unsubscribe_channel(self, stream: ChannelStream) -> None:
        """Stop a trade, BBO, ticker or candle stream (what it holds stays readable)."""
        if stream.connection is not None:
            stream.connection.remove_channel(stream)
        if stream in self.streams:
            self.streams.remove(stream)
        if self.nats is not None and isinstance(stream, LiveTrades):
            self.nats.retire(stream)

    @property
    def trade_streams(self) -> list[LiveTrades]:
        """The trade streams subscribed."""
        return [s for s in self.streams if isinstance(s, LiveTrades)]

    async def subscribe_many(self, specs: list[tuple[str, str]], **kwargs: Any) -> list[LiveBook]:
        """Subscribe several ``(venue, symbol)`` pairs and wait for all of them (their
        instrument lookups share batched requests)."""
        wait = kwargs.pop("wait", True)
        timeout = kwargs.pop("timeout", 30.0)
        books = list(await asyncio.gather(*(self.subscribe(v, s, wait=False, **kwargs)
                                            for v, s in specs)))
        if wait:
            await self.wait_live(books, timeout)
        return books

    async def wait_live(self, books: list[LiveBook], timeout: float = 30.0) -> None:
        """Wait until every book is live; ``SubscribeError`` naming the first that is not."""
        await asyncio.gather(*(self._wait(b, timeout) for b in books))

    async def _wait(self, book: LiveBook, timeout: float) -> None:
        try:
            await book.wait_live(timeout)
        except asyncio.TimeoutError:
            conn = book.connection
            detail = book.last_error or (conn.last_error if conn else None) or "no snapshot yet"
            raise SubscribeError(f"{book.venue}:{book.symbol} not live after {timeout:.0f}s "
                                 f"(state {book.state}): {detail}") from None

    async def unsubscribe(self, book: LiveBook) -> None:
        """Stop keeping ``book``."""
        if book.connection is not None:
            book.connection.remove(book)
        if book in self.books:
            self.books.remove(book)
        if self.nats is not None:
            self.nats.retire(book)

    def book(self, venue: str, symbol: str) -> LiveBook:
        """The subscribed book for ``venue:symbol``."""
        symbol = get_venue(venue).normalize_symbol(symbol)
        for b in self.books:
            if b.venue == venue and b.symbol == symbol:
                return b
        raise KeyError(f"{venue}:{symbol} is not subscribed")

    def stats(self) -> dict[str, Any]:
        """Counters and memory of every connection and book, and the engine's memory
        (``memory()``)."""
        return {
            "connections": [c.stats() for c in self.connections],
            "books": {f"{b.venue}:{b.symbol}": {**b.counters(), "memory": b.memory()}
                      for b in self.books},
            "trades": {f"{t.venue}:{t.symbol}:{t.channel}": {**t.counters(),
                                                             "state": t.state}
                       for t in self.trade_streams},
            "channels": {f"{t.venue}:{t.symbol}:{t.channel}": {**t.counters(),
                                                               "state": t.state}
                         for t in self.streams if not isinstance(t, LiveTrades)},
            "memory": self.memory(),
            "rest": {f"{k[0]} {redact_url(k[1])}": {"requests": r.requests,
                                                   "throttled": r.throttled,
                                                   "failures": r.failures,
                                                   "last_error": r.last_error,
                                       "budget_wait_s": round(r.budget.waited_s, 3)}
                     for k, r in self._rest.items()},
            "snapshots": {f"{s.venue.name} {redact_url(s.rest.base_url)}": s.stats()
                          for s in self._schedulers.values()},
            "audit": self.auditor.stats() if self.auditor is not None else None,
            "backfill": {f"{b.venue.name} {redact_url(b.rest.base_url)}": b.stats()
                         for b in self._backfillers.values()},
            "recording": self.recorder.stats() if self.recorder is not None else None,
            "nats": self.nats.stats() if self.nats is not None else None,
        }

    def memory(self) -> dict[str, Any]:
        """Bytes the engine holds (docs/memory.md): ``books`` (every book's
        ``memory()`` parts summed, with ``count`` and ``max_beyond_levels``, the largest
        book beyond its level arrays), ``connections`` (their ``memory()`` parts summed),
        ``shm`` (the shared-memory segment, if any), ``nats`` (the books' fan-out change
        logs, if publishing) and ``total``."""
        books: dict[str, int] = {"count": len(self.books), "max_beyond_levels": 0}
        for b in self.books:
            m = b.memory()
            books["max_beyond_levels"] = max(books["max_beyond_levels"], m["beyond_levels"])
            for part, n in m.items():
                books[part] = books.get(part, 0) + n
        conns: dict[str, int] = {"count": len(self.connections)}
        for c in self.connections:
            for part, n in c.memory().items():
                conns[part] = conns.get(part, 0) + n
        fanout = self.nats.memory() if self.nats is not None else 0
        return {"books": books, "connections": conns, "shm": self._shm_bytes, "nats": fanout,
                "total": books.get("total", 0) + conns.get("total", 0) + self._shm_bytes
                + fanout}

    async def _rotate_latency(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            next_tick += interval
            self.rotate_latency()

    def rotate_latency(self) -> None:
        """End the current latency interval of every book and connection (the rotation
        task calls this)."""
        for i, conn in enumerate(self.connections):
            conn.last_intervals = conn.latency.rotate()
            if self._hlog is not None:
                for name, hist in conn.last_intervals.items():
                    if hist.total_count:
                        self._hlog.write_interval(
                            hist, tag=f"{conn.venue.name}:connection-{i}:{name}")
        for book in self.books:
            if book.latency is None:
                continue        # book_latency="off"
            intervals = book.latency.rotate()
            book.last_intervals = intervals
            if self._hlog is not None:
                for name, hist in intervals.items():
                    if hist.total_count:
                        self._hlog.write_interval(hist, tag=f"{book.venue}:{book.symbol}:{name}")
            if self.on_latency is not None:
                self.on_latency(book, intervals)
        if self._hlog is not None:
            self._hlog.flush()

    async def close(self) -> None:
        """Close every connection and session; cancels every task. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.recorder is not None:
            self.recorder.event("closing")     # what follows is the shutdown
        if self._rotation is not None:
            self._rotation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotation
        if self._hlog is not None:
            self._hlog.close()
        if self.auditor is not None:
            await self.auditor.close()
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)
        await asyncio.gather(*(p.close() for p in self.price_streams), return_exceptions=True)
        await asyncio.gather(*(s.close() for s in self._schedulers.values()),
                             return_exceptions=True)
        await asyncio.gather(*(b.close() for b in self._backfillers.values()),
                             return_exceptions=True)
        await asyncio.gather(*(r.close() for r in self._rest.values()), return_exceptions=True)
        if self.shm is not None:
            self.shm.close()        # after the books closed (readers see "closed")
        if self.nats is not None:
            await self.nats.close()     # after the books closed: consumers see "closed"
        if self.recorder is not None:
            # after the books closed (their last operations are in the file); the writer
            # thread drains and writes the index while the loop waits
            self.recorder.seal()
            await asyncio.to_thread(self.recorder.close)
