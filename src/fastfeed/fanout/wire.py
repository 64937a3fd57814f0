"""The fan-out wire format (``docs/wire.md``, version 1): the pure-Python reference.

``decode`` is what consumers use (numpy views over the message, no per-level work);
``encode`` is the reference twin of the publisher's compiled encoder
(``fastfeed._fanout``), used by tests and by tools that publish by hand.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "DELTA", "FLAG_REPLACED", "HEADER", "HEADER_LEN", "MAGIC", "SNAPSHOT", "STATE_NAMES",
    "TRADES", "TRADE_DTYPE", "VERSION", "Message", "WireError", "book_id", "decode",
    "encode", "encode_trades", "normalise_symbol", "stream_name", "subject",
]

MAGIC = b"FFNB"
VERSION = 1
DELTA = 1
SNAPSHOT = 2
TRADES = 3
#: flags bit 0: the snapshot that starts an epoch (the book was replaced)
FLAG_REPLACED = 1
#: magic, version, kind, state, book_id, price/size decimals, header_len, epoch, seq,
#: first/last update id, exchange/recv/publish ns, n_bids, n_asks, messages, flags
HEADER = struct.Struct("<4sHBBIbbHQQqqqqqIIII")
HEADER_LEN = HEADER.size
assert HEADER_LEN == 88
STATE_NAMES = ("syncing", "live", "gap", "stale", "closed")
_KINDS = (DELTA, SNAPSHOT, TRADES)
#: one trade of a TRADES message (48 bytes, docs/wire.md "Trades"): the fields of
#: fastfeed.TRADE_DTYPE, little-endian
TRADE_DTYPE = np.dtype({"names": ["recv_ns", "exchange_ns", "trade_id", "price", "size", "side"],
                        "formats": ["<i8", "<i8", "<i8", "<i8", "<i8", "i1"],
                        "offsets": [0, 8, 16, 24, 32, 40], "itemsize": 48})
_EMPTY = np.zeros(0, dtype=np.int64)
_UNSAFE = re.compile(r"[^A-Z0-9_-]")
_I64 = np.dtype("<i8")


class WireError(ValueError):
    """A message that is not a valid version-1 fastfeed book message (the reason says why)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded book message: the header fields and int64 views of the levels."""

    kind: int
    state: int
    book_id: int
    price_decimals: int
    size_decimals: int
    epoch: int
    seq: int
    first_update_id: int
    last_update_id: int
    exchange_ns: int
    recv_ns: int
    publish_ns: int
    messages: int
    flags: int
    bid_prices: npt.NDArray[np.int64]
    bid_sizes: npt.NDArray[np.int64]
    ask_prices: npt.NDArray[np.int64]
    ask_sizes: npt.NDArray[np.int64]
    #: TRADES: the trades (TRADE_DTYPE, oldest first); None for book messages
    trades: npt.NDArray[np.void] | None = None

    @property
    def lost(self) -> int:
        """TRADES: trades recorded but overwritten before they could be sent."""
        return self.messages if self.kind == TRADES else 0

    @property
    def state_name(self) -> str:
        """The publisher's book state as a name (``live``, ``gap``, ...)."""
        return STATE_NAMES[self.state]


def normalise_symbol(symbol: str) -> str:
    """The subject token of a venue symbol: upper case, anything but ``A-Z 0-9 - _``
    as ``_`` (``BTC/USD`` → ``BTC_USD``)."""
    return _UNSAFE.sub("_", symbol.upper())


def subject(prefix: str, kind: str, venue: str, symbol: str | None = None) -> str:
    """``<prefix>.<kind>.<venue>[.<SYMBOL>]`` (kind: ``book``, ``snap``, ``trade``,
    ``status``)."""
    if symbol is None:
        return f"{prefix}.{kind}.{venue}"
    return f"{prefix}.{kind}.{venue}.{normalise_symbol(symbol)}"


def stream_name(prefix: str, kind: str) -> str:
    """The JetStream stream of a subject kind: ``FF_BOOK``, ``FF_SNAP``, ``FF_TRADE``,
    ``FF_STATUS``."""
    return re.sub(r"[^A-Z0-9]", "_", f"{prefix}_{kind}".upper())


def book_id(venue: str, symbol: str) -> int:
    """CRC-32 of ``<venue>:<symbol>`` (the exact symbol, UTF-8)."""
    return zlib.crc32(f"{venue}:{symbol}".encode())


