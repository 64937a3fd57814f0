"""The simulator: a picows WebSocket server for every venue and an aiohttp REST server.

URL scheme (one WS port, one REST port; ``H`` = host):

* Binance spot — base ``ws://H:WS`` — ``/ws/<stream>[/<stream>...]``, ``/ws`` + SUBSCRIBE,
  ``/stream?streams=a/b`` (combined). Also under the prefix ``/binance``.
  REST base ``http://H:REST``: ``/api/v3/depth``, ``/api/v3/exchangeInfo``.
* Binance USD-M — base ``ws://H:WS`` — ``/public/ws/<stream>``, ``/public/stream?streams=``.
  Other USD-M routes (``/market/...``, ``/private/...``, ``/binance-usdm/ws...``) accept the
  connection and deliver nothing, silently, like the real venue. Also under the prefix
  ``/binance-usdm`` (``/binance-usdm/public/ws/...``). Note that an unprefixed ``/ws/...``
  is the *spot* route. REST: ``/fapi/v1/depth``, ``/fapi/v1/exchangeInfo``.
* Coinbase Advanced Trade — ``ws://H:WS/coinbase/advanced-trade``.
* Coinbase Exchange — ``ws://H:WS/coinbase/exchange``.
* Debug (REST port): ``GET /debug/truth``, ``POST /debug/fault``, ``POST /debug/pause``,
  ``POST /debug/resume``, ``GET /debug/stats``.

Stream speed suffixes (``@100ms`` …) are validated but do not change the pace: every
subscription gets every model message, at the symbol's configured ``rate``.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import re
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from aiohttp import web
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from fastfeed.sim import render
from fastfeed.sim.config import (
    BINANCE,
    BINANCE_USDM,
    COINBASE,
    COINBASE_EXCHANGE,
    VENUES,
    FaultSpec,
    SimConfig,
    SymbolConfig,
)
from fastfeed.sim.faults import CONN_FAULTS, REST_FAULTS, STREAM_FAULTS, fault_params
from fastfeed.sim.model import BookModel, BookState, Message
from fastfeed.sim.truth import BookTruth

log = logging.getLogger("fastfeed.sim")
T = TypeVar("T")

# Delivery modes of one outgoing item (see Market.emit).
_NORMAL = 0  # payload, wrapped for combined streams
_LITERAL = 1  # sent as is (malformed frames)
_TRUNC = 2  # wrapped, then cut in half
_SOCKET_TRUNC = 3  # wrapped, half written raw, then the TCP connection is closed
_DROP = 4  # not sent (Coinbase AT: consumes a sequence_num)

_MALFORMED = b'{"e":"depthUpdate","E":1,"s":"\x7f{{[[not json'
_CHUNK = 1 << 20  # burst write granularity (bytes), always cut at frame boundaries
#: Messages each model advances, unsent, before the simulator serves anything: the past a
#: ``stale_snapshot`` right after start serves (``lag`` up to PREHISTORY - 1; a start-up
#: fault with a larger lag grows it, see Market.ensure_history).
PREHISTORY = 32
_BURST_CACHE = 8  # combined Coinbase burst blobs kept per simulator

_SPOT_STREAM = re.compile(r"^([a-z0-9]+)@depth(@(100ms|1000ms))?$")
_USDM_STREAM = re.compile(r"^([a-z0-9]+)@depth(@(100ms|250ms|500ms))?$")


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _round_robin(seqs: list[list[T]]) -> list[T]:
    """The first item of each list, then the second of each, ... (lists may differ in length)."""
    out: list[T] = []
    for i in range(max(map(len, seqs), default=0)):
        out.extend(s[i] for s in seqs if i < len(s))
    return out


class Market:
    """One (venue, symbol): the model, its subscribers, its pending faults, its burst."""

    def __init__(self, sim: Simulator, venue: str, cfg: SymbolConfig) -> None:
        """Build the model (and pre-generate the burst, if configured)."""
        self.sim = sim
        self.venue = venue
        self.cfg = cfg
        self.symbol = cfg.symbol
        history = sim.config.history + (cfg.burst + 1 if cfg.burst else 0)
        self.model = BookModel(
            symbol=cfg.symbol, seed=sim.config.seed, tick_size=cfg.tick_size,
            step_size=cfg.step_size, mid_price=cfg.mid_price, depth=cfg.depth,
            levels_per_message=cfg.levels_per_message, move_prob=cfg.move_prob,
            size_scale=cfg.size_scale, history=history, start_id=cfg.start_id,
            id_skip=venue == BINANCE_USDM,
        )
        ps, ss = self.model.price_scale, self.model.size_scale
        if venue == BINANCE:
            pd = sd = 8 if cfg.print_decimals is None else cfg.print_decimals
            zero = None
        else:
            pd = ps.text_decimals if cfg.print_decimals is None else cfg.print_decimals
            sd = ss.text_decimals if cfg.print_decimals is None else cfg.print_decimals
            zero = None if venue == BINANCE_USDM else "0"
        self.fmt = render.Fmt(ps, ss, pd, sd, zero)
        self.stream_base = cfg.symbol.lower().encode()
        # conn -> stream names it subscribed with (combined streams wrap with the name).
        self.subs: dict[_Conn, list[bytes]] = {}
        self.rate = cfg.rate
        self.t0 = 0.0
        self.generated = 0
        self.sent = 0
        # Stream fault state.
        self.f_drop = 0
        self.f_dup = 0
        self.f_reorder = 0
        self.held: list[tuple[bytes, int]] | None = None
        self.f_malformed: list[dict[str, Any]] = []
        self.f_trunc: list[dict[str, Any]] = []
        self.f_oversized: list[int] = []
        # REST fault state.
        self.f_slow: list[float] = []
        self.f_stale: list[int] = []
        # Connection faults waiting for the next subscriber.
        self.pending_conn_faults: list[tuple[str, dict[str, Any]]] = []
        # Burst mode.
        self.burst: list[Message] = []
        self.burst_start: BookState | None = None
        self.burst_snapshot: BookState | None = None
        self._burst_blobs: dict[bytes | None, tuple[bytes, list[int]]] = {}
        # Coinbase bursts, pre-rendered: Advanced Trade (head, tail) envelopes around a
        # sequence_num each connection fills in; Exchange complete frames. Snapshot first.
        self.at_burst: list[tuple[bytes, bytes]] = []
        self.ex_burst: list[bytes] = []
        self._prehistory()
        if cfg.burst > 0:
            self.burst_start = self.model.snapshot()
            k = min(max(0, cfg.burst_snapshot_index), cfg.burst - 1)
            for i in range(cfg.burst):
                self.burst.append(self.model.step())
                if i == k:
                    self.burst_snapshot = self.model.snapshot()
            if venue in (BINANCE, BINANCE_USDM):
                # Pre-frame the raw-stream form now so the write starts at subscribe time
                # (combined-stream forms are framed on first use and cached).
                self.burst_blob(None)
            else:
                self._render_coinbase_burst()

    def _prehistory(self, count: int = PREHISTORY) -> None:
        """Advance the model ``count`` messages that are never sent, before anyone connects.

        Gives ``stale_snapshot`` real past states to serve right after start (a snapshot
        strictly older than the first message a subscriber sees). With ``start_id`` set,
        the ids are shifted back so the book served at start still has ``start_id``.
        """
        before = self.model.last_id
        for _ in range(count):
            self.model.step()
        used = self.model.last_id - before
        if self.cfg.start_id is not None and self.model.oldest_id - used >= 0:
            self.model.shift_ids(-used)

    def ensure_history(self, messages: int) -> None:
        """Grow the pre-history to ``messages`` while nothing of this market was sent yet
        (a start-up ``stale_snapshot`` with a large ``lag``); no-op afterwards."""
        if self.sent or self.subs or not self.live:
            return
        missing = messages - len(self.model.history)
        if missing > 0:
            self._prehistory(missing)

    def _render_coinbase_burst(self) -> None:
        assert self.burst_start is not None
        state = self.burst_start
        sym, fmt = self.symbol, self.fmt
        if self.venue == COINBASE:
            ts = render.rfc3339_ns()
            head = render.at_envelope_head("l2_data", ts)
            snap = render.at_event("snapshot", sym, render.at_updates(state.sorted_bids(), state.sorted_asks(), fmt, ts))
            self.at_burst.append((head, render.at_envelope_tail("[" + snap + "]")))
            for msg in self.burst:
                ev = render.at_event("update", sym, render.at_updates(msg.bids, msg.asks, fmt, ts))
                self.at_burst.append((head, render.at_envelope_tail("[" + ev + "]")))
        else:
            ts = render.rfc3339_us()
            self.ex_burst.append(render.ws_frame(render.ex_snapshot(sym, state, fmt)))
            self.ex_burst.extend(render.ws_frame(render.ex_l2update(sym, msg.bids, msg.asks, fmt, 8, ts))
                                 for msg in self.burst)

    @property
    def live(self) -> bool:
        """True for a live (clock-driven) market, False in burst mode."""
        return not self.burst

    # -- live stream --------------------------------------------------------------------

    def emit(self, msg: Message) -> None:
        """Render ``msg``, run it through the stream faults, hand it to every subscriber."""
        self.sent += 1
        pad = None
        if self.f_oversized:
            pad = self.f_oversized.pop(0)
            self.sim._fired("oversized")
        if self.venue in (BINANCE, BINANCE_USDM):
            payload = self._binance_payload(msg, pad)
        elif self.venue == COINBASE:
            payload = self._at_payload(msg, pad)
        else:
            payload = self._ex_payload(msg, pad)
        items = self._apply_stream_faults(payload)
        if not items:
            return
        for conn, streams in list(self.subs.items()):
            for stream in streams:
                conn.deliver(self, stream, items, msg)

    def _binance_payload(self, msg: Message, pad_bytes: int | None) -> bytes:
        e = render.now_ms()
        usdm = self.venue == BINANCE_USDM
        payload = render.binance_event(self.symbol, msg, self.fmt, usdm, e)
        if pad_bytes:
            per = len(self.fmt.price(self.model.far_ask_prices(1)[0])) + len(self.fmt.size(0)) + 8
            count = max(1, (pad_bytes - len(payload)) // per + 1)
            payload = render.binance_event(self.symbol, msg, self.fmt, usdm, e,
                                           self.model.far_ask_prices(count))
        return payload

    def _at_updates(self, msg: Message, pad_bytes: int | None) -> str:
        ts = render.rfc3339_ns()
        asks: Iterable[tuple[int, int]] = msg.asks
        if pad_bytes:
            per = len(ts) + len(self.fmt.price(self.model.far_ask_prices(1)[0])) + 80
            asks = list(msg.asks) + [(p, 0) for p in self.model.far_ask_prices(pad_bytes // per + 1)]
        return render.at_updates(msg.bids, asks, self.fmt, ts)

    def _at_payload(self, msg: Message, pad_bytes: int | None) -> bytes:
        # The event only: each connection wraps events into its own envelope (own seq).
        return render.at_event("update", self.symbol, self._at_updates(msg, pad_bytes)).encode()

    def _ex_payload(self, msg: Message, pad_bytes: int | None) -> bytes:
        asks: Iterable[tuple[int, int]] = msg.asks
        if pad_bytes:
            per = len(self.fmt.price(self.model.far_ask_prices(1)[0])) + 20
            asks = list(msg.asks) + [(p, 0) for p in self.model.far_ask_prices(pad_bytes // per + 1)]
        return render.ex_l2update(self.symbol, msg.bids, asks, self.fmt, 8, render.rfc3339_us())

    def _take(self, pending: list[dict[str, Any]], name: str) -> dict[str, Any]:
        """Use one count of the oldest pending fault of a kind; it leaves when used up."""
        p = pending[0]
        p["count"] -= 1
        if p["count"] <= 0:
            pending.pop(0)
        self.sim._fired(name)
        return p

    def _apply_stream_faults(self, payload: bytes) -> list[tuple[bytes, int]]:
        items: list[tuple[bytes, int]] = []
        if self.f_malformed:
            p = self._take(self.f_malformed, "malformed")
            items.append((_MALFORMED, _LITERAL))
            if p.get("replace"):
                payload = b""
        if not payload:
            pass
        elif self.f_drop > 0:
            self.f_drop -= 1
            self.sim._fired("drop")
            items.append((payload, _DROP))
        elif self.f_trunc:
            p = self._take(self.f_trunc, "truncated")
            items.append((payload, _SOCKET_TRUNC if p.get("mode") == "socket" else _TRUNC))
        else:
            items.append((payload, _NORMAL))
            if self.f_dup > 0:
                self.f_dup -= 1
                self.sim._fired("duplicate")
                items.append((payload, _NORMAL))
        if self.held is not None:
            items.extend(self.held)
            self.held = None
        elif self.f_reorder > 0 and items and self.venue != COINBASE:
            # (Coinbase AT reorders whole envelopes per connection: see _ATConn.flush.)
            self.f_reorder -= 1
            self.sim._fired("reorder")
            self.held = items
            return []
        return items

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(self, conn: _Conn, stream: bytes) -> None:
        """Add a subscriber (a connection may subscribe with several stream names)."""
        self.subs.setdefault(conn, []).append(stream)
        while self.pending_conn_faults:
            name, params = self.pending_conn_faults.pop(0)
            conn.arm(name, params)

    def unsubscribe(self, conn: _Conn, stream: bytes | None = None) -> None:
        """Remove one stream name of ``conn`` (or all of them)."""
        streams = self.subs.get(conn)
        if streams is None:
            return
        if stream is not None and stream in streams:
            streams.remove(stream)
        if stream is None or not streams:
            del self.subs[conn]

    # -- snapshots and burst ------------------------------------------------------------

    def rest_state(self) -> BookState:
        """The state a REST snapshot serves now (frozen in burst mode; stale if injected)."""
        if self.f_stale:
            return self.stale_state(self.f_stale.pop(0))
        if self.burst_snapshot is not None:
            return self.burst_snapshot
        return self.model.snapshot()

    def stale_state(self, lag: int) -> BookState:
        """A past state older than the stream: ``lag + 1`` messages before the one that
        precedes the first message any subscriber saw (burst: the burst's first message;
        no subscriber yet: the next message).

        So ``lastUpdateId <= first U - 2 - lag``: at least ``lag + 1`` update ids are
        missing between the snapshot and the stream, which no client may bridge (Binance
        spot accepts ``U <= lastUpdateId + 1``; USD-M wants ``U <= lastUpdateId <= u``).
        Beyond the retained history, the oldest state (still older than the stream as
        long as the pre-history is: see :meth:`_prehistory`).
        """
        self.sim._fired("stale_snapshot")
        if self.burst:
            first = self.burst[0].first_id
        else:
            firsts = [c.first_ids[self] for c in self.subs if self in c.first_ids]
            first = min(firsts) if firsts else self.model.last_id + 1
        try:
            state = self.model.book_at(first - 1)  # just before the stream
            for _ in range(lag + 1):
                state = self.model.book_at(state.last_id - 1)
        except LookupError:
            state = self.model.book_at(self.model.oldest_id)
        return state

    def burst_blob(self, stream: bytes | None) -> tuple[bytes, list[int]]:
        """Binance: all burst messages as pre-framed WS frames, plus frame end offsets.

        ``stream`` None = raw form; otherwise wrapped for that combined stream name. Built
        once per form and cached.
        """
        cached = self._burst_blobs.get(stream)
        if cached is not None:
            return cached
        usdm = self.venue == BINANCE_USDM
        frames = []
        e = render.now_ms()
        for msg in self.burst:
            payload = render.binance_event(self.symbol, msg, self.fmt, usdm, e)
            if stream is not None:
                payload = render.combined(stream, payload)
            frames.append(render.ws_frame(payload))
        out = render.frames_blob(frames)
        self._burst_blobs[stream] = out
        return out


class _Conn(WSListener):
    """Common connection state: pings, faults, stall queue, flow control, bursts."""

    venue = ""

    def __init__(self, sim: Simulator) -> None:
        super().__init__()
        self.sim = sim
        self.transport: WSTransport | None = None
        self.markets: set[Market] = set()
        self.first_ids: dict[Market, int] = {}
        self.sent = 0
        self.closed = False
        self.stalled_until = 0.0
        self.stall_drop = False
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

    # -- picows callbacks ---------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Register, start the ping timer."""
        self.transport = transport
        self.sim._conns.add(self)
        self.sim._counters["connections_opened"] += 1
        if self.sim.config.ping_interval > 0:
            self._later(self.sim.config.ping_interval, self._ping)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        """Unregister from everything, cancel timers and burst tasks."""
        self.closed = True
        self.sim._conns.discard(self)
        for m in list(self.markets):
            m.unsubscribe(self)
        self.markets.clear()
        for t in self._timers:
            t.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._writable.set()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Control traffic from the client."""
        if frame.msg_type == WSMsgType.PONG:
            self.last_pong = time.monotonic()
        elif frame.msg_type == WSMsgType.CLOSE:
            # Echo the close (picows does not) and hang up.
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
            self.on_text(frame.get_payload_as_bytes())

    def pause_writing(self) -> None:
        """Transport buffer above its high-water mark: bursts wait."""
        self._writable.clear()

    def resume_writing(self) -> None:
        """Transport buffer drained below the low-water mark."""
        self._writable.set()

    def on_text(self, data: bytes) -> None:
        """A text message from the client (venue specific)."""

    # -- helpers ------------------------------------------------------------------------

    def _later(self, delay: float, fn: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(delay, fn, *args))
        if len(self._timers) > 64:
            self._timers = [t for t in self._timers if not t.cancelled()]

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _ping(self) -> None:
        if self.closed or self.transport is None:
            return
        now = time.monotonic()
        if self.last_ping and self.last_pong < self.last_ping and now - self.last_ping > self.sim.config.pong_timeout:
            log.info("no pong within %.0fs: disconnecting", self.sim.config.pong_timeout)
            self.transport.disconnect()
            return
        self.transport.send_ping(b"fastfeed-sim")
        if not self.last_ping or self.last_pong >= self.last_ping:
            self.last_ping = now
        self._later(self.sim.config.ping_interval, self._ping)

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
            self.sim._counters["messages_sent"] += 1
            if self.disconnect_after is not None:
                self.disconnect_after -= 1
                if self.disconnect_after <= 0:
                    self._hang_up()

    def send_item(self, payload: bytes, mode: int) -> None:
        """Send a (payload, mode) item produced by the stream faults."""
        if mode == _DROP:
            return
        if mode == _TRUNC:
            payload = payload[: max(1, len(payload) // 2)]
        elif mode == _SOCKET_TRUNC:
            if self.transport is not None and not self.closed and not self.stalled_until:
                frame = render.ws_frame(payload)
                self.transport.underlying_transport.write(frame[: len(frame) - len(payload) // 2])
                self.transport.disconnect()
                self.closed = True
            return
        self.send_raw(payload)

    def deliver(self, market: Market, stream: bytes, items: list[tuple[bytes, int]], msg: Message) -> None:
        """Hand the items of one market message to this connection (venue specific)."""
        raise NotImplementedError

    # -- faults -------------------------------------------------------------------------

    def arm(self, fault: str, params: dict[str, Any]) -> None:
        """Apply a connection fault to this connection."""
        if self.closed:
            return
        if fault == "stall":
            self.sim._fired("stall")
            self.stalled_until = time.monotonic() + float(params["seconds"])
            self.stall_drop = bool(params["drop"])
            self._later(float(params["seconds"]), self._unstall)
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
            self._later(after_s, self._hang_up)
        else:
            self.close_code = code
            self.close_reason = reason
            self._hang_up()

    def _unstall(self) -> None:
        self.stalled_until = 0.0
        queued, self.queue = self.queue, []
        for payload in queued:
            self.send_raw(payload)

    def _hang_up(self) -> None:
        if self.closed or self.transport is None:
            return
        self.sim._fired("close" if self.close_code is not None else "disconnect")
        if self.close_code is not None:
            self.transport.send_close(WSCloseCode(self.close_code), self.close_reason)
        self.transport.disconnect()
        self.closed = True

    # -- bursts -------------------------------------------------------------------------

    async def write_blob(self, blob: bytes, ends: list[int], delay: float) -> None:
        """Write pre-framed bytes as fast as the socket takes them, honouring flow control.

        Chunks end on frame boundaries so pings and other frames picows sends between two
        chunks never land inside a frame. ``delay`` is waited first (the blob is ready).
        """
        if delay > 0:
            await asyncio.sleep(delay)
        view = memoryview(blob)
        pos = 0
        total = len(blob)
        while pos < total and not self.closed and self.transport is not None:
            i = bisect.bisect_left(ends, pos + _CHUNK)
            end = ends[i] if i < len(ends) else total
            self.transport.underlying_transport.write(bytes(view[pos:end]))
            pos = end
            await self._writable.wait()
            if self.transport.underlying_transport.get_write_buffer_size() > 4 * _CHUNK:
                await asyncio.sleep(0)
        self.sim._counters["messages_sent"] += len(ends)
        self.sent += len(ends)
        self.sim._counters["bursts_written"] += 1


class _BinanceConn(_Conn):
    """A Binance spot or USD-M connection (raw ``/ws`` or combined ``/stream``)."""

    def __init__(self, sim: Simulator, venue: str, combined: bool, deaf: bool, streams: list[str]) -> None:
        super().__init__(sim)
        self.venue = venue
        self.combined = combined
        self.deaf = deaf
        self.streams: list[str] = []
        self.initial = streams

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Subscribe the streams named in the URL."""
        super().on_ws_connected(transport)
        for s in self.initial:
            self._add(s)

    def _add(self, name: str) -> None:
        if name in self.streams:
            return
        self.streams.append(name)
        if self.deaf:
            return
        pattern = _SPOT_STREAM if self.venue == BINANCE else _USDM_STREAM
        m = pattern.match(name)
        if not m:
            return  # unknown/unsupported streams are accepted and stay silent, like Binance
        market = self.sim._markets.get((self.venue, m.group(1).upper()))
        if market is None:
            return
        stream = name.encode()
        market.subscribe(self, stream)
        self.markets.add(market)
        if not market.live:
            blob, ends = market.burst_blob(stream if self.combined else None)
            self._spawn(self.write_blob(blob, ends, market.cfg.burst_delay))

    def _remove(self, name: str) -> None:
        if name not in self.streams:
            return
        self.streams.remove(name)
        m = (_SPOT_STREAM if self.venue == BINANCE else _USDM_STREAM).match(name)
        if m:
            market = self.sim._markets.get((self.venue, m.group(1).upper()))
            if market is not None:
                market.unsubscribe(self, name.encode())
                if self not in market.subs:
                    self.markets.discard(market)

    def on_text(self, data: bytes) -> None:
        """SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS (``{"method":..,"params":..,"id":..}``)."""
        try:
            req = json.loads(data)
        except ValueError as exc:
            self.send_raw(_json({"error": {"code": 3, "msg": f"Invalid JSON: {exc}"}}), data=False)
            return
        if not isinstance(req, dict):
            self.send_raw(_json({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}}), data=False)
            return
        rid = req.get("id")
        method = req.get("method")
        params = req.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE") and (
                not isinstance(params, list) or not all(isinstance(p, str) for p in params)):
            self.send_raw(_json({"error": {"code": 2, "msg": "Invalid request: invalid params"}, "id": rid}), data=False)
            return
        if method == "SUBSCRIBE":
            limit = self.sim.config.max_streams.get(self.venue, 1024)
            new = [p for p in params if p not in self.streams]
            if len(self.streams) + len(new) > limit:
                # Exact wording of the real venue's reply is not documented; code 2 is its
                # "Invalid request" family.
                self.send_raw(_json({"error": {"code": 2, "msg": f"Invalid request: too many streams (max {limit})"},
                                     "id": rid}), data=False)
                return
            for p in params:
                self._add(p)
            self.send_raw(_json({"result": None, "id": rid}), data=False)
        elif method == "UNSUBSCRIBE":
            for p in params:
                self._remove(p)
            self.send_raw(_json({"result": None, "id": rid}), data=False)
        elif method == "LIST_SUBSCRIPTIONS":
            self.send_raw(_json({"result": list(self.streams), "id": rid}), data=False)
        else:
            self.send_raw(_json({"error": {"code": 2, "msg": f"Invalid request: unknown variant {method}"},
                                 "id": rid}), data=False)

    def deliver(self, market: Market, stream: bytes, items: list[tuple[bytes, int]], msg: Message) -> None:
        """Binance: one frame per item, wrapped for combined streams.

        Live frames of other symbols may interleave with a burst: burst chunks end on frame
        boundaries, and Binance ids are per symbol.
        """
        if market not in self.first_ids:
            self.first_ids[market] = msg.first_id
        for payload, mode in items:
            if mode != _LITERAL and self.combined:
                payload = render.combined(stream, payload)
            self.send_item(payload, mode)


