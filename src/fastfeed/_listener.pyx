# cython: language_level=3
"""FeedListener: the compiled hot path from a picows frame to the books.

picows calls ``on_ws_frame`` through the vtable; we read ``frame.payload_ptr`` /
``payload_size`` directly, decode once into a reusable C batch, route each segment to its
book through an open-addressing table keyed by symbol, and let the book's ``BookCore``
sequence, apply and record. Nothing here keeps the frame or its memory after the call.

Everything slow (connection management, resubscribes, logging) is a Python method of
the owning connection object, called only on cold branches.
"""

import logging

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free
from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

from fastfeed._core cimport (
    VENUE_COINBASE_AT,
    VENUE_COINBASE_EXCHANGE,
    BookCore,
    decode_payload,
    monotonic_ns,
)
from fastfeed._types cimport (
    DEC_OK,
    MSG_CONTROL,
    MSG_DEPTH,
    MSG_SNAPSHOT,
    MSG_VENUE_ERROR,
    DeltaBatch,
    Segment,
    batch_free,
    batch_init,
)

from fastfeed._core import VENUE_KINDS, describe_batch_error

log = logging.getLogger("fastfeed.listener")

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024


cdef inline uint64_t _fnv1a(const char* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = 1469598103934665603ULL
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ <unsigned char>p[i]) * 1099511628211ULL
    return h


