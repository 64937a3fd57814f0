"""Publishing an engine's books to NATS JetStream (docs/fanout.md, "Publisher").

Each attached book's applied changes are logged in C (``fastfeed._fanout.FanHub``); once
per event-loop turn (or every ``coalesce_ms``) the dirty books become one message each
(docs/wire.md) written into the NATS connection's buffer (``fastfeed.fanout.link``): no
``await`` and no Python object per level or per venue message on the ingestion side.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit

from fastfeed._fanout import KIND_TRADES, FanHub
from fastfeed.fanout.link import Link
from fastfeed.fanout.streams import StreamLimits, ensure_streams
from fastfeed.fanout.wire import STATE_NAMES, subject
from fastfeed.logsafe import RateLimitedLog, describe_exc, redact_url

__all__ = ["NatsPublisher", "parse_nats_url"]

log = logging.getLogger("fastfeed.fanout")


def parse_nats_url(url: str) -> tuple[str, int]:
    """``nats://host:port`` → (host, port); ``ValueError`` for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "nats" or not parts.hostname:
        raise ValueError(f"bad NATS URL {redact_url(url)!r}: expected nats://host[:port]")
    if parts.username or parts.password:
        raise ValueError("NATS URLs with credentials are not supported by the publisher")
    try:
        port = parts.port or 4222
    except ValueError as exc:
        raise ValueError(f"bad NATS URL {redact_url(url)!r}: {exc}") from None
    return parts.hostname, port


#: an early-flushed burst is written before the coalescing window ends once this much
#: is buffered (bounds the flush buffer; a burst of 1,000 books never waits on it)
EARLY_WRITE_BYTES = 1 << 20


