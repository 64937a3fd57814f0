# cython: language_level=3
"""BboCore and TickerCore: best bid/offer and 24 h ticker streams' share of the hot path.

A quote decoder (``_parse``, ``parse/*_quotes.pxi``) fills a batch with one segment and
one ``Quote`` per BBO or ticker (a BBO segment also holds two Deltas: bid, then ask).
Here one segment goes: kind check → convert at the instrument's scale (BBO: the book
decoders' ``convert_segment``; ticker: each decimal text, exact, the whole ticker or
nothing) → staleness (an update id not newer than the last recorded one is counted in
``stale`` and ignored) → a record in a bounded ring in C memory (``capacity`` records,
oldest overwritten and counted) and the latest values → the optional Python callback.
Nothing is allocated per message. Every message is a complete BBO or ticker, so a lost
message is no gap in what is held: connection losses are counted (``connection_gaps``),
the state stays ``live``. The rules are in ``docs/venues.md`` ("Best bid/offer",
"Tickers").

Volumes are scale-free exact decimals (``volume * 10**-volume_decimals``): a 24 h quote
volume can exceed int64 at an instrument's scale (docs/venues.md, "Tickers").
"""

import logging
from collections import namedtuple

import numpy as np

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport INT64_MIN, int8_t, int32_t, int64_t, uint32_t
from libc.string cimport memchr, memcmp, memcpy, memset

from fastfeed._cdefs cimport (
    ff_monotonic_ns as monotonic_ns,
    ff_shm_publish_bbo,
    ff_wall_offset_ns,
)
from fastfeed._core cimport BookCore, reject_counts_by_name
from fastfeed._parse cimport (
    DecodeFn,
    batch_error_message,
    convert_error_message,
    convert_segment,
    decoder_named,
    grid_init,
    is_bare_number,
    parse_text,
)
from fastfeed._sync cimport connection_sequence_broken, sequence_break_reason
from fastfeed._types cimport (
    DEC_BAD_DECIMAL,
    DEC_OK,
    DECIMAL_OK,
    MSG_BBO,
    MSG_TICKER,
    MSG_VENUE_ERROR,
    REJECT_VENUE_ERROR,
    SEG_SNAPSHOT,
    SEG_UPDATE,
    TK_CHANGE,
    TK_HIGH,
    TK_LAST,
    TK_LAST_SIZE,
    TK_LOW,
    TK_N_TEXTS,
    TK_OPEN,
    TK_QUOTE_VOLUME,
    TK_VOLUME,
    DeltaBatch,
    Grid,
    Quote,
    Segment,
    batch_free,
    batch_init,
    batch_reset,
)

from fastfeed._core import DecodeRejected
from fastfeed._parse import DecodeFailed, decimal_error_message
from fastfeed.venues import get_venue

log = logging.getLogger("fastfeed.quotes")

#: BBO records a ring holds unless told otherwise (56 bytes each: 3.5 MiB).
DEFAULT_CAPACITY = 65_536
#: Ticker records a ring holds unless told otherwise (136 bytes each: 544 KiB; about an
#: hour of once-a-second tickers).
DEFAULT_TICKER_CAPACITY = 4096
#: A value the venue does not give (a ticker field it lacks, Coinbase Exchange BBO sizes).
QUOTE_MISSING = INT64_MIN
#: Ticker decimal fields by TickerText code: the record's field names.
TICKER_TEXTS = ("last_price", "last_size", "open", "high", "low", "change", "volume",
                "quote_volume")
#: Each venue description attribute naming a quote decoder, by channel.
_CHANNEL_ATTR = {"bbo": "bbo_decoder", "ticker": "ticker_decoder"}


cdef BboRecord _b
#: The numpy layout of one BBO record, field for field the C ``BboRecord``.
BBO_DTYPE = np.dtype({
    "names": ["recv_ns", "exchange_ns", "update_id", "bid_price", "bid_size", "ask_price",
              "ask_size"],
    "formats": ["=i8"] * 7,
    "offsets": [<char*>&_b.recv_ns - <char*>&_b, <char*>&_b.exchange_ns - <char*>&_b,
                <char*>&_b.update_id - <char*>&_b, <char*>&_b.bid_price - <char*>&_b,
                <char*>&_b.bid_size - <char*>&_b, <char*>&_b.ask_price - <char*>&_b,
                <char*>&_b.ask_size - <char*>&_b],
    "itemsize": sizeof(BboRecord),
})

cdef TickerRecord _t
_TICKER_NAMES = ["recv_ns", "exchange_ns", "update_id", "open_ns", "close_ns",
                 "last_price", "last_size", "open", "high", "low", "change", "volume",
                 "quote_volume", "first_trade_id", "last_trade_id", "trade_count",
                 "volume_decimals", "quote_volume_decimals"]
