# cython: language_level=3
"""Candles: venue candle streams (``CandleCore``) and candles built from trades
(``LocalCandleCore``), exact in ticks and lots; ``CandleFeed``/``LocalCandles``' base.

A candle decoder (``_parse``, ``parse/*_candles.pxi``) fills a batch with one ``Candle``
(value text, bucket bounds, the venue's integers) per candle. ``CandleCore`` converts
each at the instrument's scales (``convert_candle``: the whole candle or nothing),
updates the open candle in place and appends finished ones to a ring of
``CandleRecord`` in C memory (``capacity`` candles; the oldest overwritten and counted).
``LocalCandleCore`` aggregates trades by exchange time into buckets of any fixed
interval. Nothing is allocated per message or trade. Rules: ``docs/venues.md``,
"Candles".
"""

import logging
import re

import numpy as np

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport INT64_MAX, int64_t
from libc.string cimport memcmp, memcpy, memset

from fastfeed._cdefs cimport (
    ff_i128,
    ff_i128_add,
    ff_i128_from64,
    ff_i128_hi,
    ff_i128_lo,
    ff_i128_make,
    ff_i128_mul,
    ff_monotonic_ns as monotonic_ns,
    ff_wall_offset_ns,
)
from fastfeed._core cimport reject_counts_by_name
from fastfeed._parse cimport (
    CandleValues,
    batch_error_message,
    candle_error_message,
    convert_candle,
    venue_candle_decoder,
)
from fastfeed._sync cimport connection_sequence_broken, sequence_break_reason
from fastfeed._trades cimport TradeCore, TradeRecord
from fastfeed._types cimport (
    DEC_BAD_DECIMAL,
    DEC_OK,
    MSG_CANDLES,
    MSG_VENUE_ERROR,
    REJECT_VENUE_ERROR,
    Candle,
    DeltaBatch,
    Segment,
    batch_free,
    batch_init,
    batch_reset,
)

from fastfeed._core import DecodeRejected
from fastfeed.venues import get_venue

log = logging.getLogger("fastfeed.candles")

#: Closed candles a series' ring holds unless told otherwise (128 bytes each: 1 MiB).
DEFAULT_CAPACITY = 8192

cdef int64_t _S = 1000000000
_UNITS = {"s": _S, "m": 60 * _S, "h": 3600 * _S, "d": 86400 * _S}
_INTERVAL = re.compile(r"([1-9][0-9]{0,6})([smhd])")
#: 1970-01-05, the first Monday: Binance's weekly candles open on Mondays 00:00 UTC.
WEEK_OFFSET_NS = 4 * 86400 * _S


def parse_interval(interval) -> tuple:
    """``(interval_ns, offset_ns)`` of a local candle interval: a positive int of ns, or a
    name ``<n>s``, ``<n>m``, ``<n>h``, ``1d``, ``1w`` (boundaries at ``offset_ns + k *
    interval_ns`` since the epoch, UTC; weeks start on Monday as Binance's do). Calendar
    months and multi-day buckets other than a week are refused: their alignment is the
    venue's choice (docs/venues.md, "Candles")."""
    if isinstance(interval, int) and not isinstance(interval, bool):
        if interval <= 0:
            raise ValueError(f"interval must be a positive number of ns, got {interval}")
        return interval, 0
    if not isinstance(interval, str):
        raise TypeError(f"interval must be a name like '1m' or ns as an int, "
                        f"got {type(interval).__name__}")
    if interval == "1w":
        return 7 * 86400 * _S, WEEK_OFFSET_NS
    m = _INTERVAL.fullmatch(interval)
    if m is None or (m.group(2) == "d" and m.group(1) != "1"):
        raise ValueError(f"unsupported candle interval {interval!r} (expected <n>s, <n>m, "
                         f"<n>h, 1d, 1w or a number of ns)")
    return int(m.group(1)) * _UNITS[m.group(2)], 0


