"""WebSocket plumbing every simulated venue shares: one picows listener per connection.

:class:`Connection` answers pings, echoes closes, sends text frames (or queues them while
a ``stall`` fault holds the connection), writes pre-framed bursts under flow control, and
arms the connection faults (``stall``, ``disconnect``, ``close``), and enforces the venue's
limit of incoming messages a second. A dialect subclasses it with the venue's subscribe
handling and message envelopes.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from fastfeed.sim import render
from fastfeed.sim.host import SimHost
from fastfeed.sim.model import Message

if TYPE_CHECKING:
    from fastfeed.sim.market import Market

log = logging.getLogger("fastfeed.sim")

# Delivery modes of one outgoing item, a (payload, mode) pair the stream faults produce.
NORMAL = 0  #: payload, wrapped for combined streams
LITERAL = 1  #: sent as is (malformed frames)
TRUNC = 2  #: wrapped, then cut in half
SOCKET_TRUNC = 3  #: wrapped, half written raw, then the TCP connection is closed
DROP = 4  #: not sent (Coinbase AT: consumes a sequence_num)

#: One outgoing item: a payload and its delivery mode.
Item = tuple[bytes, int]

CHUNK = 1 << 20
"""Burst write granularity (bytes); chunks are always cut at frame boundaries."""


class Connection(WSListener):
    """Common connection state: pings, faults, stall queue, flow control, bursts."""

    venue = ""
    """The venue id this connection speaks (set by the dialect)."""

    def __init__(self, host: SimHost) -> None:
        """A connection of the simulator ``host`` (not yet connected)."""
        super().__init__()
        self.host = host
        self.transport: WSTransport | None = None
        self.markets: set[Market] = set()
        # First update id this connection was handed per market (stale snapshots start below).
        self.first_ids: dict[Market, int] = {}
        self.sent = 0
        self.closed = False
        self.stalled_until = 0.0
        self.stall_drop = False
        self.frozen = False         # a frozen stall: no pings, no pongs either
        self.queue: list[bytes] = []
        self.disconnect_after: int | None = None
        self.close_code: int | None = None
        self.close_reason = b""
        self.last_ping = 0.0
        self.last_pong = 0.0
        self._timers: list[asyncio.TimerHandle] = []
        self._writable = asyncio.Event()
        self._writable.set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Arrival times of the messages counted against the venue's incoming limit.
        self._incoming: deque[float] = deque()
        self.incoming_limit = 0
        """Incoming messages allowed in any one second (0 = no limit; read at connect)."""

    # -- picows callbacks ---------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Register, start the ping timer."""
        self.transport = transport
        self.incoming_limit = self.host.limits.incoming_limit(self.venue)
        self.host.connection_opened(self)
        if self.host.config.ping_interval > 0:
            self.later(self.host.config.ping_interval, self._ping)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        """Unregister from everything, cancel timers and burst tasks."""
        self.closed = True
        self.host.connection_closed(self)
        for m in list(self.markets):
            m.unsubscribe(self)
        self.markets.clear()
        for t in self._timers:
            t.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._writable.set()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Control traffic from the client: pings (answered here), pongs, closes, requests.

        Pings, pongs and requests count against the venue's incoming limit; one too many
        in a second closes the connection like Binance: CLOSE 1008 "Too many requests".
        """
        if self.closed:
            return
        kind = frame.msg_type
        if kind != WSMsgType.CLOSE and self.incoming_limit and self._over_incoming_limit():
            self.host.limits.trip(self.venue, "incoming_rate")
            log.info("%s: more than %d incoming messages in a second: closing", self.venue,
                     self.incoming_limit)
            self.close_now(WSCloseCode.POLICY_VIOLATION, b"Too many requests")
            return
        if kind == WSMsgType.PING:
            if not self.frozen:
                transport.send_pong(frame.get_payload_as_bytes())
        elif kind == WSMsgType.PONG:
            self.last_pong = time.monotonic()
        elif kind == WSMsgType.CLOSE:
            # Echo the close (picows does not) and hang up.
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif kind in (WSMsgType.TEXT, WSMsgType.BINARY):
            self.on_text(frame.get_payload_as_bytes())

    def _over_incoming_limit(self) -> bool:
        """Count one incoming message; True when the last second now holds too many."""
        now = self.host.limits.clock()
        times = self._incoming
        times.append(now)
        while times[0] <= now - 1.0:
            times.popleft()
        return len(times) > self.incoming_limit

    def pause_writing(self) -> None:
        """Transport buffer above its high-water mark: bursts wait."""
        self._writable.clear()

    def resume_writing(self) -> None:
        """Transport buffer drained below the low-water mark."""
        self._writable.set()

    # -- what a dialect provides ----------------------------------------------------------

    def on_text(self, data: bytes) -> None:
        """A text message from the client (venue specific)."""

    def deliver(self, market: Market, stream: bytes, items: list[Item], msg: Message) -> None:
        """Hand the items of one market message to this connection (venue specific)."""
        raise NotImplementedError

    def deliver_channel(self, market: Market, key: str, stream: bytes, items: list[Item]) -> None:
        """Hand the items of one payload of another channel (trades, BBO, tickers,
        candles) to this connection: sent as they are unless the dialect wraps them."""
        for payload, mode in items:
            self.send_item(payload, mode)

    def heartbeat(self) -> None:
        """Called every ``heartbeat_interval`` on open connections; venues without
        application heartbeats do nothing."""

    # -- timers and tasks ---------------------------------------------------------------

    def later(self, delay: float, fn: Any, *args: Any) -> None:
        """Call ``fn(*args)`` after ``delay`` seconds unless the connection goes away first."""
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(delay, fn, *args))
        if len(self._timers) > 64:
            self._timers = [t for t in self._timers if not t.cancelled()]

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` as a task cancelled when the connection goes away."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _ping(self) -> None:
        if self.closed or self.transport is None:
            return
        now = time.monotonic()
        timeout = self.host.config.pong_timeout
        if self.last_ping and self.last_pong < self.last_ping and now - self.last_ping > timeout:
            log.info("no pong within %.0fs: disconnecting", timeout)
            self.transport.disconnect()
            return
        if not self.frozen:
            self.transport.send_ping(b"fastfeed-sim")
        if not self.last_ping or self.last_pong >= self.last_ping:
            self.last_ping = now
        self.later(self.host.config.ping_interval, self._ping)

    # -- sending ------------------------------------------------------------------------

    def send_raw(self, payload: bytes, data: bool = True) -> None:
        """Send one text frame now, or queue it while stalled; count data messages."""
        if self.closed or self.transport is None:
            return
        if self.stalled_until:
            if not self.stall_drop:
                self.queue.append(payload)
            return
        self.transport.send(WSMsgType.TEXT, payload)
        if data:
            self.sent += 1
            self.host.counters["messages_sent"] += 1
            if self.disconnect_after is not None:
                self.disconnect_after -= 1
                if self.disconnect_after <= 0:
                    self._hang_up()

    def send_item(self, payload: bytes, mode: int) -> None:
        """Send a (payload, mode) item produced by the stream faults."""
        if mode == DROP:
            return
        if mode == TRUNC:
            payload = payload[: max(1, len(payload) // 2)]
        elif mode == SOCKET_TRUNC:
            if self.transport is not None and not self.closed and not self.stalled_until:
                frame = render.ws_frame(payload)
                self.transport.underlying_transport.write(frame[: len(frame) - len(payload) // 2])
                self.transport.disconnect()
                self.closed = True
            return
        self.send_raw(payload)

    def close_now(self, code: WSCloseCode, reason: bytes) -> None:
        """Send a CLOSE frame and hang up (a venue policy, not an injected fault)."""
        if self.closed or self.transport is None:
            return
        self.transport.send_close(code, reason)
        self.transport.disconnect()
        self.closed = True

    async def write_blob(self, blob: bytes, ends: list[int], delay: float) -> None:
        """Write pre-framed bytes as fast as the socket takes them, honouring flow control.

        Chunks end on frame boundaries so pings and other frames picows sends between two
        chunks never land inside a frame. ``delay`` is waited first (the blob is ready),
        then, after the first frame, the host's burst gate (synchronized bursts).
        """
        if delay > 0:
            await asyncio.sleep(delay)
        view = memoryview(blob)
        pos = 0
        total = len(blob)
        if self.host.config.burst_gate and ends and self.transport is not None:
            # the first message goes out now, so the client can sync (fetch its snapshot)
            # before the release (docs/simulator.md, "Synchronized bursts")
            self.transport.underlying_transport.write(bytes(view[:ends[0]]))
            pos = ends[0]
        await self.host.burst_gate()
        while pos < total and not self.closed and self.transport is not None:
            i = bisect.bisect_left(ends, pos + CHUNK)
            end = ends[i] if i < len(ends) else total
            self.transport.underlying_transport.write(bytes(view[pos:end]))
            pos = end
            await self._writable.wait()
            if self.transport.underlying_transport.get_write_buffer_size() > 4 * CHUNK:
                await asyncio.sleep(0)
        self.host.counters["messages_sent"] += len(ends)
        self.sent += len(ends)
        self.host.counters["bursts_written"] += 1

    # -- connection faults --------------------------------------------------------------

    def arm(self, fault: str, params: dict[str, Any]) -> None:
        """Apply a connection fault (``stall``, ``disconnect``, ``close``) to this connection."""
        if self.closed:
            return
        if fault == "stall":
            self.host.fired("stall")
            self.stalled_until = time.monotonic() + float(params["seconds"])
            self.stall_drop = bool(params["drop"])
            self.frozen = bool(params.get("frozen", False))
            self.later(float(params["seconds"]), self._unstall)
            return
        code = int(params["code"]) if fault == "close" else None
        reason = str(params.get("reason", "")).encode()
        after_s = float(params["after_seconds"])
        after_n = int(params["after_messages"])
        if after_n > 0:
            self.disconnect_after = after_n
            self.close_code = code
            self.close_reason = reason
        elif after_s > 0:
            self.close_code = code
            self.close_reason = reason
            self.later(after_s, self._hang_up)
        else:
            self.close_code = code
            self.close_reason = reason
            self._hang_up()

    def _unstall(self) -> None:
        self.stalled_until = 0.0
        self.frozen = False
        queued, self.queue = self.queue, []
        for payload in queued:
            self.send_raw(payload)

    def _hang_up(self) -> None:
        if self.closed or self.transport is None:
            return
        self.host.fired("close" if self.close_code is not None else "disconnect")
        if self.close_code is not None:
            self.transport.send_close(WSCloseCode(self.close_code), self.close_reason)
        self.transport.disconnect()
        self.closed = True