#: The numpy layout of one ticker record, field for field the C ``TickerRecord``.
TICKER_DTYPE = np.dtype({
    "names": _TICKER_NAMES,
    "formats": ["=i8"] * 16 + ["=i1", "=i1"],
    "offsets": [<char*>&_t.recv_ns - <char*>&_t, <char*>&_t.exchange_ns - <char*>&_t,
                <char*>&_t.update_id - <char*>&_t, <char*>&_t.open_ns - <char*>&_t,
                <char*>&_t.close_ns - <char*>&_t, <char*>&_t.last_price - <char*>&_t,
                <char*>&_t.last_size - <char*>&_t, <char*>&_t.open - <char*>&_t,
                <char*>&_t.high - <char*>&_t, <char*>&_t.low - <char*>&_t,
                <char*>&_t.change - <char*>&_t, <char*>&_t.volume - <char*>&_t,
                <char*>&_t.quote_volume - <char*>&_t,
                <char*>&_t.first_trade_id - <char*>&_t,
                <char*>&_t.last_trade_id - <char*>&_t, <char*>&_t.trade_count - <char*>&_t,
                <char*>&_t.volume_decimals - <char*>&_t,
                <char*>&_t.quote_volume_decimals - <char*>&_t],
    "itemsize": sizeof(TickerRecord),
})

#: The latest BBO, exact ints (``BboCore.bbo()``).
Bbo = namedtuple("Bbo", ["bid_price", "bid_size", "ask_price", "ask_size", "update_id",
                         "exchange_ns", "recv_ns"])
#: The latest ticker, exact ints (``TickerCore.ticker()``): the TICKER_DTYPE fields.
Ticker = namedtuple("Ticker", _TICKER_NAMES)


# ---------------------------------------------------------------------------------------
# ticker conversion (the one place its rules are written; decode_quotes uses it too)
# ---------------------------------------------------------------------------------------

cdef int _scale_free_decimals(const char* s, int32_t n) noexcept nogil:
    """The decimals a volume is read at: its significant fraction digits (trailing zeros
    dropped), less a bare number's exponent; 0..18."""
    cdef Py_ssize_t end = n
    cdef Py_ssize_t at, i
    cdef int f = 0
    cdef int64_t e = 0
    cdef bint neg = False
    cdef const char* dot
    if is_bare_number(s, n):
        i = 0
        while i < n and s[i] != c'e' and s[i] != c'E':
            i += 1
        if i < n - 1:
            end = i
            i += 1
            if s[i] == c'-' or s[i] == c'+':
                neg = s[i] == c'-'
                i += 1
            while i < n and c'0' <= s[i] <= c'9' and e < 1000:
                e = e * 10 + (<int>s[i] - 48)
                i += 1
    dot = <const char*>memchr(s, b'.', <size_t>end) if end > 0 else NULL
    if dot != NULL:
        at = dot - s
        while end > at + 1 and s[end - 1] == b'0':
            end -= 1
        f = <int>(end - at - 1)
    e = f + e if neg else f - e
    return <int>(0 if e < 0 else (18 if e > 18 else e))


cdef int _scale_free(const char* s, int32_t n, int64_t* v, int8_t* dec) noexcept nogil:
    """A volume: exact at its own significant fraction digits (trailing zeros dropped,
    at most 18). A DecimalError code (overflow: more than int64 holds)."""
    cdef int f = _scale_free_decimals(s, n)
    cdef int rc = parse_text(s, n, f, v)
    if rc == DECIMAL_OK:
        dec[0] = <int8_t>f
    return rc


cdef int _ticker_value(const Quote* q, int which, int pd, int sd, int64_t* v,
                       int8_t* dec) noexcept nogil:
    """One ticker text at its scale: a DecimalError code (absent: QUOTE_MISSING, OK)."""
    cdef const char* s = q.text[which]
    cdef int32_t n = q.text_len[which]
    cdef int rc
    dec[0] = 0
    if s == NULL:
        v[0] = INT64_MIN
        return DECIMAL_OK
    if which == TK_VOLUME or which == TK_QUOTE_VOLUME:
        return _scale_free(s, n, v, dec)
    if which == TK_CHANGE and n > 0 and s[0] == b'-':
        rc = parse_text(s + 1, n - 1, pd, v)
        if rc == DECIMAL_OK:
            v[0] = -v[0]
        return rc
    return parse_text(s, n, sd if which == TK_LAST_SIZE else pd, v)


