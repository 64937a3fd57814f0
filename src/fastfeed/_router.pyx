# cython: language_level=3
"""Router: the one path from a payload to its books and trade streams, offline and live.

``route`` decodes a payload once with the venue's compiled stream decoder (every channel
of a connection: ``parse/streams.pxi``) into a reusable C batch, applies the
connection-level rules of the venue description (a per-connection sequence that must
step by one; an unreadable message that may have held any book's update), then hands
each segment to the core of its channel whose symbol it names, found in an
open-addressing table per channel: books (``BookCore.process_segment``) for depth and
snapshots, trade streams (``TradeCore.process_segment``) for trades. Counters and the
cold-path reports (``owner``) live here. Rules: ``docs/venues.md``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcmp

from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns
from fastfeed._core cimport BookCore, load_rules, reject_counts_by_name
from fastfeed._candles cimport CandleCore
from fastfeed._parse cimport decoder_named
from fastfeed._quotes cimport BboCore, QuoteCore, TickerCore
from fastfeed._trades cimport TradeCore
from fastfeed._parse cimport batch_error_message
from fastfeed._sync cimport (
    SYNC_GAP,
    SYNC_LIVE,
    connection_sequence_broken,
    sequence_break_reason,
)
from fastfeed._types cimport (
    DEC_OK,
    MSG_CONTROL,
    MSG_DEPTH,
    MSG_BBO,
    MSG_CANDLES,
    MSG_SNAPSHOT,
    MSG_TICKER,
    MSG_TRADES,
    MSG_VENUE_ERROR,
    REJECT_N_REASONS,
    REJECT_VENUE_ERROR,
    Delta,
    DeltaBatch,
    Segment,
    batch_free,
    batch_init,
    batch_reset,
)

import sys

from fastfeed.venues import get_venue


cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX


cdef inline uint64_t _fnv1a(const char* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = 1469598103934665603ULL
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ <unsigned char>p[i]) * 1099511628211ULL
    return h


cdef int _table_init(SymbolTable* t, Py_ssize_t count) except -1:
    """An empty table with room for ``count`` cores (at most half full)."""
    cdef Py_ssize_t size = 8
    cdef RouteSlot* slots
    while size < 2 * count + 2:
        size *= 2
    slots = <RouteSlot*>calloc(size, sizeof(RouteSlot))
    if slots == NULL:
        raise MemoryError()
    free(t.slots)
    t.slots = slots
    t.mask = size - 1
    t.only = NULL
    return 0


cdef inline void _table_put(SymbolTable* t, PyObject* core, const char* symbol_ptr,
                            Py_ssize_t symbol_len) noexcept:
    cdef uint64_t slot = _fnv1a(symbol_ptr, symbol_len) & t.mask
    while t.slots[slot].core != NULL:
        slot = (slot + 1) & t.mask
    t.slots[slot].core = core
    t.slots[slot].symbol_ptr = symbol_ptr
    t.slots[slot].symbol_len = symbol_len


cdef inline PyObject* _table_find(const SymbolTable* t, const Segment* seg) noexcept nogil:
    cdef uint64_t slot
    cdef const RouteSlot* e
    if seg.symbol_ptr == NULL:      # the message names no symbol: a one-core stream
        return t.only
    slot = _fnv1a(seg.symbol_ptr, seg.symbol_len) & t.mask
    while True:
        e = &t.slots[slot]
        if e.core == NULL or (e.symbol_len == seg.symbol_len and memcmp(
                e.symbol_ptr, seg.symbol_ptr, seg.symbol_len) == 0):
            return e.core
        slot = (slot + 1) & t.mask


cdef class Router:
    """Routes one venue connection's payloads to its books.

    ``owner`` (optional) receives the cold-path reports: ``on_router_reject(text, head)``
    for a payload that could not be used at all, ``on_router_control(payload, is_error)``
    for subscribe acks and venue errors, ``on_router_connection_gap(reason)`` after the
    connection lost messages (every live book on it has then been marked ``gap``).
    """

    def __cinit__(self):
        if batch_init(&self.batch, 256) != 0:
            raise MemoryError()
        self._books.slots = NULL
        self._trades.slots = NULL
        self._bbos.slots = NULL
        self._tickers.slots = NULL
        self._bbo_in_ticker = NULL

    def __dealloc__(self):
        batch_free(&self.batch)
        free(self._books.slots)
        free(self._trades.slots)
        free(self._bbos.slots)
        free(self._tickers.slots)

    def __init__(self, str venue, owner=None, cores=(),
                 Py_ssize_t max_message_bytes=PY_SSIZE_T_MAX):
        load_rules(&self.rules, venue)
        self.venue = venue
        self.owner = owner
        self.conn_seq = -1
        self.max_message_bytes = max_message_bytes
        self.read_queue = []
        spec = get_venue(venue)
        if getattr(spec, "bbo_in_ticker", False) and spec.bbo_decoder:
            self._bbo_in_ticker = decoder_named(spec.bbo_decoder)
        self.set_cores(list(cores))
        self.set_channel_cores([])

    def set_cores(self, list cores):
        """Route depth and snapshot messages to these books (replaces the table)."""
        cdef BookCore core
        for core in cores:
            if core.venue != self.venue:
                raise ValueError(f"{core!r} is not a {self.venue} book")
        _table_init(&self._books, len(cores))
        for core in cores:
            _table_put(&self._books, <PyObject*>core, core.symbol_ptr, core.symbol_len)
            core._read_queue = self.read_queue
        self._books.only = <PyObject*>cores[0] if len(cores) == 1 else NULL
        self._cores = cores

    def set_channel_cores(self, list cores):
        """Route every non-book channel to these cores (``TradeCore``, ``BboCore``,
        ``TickerCore``, ``CandleCore``; replaces the tables)."""
        cdef TradeCore t
        cdef QuoteCore q
        trades, bbos, tickers, candles = [], [], [], []
        for core in cores:
            if core.venue != self.venue:
                raise ValueError(f"{core!r} is not a {self.venue} stream")
            if isinstance(core, TradeCore):
                trades.append(core)
            elif isinstance(core, BboCore):
                bbos.append(core)
            elif isinstance(core, TickerCore):
                tickers.append(core)
            elif isinstance(core, CandleCore):
                candles.append(core)
            else:
                raise TypeError(f"{core!r} is not a channel core")
        _table_init(&self._trades, len(trades))
        for t in trades:
            _table_put(&self._trades, <PyObject*>t, t.symbol_ptr, t.symbol_len)
            t._read_queue = self.read_queue
        self._trades.only = <PyObject*>trades[0] if len(trades) == 1 else NULL
        for table, group in ((0, bbos), (1, tickers)):
            _table_init(&self._bbos if table == 0 else &self._tickers, len(group))
            for q in group:
                _table_put(&self._bbos if table == 0 else &self._tickers, <PyObject*>q,
                           q.symbol_ptr, q.symbol_len)
                q._read_queue = self.read_queue
        for candle in candles:
            (<CandleCore>candle)._read_queue = self.read_queue
        self._bbos.only = <PyObject*>bbos[0] if len(bbos) == 1 else NULL
        self._tickers.only = <PyObject*>tickers[0] if len(tickers) == 1 else NULL
        self._trade_cores = trades
        self._bbo_cores = bbos
        self._ticker_cores = tickers
        self._candle_cores = candles

    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh, and so do the quote streams'
        staleness bases."""
        self.conn_seq = -1
        for quote in self._bbo_cores + self._ticker_cores:
            (<QuoteCore>quote).reset_connection()

    # ------------------------------------------------------------------ hot path

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1:
        """One whole payload. Returns the level changes applied (all books)."""
        cdef DeltaBatch* b = &self.batch
        cdef Py_ssize_t i
        cdef PyObject* entry
        cdef int applied = 0
        cdef int64_t prev
        self.messages += 1
        if n > self.max_message_bytes:
            self.oversized += 1
            self._unreadable(f"message of {n} bytes exceeds the {self.max_message_bytes}"
                             f" byte limit", p, n)
            return 0
        batch_reset(b)
        if self.rules.decode(p, n, b) != DEC_OK:
            self.decode_errors += 1
            if 0 <= b.error < <int>REJECT_N_REASONS:
                self.reject_counts[b.error] += 1
            if (b.msg_kind == MSG_TRADES or b.msg_kind == MSG_BBO
                    or b.msg_kind == MSG_TICKER or b.msg_kind == MSG_CANDLES):
                # a well-framed message of another channel: no book's update was in it
                self._unreadable_channel(batch_error_message(b), p, n, b.msg_kind)
            else:
                self._unreadable(batch_error_message(b), p, n)
            return 0
        if self.rules.connection_sequence and b.last_id >= 0:
            prev = self.conn_seq
            if connection_sequence_broken(&self.conn_seq, b.last_id):
                self.sequence_gaps += 1
                self.connection_gap(sequence_break_reason(prev, b.last_id))
        if b.msg_kind == MSG_DEPTH or b.msg_kind == MSG_SNAPSHOT:
            for i in range(b.n_segs):
                entry = _table_find(&self._books, &b.segs[i])
                if entry == NULL:
                    self.unknown_symbol += 1
                    continue
                applied += (<BookCore>entry).process_segment(b, &b.segs[i], t_recv, p, n)
        elif b.msg_kind == MSG_TRADES:
            if len(self._trade_cores) == 0:
                self.unrouted += 1      # trades on a connection that carries none
                return 0
            for i in range(b.n_segs):
                entry = _table_find(&self._trades, &b.segs[i])
                if entry == NULL:
                    self.unknown_symbol += 1
                    continue
                applied += (<TradeCore>entry).process_segment(b, &b.segs[i], t_recv, p)
        elif b.msg_kind == MSG_TICKER:
            for i in range(b.n_segs):
                entry = _table_find(&self._tickers, &b.segs[i])
                if entry != NULL:
                    applied += (<TickerCore>entry).process_segment(b, &b.segs[i], t_recv, p)
            if len(self._ticker_cores) == 0 and (self._bbo_in_ticker == NULL
                                                 or len(self._bbo_cores) == 0):
                self.unrouted += 1
            if self._bbo_in_ticker != NULL and len(self._bbo_cores):
                # the same message holds the best bid/offer: read it with the BBO decoder
                batch_reset(b)
                if self._bbo_in_ticker(p, n, b) == DEC_OK and b.msg_kind == MSG_BBO:
                    applied += self._route_bbo(b, t_recv, p)
        elif b.msg_kind == MSG_BBO:
            if len(self._bbo_cores) == 0:
                self.unrouted += 1
                return 0
            applied += self._route_bbo(b, t_recv, p)
        elif b.msg_kind == MSG_CANDLES:
            if len(self._candle_cores) == 0:
                self.unrouted += 1
                return 0
            for i in range(b.n_segs):
                for candle in self._candle_cores:
                    if ((<CandleCore>candle).matches(&b.segs[i])
                            and (<CandleCore>candle).matches_interval(b, &b.segs[i])):
                        applied += (<CandleCore>candle).process_segment(b, &b.segs[i],
                                                                        t_recv, p)
        elif b.msg_kind == MSG_CONTROL or b.msg_kind == MSG_VENUE_ERROR:
            self.control_messages += 1
            if b.msg_kind == MSG_VENUE_ERROR:
                self.reject_counts[<int>REJECT_VENUE_ERROR] += 1
            if self.owner is not None:
                self.owner.on_router_control(PyBytes_FromStringAndSize(p, n),
                                             b.msg_kind == MSG_VENUE_ERROR)
        return applied

    # ------------------------------------------------------------------ cold path

    cdef int refuse(self, str reason, const char* p, Py_ssize_t n) except -1:
        """A payload refused before decoding (broken fragments): same rules as unreadable."""
        self.decode_errors += 1
        return self._unreadable(reason, p, n)

    cdef int _unreadable(self, str text, const char* p, Py_ssize_t n) except -1:
        cdef TradeCore core
        cdef QuoteCore quote
        cdef CandleCore candle
        self.last_error = text
        if self.rules.unreadable_is_gap:
            # No per-book ids (Coinbase): the message may have carried any book's update
            # and nothing later would tell. Binance event ids tell exactly, so no guess.
            self.connection_gap("unreadable message: " + text)
        else:
            # the books' ids will tell; the other streams' may not (a merged ticker's
            # lost delta, a candle's final update): each decides what it means for it
            for core in list(self._trade_cores):
                core.unreadable(text)
            for quote in list(self._bbo_cores) + list(self._ticker_cores):
                quote.unreadable(text)
            for candle in list(self._candle_cores):
                candle.unreadable(text)
        if self.owner is not None:
            self.owner.on_router_reject(text, PyBytes_FromStringAndSize(p, min(n, 120)))
        return 0

    cdef int _route_bbo(self, DeltaBatch* b, int64_t t_recv, const char* p) except -1:
        cdef Py_ssize_t i
        cdef PyObject* entry
        cdef int applied = 0
        for i in range(b.n_segs):
            entry = _table_find(&self._bbos, &b.segs[i])
            if entry != NULL:
                applied += (<BboCore>entry).process_segment(b, &b.segs[i], t_recv, p)
        return applied

    cdef int _unreadable_channel(self, str text, const char* p, Py_ssize_t n,
                                 int kind) except -1:
        # The stream decoder framed it as a message of a non-book channel (its channel
        # field was read): no book's update was in it. It still was one message of the
        # connection's sequence, and that channel's streams may have lost what it held.
        cdef TradeCore core
        cdef QuoteCore quote
        cdef CandleCore candle
        self.last_error = text
        if self.rules.connection_sequence and self.conn_seq >= 0:
            self.conn_seq += 1
        if kind == MSG_TRADES:
            for core in list(self._trade_cores):
                core.unreadable(text)
        elif kind == MSG_BBO or kind == MSG_TICKER:
            for quote in list(self._bbo_cores if kind == MSG_BBO else self._ticker_cores):
                quote.unreadable(text)
        else:
            for candle in list(self._candle_cores):
                candle.unreadable(text)
        if self.owner is not None:
            self.owner.on_router_reject(text, PyBytes_FromStringAndSize(p, min(n, 120)))
        return 0

    cdef int flush_reads(self) except -1:
        """The end of a socket read: the books' deferred work (shared-memory copies,
        per-read callbacks) and the channels' per-read callbacks, once per core, in the
        order the read first touched them."""
        due = self.read_queue[:]
        del self.read_queue[:]
        for core in due:
            if isinstance(core, BookCore):
                (<BookCore>core).read_done()
            elif isinstance(core, TradeCore):
                (<TradeCore>core)._run_callback()
            elif isinstance(core, QuoteCore):
                (<QuoteCore>core)._run_callback()
            else:
                (<CandleCore>core)._run_callback()
        return 0

    cdef int connection_gap(self, str reason) except -1:
        """The connection lost messages: every live book on it turns ``gap``, and every
        trade stream records a loss of unknown range."""
        cdef BookCore core
        cdef TradeCore trades
        for core in list(self._cores):
            if core.seq.state == SYNC_LIVE:
                core.mark_gap(reason, SYNC_GAP)
        for trades in list(self._trade_cores):
            trades.connection_gap(reason)
        for quote in list(self._bbo_cores) + list(self._ticker_cores):
            (<QuoteCore>quote).connection_gap(reason)
        for candle in list(self._candle_cores):
            (<CandleCore>candle).connection_gap(reason)
        if self.owner is not None:
            self.owner.on_router_connection_gap(reason)
        return 0

    # ------------------------------------------------------------------ Python API

    def route_payload(self, payload, int64_t t_recv=-1) -> int:
        """Route one payload (bytes-like) from Python; level changes applied. ``t_recv``
        is its receive time (monotonic ns; default: now), e.g. a recording's."""
        cdef Py_buffer view
        if t_recv < 0:
            t_recv = monotonic_ns()
        cdef int n
        if PyBytes_CheckExact(payload):
            n = self.route(PyBytes_AS_STRING(payload), len(<bytes>payload), t_recv)
        else:
            PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
            try:
                n = self.route(<const char*>view.buf, view.len, t_recv)
            finally:
                PyBuffer_Release(&view)
        if self.read_queue:         # one payload pushed by hand is one "read"
            self.flush_reads()
        return n

    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen (Coinbase AT ``sequence_num``; -1 if none)."""
        return self.conn_seq

    @property
    def rejects(self) -> dict:
        """Payloads refused at the connection level, by reason (decode errors, venue errors)."""
        return reject_counts_by_name(self.reject_counts)

    def memory(self) -> dict:
        """Bytes this router holds (docs/memory.md): ``scratch`` (its decode batch, which
        keeps the size of the largest message seen) and ``objects`` (itself and its
        symbol table)."""
        return {"scratch": (self.batch.cap_levels * sizeof(Delta)
                            + self.batch.cap_segs * sizeof(Segment)),
                "objects": (sys.getsizeof(self) + sys.getsizeof(self._cores)
                            + sys.getsizeof(self._trade_cores)
                            + (self._books.mask + self._trades.mask + 2)
                            * sizeof(RouteSlot))}

    def counters(self) -> dict:
        """Connection-level counters."""
        return {
            "messages": self.messages,
            "decode_errors": self.decode_errors,
            "unknown_symbol": self.unknown_symbol,
            "oversized": self.oversized,
            "control_messages": self.control_messages,
            "sequence_gaps": self.sequence_gaps,
            "unrouted": self.unrouted,
        }


cdef class OfflineCore(BookCore):
    """A book with its own one-book router: payloads pushed by hand (``BookFeed``).

    The router is the live listener's; only its reports end here: an unusable payload or
    a venue error becomes this book's ``last_reject`` (and raises ``DecodeRejected`` when
    ``strict``), and its counts join the book's ``rejects``.
    """

    def __init__(self, str venue, str symbol, int price_decimals, int size_decimals,
                 int64_t price_tick=1, int64_t size_step=1, bint strict=True,
                 str book_latency="coarse"):
        BookCore.__init__(self, venue, symbol, price_decimals, size_decimals, price_tick,
                          size_step, strict, book_latency)
        self.router = Router(venue, self, [self])

    def memory(self) -> dict:
        """``BookCore.memory()`` plus this book's own router (live, a router is per
        connection)."""
        out = BookCore.memory(self)
        for part, n in self.router.memory().items():
            out[part] += n
            out["total"] += n
            out["beyond_levels"] += n
        return out

    def apply_message(self, payload) -> int:
        """Push one WebSocket payload (bytes-like) through the compiled path.

        Returns the number of level changes applied to this book. Messages for other
        symbols are ignored; control messages update only the counters.
        """
        cdef int n = self._route_one(payload, monotonic_ns())
        if self.router.read_queue:          # one payload pushed by hand is one "read"
            self.router.flush_reads()
        return n

    def apply_read(self, payloads) -> int:
        """Push payloads that arrived in one socket read: one receive stamp for all, and
        the per-read work (shared-memory copy, a per-read callback) once after the last,
        as the live listener does (docs/architecture.md, "Per read, not per frame").
        Returns the level changes applied to this book."""
        cdef int64_t t_recv = monotonic_ns()
        cdef int n = 0
        try:
            for payload in payloads:
                n += self._route_one(payload, t_recv)
        finally:
            if self.router.read_queue:
                self.router.flush_reads()
        return n

    cdef int _route_one(self, payload, int64_t t_recv) except -1:
        cdef Py_buffer view
        if PyBytes_CheckExact(payload):
            return self.router.route(PyBytes_AS_STRING(payload), len(<bytes>payload), t_recv)
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            return self.router.route(<const char*>view.buf, view.len, t_recv)
        finally:
            PyBuffer_Release(&view)

    def start_sync(self, str state="syncing") -> None:
        """Begin (re)synchronising, as after a reconnect: the connection sequence restarts."""
        BookCore.start_sync(self, state)
        self.router.reset_connection()

    # router reports (cold path)
    def on_router_reject(self, str text, bytes head) -> None:
        """An unusable payload: this book's ``last_reject``; raises when strict."""
        self.note_reject(text)

    def on_router_control(self, bytes payload, bint is_error) -> None:
        """A venue error message is a reject; acks are only counted."""
        if is_error:
            self.note_reject("venue error: " + payload[:300].decode("utf-8", "replace"))

    def on_router_connection_gap(self, str reason) -> None:
        """Nothing to add: the router has already marked this book."""

    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen by this feed (Coinbase AT)."""
        return self.router.conn_seq

    @property
    def rejects(self) -> dict:
        """Rejected inputs by reason: this book's and its router's (only reasons seen)."""
        out = reject_counts_by_name(self.reject_counts)
        for name, count in self.router.rejects.items():
            out[name] = out.get(name, 0) + count
        return out