class _CoinbaseConn(_Conn):
    """What Advanced Trade and Exchange connections share: the subscribe deadline, opening
    newly subscribed products, and the ordered write queue of bursts.

    Live products get their in-band snapshot at once and join the market's stream. Burst
    products subscribed by one request go out as ONE pre-framed blob (the products' messages
    interleaved whole, each product in order, snapshots first), rendered from the messages
    pre-rendered at start before anything is written, then ``burst_delay`` (the largest of
    the products'), then written as fast as the socket takes it. Blobs, and (AT) envelopes
    numbered while a blob waits, leave in the order they were queued.
    """

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.subscribed = False
        # Ordered output while bursting: ("blob", blob, frame ends, delay) or ("raw", payload, data).
        self._outq: deque[tuple[Any, ...]] = deque()
        self._writer: asyncio.Task[None] | None = None

    @property
    def bursting(self) -> bool:
        """True while a burst (or anything queued behind one) is waiting to be written."""
        return bool(self._outq)

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Start the subscribe deadline."""
        super().on_ws_connected(transport)
        self._later(self.sim.config.subscribe_timeout, self._check_subscribed)

    def _check_subscribed(self) -> None:
        if not self.subscribed and not self.closed and self.transport is not None:
            self.transport.send_close(WSCloseCode.POLICY_VIOLATION, b"no subscribe received")
            self.transport.disconnect()
            self.closed = True

    def _open(self, products: list[str]) -> None:
        """Start newly subscribed products (live: snapshot now; burst: one combined blob)."""
        bursts = []
        for p in products:
            m = self.sim._markets[(self.venue, p)]
            if m.live:
                self._send_snapshot(m, m.model.snapshot())
            else:
                bursts.append(m)
            m.subscribe(self, b"")
            self.markets.add(m)
        if bursts:
            blob, ends = self._burst_blob(bursts)
            self._enqueue(("blob", blob, ends, max(m.cfg.burst_delay for m in bursts)))

    def _close(self, product: str) -> None:
        """Stop a product's stream on this connection (a burst already queued still goes out)."""
        m = self.sim._markets[(self.venue, product)]
        m.unsubscribe(self)
        self.markets.discard(m)

    def _send_snapshot(self, m: Market, state: BookState) -> None:
        raise NotImplementedError

    def heartbeat(self) -> None:
        """The venue's heartbeat message(s), once per ``heartbeat_interval``."""
        raise NotImplementedError

    def _burst_blob(self, markets: list[Market]) -> tuple[bytes, list[int]]:
        raise NotImplementedError

    def _enqueue(self, item: tuple[Any, ...]) -> None:
        self._outq.append(item)
        if self._writer is None:
            self._writer = self._spawn(self._drain())

    async def _drain(self) -> None:
        try:
            while self._outq and not self.closed:
                item = self._outq[0]
                if item[0] == "blob":
                    await self.write_blob(item[1], item[2], item[3])
                else:
                    self.send_raw(item[1], data=item[2])
                self._outq.popleft()
        finally:
            self._writer = None
            if self.closed:
                self._outq.clear()