cdef int convert_ticker(const Quote* q, int pd, int sd, TickerRecord* r,
                        int* bad) noexcept nogil:
    """A decoded ticker into ``r`` (all but recv_ns): DECIMAL_OK, or the DecimalError of
    the first text that failed (``*bad``: its TickerText code)."""
    cdef int64_t vals[8]
    cdef int8_t decs[8]
    cdef int i, rc
    for i in range(8):
        rc = _ticker_value(q, i, pd, sd, &vals[i], &decs[i])
        if rc != DECIMAL_OK:
            bad[0] = i
            return rc
    r.exchange_ns = q.time_ns
    r.update_id = q.update_id
    r.open_ns = q.open_ns
    r.close_ns = q.close_ns
    r.last_price = vals[0]
    r.last_size = vals[1]
    r.open = vals[2]
    r.high = vals[3]
    r.low = vals[4]
    r.change = vals[5]
    r.volume = vals[6]
    r.quote_volume = vals[7]
    r.volume_decimals = decs[6]
    r.quote_volume_decimals = decs[7]
    r.first_trade_id = q.first_trade_id
    r.last_trade_id = q.last_trade_id
    r.trade_count = q.trade_count
    memset(r.pad, 0, 6)
    return DECIMAL_OK


cdef uint32_t ticker_delta_view(const Quote* q, Quote* out) noexcept nogil:
    """A delta ticker (only the changed fields; docs/venues.md, "Bybit tickers") as a
    Quote ``convert_ticker`` reads: an empty text (``""``, no value) becomes absent
    (QUOTE_MISSING). Returns the mask of the texts the delta does not carry (by
    TickerText: unchanged, kept from the last ticker by ``ticker_merge``)."""
    cdef uint32_t absent = 0
    cdef int i
    out[0] = q[0]
    for i in range(<int>TK_N_TEXTS):
        if q.text[i] == NULL:
            absent |= <uint32_t>1 << i
        elif q.text_len[i] == 0:
            out.text[i] = NULL
    return absent


cdef void ticker_merge(TickerRecord* r, const TickerRecord* last,
                       uint32_t absent) noexcept nogil:
    """Fill the fields a delta did not carry (``absent``, by TickerText) from ``last``;
    the rest of ``r`` (times, ids) is the delta's."""
    if absent & (1 << TK_LAST):
        r.last_price = last.last_price
    if absent & (1 << TK_LAST_SIZE):
        r.last_size = last.last_size
    if absent & (1 << TK_OPEN):
        r.open = last.open
    if absent & (1 << TK_HIGH):
        r.high = last.high
    if absent & (1 << TK_LOW):
        r.low = last.low
    if absent & (1 << TK_CHANGE):
        r.change = last.change
    if absent & (1 << TK_VOLUME):
        r.volume = last.volume
        r.volume_decimals = last.volume_decimals
    if absent & (1 << TK_QUOTE_VOLUME):
        r.quote_volume = last.quote_volume
        r.quote_volume_decimals = last.quote_volume_decimals


cdef str ticker_error_message(const Quote* q, int which, int rc, const char* payload,
                              int pd, int sd):
    """Cold path: the message for a ticker text that failed, ``"<field> at byte N:
    <decimal message>"`` (the reference twin's text without the offset)."""
    cdef const char* s = q.text[which]
    cdef int32_t n = q.text_len[which]
    cdef int decimals
    text = s[:n].decode("utf-8", "replace")
    if which == TK_VOLUME or which == TK_QUOTE_VOLUME:
        decimals = _scale_free_decimals(s, n)
    else:
        decimals = sd if which == TK_LAST_SIZE else pd
    where = f" at byte {<Py_ssize_t>(s - payload)}" if payload != NULL else ""
    return f"{TICKER_TEXTS[which]}{where}: " + decimal_error_message(rc, text, decimals)


cdef DecodeFn venue_quote_decoder(str venue, str channel) except NULL:
    """The venue description's decoder for ``channel`` ("bbo" or "ticker")."""
    attr = _CHANNEL_ATTR.get(channel)
    if attr is None:
        raise ValueError(f"unknown quote channel {channel!r} (expected 'bbo' or 'ticker')")
    name = getattr(get_venue(venue), attr)
    if not name:
        raise ValueError(f"{venue} has no {channel} channel")
    return decoder_named(name)


