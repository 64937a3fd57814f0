"""Playback server: a recording served over real sockets to a live ``Engine``
(``fastfeed replay FILE --serve``; docs/recording.md, "Playback over sockets").

One picows WebSocket port and one aiohttp REST port, every venue under its own path
prefix (``H`` = host):

* WebSocket base ``ws://H:WS/<venue>`` (the engine appends ``/stream?streams=...``,
  ``/public/stream?...``; Coinbase connects to the base itself). Every connection to a
  venue's prefix gets the recorded messages of that venue's recorded connections (the
  ``connect`` operation names each connection's venue), all of them merged in recorded
  order, from the start of the file, paced from the moment *it* connected at the recorded
  pace × ``speed`` (``speed`` 0 or None: as fast as the socket takes them). What the
  client sends (subscribes, pings) is read and ignored; picows answers pings.
* REST base ``http://H:REST/<venue>``: a depth snapshot request (``Venue.depth_path``)
  for a symbol gets the k-th recorded ``snapshot`` operation body of that symbol's book
  (the last one again after the last); any other GET gets the recorded ``rest`` event
  body (an instrument lookup) of the same path and parameters; anything else a 404 with
  a text saying what the recording holds.

Memory is bounded: at start one pass over the file indexes where the snapshots and REST
bodies are (chunk and byte range, not the bodies); each connection then walks the chunks
one at a time, decompressed in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import web
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

from fastfeed._record import DECLARE, EVENT, FRAME, HEADER_SIZE, OP
from fastfeed.recording import RECORD_HEADER, Recording, RecordingError, split_meta
from fastfeed.venues import VENUES

__all__ = ["PlaybackServer", "RecordingIndex"]

log = logging.getLogger("fastfeed.sim.playback")

YIELD_EVERY = 256
"""Frames sent back to back before the playback yields to the event loop (``speed`` 0:
other connections and the REST port are served meanwhile)."""

STOP_GRACE = 2.0
"""Seconds ``stop`` waits for connections to flush and close before aborting them."""

#: Where a body lives in a recording: (chunk index in ``Recording.chunks``, start, length
#: of the body within the decompressed chunk).
Span = tuple[int, int, int]


@dataclass
class RecordingIndex:
    """What one pass over a recording finds: each connection's venue, each book's
    snapshot bodies in order, each REST body with its path and parameters (as spans, not
    bytes), and how many messages each venue has."""

    conn_venue: dict[int, str] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], list[Span]] = field(default_factory=dict)
    rest: list[tuple[str, dict[str, str], Span]] = field(default_factory=list)
    frames: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, rec: Recording) -> RecordingIndex:
        """Walk every readable chunk of ``rec`` once (docs/recording.md, "Records")."""
        ix = cls()
        books: dict[int, tuple[str, str]] = {}
        header_books = rec.header.get("books")
        for decl in header_books if isinstance(header_books, list) else []:
            ix._declare(books, decl)
        for number, info in enumerate(rec.chunks):
            try:
                raw = rec.read_chunk(info)
            except RecordingError as exc:
                ix.problems.append(str(exc))
                continue
            for kind, conn, start, length, _t_ns in _walk(raw):
                if kind == FRAME:
                    venue = ix.conn_venue.get(conn)
                    if venue is not None:
                        ix.frames[venue] += 1
                    continue
                if kind not in (DECLARE, OP, EVENT):
                    continue
                payload = raw[start:start + length]
                try:
                    meta, body = split_meta(payload)
                except ValueError as exc:
                    ix.problems.append(f"chunk {info.number}: {exc}")
                    continue
                span = (number, start + length - len(body), len(body))
                if kind == DECLARE:
                    ix._declare(books, meta)
                elif kind == OP and meta.get("op") == "connect":
                    ix.conn_venue[conn] = str(meta.get("venue"))
                elif kind == OP and meta.get("op") == "snapshot":
                    key = books.get(meta.get("id", -1))
                    if key is not None:
                        ix.snapshots.setdefault(key, []).append(span)
                elif kind == EVENT and meta.get("event") == "rest":
                    path = urlsplit(str(meta.get("url", ""))).path
                    params = meta.get("params")
                    ix.rest.append((path, {str(k): str(v) for k, v in params.items()}
                                    if isinstance(params, dict) else {}, span))
        return ix

    @staticmethod
    def _declare(books: dict[int, tuple[str, str]], decl: Any) -> None:
        if isinstance(decl, dict) and decl.get("kind") == "book" and "id" in decl:
            books.setdefault(decl["id"], (str(decl.get("venue")), str(decl.get("symbol"))))

    def find_rest(self, path: str, params: dict[str, str]) -> Span | None:
        """The recorded REST body for GET ``path`` with ``params``: same path and same
        parameters first, then same path and the same ``symbol`` (or a ``symbols`` list
        holding it), then any body of that path when the request names no symbol."""
        same = [(p, s) for rp, p, s in self.rest if rp == path]
        for p, s in same:
            if p == params:
                return s
        want = params.get("symbol")
        for p, s in same:
            if want is not None and (p.get("symbol") == want or want in _symbols(p)):
                return s
        if want is None and "symbols" not in params and same:
            return same[0][1]
        return None


def _symbols(params: dict[str, str]) -> list[str]:
    try:
        value = json.loads(params.get("symbols", "[]"))
    except ValueError:
        return []
    return [str(x) for x in value] if isinstance(value, list) else []


def _walk(raw: bytes) -> Any:
    """(kind, conn, payload start, payload length, t_ns) of every record of a chunk (stops at
    a record running past the end: the reader already reported such damage)."""
    pos, size, unpack = 0, len(raw), RECORD_HEADER.unpack_from
    while size - pos >= HEADER_SIZE:
        kind, _flags, _reserved, conn, t_ns, length = unpack(raw, pos)
        start = pos + HEADER_SIZE
        if length > size - start:
            return
        pos = start + length
        yield kind, conn, start, length, t_ns


class _Client(WSListener):
    """One client connection: reads and ignores what it is sent, echoes a close."""

    def __init__(self, server: PlaybackServer, venue: str) -> None:
        super().__init__()
        self.server = server
        self.venue = venue
        self.transport: WSTransport | None = None
        self.sent = 0
        self.closed = False
        self.writable = asyncio.Event()
        self.writable.set()
        self.task: asyncio.Task[None] | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Start this connection's playback from the start of the file."""
        self.transport = transport
        self.server.touch()
        self.server._clients.add(self)
        self.server.connections[self.venue] += 1
        self.task = asyncio.get_running_loop().create_task(self.server._play(self))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        """Stop the playback."""
        self.closed = True
        self.server._clients.discard(self)
        self.writable.set()
        if self.task is not None:
            self.task.cancel()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Subscribes and the like are ignored; a close is echoed and the socket closed."""
        if frame.msg_type == WSMsgType.CLOSE:
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def pause_writing(self) -> None:
        """The socket's buffer is full: the playback waits."""
        self.writable.clear()

    def resume_writing(self) -> None:
        """The socket drained."""
        self.writable.set()