cdef CandleRecord _r
#: The numpy layout of one candle, field for field the C ``CandleRecord``.
CANDLE_DTYPE = np.dtype({
    "names": ["open_ns", "close_ns", "open", "high", "low", "close", "volume", "quote_hi",
              "quote_lo", "trades", "first_id", "last_id", "recv_ns", "updates", "closed"],
    "formats": ["=i8", "=i8", "=i8", "=i8", "=i8", "=i8", "=i8", "=i8", "=u8", "=i8",
                "=i8", "=i8", "=i8", "=i8", "=i1"],
    "offsets": [<char*>&_r.open_ns - <char*>&_r, <char*>&_r.close_ns - <char*>&_r,
                <char*>&_r.open - <char*>&_r, <char*>&_r.high - <char*>&_r,
                <char*>&_r.low - <char*>&_r, <char*>&_r.close - <char*>&_r,
                <char*>&_r.volume - <char*>&_r, <char*>&_r.quote_hi - <char*>&_r,
                <char*>&_r.quote_lo - <char*>&_r, <char*>&_r.trades - <char*>&_r,
                <char*>&_r.first_id - <char*>&_r, <char*>&_r.last_id - <char*>&_r,
                <char*>&_r.recv_ns - <char*>&_r, <char*>&_r.updates - <char*>&_r,
                <char*>&_r.closed - <char*>&_r],
    "itemsize": sizeof(CandleRecord),
})


def quote_volume(candles):
    """The exact quote volume of a ``CANDLE_DTYPE`` record (an int) or array (a list of
    ints): ``quote_hi * 2**64 + quote_lo`` units of ``10**-(price_decimals +
    size_decimals)``; -1 where there is none."""
    if isinstance(candles, np.ndarray) and candles.ndim == 1:
        return [(int(h) << 64) | int(lo) for h, lo in zip(candles["quote_hi"],
                                                          candles["quote_lo"])]
    return (int(candles["quote_hi"]) << 64) | int(candles["quote_lo"])


cdef inline void _set_quote(CandleRecord* r, ff_i128 q) noexcept nogil:
    r.quote_hi = ff_i128_hi(q)
    r.quote_lo = ff_i128_lo(q)


cdef class _CandleSeries:
    """A ring of closed candles in C memory and the open candle (``candles()``,
    ``current()``); the base of both cores."""

    def __cinit__(self):
        self.ring = NULL

    def __dealloc__(self):
        PyMem_Free(self.ring)

    cdef int _init_series(self, int price_decimals, int size_decimals,
                          Py_ssize_t capacity) except -1:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 candle, got {capacity}")
        if not 0 <= price_decimals <= 18 or not 0 <= size_decimals <= 18:
            raise ValueError(f"unusable scales {price_decimals}/{size_decimals}")
        PyMem_Free(self.ring)
        self.ring = <CandleRecord*>PyMem_Malloc(capacity * sizeof(CandleRecord))
        if self.ring == NULL:
            raise MemoryError()
        self.capacity = capacity
        self.head = self.count = 0
        self.has_cur = False
        self.last_closed_open_ns = -1
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        return 0

    cdef void push(self, const CandleRecord* r) noexcept nogil:
        self.ring[self.head] = r[0]
        self.head += 1
        if self.head == self.capacity:
            self.head = 0
        if self.count < self.capacity:
            self.count += 1
        else:
            self.overwritten += 1
        self.closed_count += 1
        self.last_closed_open_ns = r.open_ns

    def candles(self, since=None):
        """The closed candles held, oldest first, as a new ``np.ndarray`` of
        ``CANDLE_DTYPE``; ``since``: only those with a closing index >= ``since``
        (``closed_count`` counts from 0)."""
        cdef Py_ssize_t skip = 0, n, start, first
        cdef int64_t oldest
        cdef unsigned char[::1] raw
        if since is not None:
            oldest = self.closed_count - self.count
            skip = <Py_ssize_t>min(max(<int64_t>since - oldest, 0), self.count)
        n = self.count - skip
        out = np.empty(n, dtype=CANDLE_DTYPE)
        if n == 0:
            return out
        raw = out.view(np.uint8).reshape(-1)
        start = (self.head - self.count + skip) % self.capacity
        if start < 0:
            start += self.capacity
        first = min(n, self.capacity - start)
        memcpy(&raw[0], self.ring + start, first * sizeof(CandleRecord))
        if n > first:
            memcpy(&raw[first * sizeof(CandleRecord)], self.ring,
                   (n - first) * sizeof(CandleRecord))
        return out

    def current(self):
        """The open candle as a one-element ``CANDLE_DTYPE`` array, or None."""
        cdef unsigned char[::1] raw
        if not self.has_cur:
            return None
        out = np.empty(1, dtype=CANDLE_DTYPE)
        raw = out.view(np.uint8).reshape(-1)
        memcpy(&raw[0], &self.cur, sizeof(CandleRecord))
        return out

    @property
    def held(self) -> int:
        """Closed candles in the ring now (at most ``capacity``)."""
        return self.count

    @property
    def quote_decimals(self) -> int:
        """The quote volume's scale: ``price_decimals + size_decimals``."""
        return self.price_decimals + self.size_decimals