def decode_quotes(str venue, payload, str channel, int price_decimals, int size_decimals,
                  int64_t price_tick=1, int64_t size_step=1) -> dict:
    """Decode one payload through the venue's compiled BBO or ticker decoder and convert it.

    ``channel`` is ``"bbo"`` or ``"ticker"``. Returns ``{"kind", "last_id",
    "event_time_ns", "segments": [...]}``; a BBO segment is ``{"symbol", "kind",
    "update_id", "exchange_ns", "bid_price", "bid_size", "ask_price", "ask_size",
    "off_grid"}``, a ticker segment ``{"symbol", "kind"}`` plus the ``TICKER_DTYPE``
    fields but ``recv_ns``; absent values are ``QUOTE_MISSING``. ``kind`` is ``"bbo"``,
    ``"ticker"`` or what else the message is. Raises ``DecodeFailed`` with a specific
    message when the payload or one of its decimals is bad.
    """
    cdef DecodeFn fn = venue_quote_decoder(venue, channel)
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef DeltaBatch b
    cdef Grid price_grid, size_grid
    cdef Segment* seg
    cdef Quote* q
    cdef TickerRecord r
    cdef Quote dq
    cdef Py_ssize_t si
    cdef int rc, bad = 0
    cdef bint deltas = bool(get_venue(venue).ticker_deltas)
    if (grid_init(&price_grid, price_decimals, price_tick) != 0
            or grid_init(&size_grid, size_decimals, size_step) != 0):
        raise ValueError(f"unusable scales {price_decimals}/{size_decimals} "
                         f"(tick {price_tick}, step {size_step})")
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        rc = fn(p, len(data), &b)
        if rc != DEC_OK:
            raise DecodeFailed(batch_error_message(&b))
        segments = []
        for si in range(b.n_segs):
            seg = &b.segs[si]
            q = &b.quotes[si]
            out = {"symbol": seg.symbol_ptr[:seg.symbol_len].decode("utf-8", "replace"),
                   "kind": "snapshot" if seg.kind == SEG_SNAPSHOT else "update"}
            if b.msg_kind == MSG_BBO:
                if convert_segment(&b, seg, &price_grid, &size_grid) != DEC_OK:
                    raise DecodeFailed(convert_error_message(&b, seg, p, price_decimals,
                                                             size_decimals))
                out.update(update_id=q.update_id, exchange_ns=q.time_ns,
                           bid_price=b.levels[seg.start].price,
                           bid_size=(QUOTE_MISSING if q.no_sizes
                                     else b.levels[seg.start].size),
                           ask_price=b.levels[seg.start + 1].price,
                           ask_size=(QUOTE_MISSING if q.no_sizes
                                     else b.levels[seg.start + 1].size),
                           off_grid=b.off_grid)
            else:
                if deltas and seg.kind == SEG_UPDATE:
                    ticker_delta_view(q, &dq)
                    q = &dq
                rc = convert_ticker(q, price_decimals, size_decimals, &r, &bad)
                if rc != DECIMAL_OK:
                    raise DecodeFailed(ticker_error_message(q, bad, rc, p, price_decimals,
                                                            size_decimals))
                for name in _TICKER_NAMES[1:]:
                    out[name] = (<object>r)[name]
            segments.append(out)
        from fastfeed._parse import _KIND_NAMES
        return {"kind": _KIND_NAMES.get(b.msg_kind, str(b.msg_kind)), "last_id": b.last_id,
                "event_time_ns": b.event_time_ns, "segments": segments}
    finally:
        batch_free(&b)


# ---------------------------------------------------------------------------------------
# the cores
# ---------------------------------------------------------------------------------------

