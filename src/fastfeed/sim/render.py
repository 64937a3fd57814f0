"""Wire formats: turn model messages and book states into venue bytes.

Compact JSON (no spaces) with the key order the venues use (see ``docs/venues.md``).
Strings are built by hand rather than through ``json.dumps`` because every field is a
known-safe ASCII token and this runs for every message.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterable, Sequence
from typing import Any

from fastfeed.sim.model import BookState, Message, Scale


class Fmt:
    """Number rendering for one (venue, symbol): scales plus printed decimals."""

    __slots__ = ("pd", "ps", "sd", "ss", "zero")

    def __init__(self, price: Scale, size: Scale, price_decimals: int, size_decimals: int,
                 zero: str | None = None) -> None:
        """``price_decimals``/``size_decimals`` are the printed widths (>= the scales).

        ``zero`` is the text of a delete (Coinbase prints ``"0"``; Binance zero-pads).
        """
        self.zero = zero
        self.ps = price
        self.ss = size
        self.pd = price_decimals
        self.sd = size_decimals

    def price(self, ticks: int) -> str:
        """Price text for a count of ticks."""
        return self.ps.fmt(ticks, self.pd)

    def size(self, lots: int) -> str:
        """Size text for a count of lots (0 renders as ``zero`` when set)."""
        if lots == 0 and self.zero is not None:
            return self.zero
        return self.ss.fmt(lots, self.sd)

    def levels(self, levels: Iterable[tuple[int, int]]) -> str:
        """``[["p","q"],...]``."""
        return "[" + ",".join(f'["{self.price(p)}","{self.size(q)}"]' for p, q in levels) + "]"


def json_bytes(obj: Any) -> bytes:
    """Compact JSON bytes (control replies and REST bodies, off the per-message path)."""
    return json.dumps(obj, separators=(",", ":")).encode()


def now_ms() -> int:
    """Wall-clock milliseconds (Binance ``E``/``T``)."""
    return time.time_ns() // 1_000_000


def rfc3339_ns(t_ns: int | None = None) -> str:
    """``2023-02-09T20:32:50.714964855Z`` (Coinbase Advanced Trade)."""
    t_ns = time.time_ns() if t_ns is None else t_ns
    sec, ns = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns:09d}Z"


def rfc3339_us(t_ns: int | None = None) -> str:
    """``2019-08-14T20:42:27.265526Z`` (Coinbase Exchange prints microseconds)."""
    t_ns = time.time_ns() if t_ns is None else t_ns
    sec, ns = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns // 1000:06d}Z"


# -- Binance --------------------------------------------------------------------------------


def binance_event(symbol: str, msg: Message, fmt: Fmt, usdm: bool, e_ms: int,
                  pad_asks: list[int] | None = None) -> bytes:
    """One ``depthUpdate`` event (raw-stream form). USD-M adds ``T`` and ``pu``.

    ``pad_asks`` appends deletes of prices the book does not hold (oversized-frame fault:
    a big but semantically neutral message).
    """
    asks = fmt.levels(msg.asks)
    if pad_asks:
        extra = ",".join(f'["{fmt.price(p)}","{fmt.size(0)}"]' for p in pad_asks)
        asks = asks[:-1] + ("," if msg.asks else "") + extra + "]"
    if usdm:
        head = (f'{{"e":"depthUpdate","E":{e_ms},"T":{e_ms - 1},"s":"{symbol}",'
                f'"U":{msg.first_id},"u":{msg.last_id},"pu":{msg.prev_id},')
    else:
        head = f'{{"e":"depthUpdate","E":{e_ms},"s":"{symbol}","U":{msg.first_id},"u":{msg.last_id},'
    return (head + f'"b":{fmt.levels(msg.bids)},"a":{asks}}}').encode()


def combined(stream: bytes, payload: bytes) -> bytes:
    """Wrap a raw event for a combined stream: ``{"stream":"...","data":{...}}``."""
    return b'{"stream":"' + stream + b'","data":' + payload + b"}"


def binance_snapshot(state: BookState, limit: int, fmt: Fmt, usdm: bool,
                     extra_bids: Sequence[tuple[str, str]] = ()) -> bytes:
    """REST ``/api/v3/depth`` (or ``/fapi/v1/depth`` with ``E``/``T``) body.

    ``extra_bids`` are pre-rendered ``(price, size)`` texts below every model bid (resting
    levels off the tick grid), served as far as ``limit`` leaves room.
    """
    model_bids = state.sorted_bids(limit)
    bids = fmt.levels(model_bids)
    room = list(extra_bids)[:max(0, limit - len(model_bids))]
    if room:
        extra = ",".join(f'["{p}","{q}"]' for p, q in room)
        bids = bids[:-1] + ("," if model_bids else "") + extra + "]"
    asks = fmt.levels(state.sorted_asks(limit))
    if usdm:
        e = now_ms()
        return f'{{"lastUpdateId":{state.last_id},"E":{e},"T":{e - 1},"bids":{bids},"asks":{asks}}}'.encode()
    return f'{{"lastUpdateId":{state.last_id},"bids":{bids},"asks":{asks}}}'.encode()


# -- Coinbase Advanced Trade ----------------------------------------------------------------


def at_updates(msg_bids: Iterable[tuple[int, int]], msg_asks: Iterable[tuple[int, int]], fmt: Fmt,
               ts: str) -> str:
    """The ``updates`` array of a level2 event."""
    parts = [
        f'{{"side":"bid","event_time":"{ts}","price_level":"{fmt.price(p)}","new_quantity":"{fmt.size(q)}"}}'
        for p, q in msg_bids
    ]
    parts.extend(
        f'{{"side":"offer","event_time":"{ts}","price_level":"{fmt.price(p)}","new_quantity":"{fmt.size(q)}"}}'
        for p, q in msg_asks
    )
    return "[" + ",".join(parts) + "]"


def at_event(kind: str, product: str, updates: str) -> str:
    """One element of ``events`` for the ``l2_data`` channel."""
    return f'{{"type":"{kind}","product_id":"{product}","updates":{updates}}}'


def at_envelope(channel: str, seq: int, events: str, ts: str | None = None) -> bytes:
    """``{"channel":..,"timestamp":..,"sequence_num":..,"events":[...]}``."""
    ts = rfc3339_ns() if ts is None else ts
    return f'{{"channel":"{channel}","timestamp":"{ts}","sequence_num":{seq},"events":{events}}}'.encode()


def at_envelope_head(channel: str, ts: str) -> bytes:
    """An envelope up to its ``sequence_num`` value: ``head + str(seq) + tail`` is
    :func:`at_envelope` (pre-rendered bursts number their envelopes per connection)."""
    return f'{{"channel":"{channel}","timestamp":"{ts}","sequence_num":'.encode()


def at_envelope_tail(events: str) -> bytes:
    """An envelope after its ``sequence_num`` value (see :func:`at_envelope_head`)."""
    return f',"events":{events}}}'.encode()


def at_frames(envelopes: Iterable[tuple[bytes, bytes]], seq: int) -> tuple[bytes, list[int]]:
    """Frame pre-rendered ``(head, tail)`` envelopes numbered ``seq``, ``seq + 1``, ...

    Returns the frames joined and each frame's end offset (see :func:`frames_blob`).
    """
    parts: list[bytes] = []
    ends: list[int] = []
    pos = 0
    for head, tail in envelopes:
        num = str(seq).encode()
        seq += 1
        n = len(head) + len(num) + len(tail)
        hdr = ws_frame_header(n)
        parts += (hdr, head, num, tail)
        pos += len(hdr) + n
        ends.append(pos)
    return b"".join(parts), ends


# -- Coinbase Exchange ----------------------------------------------------------------------


def ex_snapshot(product: str, state: BookState, fmt: Fmt) -> bytes:
    """``{"type":"snapshot","product_id":..,"bids":[[p,q]],"asks":[...]}`` (full book)."""
    return (f'{{"type":"snapshot","product_id":"{product}","bids":{fmt.levels(state.sorted_bids())},'
            f'"asks":{fmt.levels(state.sorted_asks())}}}').encode()


def ex_l2update(product: str, msg_bids: Iterable[tuple[int, int]], msg_asks: Iterable[tuple[int, int]],
                fmt: Fmt, pfmt_decimals: int, ts: str) -> bytes:
    """``l2update`` with ``changes`` ``[["buy"|"sell", price, size]]``.

    The Exchange feed prints update prices with 8 decimals but snapshot prices at the
    product's increment (``docs/venues.md`` example); ``pfmt_decimals`` selects the update width.
    """
    ps = fmt.ps
    parts = [f'["buy","{ps.fmt(p, pfmt_decimals)}","{fmt.size(q)}"]' for p, q in msg_bids]
    parts.extend(f'["sell","{ps.fmt(p, pfmt_decimals)}","{fmt.size(q)}"]' for p, q in msg_asks)
    return (f'{{"type":"l2update","product_id":"{product}","changes":[{",".join(parts)}],'
            f'"time":"{ts}"}}').encode()


# -- WebSocket framing (server to client: never masked) ---------------------------------------


def ws_frame_header(n: int, opcode: int = 0x1) -> bytes:
    """The header of an unmasked WebSocket frame (FIN set) with an ``n``-byte payload."""
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n)
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n)
    return struct.pack("!BBQ", 0x80 | opcode, 127, n)


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One complete unmasked WebSocket frame (FIN set) carrying ``payload``."""
    return ws_frame_header(len(payload), opcode) + payload


def frames_blob(frames: Iterable[bytes]) -> tuple[bytes, list[int]]:
    """Complete frames joined into one blob, plus each frame's end offset in it (burst
    writes cut the blob only at these offsets)."""
    ends: list[int] = []
    pos = 0
    chunks = []
    for f in frames:
        chunks.append(f)
        pos += len(f)
        ends.append(pos)
    return b"".join(chunks), ends