cdef class FeedListener(WSListener):
    """picows listener for one venue connection carrying one or more books.

    ``owner`` is the Python connection object; it receives cold-path events through
    ``on_listener_connected(transport)``, ``on_listener_disconnected(transport)``,
    ``on_listener_close_frame(code, reason)``, ``on_listener_control(bytes)`` and
    ``on_listener_connection_gap(reason)``.
    """

    cdef int venue_kind
    cdef DeltaBatch batch
    cdef list _cores
    cdef PyObject** _table
    cdef Py_ssize_t _mask
    cdef int64_t conn_seq
    cdef object owner
    cdef bytearray _fragments
    cdef bint _fragmented
    cdef public Py_ssize_t max_message_bytes
    # benchmarks: owner.on_listener_target() is called once `frames` reaches this
    cdef public int64_t frame_target
    cdef readonly int64_t frames
    cdef readonly int64_t bytes_received
    cdef readonly int64_t decode_errors
    cdef readonly int64_t unknown_symbol
    cdef readonly int64_t oversized
    cdef readonly int64_t control_messages
    cdef readonly int64_t sequence_gaps
    cdef readonly int64_t last_frame_ns
    cdef readonly str last_error

    def __cinit__(self):
        if batch_init(&self.batch, 256) != 0:
            raise MemoryError()
        self._table = NULL

    def __dealloc__(self):
        batch_free(&self.batch)
        free(self._table)

    def __init__(self, str venue, owner, cores=()):
        self.venue_kind = VENUE_KINDS[venue]
        self.owner = owner
        self.conn_seq = -1
        self.max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES
        self._fragments = bytearray()
        self.set_cores(list(cores))

    def set_cores(self, list cores):
        """Route messages to these books (replaces the routing table)."""
        cdef Py_ssize_t size = 8
        cdef BookCore core
        cdef uint64_t slot
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
        self._cores = cores     # keeps the borrowed table pointers alive

    cdef inline PyObject* _lookup(self, const Segment* seg) noexcept:
        cdef uint64_t slot
        cdef PyObject* entry
        if seg.symbol_ptr == NULL:
            return NULL
        slot = _fnv1a(seg.symbol_ptr, seg.symbol_len) & self._mask
        while True:
            entry = self._table[slot]
            if entry == NULL or (<BookCore>entry).matches(seg):
                return entry
            slot = (slot + 1) & self._mask

    # ------------------------------------------------------------------ picows callbacks

    cpdef on_ws_connected(self, WSTransport transport):
        self.conn_seq = -1
        self._fragmented = False
        self._fragments.clear()
        self.owner.on_listener_connected(transport)

    cpdef on_ws_disconnected(self, WSTransport transport):
        self.owner.on_listener_disconnected(transport)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef int64_t t_recv = monotonic_ns()
        cdef WSMsgType kind = frame.msg_type
        self.last_frame_ns = t_recv
        self.frames += 1
        self.bytes_received += frame.payload_size
        if self.frames == self.frame_target:
            self.owner.on_listener_target()
        if (kind == WSMsgType.TEXT or kind == WSMsgType.BINARY) and frame.fin:
            if self._fragmented:    # a new message while one was unfinished: drop that one
                self._drop_fragments("interrupted fragmented message")
            self.on_payload(frame.payload_ptr, frame.payload_size, t_recv)
        elif kind == WSMsgType.TEXT or kind == WSMsgType.BINARY or kind == WSMsgType.CONTINUATION:
            self._on_fragment(frame, t_recv)
        elif kind == WSMsgType.CLOSE:
            self.owner.on_listener_close_frame(frame.get_close_code(), frame.get_close_reason())
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    # ------------------------------------------------------------------ hot path

    cdef int on_payload(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1:
        cdef DeltaBatch* b = &self.batch
        cdef Py_ssize_t i
        cdef PyObject* entry
        cdef int rc
        if n > self.max_message_bytes:
            self.oversized += 1
            self._on_bad_payload(f"message of {n} bytes exceeds the {self.max_message_bytes}"
                                 f" byte limit", p, n)
            return 0
        rc = decode_payload(self.venue_kind, p, n, b)
        if rc != DEC_OK:
            self.decode_errors += 1
            self._on_bad_payload(describe_batch_error(
                rc, b.decimal_error, b.error_offset,
                None if b.error_detail == NULL else (<bytes>b.error_detail).decode()), p, n)
            return 0
        if self.venue_kind == VENUE_COINBASE_AT and b.last_id >= 0:
            if self.conn_seq >= 0 and b.last_id != self.conn_seq + 1:
                self.sequence_gaps += 1
                self.owner.on_listener_connection_gap(
                    f"sequence_num jumped from {self.conn_seq} to {b.last_id}")
            self.conn_seq = b.last_id
        if b.msg_kind == MSG_DEPTH or b.msg_kind == MSG_SNAPSHOT:
            for i in range(b.n_segs):
                entry = self._lookup(&b.segs[i])
                if entry == NULL:
                    self.unknown_symbol += 1
                    continue
                (<BookCore>entry).process_segment(b, &b.segs[i], t_recv, p, n)
        elif b.msg_kind == MSG_CONTROL or b.msg_kind == MSG_VENUE_ERROR:
            self.control_messages += 1
            self.owner.on_listener_control(PyBytes_FromStringAndSize(p, n),
                                           b.msg_kind == MSG_VENUE_ERROR)
        return 0

    # ------------------------------------------------------------------ cold path

    cdef _on_bad_payload(self, str reason, const char* p, Py_ssize_t n):
        self.last_error = reason
        log.warning("%s: rejected frame (%s): %r", self.owner, reason,
                    PyBytes_FromStringAndSize(p, min(n, 120)))
        if self.venue_kind == VENUE_COINBASE_EXCHANGE or self.venue_kind == VENUE_COINBASE_AT:
            # The message may have carried any book's update: Exchange has no sequence to
            # tell later, AT would tell only at the next message. Binance event ids tell
            # exactly which book missed what, so nothing is guessed there.
            self.owner.on_listener_connection_gap("unreadable message: " + reason)

    cdef _on_fragment(self, WSFrame frame, int64_t t_recv):
        if frame.msg_type != WSMsgType.CONTINUATION:
            if self._fragmented:
                self._drop_fragments("interrupted fragmented message")
            self._fragmented = True
        elif not self._fragmented:
            self._on_bad_payload("continuation frame without a first fragment",
                                 frame.payload_ptr, frame.payload_size)
            return
        if len(self._fragments) + frame.payload_size > self.max_message_bytes:
            self.oversized += 1
            self._drop_fragments(f"fragmented message exceeds {self.max_message_bytes} bytes")
            return
        self._fragments += frame.get_payload_as_bytes()
        if frame.fin:
            data = bytes(self._fragments)
            self._fragments.clear()
            self._fragmented = False
            self.on_payload(PyBytes_AS_STRING(data), len(data), t_recv)

    cdef _drop_fragments(self, str reason):
        self._fragments.clear()
        self._fragmented = False
        self.decode_errors += 1
        self._on_bad_payload(reason, b"", 0)

    def counters(self) -> dict:
        """Connection-level counters."""
        return {
            "frames": self.frames,
            "bytes": self.bytes_received,
            "decode_errors": self.decode_errors,
            "unknown_symbol": self.unknown_symbol,
            "oversized": self.oversized,
            "control_messages": self.control_messages,
            "sequence_gaps": self.sequence_gaps,
        }

    @property
    def connection_sequence(self) -> int:
        """Last Coinbase AT sequence_num seen on this connection (-1 if none)."""
        return self.conn_seq


cdef class CountingListener(WSListener):
    """The raw picows ceiling for benchmarks: counts frames and bytes, parses nothing.

    ``done`` (an asyncio future, optional) gets its result once ``target`` frames arrived.
    """

    cdef readonly int64_t frames
    cdef readonly int64_t bytes_received
    cdef readonly int64_t first_ns
    cdef readonly int64_t last_ns
    cdef public int64_t target
    cdef public object done

    def __init__(self, int64_t target=0, done=None):
        self.target = target
        self.done = done

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef int64_t t = monotonic_ns()
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if self.frames == 0:
            self.first_ns = t
        self.frames += 1
        self.bytes_received += frame.payload_size
        self.last_ns = t
        if self.frames == self.target and self.done is not None and not self.done.done():
            self.done.set_result(self.frames)