cdef class QuoteCore:
    """What a BBO and a ticker stream share: the symbol and scales, the bounded ring, the
    staleness check, counters, the callback and the engine wiring; with ``offline`` its
    own decode step (``apply_message``) for BboFeed / TickerFeed."""

    def __cinit__(self):
        self.ring = NULL
        self.batch = NULL

    def __dealloc__(self):
        PyMem_Free(self.ring)
        if self.batch != NULL:
            batch_free(self.batch)
            PyMem_Free(self.batch)

    def _setup(self, str venue, str symbol, int price_decimals, int size_decimals,
               int64_t price_tick, int64_t size_step, Py_ssize_t capacity, bint strict,
               bint offline, str channel):
        spec = get_venue(venue)
        if price_tick < 1 or size_step < 1:
            raise ValueError("price_tick and size_step must be positive integers")
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 record, got {capacity}")
        if (grid_init(&self.price_grid, price_decimals, price_tick) != 0
                or grid_init(&self.size_grid, size_decimals, size_step) != 0):
            raise ValueError(f"unusable scales {price_decimals}/{size_decimals}")
        self.venue = venue
        self.symbol = symbol.upper()
        self._symbol_key = self.symbol.encode("ascii")
        self.symbol_ptr = PyBytes_AS_STRING(self._symbol_key)
        self.symbol_len = len(self._symbol_key)
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.price_tick = price_tick
        self.size_step = size_step
        self.strict = strict
        self.id_restarts = bool(spec.quote_id_restarts)
        PyMem_Free(self.ring)
        self.ring = <char*>PyMem_Malloc(capacity * self.itemsize)
        if self.ring == NULL:
            raise MemoryError()
        self.capacity = capacity
        self.head = self.count = 0
        self.last_update_id = -1
        self.conn_seq = -1
        if offline:
            self.decode = venue_quote_decoder(venue, channel)
            self.connection_sequence = spec.connection_sequence
            if self.batch == NULL:
                self.batch = <DeltaBatch*>PyMem_Malloc(sizeof(DeltaBatch))
                if self.batch == NULL or batch_init(self.batch, 64) != 0:
                    raise MemoryError()

    # ------------------------------------------------------------------ hot path

    cdef bint matches(self, const Segment* seg) noexcept nogil:
        return seg.symbol_len == self.symbol_len and (
            self.symbol_len == 0
            or memcmp(seg.symbol_ptr, self.symbol_ptr, self.symbol_len) == 0)

    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1:
        raise NotImplementedError

    cdef char* _slot(self) noexcept nogil:
        """The ring slot of the next record (the oldest is overwritten when full)."""
        cdef char* out = self.ring + self.head * self.itemsize
        self.head += 1
        if self.head == self.capacity:
            self.head = 0
        if self.count < self.capacity:
            self.count += 1
        else:
            self.overwritten += 1
        self.recorded += 1
        return out

    cdef bint _is_stale(self, int64_t update_id) noexcept nogil:
        """An update id not newer than the last recorded one (ids only order here)."""
        if self.id_restarts and update_id == 1:
            return False                # the venue restarted its ids (Bybit u == 1)
        return update_id >= 0 and self.last_update_id >= 0 and update_id <= self.last_update_id

    cdef int unreadable(self, str text) except -1:
        """A payload on this stream's connection could not be decoded: counted and
        reported; what is held stays valid until the next complete quote."""
        return self.note_reject(text)

    cdef int connection_gap(self, str reason) except -1:
        """The connection lost messages: counted; every quote is complete, so the stream
        stays live and the next one replaces what may be stale."""
        self.connection_gaps += 1
        self.last_gap_reason = reason
        if self._owner is not None:
            self._owner.on_quotes_gap(self, reason)
        return 0

    cdef int note_reject(self, str text) except -1:
        """Remember and report a rejected input; offline (strict) it raises."""
        self.last_reject = text
        if self._owner is not None:
            self._owner.on_quotes_reject(self, text)
        if self.strict:
            raise DecodeRejected(f"{self.venue} {self.symbol}: {text}")
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
                log.exception("%s %s quotes: callback failed (%d so far)", self.venue,
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

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1:
        cdef DeltaBatch* b = self.batch
        cdef Py_ssize_t i
        cdef int64_t prev
        cdef int recorded = 0
        batch_reset(b)
        if self.decode(p, n, b) != DEC_OK:
            self.reject_counts[b.error] += 1
            return self.unreadable(batch_error_message(b))
        if self.connection_sequence and b.last_id >= 0:
            prev = self.conn_seq
            if connection_sequence_broken(&self.conn_seq, b.last_id):
                self.sequence_gaps += 1
                self.connection_gap(sequence_break_reason(prev, b.last_id))
        if b.msg_kind == self.msg_kind:
            for i in range(b.n_segs):
                if self.matches(&b.segs[i]):
                    recorded += self.process_segment(b, &b.segs[i], t_recv, p)
                else:
                    self.unknown_symbol += 1
        elif b.msg_kind == MSG_VENUE_ERROR:
            self.reject_counts[<int>REJECT_VENUE_ERROR] += 1
            self.note_reject("venue error: " + p[:min(n, 300)].decode("utf-8", "replace"))
        return recorded

    # ------------------------------------------------------------------ Python API

    def apply_message(self, payload) -> int:
        """Push one WebSocket payload (bytes-like) through the compiled path (offline
        cores only). Returns the records made from it (stale ones, other symbols and
        other messages make none)."""
        cdef Py_buffer view
        cdef int64_t t_recv = monotonic_ns()
        if self.batch == NULL:
            raise TypeError("this core has no decode step (it is fed by a router)")
        if PyBytes_CheckExact(payload):
            return self.route(PyBytes_AS_STRING(payload), len(<bytes>payload), t_recv)
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            return self.route(<const char*>view.buf, view.len, t_recv)
        finally:
            PyBuffer_Release(&view)

    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh, and so does the staleness base
        (update ids only order quotes within one connection: a venue may restart them
        across a reconnect, e.g. OKX after maintenance, docs/venues.md)."""
        self.conn_seq = -1
        self.last_update_id = -1

    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen (Coinbase AT ``sequence_num``; -1 if none)."""
        return self.conn_seq

    def _attach(self, owner) -> None:
        """Engine wiring: ``owner.on_quotes_gap(core, reason)`` after each connection
        loss, ``owner.on_quotes_reject(core, text)`` for each rejected input (None
        detaches). They run inside the frame callback: cheap, and they must not raise."""
        self._owner = owner

    def _records(self, since):
        cdef Py_ssize_t skip = 0, n, start, first
        cdef int64_t oldest
        cdef unsigned char[::1] raw
        if since is not None:
            oldest = self.recorded - self.count
            skip = <Py_ssize_t>min(max(<int64_t>since - oldest, 0), self.count)
        n = self.count - skip
        out = np.empty(n, dtype=self._dtype)
        if n == 0:
            return out
        raw = out.view(np.uint8).reshape(-1)
        start = (self.head - self.count + skip) % self.capacity
        if start < 0:
            start += self.capacity
        first = min(n, self.capacity - start)
        memcpy(&raw[0], self.ring + start * self.itemsize, first * self.itemsize)
        if n > first:
            memcpy(&raw[first * self.itemsize], self.ring, (n - first) * self.itemsize)
        return out

    def close(self) -> None:
        """Stop recording (the records held stay readable)."""
        self.closed = True

    @property
    def state(self) -> str:
        """``live`` (every message is a complete quote: nothing to resync) | ``closed``."""
        return "closed" if self.closed else "live"

    @property
    def held(self) -> int:
        """Records in the ring now (at most ``capacity``)."""
        return self.count

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
            "recorded": self.recorded,
            "held": self.count,
            "overwritten": self.overwritten,
            "stale": self.stale,
            "off_grid": self.off_grid,
            "connection_gaps": self.connection_gaps,
            "sequence_gaps": self.sequence_gaps,
            "unknown_symbol": self.unknown_symbol,
            "callback_errors": self.callback_errors,
            "rejects": self.rejects,
            "last_update_id": self.last_update_id,
            "last_exchange_ns": self.last_exchange_ns,
        }

    def __repr__(self):
        return (f"<{type(self).__name__} {self.venue}:{self.symbol} {self.state} "
                f"held={self.count} recorded={self.recorded}>")


