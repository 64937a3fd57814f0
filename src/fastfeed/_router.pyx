# cython: language_level=3
"""Router: the one path from a payload to its books, offline and live alike.

``route`` decodes a payload once with the venue's compiled decoder into a reusable C
batch, applies the connection-level rules of the venue description (a per-connection
sequence that must step by one; an unreadable message that may have held any book's
update), then hands each segment to the book whose symbol it names, found in an
open-addressing table. Counters and the cold-path reports (``owner``) live here; the
per-book work is ``BookCore.process_segment``. Rules: ``docs/venues.md``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free

from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns
from fastfeed._core cimport BookCore, load_rules, reject_counts_by_name
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
    MSG_SNAPSHOT,
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


cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX


cdef inline uint64_t _fnv1a(const char* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = 1469598103934665603ULL
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ <unsigned char>p[i]) * 1099511628211ULL
    return h


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
        self._table = NULL

    def __dealloc__(self):
        batch_free(&self.batch)
        free(self._table)

    def __init__(self, str venue, owner=None, cores=(),
                 Py_ssize_t max_message_bytes=PY_SSIZE_T_MAX):
        load_rules(&self.rules, venue)
        self.venue = venue
        self.owner = owner
        self.conn_seq = -1
        self.max_message_bytes = max_message_bytes
        self.set_cores(list(cores))

    def set_cores(self, list cores):
        """Route messages to these books (replaces the routing table)."""
        cdef Py_ssize_t size = 8
        cdef BookCore core
        cdef uint64_t slot
        for core in cores:
            if core.venue != self.venue:
                raise ValueError(f"{core!r} is not a {self.venue} book")
        while size < 2 * len(cores) + 2:
            size *= 2
        table = <PyObject**>calloc(size, sizeof(PyObject*))
        if table == NULL:
            raise MemoryError()
        for core in cores:
            slot = _fnv1a(core.symbol_ptr, core.symbol_len) & (size - 1)
            while table[slot] != NULL:
                slot = (slot + 1) & (size - 1)
            table[slot] = <PyObject*>core
        free(self._table)
        self._table = table
        self._mask = size - 1
        self._cores = cores
        self._only = <PyObject*>cores[0] if len(cores) == 1 else NULL

    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh."""
        self.conn_seq = -1

    cdef inline PyObject* _lookup(self, const Segment* seg) noexcept:
        cdef uint64_t slot
        cdef PyObject* entry
        if seg.symbol_ptr == NULL:      # the message names no symbol: a one-book stream
            return self._only
        slot = _fnv1a(seg.symbol_ptr, seg.symbol_len) & self._mask
        while True:
            entry = self._table[slot]
            if entry == NULL or (<BookCore>entry).matches(seg):
                return entry
            slot = (slot + 1) & self._mask

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
            self._unreadable(batch_error_message(b), p, n)
            return 0
        if self.rules.connection_sequence and b.last_id >= 0:
            prev = self.conn_seq
            if connection_sequence_broken(&self.conn_seq, b.last_id):
                self.sequence_gaps += 1
                self.connection_gap(sequence_break_reason(prev, b.last_id))
        if b.msg_kind == MSG_DEPTH or b.msg_kind == MSG_SNAPSHOT:
            for i in range(b.n_segs):
                entry = self._lookup(&b.segs[i])
                if entry == NULL:
                    self.unknown_symbol += 1
                    continue
                applied += (<BookCore>entry).process_segment(b, &b.segs[i], t_recv, p, n)
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
        self.last_error = text
        if self.rules.unreadable_is_gap:
            # No per-book ids (Coinbase): the message may have carried any book's update
            # and nothing later would tell. Binance event ids tell exactly, so no guess.
            self.connection_gap("unreadable message: " + text)
        if self.owner is not None:
            self.owner.on_router_reject(text, PyBytes_FromStringAndSize(p, min(n, 120)))
        return 0

    cdef int connection_gap(self, str reason) except -1:
        """The connection lost messages: every live book on it turns ``gap``."""
        cdef BookCore core
        for core in list(self._cores):
            if core.seq.state == SYNC_LIVE:
                core.mark_gap(reason, SYNC_GAP)
        if self.owner is not None:
            self.owner.on_router_connection_gap(reason)
        return 0

    # ------------------------------------------------------------------ Python API

    def route_payload(self, payload) -> int:
        """Route one payload (bytes-like) from Python; level changes applied."""
        cdef Py_buffer view
        cdef int64_t t_recv = monotonic_ns()
        if PyBytes_CheckExact(payload):
            return self.route(PyBytes_AS_STRING(payload), len(<bytes>payload), t_recv)
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            return self.route(<const char*>view.buf, view.len, t_recv)
        finally:
            PyBuffer_Release(&view)

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
                            + (self._mask + 1 if self._table != NULL else 0)
                            * sizeof(PyObject*))}

    def counters(self) -> dict:
        """Connection-level counters."""
        return {
            "messages": self.messages,
            "decode_errors": self.decode_errors,
            "unknown_symbol": self.unknown_symbol,
            "oversized": self.oversized,
            "control_messages": self.control_messages,
            "sequence_gaps": self.sequence_gaps,
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
        cdef Py_buffer view
        cdef int64_t t_recv = monotonic_ns()
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