class PlaybackServer:
    """Serves one recording to live engines over real sockets (module docstring).

    >>> async with PlaybackServer("session.ffrec", speed=1.0) as srv:  # doctest: +SKIP
    ...     book = await engine.subscribe("binance", "BTCUSDT", ws_url=srv.ws_url("binance"),
    ...                                   rest_url=srv.rest_url("binance"))
    ...     await srv.finished.wait()

    ``finished`` is set once every venue of the recording has been played to the end on
    at least one connection; connections stay open (silent) afterwards.
    """

    def __init__(self, path: str, *, speed: float | None = 1.0, host: str = "127.0.0.1",
                 ws_port: int = 0, rest_port: int = 0) -> None:
        """Open and index the recording (``RecordingError`` when it is not one)."""
        if speed is not None and speed < 0:
            raise ValueError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
        self.path = path
        self.speed = speed or None
        self.host = host
        self.recording = Recording(path)
        try:
            self.index = RecordingIndex.build(self.recording)
        except BaseException:
            self.recording.close()
            raise
        #: venues with messages in the recording, in the order first connected in it
        self.venues = list(dict.fromkeys(v for v in self.index.conn_venue.values()
                                         if self.index.frames[v]))
        self.finished = asyncio.Event()
        self.connections: Counter[str] = Counter()      # client connections per venue
        self.frames_sent: Counter[str] = Counter()
        self.snapshots_served: Counter[str] = Counter()
        self.rest_served = 0
        self.not_found = 0
        self._played: set[str] = set()
        self._snapshot_next: Counter[tuple[str, str]] = Counter()
        self._clients: set[_Client] = set()
        self._ws_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._ws_port = ws_port
        self._rest_port = rest_port
        self._last_activity = 0.0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Open both ports."""
        self._ws_server = await ws_create_server(
            self._route, self.host, self._ws_port, logger_name="fastfeed.sim.playback",
            max_frame_size=1 << 20)
        self._ws_port = self._ws_server.sockets[0].getsockname()[1]
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self._rest_port).start()
        self._rest_port = self._runner.addresses[0][1]
        self.touch()
        if not self.venues:
            self.finished.set()

    async def stop(self) -> None:
        """Close every connection, both ports and the file. A connection gets a CLOSE 1001
        and is closed when the client answers it, so it has read everything sent before
        (closing first could reset the socket under data the client has not read yet);
        it is aborted after ``STOP_GRACE`` seconds without an answer."""
        clients = [c for c in self._clients if c.transport is not None and not c.closed]
        for c in clients:
            assert c.transport is not None
            if not c.transport.is_close_frame_sent:
                c.transport.send_close(WSCloseCode.GOING_AWAY, b"playback stopped")
        waits = [c.transport.wait_disconnected() for c in clients if c.transport is not None]
        if waits:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True),
                                       STOP_GRACE)
        for c in clients:
            if not c.closed and c.transport is not None:
                c.transport.disconnect(graceful=False)
            if c.task is not None:
                c.task.cancel()     # before the file closes under it
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await c.task
        if self._ws_server is not None:
            self._ws_server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws_server.wait_closed(), 2)
            self._ws_server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.recording.close()

    async def __aenter__(self) -> PlaybackServer:
        """``async with PlaybackServer(...)``: start on enter."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop on exit."""
        await self.stop()

    def touch(self) -> None:
        """Note a request or a connection now (``idle_seconds``)."""
        self._last_activity = asyncio.get_running_loop().time()

    def idle_seconds(self) -> float:
        """Seconds since the last REST request or WebSocket connection (since start when
        none came yet)."""
        return asyncio.get_running_loop().time() - self._last_activity

    # -- addresses ----------------------------------------------------------------------

    def ws_url(self, venue: str) -> str:
        """The ``ws_url=`` an engine uses for ``venue`` (valid after start)."""
        return f"ws://{self.host}:{self._ws_port}/{venue}"

    def rest_url(self, venue: str) -> str:
        """The ``rest_url=`` an engine uses for ``venue`` (valid after start)."""
        return f"http://{self.host}:{self._rest_port}/{venue}"

    def urls(self) -> dict[str, dict[str, str]]:
        """``{venue: {"ws": ..., "rest": ...}}`` for every venue of the recording."""
        return {v: {"ws": self.ws_url(v), "rest": self.rest_url(v)} for v in self.venues}

    def stats(self) -> dict[str, Any]:
        """What was served so far."""
        return {"venues": list(self.venues), "frames": dict(self.index.frames),
                "frames_sent": dict(self.frames_sent), "connections": dict(self.connections),
                "snapshots_served": dict(self.snapshots_served),
                "rest_served": self.rest_served, "not_found": self.not_found,
                "played": sorted(self._played), "finished": self.finished.is_set(),
                "problems": list(self.index.problems)
                + [str(p) for p in self.recording.problems]}

    # -- WebSocket ----------------------------------------------------------------------

    def _route(self, request: WSUpgradeRequest) -> _Client | None:
        path = unquote(urlsplit(request.path.decode("latin-1")).path)
        venue = path.strip("/").split("/", 1)[0]
        if venue not in self.venues:
            log.info("WebSocket upgrade for %s: no recorded venue there (404); this "
                     "playback serves %s", path, ", ".join(f"/{v}" for v in self.venues))
            self.not_found += 1
            return None     # picows answers 404
        return _Client(self, venue)

    async def _play(self, client: _Client) -> None:
        """Send ``client`` every recorded message of its venue, in order, paced."""
        loop = asyncio.get_running_loop()
        rec, venues, speed = self.recording, self.index.conn_venue, self.speed
        started = loop.time()
        origin: int | None = None       # recorded time of the first message sent
        burst = 0
        for info in list(rec.chunks):
            try:
                raw = await asyncio.to_thread(rec.read_chunk, info)
            except RecordingError:
                continue        # listed in the index's problems already
            for kind, conn, start, length, t_ns in _walk(raw):
                if kind != FRAME or venues.get(conn) != client.venue:
                    continue
                if speed is not None:
                    if origin is None:
                        origin = t_ns
                    wait = started + (t_ns - origin) / speed / 1e9 - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        burst = 0
                if not client.writable.is_set():
                    await client.writable.wait()
                    burst = 0
                if client.closed or client.transport is None:
                    return
                client.transport.send(WSMsgType.TEXT, raw[start:start + length])
                client.sent += 1
                self.frames_sent[client.venue] += 1
                burst += 1
                if burst >= YIELD_EVERY:
                    burst = 0
                    await asyncio.sleep(0)
        self._played.add(client.venue)
        if self._played >= set(self.venues):
            self.finished.set()

    # -- REST ---------------------------------------------------------------------------

    def _body(self, span: Span) -> bytes:
        number, start, length = span
        raw = self.recording.read_chunk(self.recording.chunks[number])
        return raw[start:start + length]

    def _merged_info(self, path: str, symbols: list[str]) -> bytes | None:
        """A batched Binance ``exchangeInfo?symbols=[...]`` the recording holds only one
        symbol at a time (or in other batches): the first body with its ``symbols`` list
        made of each asked symbol's recorded entry; None when one is missing."""
        base: dict[str, Any] | None = None
        entries = []
        for symbol in symbols:
            span = self.index.find_rest(path, {"symbol": symbol})
            if span is None:
                return None
            try:
                body = json.loads(self._body(span))
                entry = next(e for e in body["symbols"] if e.get("symbol") == symbol)
            except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
                return None
            base = body if base is None else base
            entries.append(entry)
        if base is None:
            return None
        base["symbols"] = entries
        return json.dumps(base, separators=(",", ":")).encode()

    def _missing(self, text: str) -> web.Response:
        self.not_found += 1
        log.info("%s", text)
        return web.Response(status=404, text=text + "\n")

    async def _rest(self, request: web.Request) -> web.Response:
        self.touch()
        venue, _, rest = request.path.strip("/").partition("/")
        path = "/" + rest
        if venue not in VENUES or venue not in self.venues:
            return self._missing(f"no recorded venue {venue!r} at /{venue}: this playback "
                                 f"serves {', '.join(f'/{v}' for v in self.venues)}")
        params = {k: v for k, v in request.query.items()}
        depth_path = getattr(VENUES[venue], "depth_path", None)
        if depth_path is not None and path == depth_path:
            symbol = params.get("symbol", "")
            spans = self.index.snapshots.get((venue, symbol))
            if not spans:
                return self._missing(f"the recording holds no {venue} snapshot of "
                                     f"{symbol!r}")
            k = self._snapshot_next[(venue, symbol)]
            self._snapshot_next[(venue, symbol)] += 1
            self.snapshots_served[f"{venue}:{symbol}"] += 1
            body = await asyncio.to_thread(self._body, spans[min(k, len(spans) - 1)])
            return web.Response(body=body, content_type="application/json")
        span = self.index.find_rest(path, params)
        if span is None and _symbols(params):
            merged = await asyncio.to_thread(self._merged_info, path, _symbols(params))
            if merged is not None:
                self.rest_served += 1
                return web.Response(body=merged, content_type="application/json")
        if span is None:
            known = sorted({p for p, _, _ in self.index.rest})
            return self._missing(f"the recording holds no REST body for GET {path} "
                                 f"{params or ''} (it holds: {', '.join(known) or 'none'})")
        self.rest_served += 1
        body = await asyncio.to_thread(self._body, span)
        return web.Response(body=body, content_type="application/json")