cdef int _bbo_from_book(object sink, int64_t t_recv, int64_t exchange_ns,
                        int64_t update_id, int64_t bid_price, int64_t bid_size,
                        int64_t ask_price, int64_t ask_size) except -1:
    # BookCore's top hook (TopSinkFn): the book's top, recorded when it changed
    return (<BboCore>sink).record_top(t_recv, exchange_ns, update_id, bid_price, bid_size,
                                      ask_price, ask_size)


cdef class BboCore(QuoteCore):
    """One best bid/offer stream: a ring of ``BBO_DTYPE`` records and the latest BBO.

    Fed by a router with the venue's BBO decoder (``Venue.bbo_decoder``) or, offline,
    ``apply_message`` (``offline=True``: ``BboFeed``), or by a book path through the
    C-level ``record_top`` (the book's top after each applied message: docs/venues.md,
    "Best bid/offer"). Scales as for books (``fastfeed.feed.instrument_scales``);
    ``capacity`` bounds the ring; with ``strict`` a rejected payload raises
    ``DecodeRejected`` after being counted.
    """

    def __init__(self, str venue, str symbol, int price_decimals, int size_decimals,
                 int64_t price_tick=1, int64_t size_step=1, *,
                 Py_ssize_t capacity=DEFAULT_CAPACITY, bint strict=True,
                 bint offline=False):
        self.itemsize = sizeof(BboRecord)
        self._dtype = BBO_DTYPE
        self.msg_kind = MSG_BBO
        self._setup(venue, symbol, price_decimals, size_decimals, price_tick, size_step,
                    capacity, strict, offline, "bbo")
        memset(&self.last, 0, sizeof(BboRecord))
        self.last.update_id = -1

    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1:
        """This stream's share of a decoded BBO message: 1 if recorded, else 0."""
        cdef const Quote* q
        cdef BboRecord* rec
        if self.closed or b.msg_kind != MSG_BBO or seg.count != 2:
            return 0
        q = &b.quotes[seg - b.segs]
        self.messages += 1
        if convert_segment(b, seg, &self.price_grid, &self.size_grid) != DEC_OK:
            self.reject_counts[b.error] += 1
            self.note_reject(convert_error_message(b, seg, payload, self.price_decimals,
                                                   self.size_decimals))
            return 0
        if self._is_stale(q.update_id):
            self.stale += 1
            return 0
        self.off_grid += b.off_grid
        rec = <BboRecord*>self._slot()
        rec.recv_ns = t_recv + ff_wall_offset_ns(t_recv)
        rec.exchange_ns = q.time_ns
        rec.update_id = q.update_id
        rec.bid_price = b.levels[seg.start].price
        rec.ask_price = b.levels[seg.start + 1].price
        if q.no_sizes:
            rec.bid_size = rec.ask_size = INT64_MIN
        else:
            rec.bid_size = b.levels[seg.start].size
            rec.ask_size = b.levels[seg.start + 1].size
        self.last = rec[0]
        if q.update_id >= 0:
            self.last_update_id = q.update_id
        self.last_exchange_ns = q.time_ns
        self.last_recv_ns = t_recv
        if self.shm_market != NULL:
            ff_shm_publish_bbo(self.shm_market, rec.bid_price, rec.bid_size, rec.ask_price,
                               rec.ask_size, rec.update_id, rec.exchange_ns, rec.recv_ns)
        if self.callback is not None:
            self._callback_due()
        return 1

    def follow_book(self, BookCore book) -> None:
        """Record ``book``'s top from now on, after each message it applies while live,
        when the top changed (a BBO on any venue, from its book; the scales must be the
        book's). ``None`` stops following."""
        if book.price_grid.decimals != self.price_grid.decimals or \
                book.size_grid.decimals != self.size_grid.decimals:
            raise ValueError(f"{book.venue}:{book.symbol}: the book's scales differ from "
                             f"this BBO stream's")
        if book.top_sink is not None and book.top_sink is not self:
            raise ValueError(f"{book.venue}:{book.symbol}: another BBO stream follows "
                             f"this book")
        book.top_sink = self
        book.top_sink_fn = _bbo_from_book

    def unfollow_book(self, BookCore book) -> None:
        """Stop following ``book`` (nothing if another stream follows it now)."""
        if book.top_sink is self:
            book.top_sink_fn = NULL
            book.top_sink = None

    cdef int record_top(self, int64_t t_recv, int64_t exchange_ns, int64_t update_id,
                        int64_t bid_price, int64_t bid_size, int64_t ask_price,
                        int64_t ask_size) except -1:
        """A book's top of book after an applied message (ticks and lots at this core's
        scales, which must be the book's; an empty side is price 0 and size 0): recorded
        when it differs from the latest BBO (1), else nothing (0). ``t_recv`` is the
        monotonic receive stamp, as for ``process_segment``."""
        if self.closed:
            return 0
        if self.count > 0 and (bid_price == self.last.bid_price
                               and bid_size == self.last.bid_size
                               and ask_price == self.last.ask_price
                               and ask_size == self.last.ask_size):
            return 0
        if self._is_stale(update_id):
            self.stale += 1
            return 0
        self.messages += 1
        rec = <BboRecord*>self._slot()
        rec.recv_ns = t_recv + ff_wall_offset_ns(t_recv)
        rec.exchange_ns = exchange_ns
        rec.update_id = update_id
        rec.bid_price = bid_price
        rec.bid_size = bid_size
        rec.ask_price = ask_price
        rec.ask_size = ask_size
        self.last = rec[0]
        if update_id >= 0:
            self.last_update_id = update_id
        self.last_exchange_ns = exchange_ns
        self.last_recv_ns = t_recv
        if self.callback is not None:
            self._callback_due()
        return 1

    def _record_top(self, int64_t bid_price, int64_t bid_size, int64_t ask_price,
                    int64_t ask_size, int64_t update_id=-1, int64_t exchange_ns=0) -> int:
        """Python entry to ``record_top`` (tests, tools): stamped now."""
        return self.record_top(monotonic_ns(), exchange_ns, update_id, bid_price, bid_size,
                               ask_price, ask_size)

    def bbo(self):
        """The latest BBO as ``Bbo(bid_price, bid_size, ask_price, ask_size, update_id,
        exchange_ns, recv_ns)`` of exact ints (sizes ``QUOTE_MISSING`` where the venue
        gives none), or None before the first."""
        if self.recorded == 0:
            return None
        r = self.last
        return Bbo(r.bid_price, r.bid_size, r.ask_price, r.ask_size, r.update_id,
                   r.exchange_ns, r.recv_ns)

    def updates(self, since=None):
        """The BBO records held, oldest first, as a new ``np.ndarray`` of ``BBO_DTYPE``;
        ``since``: only those with a recording index >= ``since`` (``recorded`` counts
        from 0)."""
        return self._records(since)

    @property
    def bid_price(self):
        """Latest best bid price in ticks (None before the first BBO)."""
        return self.last.bid_price if self.recorded else None

    @property
    def bid_size(self):
        """Latest best bid size in lots (None before the first BBO)."""
        return self.last.bid_size if self.recorded else None

    @property
    def ask_price(self):
        """Latest best ask price in ticks (None before the first BBO)."""
        return self.last.ask_price if self.recorded else None

    @property
    def ask_size(self):
        """Latest best ask size in lots (None before the first BBO)."""
        return self.last.ask_size if self.recorded else None