class _ATConn(_CoinbaseConn):
    """A Coinbase Advanced Trade connection: envelopes with a per-connection sequence_num."""

    venue = COINBASE

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.seq = 0
        self.products: list[str] = []
        self.heartbeats = False
        self.hb_counter = 0
        self.pending: list[tuple[bytes, int]] = []
        self.held_env: list[tuple[bytes, int]] | None = None

    def envelope(self, channel: str, events: str) -> bytes:
        """Build an envelope and consume one sequence number."""
        env = render.at_envelope(channel, self.seq, events)
        self.seq += 1
        return env

    def send_env(self, env: bytes, data: bool = True) -> None:
        """Send a numbered envelope now, or behind a queued burst (numbers stay in order)."""
        if self.bursting:
            self._enqueue(("raw", env, data))
        else:
            self.send_raw(env, data=data)

    def _subscriptions(self) -> None:
        subs: dict[str, list[str]] = {}
        if self.products:
            subs["level2"] = list(self.products)
        if self.heartbeats:
            subs["heartbeats"] = ["heartbeats"]
        self.send_env(self.envelope("subscriptions", "[" + json.dumps({"subscriptions": subs},
                                                                       separators=(",", ":")) + "]"), data=False)

    def on_text(self, data: bytes) -> None:
        """``subscribe`` / ``unsubscribe`` for ``level2`` and ``heartbeats``."""
        try:
            req = json.loads(data)
            kind = req["type"]
            channel = req.get("channel")
            products = req.get("product_ids", [])
            if kind not in ("subscribe", "unsubscribe") or not isinstance(products, list):
                raise ValueError(kind)
        except (ValueError, KeyError, TypeError):
            self.send_raw(_json({"type": "error", "message": "failure to subscribe"}), data=False)
            return
        if channel not in ("level2", "l2_data", "heartbeats"):
            self.send_raw(_json({"type": "error", "message": f"unknown channel {channel!r}"}), data=False)
            return
        self.subscribed = True
        if channel == "heartbeats":
            self.heartbeats = kind == "subscribe"
            self._subscriptions()
            return
        bad = [p for p in products if (COINBASE, p) not in self.sim._markets]
        if bad:
            self.send_raw(_json({"type": "error", "message": "failure to subscribe",
                                 "reason": f"invalid product_id(s): {', '.join(map(str, bad))}"}), data=False)
            return
        if kind == "unsubscribe":
            for p in products:
                if p in self.products:
                    self.products.remove(p)
                    self._close(p)
            self._subscriptions()
            return
        new = [p for p in products if p not in self.products]
        self.products.extend(new)
        self._subscriptions()
        self._open(new)

    def _send_snapshot(self, m: Market, state: BookState) -> None:
        ts = render.rfc3339_ns()
        updates = render.at_updates(state.sorted_bids(), state.sorted_asks(), m.fmt, ts)
        self.send_env(self.envelope("l2_data", "[" + render.at_event("snapshot", m.symbol, updates) + "]"))

    def _burst_blob(self, markets: list[Market]) -> tuple[bytes, list[int]]:
        # Numbered here, for this connection: the blob takes the next len(ends) numbers.
        blob, ends = self.sim._coinbase_burst(COINBASE, markets, self.seq)
        self.seq += len(ends)
        return blob, ends

    def deliver(self, market: Market, stream: bytes, items: list[tuple[bytes, int]], msg: Message) -> None:
        """Queue events; the simulator flushes one envelope per connection per clock tick."""
        if not self.pending:
            self.sim._dirty.add(self)
        self.pending.extend(items)

    def flush(self) -> None:
        """Send the pending events of this tick as one ``l2_data`` envelope."""
        if self.bursting:
            # A queued burst holds its sequence numbers already: hold live events until it
            # is written so sequence_num stays in order on the wire.
            if self.pending:
                self.sim._dirty.add(self)
            return
        items, self.pending = self.pending, []
        events = [p for p, mode in items if mode not in (_LITERAL,)]
        out: list[tuple[bytes, int]] = [(p, _LITERAL) for p, mode in items if mode == _LITERAL]
        if events:
            modes = {mode for _, mode in items}
            # Duplicates of one event inside a tick collapse into a duplicated envelope.
            uniq: list[bytes] = []
            for p in events:
                if not uniq or uniq[-1] is not p:
                    uniq.append(p)
            env = self.envelope("l2_data", "[" + ",".join(x.decode() for x in uniq) + "]")
            if _DROP in modes:
                mode = _DROP
            elif _SOCKET_TRUNC in modes:
                mode = _SOCKET_TRUNC
            elif _TRUNC in modes:
                mode = _TRUNC
            else:
                mode = _NORMAL
            out.append((env, mode))
            if len(uniq) < len(events) and mode == _NORMAL:
                out.append((env, _NORMAL))
        if self.sim._at_reorder_pending(self):
            # A reorder fault arms at the market; for AT the envelope is what moves.
            self.held_env = out
            return
        for payload, mode in out:
            self.send_item(payload, mode)
        if self.held_env is not None:
            held, self.held_env = self.held_env, None
            for payload, mode in held:
                self.send_item(payload, mode)

    def heartbeat(self) -> None:
        """One ``heartbeats`` envelope (skipped while a burst is queued or being written)."""
        if not self.heartbeats or self.bursting:
            return
        self.hb_counter += 1
        now = time.time_ns()
        sec, ns = divmod(now, 1_000_000_000)
        current = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec)) + f".{ns:09d} +0000 UTC"
        ev = f'[{{"current_time":"{current}","heartbeat_counter":"{self.hb_counter}"}}]'
        self.send_raw(self.envelope("heartbeats", ev))