cdef class CandleCore(_CandleSeries):
    """One venue candle stream (``venue``, ``symbol``, ``interval``, a name in
    ``Venue.candle_intervals``): the open candle updated in place, closed candles in a
    ring. A candle closes on the venue's final update (Binance ``k.x``; ``closed`` 1) or
    when a later bucket starts (Coinbase's only rule: ``closed`` 1 unless a connection
    gap hid its last updates; Binance without its final update: ``closed`` 0, counted in
    ``unconfirmed``). Updates for older buckets are counted (``stale``,
    ``duplicates``) and dropped. With ``strict`` a rejected payload raises
    ``DecodeRejected`` after being counted."""

    def __init__(self, str venue, str symbol, str interval, int price_decimals,
                 int size_decimals, *, Py_ssize_t capacity=DEFAULT_CAPACITY,
                 bint strict=True):
        spec = get_venue(venue)
        if not spec.candle_decoder:
            raise ValueError(f"{venue} has no venue candles (build them from trades: "
                             f"fastfeed.LocalCandles)")
        if interval not in spec.candle_intervals:
            raise ValueError(f"{venue} has no {interval!r} candles (expected one of "
                             f"{', '.join(spec.candle_intervals)})")
        self._init_series(price_decimals, size_decimals, capacity)
        self.venue = venue
        self.symbol = symbol.upper()
        self._symbol_key = self.symbol.encode("ascii")
        self.symbol_ptr = PyBytes_AS_STRING(self._symbol_key)
        self.symbol_len = len(self._symbol_key)
        self.interval = interval
        self._interval_key = interval.encode("ascii")
        self.interval_ptr = PyBytes_AS_STRING(self._interval_key)
        self.interval_len = len(self._interval_key)
        # Coinbase's and Kraken's candles carry no closed flag (decoders set closed -1)
        self.has_closed_flag = spec.candle_decoder not in ("coinbase-at-candles",
                                                           "kraken-candles")
        self.strict = strict

    # ------------------------------------------------------------------ hot path

    cdef bint matches(self, const Segment* seg) noexcept nogil:
        return seg.symbol_len == self.symbol_len and (
            self.symbol_len == 0
            or memcmp(seg.symbol_ptr, self.symbol_ptr, self.symbol_len) == 0)

    cdef bint matches_interval(self, const DeltaBatch* b, const Segment* seg) noexcept nogil:
        """``matches`` and the segment's interval is this core's (several intervals of one
        symbol share a connection: a router offers a segment to each such core)."""
        cdef const Candle* c
        if not self.matches(seg) or seg.count <= 0:
            return False
        c = &b.candles[seg.start]
        return c.interval_ptr == NULL or (
            c.interval_len == self.interval_len
            and memcmp(c.interval_ptr, self.interval_ptr, self.interval_len) == 0)

    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1:
        """This stream's share of a decoded candle message: the candle updates applied."""
        cdef const Candle* c
        cdef CandleValues v
        cdef Py_ssize_t i
        cdef int64_t recv_wall
        cdef int n = 0
        if self.closed_stream or seg.count <= 0:
            return 0
        if not self.matches_interval(b, seg):
            self.other_interval += 1
            return 0
        self.messages += 1
        recv_wall = t_recv + ff_wall_offset_ns(t_recv)
        for i in range(seg.start, seg.start + seg.count):
            c = &b.candles[i]
            if convert_candle(c, self.price_decimals, self.size_decimals, &v) != DEC_OK:
                self.reject_counts[<int>DEC_BAD_DECIMAL] += 1
                self.note_reject(candle_error_message(c, &v, payload, self.price_decimals,
                                                      self.size_decimals))
                continue
            if self.has_cur and c.open_ns < self.cur.open_ns or (
                    not self.has_cur and c.open_ns < self.last_closed_open_ns):
                self.stale += 1
                continue
            if not self.has_cur and c.open_ns == self.last_closed_open_ns:
                self.duplicates += 1            # a repeat of a final update
                continue
            if self.has_cur and c.open_ns > self.cur.open_ns:
                # a later bucket: the open one is finished without the venue's final word
                if self.has_closed_flag or self.gap_since_update:
                    self.cur.closed = 0
                    self.unconfirmed += 1
                else:
                    self.cur.closed = 1
                self.push(&self.cur)
                self.has_cur = False
            if not self.has_cur:
                memset(&self.cur, 0, sizeof(CandleRecord))
                self.cur.open_ns = c.open_ns
                self.has_cur = True
            self.gap_since_update = False
            self.cur.close_ns = c.close_ns
            self.cur.open = v.open
            self.cur.high = v.high
            self.cur.low = v.low
            self.cur.close = v.close
            self.cur.volume = v.volume
            _set_quote(&self.cur, v.quote)
            self.cur.trades = c.trades
            self.cur.first_id = c.first_id
            self.cur.last_id = c.last_id
            self.cur.recv_ns = recv_wall
            self.cur.updates += 1
            self.cur.closed = 0
            self.updates += 1
            n += 1
            if c.closed == 1:
                self.cur.closed = 1
                self.push(&self.cur)
                self.has_cur = False
        if n and self.callback is not None:
            self._callback_due()
        return n

    # ------------------------------------------------------------------ cold path

    cdef int connection_gap(self, str reason) except -1:
        """The connection lost messages: the open candle may have missed its last
        updates (each update is the whole candle, so only a final one can be lost)."""
        self.gaps += 1
        self.gap_since_update = True
        self.last_gap_reason = reason
        if self._owner is not None:
            self._owner.on_candles_gap(self, reason)
        return 0

    cdef int unreadable(self, str text) except -1:
        """A payload on this stream's connection could not be decoded."""
        self.gap_since_update = True
        return self.note_reject(text)

    cdef int note_reject(self, str text) except -1:
        self.last_reject = text
        if self._owner is not None:
            self._owner.on_candles_reject(self, text)
        if self.strict:
            raise DecodeRejected(f"{self.venue} {self.symbol} {self.interval}: {text}")
        return 0

    cdef int _run_callback(self) except -1:
        self._in_read_queue = False
        try:
            self.callback(self)
        except Exception:
            if self.strict:
                raise
            self.callback_errors += 1
            if self.callback_errors <= 10 or self.callback_errors % 1000 == 0:
                log.exception("%s %s candles: callback failed (%d so far)", self.venue,
                              self.symbol, self.callback_errors)
        return 0

    cdef int _callback_due(self) except -1:
        # per message, or queued for the end of the socket read (callback_per_read)
        if self.callback_per_read and self._read_queue is not None:
            if not self._in_read_queue:
                self._in_read_queue = True
                self._read_queue.append(self)
            return 0
        return self._run_callback()

    # ------------------------------------------------------------------ Python API

    def _attach(self, owner) -> None:
        """Engine wiring: ``owner.on_candles_gap(core, reason)``,
        ``owner.on_candles_reject(core, text)`` (None detaches); cheap, must not raise."""
        self._owner = owner

    def close(self) -> None:
        """Stop recording (the candles held stay readable)."""
        self.closed_stream = True

    @property
    def state(self) -> str:
        """``live`` | ``closed``: candles are whole snapshots, so losses never poison
        the series (see ``unconfirmed`` and ``gaps``)."""
        return "closed" if self.closed_stream else "live"

    @property
    def rejects(self) -> dict:
        """Rejected inputs by reason (only reasons seen at least once)."""
        return reject_counts_by_name(self.reject_counts)

    @property
    def rejected(self) -> int:
        """Total rejected inputs."""
        return sum(self.rejects.values())

    def counters(self) -> dict:
        """All counters as a plain dict (for monitoring)."""
        return {
            "state": self.state,
            "messages": self.messages,
            "updates": self.updates,
            "closed": self.closed_count,
            "held": self.count,
            "overwritten": self.overwritten,
            "unconfirmed": self.unconfirmed,
            "stale": self.stale,
            "duplicates": self.duplicates,
            "other_interval": self.other_interval,
            "gaps": self.gaps,
            "callback_errors": self.callback_errors,
            "rejects": self.rejects,
        }

    def __repr__(self):
        return (f"<{type(self).__name__} {self.venue}:{self.symbol} {self.interval} "
                f"{self.state} closed={self.closed_count}>")