def encode(kind: int, *, state: int, book: int, price_decimals: int, size_decimals: int,
           epoch: int, seq: int, first_update_id: int = -1, last_update_id: int = -1,
           exchange_ns: int = 0, recv_ns: int = 0, publish_ns: int = 0, messages: int = 0,
           flags: int = 0, bids: npt.ArrayLike = (), asks: npt.ArrayLike = ()) -> bytes:
    """One book message; ``bids``/``asks`` are (price, size) pairs in ticks and lots, in
    the order the format wants (snapshot: best first; delta: as applied)."""
    if kind not in (DELTA, SNAPSHOT):
        raise WireError(f"not a book message kind: {kind}")
    b = np.asarray(bids, dtype=np.int64).reshape(-1, 2)
    a = np.asarray(asks, dtype=np.int64).reshape(-1, 2)
    head = HEADER.pack(MAGIC, VERSION, kind, state, book, price_decimals, size_decimals,
                       HEADER_LEN, epoch, seq, first_update_id, last_update_id, exchange_ns,
                       recv_ns, publish_ns, len(b), len(a), messages, flags)
    return b"".join((head, b[:, 0].astype(_I64).tobytes(), b[:, 1].astype(_I64).tobytes(),
                     a[:, 0].astype(_I64).tobytes(), a[:, 1].astype(_I64).tobytes()))


def encode_trades(*, state: int, book: int, price_decimals: int, size_decimals: int,
                  epoch: int, seq: int, trades: npt.NDArray[np.void], publish_ns: int = 0,
                  lost: int = 0) -> bytes:
    """One TRADES message of ``trades`` (an array of TRADE_DTYPE, oldest first)."""
    src = np.asarray(trades)
    t = np.zeros(len(src), dtype=TRADE_DTYPE)     # field by field: the padding stays zero
    for name in TRADE_DTYPE.names or ():
        t[name] = src[name]
    n = len(t)
    head = HEADER.pack(MAGIC, VERSION, TRADES, state, book, price_decimals, size_decimals,
                       HEADER_LEN, epoch, seq, int(t["trade_id"][0]) if n else -1,
                       int(t["trade_id"][-1]) if n else -1,
                       int(t["exchange_ns"][-1]) if n else 0, int(t["recv_ns"][-1]) if n else 0,
                       publish_ns, n, 0, lost, 0)
    return head + t.tobytes()


def decode(data: bytes | bytearray | memoryview) -> Message:
    """Parse one message; :class:`WireError` for anything not exactly version 1."""
    n = len(data)
    if n < HEADER_LEN:
        raise WireError(f"message of {n} bytes is shorter than the {HEADER_LEN}-byte header")
    (magic, version, kind, state, bid, pdec, sdec, hlen, epoch, seq, first, last, exch, recv,
     pub, nb, na, msgs, flags) = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise WireError(f"bad magic {magic!r} (expected {MAGIC!r})")
    if version != VERSION:
        raise WireError(f"unsupported wire version {version} (this decoder reads {VERSION})")
    if kind not in _KINDS:
        raise WireError(f"unknown message kind {kind}")
    if state >= len(STATE_NAMES):
        raise WireError(f"unknown book state {state}")
    if hlen < HEADER_LEN:
        raise WireError(f"header_len {hlen} is below {HEADER_LEN}")
    if kind == TRADES:
        want = hlen + TRADE_DTYPE.itemsize * nb
        if na or n != want:
            raise WireError(f"trades message is {n} bytes with {na} asks; its header says "
                            f"{want} ({nb} trades, no asks)")
        trades = np.frombuffer(data, dtype=TRADE_DTYPE, count=nb, offset=hlen)
        return Message(kind, state, bid, pdec, sdec, epoch, seq, first, last, exch, recv, pub,
                       msgs, flags, _EMPTY, _EMPTY, _EMPTY, _EMPTY, trades)
    want = hlen + 16 * (nb + na)
    if n != want:
        raise WireError(f"message is {n} bytes; its header says {want} "
                        f"({nb} bids, {na} asks)")
    views = []
    off = hlen
    for count in (nb, nb, na, na):
        views.append(np.frombuffer(data, dtype=_I64, count=count, offset=off))
        off += 8 * count
    bp, bs, ap, asz = views
    return Message(kind, state, bid, pdec, sdec, epoch, seq, first, last, exch, recv, pub, msgs,
                   flags, bp, bs, ap, asz)