class _ExConn(_CoinbaseConn):
    """A Coinbase Exchange connection (``level2_batch``/``level2`` + ``heartbeat``)."""

    venue = COINBASE_EXCHANGE

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.l2: list[str] = []
        self.hb: list[str] = []
        self.trade_ids: dict[str, int] = {}

    def on_text(self, data: bytes) -> None:
        """``subscribe``/``unsubscribe`` with ``channels`` as names or ``{name, product_ids}``."""
        try:
            req = json.loads(data)
            kind = req["type"]
            if kind not in ("subscribe", "unsubscribe"):
                raise ValueError(kind)
            wanted: list[tuple[str, list[str]]] = []
            for ch in req.get("channels", []):
                if isinstance(ch, str):
                    wanted.append((ch, list(req.get("product_ids", []))))
                else:
                    wanted.append((ch["name"], list(ch.get("product_ids", req.get("product_ids", [])))))
        except (ValueError, KeyError, TypeError):
            self.send_raw(_json({"type": "error", "message": "Failed to subscribe", "reason": "malformed request"}),
                          data=False)
            return
        for _name, prods in wanted:
            bad = [p for p in prods if (COINBASE_EXCHANGE, p) not in self.sim._markets]
            if bad:
                self.send_raw(_json({"type": "error", "message": "Failed to subscribe",
                                     "reason": f"{bad[0]} is not a valid product"}), data=False)
                return
        self.subscribed = True
        new_l2: list[str] = []
        for name, prods in wanted:
            if name in ("level2", "level2_batch"):
                for p in prods:
                    if kind == "subscribe" and p not in self.l2:
                        self.l2.append(p)
                        new_l2.append(p)
                    elif kind == "unsubscribe" and p in self.l2:
                        self.l2.remove(p)
                        self._close(p)
            elif name == "heartbeat":
                for p in prods:
                    if kind == "subscribe" and p not in self.hb:
                        self.hb.append(p)
                    elif kind == "unsubscribe" and p in self.hb:
                        self.hb.remove(p)
        channels = []
        if self.l2:
            channels.append({"name": "level2_batch", "product_ids": list(self.l2)})
        if self.hb:
            channels.append({"name": "heartbeat", "product_ids": list(self.hb)})
        self.send_raw(_json({"type": "subscriptions", "channels": channels}), data=False)
        self._open(new_l2)

    def _send_snapshot(self, m: Market, state: BookState) -> None:
        # Sent at once even behind a burst: no sequence, and a live product's updates are
        # not queued either, so its snapshot still comes first.
        self.send_raw(render.ex_snapshot(m.symbol, state, m.fmt))

    def _burst_blob(self, markets: list[Market]) -> tuple[bytes, list[int]]:
        return self.sim._coinbase_burst(COINBASE_EXCHANGE, markets, 0)

    def deliver(self, market: Market, stream: bytes, items: list[tuple[bytes, int]], msg: Message) -> None:
        """One ``l2update`` frame per item (between whole burst frames: no sequence)."""
        for payload, mode in items:
            self.send_item(payload, mode)

    def heartbeat(self) -> None:
        """One ``heartbeat`` message per subscribed product (none while bursting)."""
        if self.bursting:
            return
        ts = render.rfc3339_us()
        for p in self.hb:
            m = self.sim._markets.get((COINBASE_EXCHANGE, p))
            seq = m.model.last_id if m is not None else 0
            tid = self.trade_ids.get(p, 0) + 1
            self.trade_ids[p] = tid
            self.send_raw(f'{{"type":"heartbeat","sequence":{seq},"last_trade_id":{tid},'
                          f'"product_id":"{p}","time":"{ts}"}}'.encode())