cdef class OfflineCandleCore(CandleCore):
    """A venue candle stream with its own decode step (``CandleFeed``): the venue's
    candle decoder, the connection sequence (Coinbase Advanced Trade ``sequence_num``)
    and the unreadable-message rule, then ``process_segment`` for this symbol."""

    def __cinit__(self):
        if batch_init(&self.batch, 64) != 0:
            raise MemoryError()

    def __dealloc__(self):
        batch_free(&self.batch)

    def __init__(self, str venue, str symbol, str interval, int price_decimals,
                 int size_decimals, *, Py_ssize_t capacity=DEFAULT_CAPACITY,
                 bint strict=True):
        CandleCore.__init__(self, venue, symbol, interval, price_decimals, size_decimals,
                            capacity=capacity, strict=strict)
        self.decode = venue_candle_decoder(venue)
        self.connection_sequence = get_venue(venue).connection_sequence
        self.conn_seq = -1

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1:
        cdef DeltaBatch* b = &self.batch
        cdef Py_ssize_t i
        cdef int64_t prev
        cdef int applied = 0
        batch_reset(b)
        if self.decode(p, n, b) != DEC_OK:
            self.reject_counts[b.error] += 1
            return self.unreadable(batch_error_message(b))
        if self.connection_sequence and b.last_id >= 0:
            prev = self.conn_seq
            if connection_sequence_broken(&self.conn_seq, b.last_id):
                self.sequence_gaps += 1
                self.connection_gap(sequence_break_reason(prev, b.last_id))
        if b.msg_kind == MSG_CANDLES:
            for i in range(b.n_segs):
                if self.matches(&b.segs[i]):
                    applied += self.process_segment(b, &b.segs[i], t_recv, p)
                else:
                    self.unknown_symbol += 1
        elif b.msg_kind == MSG_VENUE_ERROR:
            self.reject_counts[<int>REJECT_VENUE_ERROR] += 1
            self.note_reject("venue error: " + p[:min(n, 300)].decode("utf-8", "replace"))
        return applied

    def apply_message(self, payload) -> int:
        """Push one WebSocket payload (bytes-like) through the compiled path; the candle
        updates applied from it."""
        cdef Py_buffer view
        cdef int64_t t_recv = monotonic_ns()
        if PyBytes_CheckExact(payload):
            return self.route(PyBytes_AS_STRING(payload), len(<bytes>payload), t_recv)
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            return self.route(<const char*>view.buf, view.len, t_recv)
        finally:
            PyBuffer_Release(&view)

    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh."""
        self.conn_seq = -1

    def counters(self) -> dict:
        """All counters as a plain dict (for monitoring)."""
        out = CandleCore.counters(self)
        out["sequence_gaps"] = self.sequence_gaps
        out["unknown_symbol"] = self.unknown_symbol
        return out


cdef class LocalCandleCore(_CandleSeries):
    """Candles of any fixed interval built from trades, by exchange time, exact: prices
    in ticks, volume in lots, quote volume the exact sum of price * size (128-bit, at
    ``price_decimals + size_decimals``). A bucket closes when a trade of a later bucket
    arrives (or ``advance(t)`` passes its end). Open and close are the prices of the
    earliest and latest trade by exchange time (ties: arrival order); trades for a
    closed bucket are dropped and counted (``late``); an interval without trades has no
    candle unless ``fill_empty`` (then o=h=l=c = the previous close, volume 0, trades 0;
    at most ``capacity`` of them per silence). Fed by ``add_trades(TRADE_DTYPE array)``
    or, compiled, ``local_candles_add`` per ``TradeRecord``."""

    def __init__(self, interval, int price_decimals, int size_decimals, *,
                 Py_ssize_t capacity=DEFAULT_CAPACITY, bint fill_empty=False):
        self.interval_ns, self.offset_ns = parse_interval(interval)
        self._init_series(price_decimals, size_decimals, capacity)
        self.fill_empty = fill_empty
        self.max_t = -1

    cdef void roll(self, int64_t bucket) noexcept nogil:
        """Close the open candle (and, with fill_empty, emit the empty ones) before
        ``bucket`` starts."""
        cdef int64_t prev_close, k, n_empty, start
        cdef CandleRecord e
        if not self.has_cur:
            return
        self.cur.closed = 1
        self.push(&self.cur)
        self.has_cur = False
        if not self.fill_empty:
            return
        prev_close = self.cur.close
        n_empty = (bucket - self.cur.close_ns) // self.interval_ns
        start = self.cur.close_ns
        if n_empty > self.capacity:       # only the last `capacity` fit in the ring
            start += (n_empty - self.capacity) * self.interval_ns
            n_empty = self.capacity
        memset(&e, 0, sizeof(CandleRecord))
        e.open = e.high = e.low = e.close = prev_close
        e.first_id = e.last_id = -1
        e.closed = 1
        for k in range(n_empty):
            e.open_ns = start + k * self.interval_ns
            e.close_ns = e.open_ns + self.interval_ns
            self.push(&e)
        self.empty_filled += n_empty

    cdef void add(self, int64_t t, int64_t price, int64_t size, int64_t trade_id,
                  int64_t recv_ns) noexcept nogil:
        cdef int64_t rel = t - self.offset_ns
        cdef int64_t bucket = rel - rel % self.interval_ns + self.offset_ns
        cdef ff_i128 q, prod
        cdef CandleRecord* c = &self.cur
        if rel % self.interval_ns < 0:
            bucket -= self.interval_ns      # floor for times before the offset
        if t < self.max_t:
            self.out_of_order += 1
        else:
            self.max_t = t
        if self.has_cur and bucket > c.open_ns:
            self.roll(bucket)
        elif (self.has_cur and bucket < c.open_ns) or (
                not self.has_cur and bucket <= self.last_closed_open_ns
                and self.last_closed_open_ns >= 0):
            self.late += 1
            return
        if not self.has_cur:
            memset(c, 0, sizeof(CandleRecord))
            c.open_ns = bucket
            c.close_ns = bucket + self.interval_ns
            c.open = c.high = c.low = c.close = price
            c.first_id = c.last_id = trade_id
            self.first_t = self.last_t = t
            self.quote_bad = False
            self.has_cur = True
        else:
            if t < self.first_t:
                self.first_t = t
                c.open = price
            if t >= self.last_t:
                self.last_t = t
                c.close = price
            if price > c.high:
                c.high = price
            if price < c.low:
                c.low = price
            if trade_id >= 0:
                if c.first_id < 0 or trade_id < c.first_id:
                    c.first_id = trade_id
                if trade_id > c.last_id:
                    c.last_id = trade_id
        if c.volume >= 0:
            if size > INT64_MAX - c.volume:
                c.volume = -1
                self.overflows += 1
            else:
                c.volume += size
        if not self.quote_bad:
            q = ff_i128_make(c.quote_hi, c.quote_lo)
            if (ff_i128_mul(ff_i128_from64(price), ff_i128_from64(size), &prod)
                    or ff_i128_add(q, prod, &q)):
                self.quote_bad = True
                self.overflows += 1
                q = ff_i128_from64(-1)
            _set_quote(c, q)
        c.trades += 1
        c.updates += 1
        if recv_ns > c.recv_ns:
            c.recv_ns = recv_ns
        self.added += 1

    def attach(self, TradeCore trades) -> None:
        """Aggregate every trade ``trades`` (a ``TradeCore``/``TradeFeed``) records from now
        on, inside its hot path (nogil, nothing allocated). A trade core feeds one sink;
        attaching replaces the previous one. Scales must be the trade core's."""
        if (trades.price_decimals != self.price_decimals
                or trades.size_decimals != self.size_decimals):
            raise ValueError(f"scales differ: trades {trades.price_decimals}/"
                             f"{trades.size_decimals}, candles {self.price_decimals}/"
                             f"{self.size_decimals}")
        trades._sink_ref = self
        trades.sink = <void*>self
        trades.sink_fn = _local_sink

    @staticmethod
    def detach(TradeCore trades) -> None:
        """Stop the per-trade hook of ``trades``."""
        trades.sink_fn = NULL
        trades.sink = NULL
        trades._sink_ref = None

    def add_trades(self, trades) -> int:
        """Aggregate an ``np.ndarray`` of ``fastfeed.TRADE_DTYPE`` (in arrival order) at this
        series' scales; the trades added (late ones are counted, not added). Sizes and
        prices must not be negative."""
        cdef const unsigned char[::1] raw
        cdef const TradeRecord* r
        cdef Py_ssize_t i, n
        cdef int64_t before = self.added
        from fastfeed._trades import TRADE_DTYPE
        arr = np.ascontiguousarray(trades)
        if arr.dtype != TRADE_DTYPE:
            raise TypeError(f"trades must have dtype fastfeed.TRADE_DTYPE, got {arr.dtype}")
        n = arr.shape[0]
        if n == 0:
            return 0
        if (arr["price"] < 0).any() or (arr["size"] < 0).any():
            raise ValueError("trade prices and sizes must not be negative")
        raw = arr.view(np.uint8).reshape(-1)
        r = <const TradeRecord*>&raw[0]
        with nogil:
            for i in range(n):
                self.add(r[i].exchange_ns, r[i].price, r[i].size, r[i].trade_id,
                         r[i].recv_ns)
        return self.added - before

    def add_trade(self, int64_t exchange_ns, int64_t price, int64_t size,
                  int64_t trade_id=-1, int64_t recv_ns=0) -> None:
        """Aggregate one trade (ticks and lots at this series' scales)."""
        if price < 0 or size < 0:
            raise ValueError("trade prices and sizes must not be negative")
        self.add(exchange_ns, price, size, trade_id, recv_ns)

    def advance(self, int64_t exchange_ns) -> int:
        """Exchange time has reached ``exchange_ns`` (a heartbeat, a quiet market): close
        the open candle if its bucket has ended; the candles closed."""
        cdef int64_t before = self.closed_count
        cdef int64_t rel = exchange_ns - self.offset_ns
        cdef int64_t bucket = rel - rel % self.interval_ns + self.offset_ns
        if rel % self.interval_ns < 0:
            bucket -= self.interval_ns
        if self.has_cur and exchange_ns >= self.cur.close_ns:
            self.roll(bucket)
        return self.closed_count - before

    def counters(self) -> dict:
        """All counters as a plain dict (for monitoring)."""
        return {
            "added": self.added,
            "closed": self.closed_count,
            "held": self.count,
            "overwritten": self.overwritten,
            "late": self.late,
            "out_of_order": self.out_of_order,
            "empty_filled": self.empty_filled,
            "overflows": self.overflows,
        }

    def __repr__(self):
        return (f"<{type(self).__name__} {self.interval_ns} ns closed={self.closed_count} "
                f"added={self.added}>")


cdef void _local_sink(void* sink, const TradeRecord* r) noexcept nogil:
    local_candles_add(<LocalCandleCore>sink, r)