cdef class TickerCore(QuoteCore):
    """One 24 h ticker stream: a ring of ``TICKER_DTYPE`` records and the latest ticker.

    Fed by a router with the venue's ticker decoder (``Venue.ticker_decoder``) or,
    offline, ``apply_message`` (``offline=True``: ``TickerFeed``). Prices in ticks, sizes
    in lots at the instrument's scales, volumes scale-free (docs/venues.md, "Tickers").
    """

    def __init__(self, str venue, str symbol, int price_decimals, int size_decimals,
                 int64_t price_tick=1, int64_t size_step=1, *,
                 Py_ssize_t capacity=DEFAULT_TICKER_CAPACITY, bint strict=True,
                 bint offline=False):
        self.itemsize = sizeof(TickerRecord)
        self._dtype = TICKER_DTYPE
        self.msg_kind = MSG_TICKER
        self._setup(venue, symbol, price_decimals, size_decimals, price_tick, size_step,
                    capacity, strict, offline, "ticker")
        memset(&self.last, 0, sizeof(TickerRecord))
        self.merges_deltas = bool(get_venue(venue).ticker_deltas)
        self.have_snapshot = False
        self.unmerged = 0

    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1:
        """This stream's share of a decoded ticker message: 1 if recorded, else 0."""
        cdef const Quote* q
        cdef TickerRecord r
        cdef TickerRecord* rec
        cdef Quote dq
        cdef uint32_t absent = 0
        cdef int rc, bad = 0
        if self.closed or b.msg_kind != MSG_TICKER:
            return 0
        q = &b.quotes[seg - b.segs]
        self.messages += 1
        if self.merges_deltas and seg.kind == SEG_UPDATE:
            if not self.have_snapshot:
                self.unmerged += 1      # nothing to merge into: wait for a snapshot
                return 0
            absent = ticker_delta_view(q, &dq)
            rc = convert_ticker(&dq, self.price_decimals, self.size_decimals, &r, &bad)
        else:
            rc = convert_ticker(q, self.price_decimals, self.size_decimals, &r, &bad)
        if rc != DECIMAL_OK:
            self.reject_counts[<int>DEC_BAD_DECIMAL] += 1
            # a lost delta (or snapshot): the merged state may now be wrong
            self.forget_snapshot("a ticker that did not convert was lost")
            self.note_reject(ticker_error_message(q, bad, rc, payload, self.price_decimals,
                                                  self.size_decimals))
            return 0
        if self._is_stale(q.update_id):
            self.stale += 1
            return 0
        if self.merges_deltas:
            if seg.kind == SEG_UPDATE:
                ticker_merge(&r, &self.last, absent)
            else:
                self.have_snapshot = True
        r.recv_ns = t_recv + ff_wall_offset_ns(t_recv)
        rec = <TickerRecord*>self._slot()
        rec[0] = r
        self.last = r
        if q.update_id >= 0:
            self.last_update_id = q.update_id
        self.last_exchange_ns = q.time_ns
        self.last_recv_ns = t_recv
        if self.callback is not None:
            self._callback_due()
        return 1

    cdef int forget_snapshot(self, str reason) except -1:
        """A delta-merging stream (``merges_deltas``) may have lost a delta: the deltas
        that follow are not applied (``unmerged``) until the next snapshot. The latest
        ticker stays readable; the owner is told (``on_quotes_gap``) so it can
        resubscribe for a fresh snapshot (docs/venues.md, "Bybit tickers")."""
        if not self.merges_deltas or not self.have_snapshot:
            return 0
        self.have_snapshot = False
        self.last_gap_reason = reason
        if self._owner is not None:
            self._owner.on_quotes_gap(self, reason)
        return 0

    cdef int connection_gap(self, str reason) except -1:
        """As ``QuoteCore.connection_gap``; a delta-merging stream also waits for the
        next snapshot."""
        self.have_snapshot = False      # before the owner hears of it (it resubscribes)
        return QuoteCore.connection_gap(self, reason)

    cdef int unreadable(self, str text) except -1:
        """As ``QuoteCore.unreadable``; on a delta-merging stream the unreadable message
        may have been one of its deltas: it waits for the next snapshot."""
        self.forget_snapshot("an unreadable message may have held a ticker delta")
        return QuoteCore.unreadable(self, text)

    def drop_snapshot(self, reason: str = "the connection was lost") -> None:
        """Forget the merged state of a delta-merging stream (a disconnect): deltas are
        not applied until the next snapshot (no-op on a stream of whole tickers)."""
        self.forget_snapshot(reason)

    @property
    def has_snapshot(self) -> bool:
        """A delta-merging stream holds a snapshot to merge deltas into (always False on
        a stream of whole tickers, which needs none)."""
        return bool(self.have_snapshot)

    def ticker(self):
        """The latest ticker as a ``Ticker`` (the ``TICKER_DTYPE`` fields, exact ints;
        ``QUOTE_MISSING`` where the venue gives no value), or None before the first."""
        if self.recorded == 0:
            return None
        r = self.last
        return Ticker(*[(<object>r)[name] for name in _TICKER_NAMES])

    def tickers(self, since=None):
        """The ticker records held, oldest first, as a new ``np.ndarray`` of
        ``TICKER_DTYPE``; ``since`` as for ``BboCore.updates``."""
        return self._records(since)
