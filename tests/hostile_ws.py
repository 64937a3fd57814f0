"""A misbehaving WebSocket server on 127.0.0.1, written on raw asyncio streams so it can
send bytes no well-behaved server library would: masked frames, oversized control frames,
unknown opcodes, frames over the client's size limit.

It speaks just enough Coinbase Exchange: after the handshake and the client's first
(subscribe) frame it sends one in-band ``snapshot`` per connection, so the client's book
goes ``live``. ``attack(raw)`` writes raw bytes on the current connection; every later
connection behaves again."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

SNAPSHOT = json.dumps({"type": "snapshot", "product_id": "BTC-USD",
                       "bids": [["100.00", "1.5"]], "asks": [["100.50", "2.0"]]}).encode()


def frame(opcode: int, payload: bytes, *, masked: bool = False, fin: bool = True,
          length: int | None = None, rsv1: bool = False) -> bytes:
    """One raw frame; ``length`` lies about the payload length (header only)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if masked:
        key = b"\x01\x02\x03\x04"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


#: the protocol violations of issue 17, as raw bytes from a server
VIOLATIONS = {
    "masked": (frame(0x1, b'{"type":"heartbeat"}', masked=True), "masked frame"),
    "control_over_125": (frame(0x9, b"x" * 130), "control frame with payload size > 125"),
    "unknown_opcode": (frame(0x3, b"?"), "invalid opcode"),
    "over_frame_limit": (frame(0x2, b"", length=1 << 24), "exceeding max allowed size"),
}


class HostileServer:
    """``async with HostileServer() as srv: srv.url ...``; ``srv.connections`` counts
    handshakes; ``await srv.attack(raw)`` sends raw bytes on the live connection."""

    def __init__(self, extension_once: str | None = None) -> None:
        #: a Sec-WebSocket-Extensions value the first handshake answers with (never asked for)
        self.extension_once = extension_once
        self.connections = 0
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.AbstractServer | None = None
        self.url = ""

    async def __aenter__(self) -> HostileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        if self._writer is not None:
            self._writer.close()

    async def attack(self, raw: bytes) -> None:
        """Write ``raw`` on the current connection (after the snapshot)."""
        assert self._writer is not None, "no client connected"
        self._writer.write(raw)
        await self._writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            extra = b""
            if self.extension_once and self.connections == 0:
                extra = b"Sec-WebSocket-Extensions: " + self.extension_once.encode() + b"\r\n"
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n"
                         + extra + b"\r\n")
            self.connections += 1
            await self._read_frame(reader)            # the subscribe
            writer.write(frame(0x1, SNAPSHOT))
            self._writer = writer
            while await self._read_frame(reader):     # whatever else the client sends
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _read_frame(reader: asyncio.StreamReader) -> bytes:
        b0, b1 = await reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await reader.readexactly(8))
        key = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
        data = await reader.readexactly(n)
        return bytes([b0]) + bytes(c ^ key[i % 4] for i, c in enumerate(data))
