"""The publisher's NATS connection: core-protocol publishes that never wait.

A deliberately small client (the NATS text protocol's ``CONNECT``, ``PUB``, ``PING`` and
``PONG``, docs/fanout.md "Why a second client"), because the publisher needs what a
general client hides: publishing never waits (never an ``await`` on the ingestion loop),
what waits is bounded in bytes (``paused`` above ``max_buffer_bytes``: the publisher stops
draining and its books coalesce), and the moment the connection is lost is known exactly
(the publisher then starts new epochs). After the handshake every write goes to a
``SocketWriter`` thread (``fastfeed._fanout``): the event loop's thread only queues it,
and the system calls, with the local server's share of their cost, run off it. Stream
management and every consumer use ``nats-py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from collections.abc import Callable
from typing import Any, cast

from fastfeed._fanout import SocketWriter
from fastfeed.logsafe import RateLimitedLog, describe_exc

__all__ = ["Link", "LinkError"]

log = logging.getLogger("fastfeed.fanout")

_MAX_LINE = 64 * 1024       # an INFO or -ERR line longer than this is a broken server


class LinkError(ConnectionError):
    """The server refused the connection or spoke something that is not NATS."""


class Link(asyncio.Protocol):
    """One connection to a NATS server, reconnected with capped exponential backoff.

    ``on_up()`` runs after every successful handshake, ``on_down()`` when a connection that
    was up is lost, ``on_writable()`` when the write buffer drained below its low mark.
    """

    def __init__(self, host: str, port: int, *, name: str = "fastfeed-publisher",
                 max_buffer_bytes: int = 64 << 20, connect_timeout: float = 5.0,
                 backoff_min: float = 0.05, backoff_max: float = 5.0,
                 on_up: Callable[[], Any] | None = None,
                 on_down: Callable[[], Any] | None = None,
                 on_writable: Callable[[], Any] | None = None) -> None:
        self.host, self.port, self.name = host, port, name
        self.max_buffer_bytes = max_buffer_bytes
        self.connect_timeout = connect_timeout
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.on_up, self.on_down, self.on_writable = on_up, on_down, on_writable
        self.max_payload = 1 << 20
        self.connected = False          # handshake done, transport open
        self.paused = False             # the transport's buffer is above its high mark
        self.connects = 0
        self.disconnects = 0
        self.errors = 0                 # -ERR lines from the server
        self.last_error = ""
        self._transport: asyncio.Transport | None = None
        self._writer: SocketWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buf = bytearray()
        self._out: list[bytes] = []         # queued by publish(), written by write()
        self._info: asyncio.Future[dict[str, Any]] | None = None
        self._pong: asyncio.Future[None] | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._lost: asyncio.Event = asyncio.Event()
        self._log = RateLimitedLog(log, interval=10.0)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect (and keep reconnecting) in the background of the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self, *, flush_timeout: float = 2.0) -> None:
        """Stop reconnecting; give the buffered publishes ``flush_timeout`` to leave."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        t = self._transport
        if t is not None and not t.is_closing():
            if self.connected:
                try:
                    await asyncio.wait_for(self.ping(), flush_timeout)
                except (TimeoutError, ConnectionError):
                    pass
            t.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff_min
        while not self._closing:
            try:
                await self._connect_once(loop)
            except (OSError, TimeoutError, LinkError) as exc:
                self._log.warning("connect", "nats %s:%d: cannot connect (%s); retrying in %.2f s",
                                  self.host, self.port, describe_exc(exc), delay)
                # full jitter: many publishers do not come back in lockstep
                await asyncio.sleep(random.uniform(0, delay))
                delay = min(delay * 2, self.backoff_max)
                continue
            delay = self.backoff_min
            await self._lost.wait()

    async def _connect_once(self, loop: asyncio.AbstractEventLoop) -> None:
        self._lost.clear()
        self._buf.clear()
        self._info = loop.create_future()
        transport, _ = await asyncio.wait_for(
            loop.create_connection(lambda: self, self.host, self.port), self.connect_timeout)
        try:
            info = await asyncio.wait_for(self._info, self.connect_timeout)
            self.max_payload = int(info.get("max_payload", self.max_payload))
            connect = {"verbose": False, "pedantic": False, "lang": "python",
                       "version": "fastfeed", "name": self.name, "protocol": 1,
                       "headers": False, "echo": False}
            transport.write(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
            await asyncio.wait_for(self.ping(), self.connect_timeout)
            self._start_writer(loop, transport)
        except BaseException:
            transport.close()
            raise
        self.connected = True
        self.connects += 1
        if self.on_up is not None:
            self.on_up()

    # ------------------------------------------------------------------ writes

    def _start_writer(self, loop: asyncio.AbstractEventLoop,
                      transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        w = SocketWriter(sock.fileno(), self.max_buffer_bytes, self.max_buffer_bytes // 2)
        self._writer, self._loop = w, loop
        loop.add_reader(w.notify_fd, self._on_writer)

    def _stop_writer(self) -> None:
        w, self._writer = self._writer, None
        if w is not None:
            if self._loop is not None:
                self._loop.remove_reader(w.notify_fd)
            w.join()                        # at once: the connection is gone

    def _on_writer(self) -> None:
        # the writer thread drained below its low mark, failed or ended
        w = self._writer
        if w is None:
            return
        w.wakeup()
        if w.error:
            self._log.warning("write", "nats %s:%d: write failed (%s); reconnecting",
                              self.host, self.port, os.strerror(w.error))
            if self._transport is not None:
                self._transport.abort()
        elif self.paused and w.queued <= w.low_mark:
            self.paused = False
            if self.on_writable is not None:
                self.on_writable()

    def _send(self, data: bytes) -> None:
        w = self._writer
        if w is None:
            t = self._transport
            if t is not None and not t.is_closing():
                t.write(data)               # the handshake, before the writer exists
            return
        if w.submit(data) > self.max_buffer_bytes:
            self.paused = True              # _on_writer resumes at the low mark
        # a stopped writer refused it: _on_writer drops the connection

    def publish(self, subject: bytes, payload: bytes) -> bool:
        """Queue one message until :meth:`write`; False (nothing queued) when the link is
        down or its buffer is full, or the payload exceeds the server's ``max_payload``."""
        if not self.connected or self.paused or len(payload) > self.max_payload:
            return False
        self._out += (b"PUB %s %d\r\n" % (subject, len(payload)), payload, b"\r\n")
        return True

    def write(self, framed: bytes = b"") -> None:
        """Hand ``framed`` (ready-made ``PUB`` frames: a publisher's whole flush) and
        everything queued since the last call to the transport at once (one system call
        for a flush, however many books it held)."""
        out, self._out = self._out, []
        if not self.connected:
            return
        if out:
            self._send(b"".join([framed, *out]) if framed else b"".join(out))
        elif framed:
            self._send(framed)

    async def ping(self) -> None:
        """Round trip to the server: everything published before has been received."""
        t = self._transport
        if t is None or t.is_closing():
            raise ConnectionError("nats link is down")
        if self._pong is None or self._pong.done():
            self._pong = asyncio.get_running_loop().create_future()
            self._send(b"PING\r\n")
        await asyncio.shield(self._pong)

    def buffered_bytes(self) -> int:
        """Bytes written but not yet taken by the socket."""
        t = self._transport
        w = self._writer
        return ((t.get_write_buffer_size() if t is not None else 0)
                + (w.queued if w is not None else 0))

    # ------------------------------------------------------------------ protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        t = cast(asyncio.Transport, transport)     # uvloop's are not asyncio subclasses
        self._transport = t
        self.paused = False
        t.set_write_buffer_limits(high=self.max_buffer_bytes,
                                          low=self.max_buffer_bytes // 2)

    def connection_lost(self, exc: Exception | None) -> None:
        was_up = self.connected
        self.connected = False
        self._transport = None
        self._stop_writer()
        self._out = []
        for fut in (self._info, self._pong):
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionError(f"nats connection lost: {exc}"))
        self._lost.set()
        if was_up:
            self.disconnects += 1
            if not self._closing:
                self._log.warning("lost", "nats %s:%d: connection lost (%s)", self.host, self.port,
                                  exc or "closed by the server")
            if self.on_down is not None:
                self.on_down()

    def pause_writing(self) -> None:
        self.paused = True                  # the handshake's writes only

    def resume_writing(self) -> None:
        self.paused = False
        if self.on_writable is not None:
            self.on_writable()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while True:
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > _MAX_LINE:
                    self._protocol_error(f"line of over {_MAX_LINE} bytes")
                return
            line = bytes(buf[:end])
            del buf[:end + 2]
            self._line(line)

    def _line(self, line: bytes) -> None:
        op = line[:4].upper()
        if op == b"PING":
            self._send(b"PONG\r\n")
        elif op == b"PONG":
            if self._pong is not None and not self._pong.done():
                self._pong.set_result(None)
        elif op == b"INFO":
            try:
                info = json.loads(line[5:])
            except ValueError:
                self._protocol_error("unreadable INFO")
                return
            if self._info is not None and not self._info.done():
                self._info.set_result(info)
        elif op == b"-ERR":
            self.errors += 1
            self.last_error = line[5:].decode(errors="replace").strip(" '")
            self._log.warning("err", "nats %s:%d: server error: %s", self.host, self.port,
                              self.last_error)
            if self._info is not None and not self._info.done():
                self._info.set_exception(LinkError(self.last_error))
            if self._pong is not None and not self._pong.done():
                self._pong.set_exception(LinkError(self.last_error))
        elif op[:3] == b"+OK":
            pass
        else:
            self._protocol_error(f"unexpected {line[:40]!r}")

    def _protocol_error(self, what: str) -> None:
        self.errors += 1
        self.last_error = what
        self._log.warning("protocol", "nats %s:%d: protocol error: %s; reconnecting", self.host,
                          self.port, what)
        if self._transport is not None:
            self._transport.abort()
