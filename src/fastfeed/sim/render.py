"""Wire formats: turn model messages and book states into venue bytes.

Compact JSON (no spaces) with the key order the venues use (see ``docs/venues.md``).
Strings are built by hand rather than through ``json.dumps`` because every field is a
known-safe ASCII token and this runs for every message.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
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


def frame_payloads(blob: bytes, ends: list[int]) -> Iterator[bytes]:
    """The payloads of the unmasked frames of a blob (:func:`frames_blob`), in order:
    a burst's other forms are built from its framed form without rendering it again."""
    view = memoryview(blob)
    pos = 0
    for end in ends:
        n = view[pos + 1] & 0x7F
        yield bytes(view[pos + (2 if n < 126 else 4 if n == 126 else 10):end])
        pos = end


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


# -- trades, BBO, tickers, candles (docs/simulator.md#trades-bbo-tickers-and-candles) ---------


def fixed(units: int, decimals: int, width: int | None = None) -> str:
    """``units * 10**-decimals`` as a decimal string with ``width`` (>= ``decimals``)
    digits after the point; negative values keep their sign."""
    w = decimals if width is None else max(width, decimals)
    sign = "-" if units < 0 else ""
    digits = str(abs(units) * 10 ** (w - decimals))
    if w == 0:
        return sign + digits
    digits = digits.rjust(w + 1, "0")
    return f"{sign}{digits[:-w]}.{digits[-w:]}"


def quote_text(fmt: Fmt, units: int, width: int | None = None) -> str:
    """A quote amount (sum of price * size, in tick*lot units) exactly, at ``width``
    decimals (at least the exact ones)."""
    ps, ss = fmt.ps, fmt.ss
    return fixed(units * ps.mantissa * ss.mantissa, ps.decimals + ss.decimals, width)


def price_delta(fmt: Fmt, ticks: int) -> str:
    """A signed price difference at the printed price width."""
    return fixed(ticks * fmt.ps.mantissa, fmt.ps.decimals, fmt.pd)


def ratio_text(num: int, den: int, decimals: int) -> str:
    """``num / den`` rounded half-even to ``decimals`` places (VWAP, percentages)."""
    if den == 0:
        return fixed(0, decimals)
    q = (Decimal(num) / Decimal(den)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return f"{q:f}"


def binance_trade(symbol: str, trade_id: int, price: str, size: str, t_ms: int, buyer_maker: bool,
                  e_ms: int) -> bytes:
    """Spot ``@trade`` (no order ids since 2024-06-18)."""
    m = "true" if buyer_maker else "false"
    return (f'{{"e":"trade","E":{e_ms},"s":"{symbol}","t":{trade_id},"p":"{price}","q":"{size}",'
            f'"T":{t_ms},"m":{m},"M":true}}').encode()


def binance_agg_trade(symbol: str, agg_id: int, price: str, size: str, first: int, last: int, t_ms: int,
                      buyer_maker: bool, e_ms: int, usdm: bool) -> bytes:
    """``@aggTrade``: spot with ``M``; USD-M in its captured key order with ``nq``, ``st``."""
    m = "true" if buyer_maker else "false"
    if usdm:
        return (f'{{"e":"aggTrade","E":{e_ms},"a":{agg_id},"s":"{symbol}","p":"{price}","q":"{size}",'
                f'"nq":"{size}","f":{first},"l":{last},"T":{t_ms},"m":{m},"st":1}}').encode()
    return (f'{{"e":"aggTrade","E":{e_ms},"s":"{symbol}","a":{agg_id},"p":"{price}","q":"{size}",'
            f'"f":{first},"l":{last},"T":{t_ms},"m":{m},"M":true}}').encode()


def binance_book_ticker(symbol: str, update_id: int, b: str, bq: str, a: str, aq: str, usdm: bool,
                        e_ms: int) -> bytes:
    """``@bookTicker``: spot without ``e``/``E``; USD-M with ``e``, ``ps``, ``T``, ``E``, ``st``."""
    if usdm:
        return (f'{{"e":"bookTicker","u":{update_id},"s":"{symbol}","ps":"{symbol}","b":"{b}","B":"{bq}",'
                f'"a":"{a}","A":"{aq}","T":{e_ms - 1},"E":{e_ms},"st":1}}').encode()
    return f'{{"u":{update_id},"s":"{symbol}","b":"{b}","B":"{bq}","a":"{a}","A":"{aq}"}}'.encode()


def binance_kline(symbol: str, interval: str, start_ms: int, interval_ms: int, first: int, last: int,
                  o: str, c: str, h: str, low: str, v: str, n: int, closed: bool, q: str, vb: str,
                  qb: str, e_ms: int) -> bytes:
    """``@kline_<interval>``; ``closed`` is ``k.x`` (true on the bar's final update)."""
    x = "true" if closed else "false"
    return (f'{{"e":"kline","E":{e_ms},"s":"{symbol}","k":{{"t":{start_ms},"T":{start_ms + interval_ms - 1},'
            f'"s":"{symbol}","i":"{interval}","f":{first},"L":{last},"o":"{o}","c":"{c}","h":"{h}",'
            f'"l":"{low}","v":"{v}","n":{n},"x":{x},"q":"{q}","V":"{vb}","Q":"{qb}","B":"0"}}}}').encode()


def at_trade(trade_id: int, product: str, price: str, size: str, maker_side: str, ts: str) -> str:
    """One ``market_trades`` trade (``side``: the maker's, ``BUY``/``SELL``)."""
    return (f'{{"trade_id":"{trade_id}","product_id":"{product}","price":"{price}","size":"{size}",'
            f'"side":"{maker_side}","time":"{ts}"}}')


def ex_match(kind: str, trade_id: int, sequence: int, maker: str, taker: str, ts: str, product: str,
             size: str, price: str, maker_side: str) -> bytes:
    """A ``matches`` message (``kind`` ``match`` or ``last_match``; ``side``: the maker's)."""
    return (f'{{"type":"{kind}","trade_id":{trade_id},"sequence":{sequence},"maker_order_id":"{maker}",'
            f'"taker_order_id":"{taker}","time":"{ts}","product_id":"{product}","size":"{size}",'
            f'"price":"{price}","side":"{maker_side}"}}').encode()


def order_id(seed: int) -> str:
    """A deterministic UUID-shaped order id (Coinbase ``maker_order_id``/``taker_order_id``)."""
    h = hashlib.blake2b(seed.to_bytes(16, "little", signed=True), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