class Simulator:
    """Local exchange simulator: real venue protocols, fault injection, ground truth.

    >>> async with Simulator(SimConfig()) as sim:          # doctest: +SKIP
    ...     url = sim.ws_url("binance")                      # ws://127.0.0.1:PORT
    ...     sim.inject("binance", "BTCUSDT", "drop", count=1)
    ...     truth = sim.truth("binance", "BTCUSDT")
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        """Build every market from ``config`` (burst messages are generated here)."""
        self.config = config or SimConfig()
        for v in self.config.venues:
            if v not in VENUES:
                raise ValueError(f"unknown venue {v!r}; known: {', '.join(VENUES)}")
        self._markets: dict[tuple[str, str], Market] = {}
        for venue, symbols in self.config.venues.items():
            for cfg in symbols:
                self._markets[(venue, cfg.symbol)] = Market(self, venue, cfg)
        self._conns: set[_Conn] = set()
        self._dirty: set[_ATConn] = set()
        self._burst_cache: OrderedDict[tuple[Any, ...], tuple[bytes, list[int]]] = OrderedDict()
        self._counters: Counter[str] = Counter()
        self._faults_fired: Counter[str] = Counter()
        self._rest_faults: dict[str, list[tuple[str, str, dict[str, Any]]]] = {v: [] for v in VENUES}
        self._weights: dict[str, tuple[int, int]] = {}
        self._paused = False
        self._ws_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ws_port = 0
        self._rest_port = 0
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Open both ports, start the market clock, heartbeats and start-up faults."""
        if self._started:
            return
        cfg = self.config
        self._ws_server = await ws_create_server(
            self._route, cfg.host, cfg.ws_port, use_aiofastnet=cfg.use_aiofastnet,
            logger_name="fastfeed.sim", enable_auto_pong=True, max_frame_size=1 << 20,
        )
        self._ws_port = self._ws_server.sockets[0].getsockname()[1]
        app = web.Application()
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.rest_port)
        await site.start()
        self._rest_port = self._runner.addresses[0][1]
        loop = asyncio.get_running_loop()
        now = loop.time()
        for m in self._markets.values():
            m.t0 = now
        self._tasks.append(loop.create_task(self._clock()))
        self._tasks.append(loop.create_task(self._heartbeats()))
        self._started = True
        for spec in cfg.faults:
            self.inject(spec.venue, spec.symbol, spec.fault, **spec.params)

    async def stop(self) -> None:
        """Close every connection (abruptly) and both servers."""
        if not self._started:
            return
        self._started = False
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        for c in list(self._conns):
            if c.transport is not None:
                c.transport.disconnect(graceful=False)
        if self._ws_server is not None:
            self._ws_server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws_server.wait_closed(), 2)
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Simulator:
        """``async with Simulator(...) as sim``: start on enter."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop on exit."""
        await self.stop()

    # -- addresses ----------------------------------------------------------------------

    @property
    def ws_port(self) -> int:
        """The WebSocket port (valid after start)."""
        return self._ws_port

    @property
    def rest_port(self) -> int:
        """The REST port (valid after start)."""
        return self._rest_port

    def ws_url(self, venue: str) -> str:
        """The WebSocket base URL a client should use as its override for ``venue``.

        Binance spot and USD-M: ``ws://H:PORT`` (the client appends ``/ws/...``,
        ``/stream?...`` or, for USD-M, ``/public/ws/...``). Coinbase: the full URL.
        """
        base = f"ws://{self.config.host}:{self._ws_port}"
        if venue in (BINANCE, BINANCE_USDM):
            return base
        if venue == COINBASE:
            return base + "/coinbase/advanced-trade"
        if venue == COINBASE_EXCHANGE:
            return base + "/coinbase/exchange"
        raise ValueError(f"unknown venue {venue!r}")

    def rest_url(self, venue: str) -> str:
        """REST base URL (``http://H:PORT``; the client appends ``/api/v3/...``/``/fapi/v1/...``)."""
        if venue not in VENUES:
            raise ValueError(f"unknown venue {venue!r}")
        return f"http://{self.config.host}:{self._rest_port}"

    def urls(self) -> dict[str, dict[str, str]]:
        """``{venue: {"ws": ..., "rest": ...}}`` for every venue."""
        return {v: {"ws": self.ws_url(v), "rest": self.rest_url(v)} for v in VENUES}

    # -- controls -----------------------------------------------------------------------

    def symbols(self, venue: str) -> list[str]:
        """Symbols configured for ``venue``."""
        return [s for (v, s) in self._markets if v == venue]

    def market(self, venue: str, symbol: str) -> Market:
        """The market object (model, config) for (venue, symbol); KeyError if unknown."""
        try:
            return self._markets[(venue, symbol)]
        except KeyError:
            raise KeyError(f"no such market: {venue} {symbol}") from None

    def pause(self) -> None:
        """Freeze every market: no new messages until :meth:`resume` (heartbeats go on)."""
        self._paused = True

    def resume(self) -> None:
        """Unfreeze; the clock restarts from now (no catch-up burst)."""
        if not self._paused:
            return
        self._paused = False
        now = asyncio.get_running_loop().time()
        for m in self._markets.values():
            if m.rate > 0:
                m.t0 = now - m.generated / m.rate

    @property
    def paused(self) -> bool:
        """True while paused."""
        return self._paused

    def step(self, venue: str, symbol: str, count: int = 1) -> None:
        """Generate and send ``count`` messages for one market right now (works while paused)."""
        m = self.market(venue, symbol)
        for _ in range(count):
            m.emit(m.model.step())
            m.generated += 1
        self._flush()

    def inject(self, venue: str, symbol: str, fault: str, **params: Any) -> None:
        """Inject a fault now (names and parameters: :data:`fastfeed.sim.faults.FAULTS`).

        ``symbol="*"``: every symbol of the venue. ``every=S``: re-inject every S seconds.
        """
        p = fault_params(fault, params)
        if venue not in VENUES:
            raise ValueError(f"unknown venue {venue!r}")
        markets = [m for (v, s), m in self._markets.items() if v == venue and symbol in ("*", s)]
        if not markets and fault not in REST_FAULTS:
            raise KeyError(f"no such market: {venue} {symbol}")
        every = p.pop("every", None)
        if fault == "close":
            if not 1000 <= int(p["code"]) <= 4999:
                raise ValueError(f"close code {p['code']} is outside 1000..4999")
        if fault in STREAM_FAULTS:
            for m in markets:
                if fault == "drop":
                    m.f_drop += int(p["count"])
                elif fault == "duplicate":
                    m.f_dup += int(p["count"])
                elif fault == "reorder":
                    m.f_reorder += int(p["count"])
                elif fault == "malformed":
                    m.f_malformed.append(dict(p))
                elif fault == "truncated":
                    m.f_trunc.append(dict(p))
                elif fault == "oversized":
                    m.f_oversized.append(int(p["size"]))
        elif fault in CONN_FAULTS:
            conns = {c for m in markets for c in m.subs}
            if symbol == "*":
                conns |= {c for c in self._conns if c.venue == venue}
            if conns:
                for c in conns:
                    c.arm(fault, p)
            else:
                for m in markets:
                    m.pending_conn_faults.append((fault, dict(p)))
        elif fault == "slow_snapshot":
            for m in markets:
                m.f_slow.extend([float(p["delay"])] * int(p["count"]))
        elif fault == "stale_snapshot":
            for m in markets:
                m.ensure_history(int(p["lag"]) + 2)
                m.f_stale.extend([int(p["lag"])] * int(p["count"]))
        else:
            self._rest_faults[venue].append((fault, symbol, dict(p)))
        if every:
            loop = asyncio.get_running_loop()
            loop.call_later(float(every), self._reinject, venue, symbol, fault, dict(params))

    def _reinject(self, venue: str, symbol: str, fault: str, params: dict[str, Any]) -> None:
        if self._started:
            self.inject(venue, symbol, fault, **params)

    def truth(self, venue: str, symbol: str, last_id: int | None = None) -> BookTruth:
        """The simulator's book for (venue, symbol) as of update id ``last_id`` (None = now).

        Returns the state after the last message whose ``u`` <= ``last_id``; raises
        ``LookupError`` beyond the retained history (``SimConfig.history`` messages). For
        Coinbase (no ids on the wire) call :meth:`pause` first and compare with ``None``.
        """
        m = self.market(venue, symbol)
        state = m.model.book_at(last_id)
        ps, ss = m.model.price_scale, m.model.size_scale
        return BookTruth(state.last_id, state.sorted_bids(), state.sorted_asks(), venue, symbol,
                         ps.text, ss.text, ps.decimals, ss.decimals)

    # -- stats --------------------------------------------------------------------------

    @property
    def messages_sent(self) -> int:
        """Data messages sent over WebSocket (acks and pings excluded)."""
        return self._counters["messages_sent"]

    @property
    def faults_fired(self) -> dict[str, int]:
        """How many times each fault took effect."""
        return dict(self._faults_fired)

    def stats(self) -> dict[str, Any]:
        """Counters (what ``GET /debug/stats`` returns)."""
        return {
            "messages_sent": self.messages_sent,
            "faults_fired": self.faults_fired,
            "connections_open": len(self._conns),
            "connections_opened": self._counters["connections_opened"],
            "rest_requests": self._counters["rest_requests"],
            "bursts_written": self._counters["bursts_written"],
            "paused": self._paused,
            "markets": {
                f"{v}:{s}": {"last_id": m.model.last_id, "messages": m.sent + len(m.burst),
                             "subscribers": len(m.subs), "mode": "live" if m.live else "burst"}
                for (v, s), m in self._markets.items()
            },
        }

    def _fired(self, name: str) -> None:
        self._faults_fired[name] += 1

    # -- clock --------------------------------------------------------------------------

    async def _clock(self) -> None:
        tick = max(0.0005, self.config.tick_interval)
        live = [m for m in self._markets.values() if m.live and m.rate > 0]
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(tick)
            if self._paused:
                continue
            now = loop.time()
            for m in live:
                due = int((now - m.t0) * m.rate) - m.generated
                cap = max(1, int(m.rate * 0.25))
                if due > cap:
                    # Fell behind (GC, debugger): skip ahead rather than flood the clients.
                    m.t0 = now - (m.generated + cap) / m.rate
                    due = cap
                for _ in range(due):
                    m.emit(m.model.step())
                    m.generated += 1
            self._flush()

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for c in dirty:
            c.flush()

    def _coinbase_burst(self, venue: str, markets: list[Market], seq: int) -> tuple[bytes, list[int]]:
        """One pre-framed blob of the bursts of ``markets``: messages interleaved whole,
        round robin (snapshots first, each product in order); Advanced Trade envelopes
        numbered from ``seq``. Built from the messages pre-rendered at start; the last few
        blobs are cached (connections subscribing alike get the same bytes)."""
        key = (venue, tuple(m.symbol for m in markets), seq if venue == COINBASE else 0)
        cached = self._burst_cache.get(key)
        if cached is not None:
            self._burst_cache.move_to_end(key)
            return cached
        if venue == COINBASE:
            out = render.at_frames(_round_robin([m.at_burst for m in markets]), seq)
        else:
            out = render.frames_blob(_round_robin([m.ex_burst for m in markets]))
        self._burst_cache[key] = out
        while len(self._burst_cache) > _BURST_CACHE:
            self._burst_cache.popitem(last=False)
        return out

    def _at_reorder_pending(self, conn: _ATConn) -> bool:
        # AT reorder: the first market with a pending reorder claims this envelope.
        if conn.held_env is not None:
            return False
        for m in conn.markets:
            if m.f_reorder > 0:
                m.f_reorder -= 1
                self._fired("reorder")
                return True
        return False

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            for c in list(self._conns):
                if isinstance(c, _CoinbaseConn) and not c.closed:
                    c.heartbeat()

    # -- WebSocket routing ---------------------------------------------------------------

    def _route(self, request: WSUpgradeRequest) -> Any:
        split = urlsplit(request.path.decode("latin-1"))
        path = unquote(split.path).rstrip("/") or "/"
        query = parse_qs(split.query)
        venue: str | None = None
        deaf = False
        rest = path
        for prefix, v in (("/binance-usdm", BINANCE_USDM), ("/binance", BINANCE)):
            if path == prefix or path.startswith(prefix + "/"):
                venue, rest = v, path[len(prefix):] or "/"
                break
        if venue is None:
            if path.startswith(("/public/", "/market/", "/private/")) or path in ("/public", "/market", "/private"):
                venue = BINANCE_USDM
            elif path in ("/coinbase", "/coinbase/advanced-trade", "/advanced-trade"):
                return _ATConn(self)
            elif path in ("/coinbase/exchange", "/coinbase-exchange"):
                return _ExConn(self)
            else:
                venue = BINANCE
        if venue == BINANCE_USDM:
            if rest == "/public" or rest.startswith("/public/"):
                rest = rest[len("/public"):] or "/"
            else:
                deaf = True  # depth on a non-/public route: accepted, silent (real fstream)
                for route in ("/market", "/private"):
                    if rest == route or rest.startswith(route + "/"):
                        rest = rest[len(route):] or "/"
        if rest == "/ws" or rest.startswith("/ws/"):
            streams = [s for s in rest[4:].split("/") if s]
            combined = False
        elif rest == "/stream":
            streams = [s for part in query.get("streams", []) for s in part.split("/") if s]
            combined = True
        else:
            return None  # 404
        limit = self.config.max_streams.get(venue, 1024)
        if len(streams) > limit:
            body = _json({"code": -1, "msg": f"Too many streams: {len(streams)} > {limit} per connection"})
            resp = WSUpgradeResponse.create_error_response(400, body, {"Content-Type": "application/json"})
            return WSUpgradeResponseWithListener(resp, None)
        return _BinanceConn(self, venue, combined, deaf, streams)

    # -- REST ---------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/depth", self._spot_depth)
        app.router.add_get("/api/v3/exchangeInfo", self._spot_info)
        app.router.add_get("/fapi/v1/depth", self._usdm_depth)
        app.router.add_get("/fapi/v1/exchangeInfo", self._usdm_info)
        app.router.add_get("/api/v3/brokerage/market/products/{product_id}", self._at_product)
        app.router.add_get("/products/{product_id}", self._ex_product)
        app.router.add_get("/debug/truth", self._debug_truth)
        app.router.add_post("/debug/fault", self._debug_fault)
        app.router.add_post("/debug/pause", self._debug_pause)
        app.router.add_post("/debug/resume", self._debug_resume)
        app.router.add_get("/debug/stats", self._debug_stats)

    @staticmethod
    def _err(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(status=status, body=_json({"code": code, "msg": msg}),
                            content_type="application/json", headers=headers)

    def _injected_http(self, venue: str, symbol: str | None) -> web.Response | None:
        faults = self._rest_faults[venue]
        for i, (name, fsym, p) in enumerate(faults):
            if fsym not in ("*", symbol):
                continue
            p["count"] = int(p["count"]) - 1
            if p["count"] <= 0:
                del faults[i]
            self._fired(name)
            if name == "http_429":
                return self._err(429, -1003, "Too many requests; current limit of IP(127.0.0.1) request weight "
                                 "per 1 MINUTE is exceeded. Please use WebSocket Streams for live updates "
                                 "to avoid polling the API.", {"Retry-After": str(p["retry_after"])})
            if name == "http_418":
                until = render.now_ms() + int(p["retry_after"]) * 1000
                return self._err(418, -1003, f"Way too many requests; IP(127.0.0.1) banned until {until}. "
                                 "Please use WebSocket Streams for live updates to avoid bans.",
                                 {"Retry-After": str(p["retry_after"])})
            return self._err(500, -1000, "An unknown error occurred while processing the request.")
        return None

    def _charge(self, venue: str, weight: int) -> tuple[bool, int, int]:
        """Spend request weight in the per-minute window: (ok, used, seconds to reset)."""
        now = time.time()
        minute = int(now // 60)
        start, used = self._weights.get(venue, (minute, 0))
        if start != minute:
            used = 0
        limit = self.config.weight_limit.get(venue, 6000)
        if used + weight > limit:
            self._weights[venue] = (minute, used)
            return False, used, max(1, int(60 - now % 60) + 1)
        used += weight
        self._weights[venue] = (minute, used)
        return True, used, 0

    async def _depth(self, request: web.Request, venue: str) -> web.Response:
        self._counters["rest_requests"] += 1
        usdm = venue == BINANCE_USDM
        symbol = request.query.get("symbol")
        injected = self._injected_http(venue, symbol)
        if injected is not None:
            return injected
        if not symbol:
            return self._err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        m = self._markets.get((venue, symbol))
        if m is None:
            return self._err(400, -1121, "Invalid symbol.")
        raw = request.query.get("limit")
        if raw is None:
            limit = 500 if usdm else 100
        elif not raw.isdigit():
            return self._err(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.")
        else:
            limit = int(raw)
        if usdm:
            if limit not in (5, 10, 20, 50, 100, 500, 1000):
                return self._err(400, -1130, "Data sent for parameter 'limit' is not valid.")
            weight = 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
        else:
            if limit < 1:
                return self._err(400, -1130, "Data sent for parameter 'limit' is not valid.")
            limit = min(limit, 5000)  # the real venue truncates to 5000
            weight = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
        ok, used, reset = self._charge(venue, weight)
        if not ok:
            return self._err(429, -1003, "Too many requests; current limit of IP(127.0.0.1) request weight per "
                             f"1 MINUTE is {self.config.weight_limit.get(venue, 6000)}.",
                             {"Retry-After": str(reset), "X-MBX-USED-WEIGHT-1M": str(used)})
        # Captured on arrival: a slow snapshot is delivered late, and so is older than the stream.
        state = m.rest_state()
        if m.f_slow:
            delay = m.f_slow.pop(0)
            self._fired("slow_snapshot")
            await asyncio.sleep(delay)
        body = render.binance_snapshot(state, limit, m.fmt, usdm)
        return web.Response(body=body, content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": str(used)})

    async def _spot_depth(self, request: web.Request) -> web.Response:
        return await self._depth(request, BINANCE)

    async def _usdm_depth(self, request: web.Request) -> web.Response:
        return await self._depth(request, BINANCE_USDM)

    def _symbol_info(self, venue: str, m: Market) -> dict[str, Any]:
        cfg = m.cfg
        ps, ss = m.model.price_scale, m.model.size_scale
        if venue == BINANCE:
            tick, step = ps.fmt(1, 8), ss.fmt(1, 8)
            base = cfg.symbol[:-4] if cfg.symbol.endswith(("USDT", "USDC")) else cfg.symbol[:-3]
            return {
                "symbol": cfg.symbol, "status": "TRADING", "baseAsset": base,
                "baseAssetPrecision": 8, "quoteAsset": cfg.symbol[len(base):], "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
                    {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
                ],
            }
        base = cfg.symbol[:-4] if cfg.symbol.endswith(("USDT", "USDC")) else cfg.symbol[:-3]
        return {
            "symbol": cfg.symbol, "pair": cfg.symbol, "contractType": "PERPETUAL", "status": "TRADING",
            "baseAsset": base, "quoteAsset": cfg.symbol[len(base):],
            "pricePrecision": ps.text_decimals, "quantityPrecision": ss.text_decimals,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": ps.text, "maxPrice": "4529764", "tickSize": ps.text},
                {"filterType": "LOT_SIZE", "minQty": ss.text, "maxQty": "1000", "stepSize": ss.text},
            ],
        }

    async def _info(self, request: web.Request, venue: str) -> web.Response:
        self._counters["rest_requests"] += 1
        injected = self._injected_http(venue, request.query.get("symbol"))
        if injected is not None:
            return injected
        names: list[str] | None = None
        if "symbol" in request.query:
            names = [request.query["symbol"]]
        elif "symbols" in request.query:
            try:
                parsed = json.loads(request.query["symbols"])
                if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
                    raise ValueError
                names = parsed
            except ValueError:
                return self._err(400, -1100, "Illegal characters found in parameter 'symbols'.")
        if names is None:
            markets = [m for (v, _), m in self._markets.items() if v == venue]
        else:
            markets = []
            for n in names:
                found = self._markets.get((venue, n))
                if found is None:
                    return self._err(400, -1121, "Invalid symbol.")
                markets.append(found)
        ok, used, reset = self._charge(venue, 20 if venue == BINANCE else 1)
        if not ok:
            return self._err(429, -1003, "Too many requests.", {"Retry-After": str(reset), "X-MBX-USED-WEIGHT-1M": str(used)})
        body = {
            "timezone": "UTC",
            "serverTime": render.now_ms(),
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                            "limit": self.config.weight_limit.get(venue, 6000)}],
            "exchangeFilters": [],
            "symbols": [self._symbol_info(venue, m) for m in markets],
        }
        return web.Response(body=_json(body), content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": str(used)})

    def _product(self, request: web.Request, venue: str, body: dict[str, Any]) -> web.Response:
        """Coinbase product metadata: the increments a client needs for its scales."""
        self._counters["rest_requests"] += 1
        product = request.match_info["product_id"]
        injected = self._injected_http(venue, product)
        if injected is not None:
            return injected
        m = self._markets.get((venue, product))
        if m is None:
            return web.json_response({"message": "NotFound"}, status=404)
        body.update(quote_increment=m.cfg.tick_size, base_increment=m.cfg.step_size)
        return web.Response(body=_json(body), content_type="application/json")

    async def _at_product(self, request: web.Request) -> web.Response:
        """``GET /api/v3/brokerage/market/products/{id}`` (Advanced Trade, public)."""
        product = request.match_info["product_id"]
        base, _, quote = product.partition("-")
        return self._product(request, COINBASE, {
            "product_id": product, "base_currency_id": base, "quote_currency_id": quote,
            "status": "online", "product_type": "SPOT"})

    async def _ex_product(self, request: web.Request) -> web.Response:
        """``GET /products/{id}`` (Coinbase Exchange)."""
        product = request.match_info["product_id"]
        base, _, quote = product.partition("-")
        return self._product(request, COINBASE_EXCHANGE, {
            "id": product, "base_currency": base, "quote_currency": quote,
            "status": "online", "trading_disabled": False})

    async def _spot_info(self, request: web.Request) -> web.Response:
        return await self._info(request, BINANCE)

    async def _usdm_info(self, request: web.Request) -> web.Response:
        return await self._info(request, BINANCE_USDM)

    async def _debug_truth(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            last_id = int(q["last_id"]) if q.get("last_id") else None
            t = self.truth(q.get("venue", ""), q.get("symbol", ""), last_id)
        except (KeyError, ValueError, LookupError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.Response(body=_json(t.to_dict()), content_type="application/json")

    async def _debug_fault(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            self.inject(body["venue"], body.get("symbol", "*"), body["fault"], **(body.get("params") or {}))
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _debug_pause(self, request: web.Request) -> web.Response:
        self.pause()
        return web.json_response({"paused": True})

    async def _debug_resume(self, request: web.Request) -> web.Response:
        self.resume()
        return web.json_response({"paused": False})

    async def _debug_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())


__all__ = ["FaultSpec", "Market", "SimConfig", "Simulator", "SymbolConfig"]