class NatsPublisher:
    """Publishes books (deltas, snapshots, status events) to one NATS server.

    ``coalesce_ms`` is the least time between two flushes: the first change after a quiet
    spell goes out at the end of its event-loop turn, and during a burst the flushes come
    at most every ``coalesce_ms`` (0: once per loop turn), each one socket write of every
    dirty book's messages. ``snapshot_every`` seconds each book's whole state goes to the snapshot
    stream (spread evenly over the interval); a book replaced by a resync, or with more
    than ``max_delta_levels`` changes between flushes, sends a snapshot at once.
    ``max_buffer_bytes`` bounds what waits in the connection's buffer: above it, flushes
    stop and the books coalesce in their logs until it drains.
    """

    def __init__(self, url: str, *, prefix: str = "ff", coalesce_ms: float = 1.0,
                 snapshot_every: float = 30.0, max_delta_levels: int = 1024,
                 max_buffer_bytes: int = 64 << 20, limits: StreamLimits | None = None,
                 name: str = "fastfeed-publisher") -> None:
        try:
            import nats  # noqa: F401  (streams are managed with nats-py)
        except ImportError:
            raise RuntimeError("publishing to NATS needs nats-py: pip install "
                               "'fastfeed[nats]'") from None
        if not prefix or any(c in prefix for c in " *>") or prefix.startswith(".") \
                or prefix.endswith("."):
            raise ValueError(f"bad subject prefix {prefix!r}")
        if coalesce_ms < 0:
            raise ValueError("coalesce_ms must be >= 0")
        self.limits = limits or StreamLimits()
        if not snapshot_every > 0 or snapshot_every >= self.limits.max_age:
            raise ValueError(f"snapshot_every must be positive and below the delta "
                             f"stream's max_age ({self.limits.max_age} s)")
        self.url = url
        host, port = parse_nats_url(url)
        self.prefix = prefix
        self.coalesce = coalesce_ms / 1000.0
        self.snapshot_every = snapshot_every
        self.hub = FanHub(max_delta_levels)
        self.hub.on_wake = self._wake
        self.hub.on_full = self._flush_full
        self.link = Link(host, port, name=name, max_buffer_bytes=max_buffer_bytes,
                         on_up=self._up, on_down=self._down, on_writable=self._schedule)
        self.ready = False              # connected and the streams exist
        self.refused = 0                # flushes put off: the link's buffer was full
        self.epoch_restarts = 0         # reconnects after which every book started anew
        self.status_events = 0
        self._subjects: dict[int, tuple[bytes, bytes, bytes, str, str]] = {}
        self._books: dict[int, Any] = {}
        self._scheduled = False
        self._last_flush = -math.inf    # loop time of the last flush
        self._loop: asyncio.AbstractEventLoop | None = None
        self._snap_start = 0
        self._snap_timer: asyncio.TimerHandle | None = None
        self._setup: asyncio.Task[None] | None = None
        self._was_up = False
        self._closed = False
        self._log = RateLimitedLog(log, interval=10.0)

    # ------------------------------------------------------------------ books

    def attach(self, book: Any) -> None:
        """Publish ``book`` (a ``BookCore``: ``LiveBook``, ``BookFeed``) from now on: its
        deltas on ``<prefix>.book.<venue>.<SYMBOL>``, snapshots on ``<prefix>.snap...``."""
        slot = self.hub.attach(book)
        venue, symbol = book.venue, book.symbol
        self._subjects[slot] = (subject(self.prefix, "book", venue, symbol).encode(),
                                subject(self.prefix, "snap", venue, symbol).encode(),
                                subject(self.prefix, "status", venue).encode(), venue, symbol)
        self.hub.set_subjects(slot, *self._subjects[slot][:2])
        self._books[slot] = book

    def attach_trades(self, stream: Any) -> None:
        """Publish a trade stream (a ``TradeCore``: ``LiveTrades``, ``TradeFeed``): the
        trades it records from now on, on ``<prefix>.trade.<venue>.<SYMBOL>``."""
        slot = self.hub.attach_trades(stream)
        venue, symbol = stream.venue, stream.symbol
        subj = subject(self.prefix, "trade", venue, symbol).encode()
        self._subjects[slot] = (subj, subj, subject(self.prefix, "status", venue).encode(),
                                venue, symbol)
        self.hub.set_subjects(slot, subj, subj)
        self._books[slot] = stream

    def retire(self, book: Any) -> None:
        """Send what ``book`` (or a trade stream) has pending (its ``closed`` state), then
        detach it."""
        self._flush()
        self.detach(book)

    def detach(self, book: Any) -> None:
        """Stop publishing ``book`` (or a trade stream)."""
        for slot, b in list(self._books.items()):
            if b is book:
                self.hub.detach(book)
                del self._books[slot], self._subjects[slot]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect in the background of the running loop (idempotent)."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self.link.start()
        self._arm_snapshots()

    async def close(self, timeout: float = 2.0) -> None:
        """Publish what is pending (e.g. books' ``closed`` states), then disconnect."""
        if self._closed:
            return
        self._closed = True
        if self._snap_timer is not None:
            self._snap_timer.cancel()
        if self.ready:
            self._flush()
        if self._setup is not None and not self._setup.done():
            self._setup.cancel()
        await self.link.close(flush_timeout=timeout)

    def _up(self) -> None:
        # a fresh connection: make sure the streams exist before anything is published
        assert self._loop is not None
        if self._setup is not None and not self._setup.done():
            self._setup.cancel()            # a set-up for a connection already lost
        self._setup = self._loop.create_task(self._prepare())

    async def _prepare(self) -> None:
        import nats
        delay = 0.1
        while not self._closed and self.link.connected:
            try:
                nc = await nats.connect(self.url, connect_timeout=5, allow_reconnect=False,
                                        name="fastfeed-publisher-admin")
                try:
                    await ensure_streams(nc.jetstream(), self.prefix, self.limits)
                finally:
                    await nc.close()
                break
            except Exception as exc:    # JetStream off, no permission, server going away
                self._log.warning("streams", "nats %s: cannot set up the streams (%s); "
                                  "retrying", redact_url(self.url), describe_exc(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        else:
            return
        self.ready = True
        if self._was_up:
            # publishes may have been lost with the old connection: every book starts a
            # new epoch with a snapshot, so consumers resync instead of trusting a hole
            self.epoch_restarts += 1
            self.hub.touch_all(True)
            self._status_event({"event": "reconnected", "refused": self.refused,
                                "coalesced": self.hub.overflows})
        self._was_up = True
        self._schedule()

    def _down(self) -> None:
        self.ready = False

    # ------------------------------------------------------------------ flushing

    def _wake(self) -> None:
        # the hot path's one call per flush: the first change since the last one
        if self.ready and not self._scheduled:
            self._schedule()

    def flush_delay(self, now: float) -> float:
        """Seconds until a flush may run at loop time ``now`` (0: at the end of this loop
        turn): ``coalesce_ms`` after the last one."""
        return max(0.0, self._last_flush + self.coalesce - now)

    def _schedule(self) -> None:
        if self._scheduled or self._loop is None or not self.ready:
            return
        self._scheduled = True
        delay = self.flush_delay(self._loop.time())
        if delay > 0:
            self._loop.call_later(delay, self._flush)
        else:
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._loop is not None:
            self._last_flush = self._loop.time()
        if not self.ready:
            return
        if self.link.paused:
            self.refused += 1               # books coalesce until resume_writing()
            return
        self.hub.max_payload = self.link.max_payload
        try:
            self.hub.drain_framed()
        finally:
            self._send()

    def _flush_full(self, slot: int) -> None:
        # a burst filled one book's log inside a coalescing window: its delta joins the
        # flush's buffer now (no write yet), so it stays a delta instead of becoming a
        # whole-book snapshot; a buffer grown past EARLY_WRITE_BYTES is written at once
        if not self.ready:
            return
        if self.link.paused:
            self.refused += 1
            return
        self.hub.max_payload = self.link.max_payload
        self.hub.drain_one_framed(slot)
        if self.hub.framed_bytes >= EARLY_WRITE_BYTES:
            self._send()

    def _send(self) -> None:
        # the buffered messages, then status events about them, in one write
        data = self.hub.take_framed()
        for event in self.hub.take_events():
            if event[0] == "state":
                self._book_status(*event[1:])
            else:
                _, slot, size = event
                venue, symbol = self._subjects[slot][3:]
                self._log.warning(("large", slot), "%s %s: message of %d bytes exceeds the "
                                  "server's max_payload (%d): not published", venue, symbol,
                                  size, self.link.max_payload)
        self.link.write(data)

    def _book_status(self, slot: int, kind: int, state_code: int, epoch: int,
                     seq: int) -> None:
        venue, symbol = self._subjects[slot][3:]
        book = self._books[slot]
        state = STATE_NAMES[state_code]
        event: dict[str, Any] = {"venue": venue, "symbol": symbol, "state": state,
                                 "epoch": epoch, "seq": seq}
        if kind == KIND_TRADES:
            event["stream"] = "trades"
        if state in ("gap", "stale"):
            event["reason"] = getattr(book, "last_gap_reason", None) or ""
        self._status_event(event, venue)

    def _status_event(self, event: dict[str, Any], venue: str | None = None) -> None:
        # queued with the flush's messages (written by its link.write())
        event["publish_ns"] = time.time_ns()
        data = json.dumps(event).encode()
        venues = [venue] if venue is not None else sorted({s[3] for s in self._subjects.values()})
        for v in venues:
            if self.link.publish(subject(self.prefix, "status", v).encode(), data):
                self.status_events += 1

    # ------------------------------------------------------------------ periodic snapshots

    def _arm_snapshots(self) -> None:
        assert self._loop is not None
        self._snap_timer = self._loop.call_later(1.0, self._snapshot_round)

    def _snapshot_round(self) -> None:
        # each second, the share of the books whose periodic snapshot is due: every book
        # once per snapshot_every, spread out instead of all at once
        if self._closed:
            return
        n = self.hub.books
        if n and self.ready:
            count = max(1, math.ceil(n / self.snapshot_every))
            self._snap_start, armed = self.hub.request_snapshots(self._snap_start, count)
            if armed:
                self._schedule()
        self._arm_snapshots()

    # ------------------------------------------------------------------ status

    @property
    def messages(self) -> int:
        """Wire messages published (deltas, snapshots, trade messages)."""
        return self.hub.messages

    def memory(self) -> int:
        """Bytes of the books' change logs (32 bytes per ``max_delta_levels`` entry and
        book, docs/memory.md), the bound on what the publisher holds per book."""
        return self.hub.books * (32 * self.hub.max_delta_levels + 128)

    def stats(self) -> dict[str, Any]:
        """Counters: messages, bytes, deltas, snapshots, refused (kept and coalesced),
        coalesced (snapshots sent instead of deltas), too_large, epoch_restarts,
        connection state and buffered bytes."""
        hub = self.hub
        return {"url": redact_url(self.url), "ready": self.ready, "books": hub.books,
                "messages": hub.messages, "bytes": hub.bytes_sent, "deltas": hub.deltas,
                "snapshots": hub.snapshots, "trade_messages": hub.trade_messages,
                "lost_trades": hub.lost_trades, "refused": self.refused,
                "coalesced": hub.overflows, "too_large": hub.too_large,
                "epoch_restarts": self.epoch_restarts, "status_events": self.status_events,
                "early_flushes": self.hub.early_flushes,
                "connects": self.link.connects, "disconnects": self.link.disconnects,
                "server_errors": self.link.errors, "buffered_bytes": self.link.buffered_bytes(),
                "dirty": self.hub.dirty}
