# cython: language_level=3
"""The compiled half of recordings (docs/recording.md): the buffer the listener appends
received messages to, and the walker that pushes a chunk's messages back through routers.

``RecordBuffer`` holds the records of the chunk being filled, in C memory. The listener
calls its inline ``add_frame`` (``_record.pxd``) for every message; the recorder
(``fastfeed.recording.Recorder``) appends declarations, operations and events with
``add``; ``take`` seals the chunk: its bytes (a view, no copy) and metadata leave for
the writer thread, and the buffer starts over with a recycled one. A record that does
not fit calls the ``on_full`` callback first (the recorder seals), so the buffer never
grows past ``chunk_bytes`` except for a single message larger than that.

``replay_records`` walks a decompressed chunk: each FRAME goes to its connection's
``Router`` (the live path's router, so the same decoder, sequencer and books); everything
else is handed to a Python callback. The pure-Python reading of the same bytes is
``fastfeed.recording.iter_records``; tests run both over the same chunks.
"""

import sys

from collections import deque

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.ref cimport PyObject
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint32_t
from libc.string cimport memcpy

from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns
from fastfeed._hist cimport LatencyHistogram
from fastfeed._router cimport Router

if sys.byteorder != "little":
    raise ImportError("fastfeed recordings are written by little-endian hosts only")

#: Bytes of a record header (docs/recording.md, "Records").
HEADER_SIZE = RECORD_HEADER_SIZE
#: Record kinds.
FRAME = KIND_FRAME
DECLARE = KIND_DECLARE
OP = KIND_OP
EVENT = KIND_EVENT
#: FRAME flag: the last message of one socket read (picows' ``last_in_buffer``).
LAST_IN_READ = FLAG_LAST_IN_READ
#: The smallest chunk size a recorder may ask for.
MIN_CHUNK_BYTES = 4096


cdef class RecordBuffer:
    """The records of the chunk being filled (docs/recording.md).

    ``chunk_bytes`` is the size at which a chunk is sealed; ``on_full()`` is called when
    a record would not fit (it should call ``take``; if it does not, the buffer grows).
    A chunk leaves by ``take`` as a ``memoryview`` of its own buffer (no copy); once
    written, ``recycle(view)`` hands the buffer back for a later chunk (any thread), so a
    recording's steady state allocates nothing and touches no fresh page.
    """

    def __init__(self, Py_ssize_t chunk_bytes, on_full, Py_ssize_t max_spare=4):
        if chunk_bytes < MIN_CHUNK_BYTES:
            raise ValueError(f"chunk_bytes must be at least {MIN_CHUNK_BYTES}, "
                             f"got {chunk_bytes}")
        self.chunk_bytes = chunk_bytes
        self.on_full = on_full
        self.spare = deque()
        self.max_spare = max_spare
        self._install(bytearray(chunk_bytes))

    cdef int _install(self, bytearray chunk) except -1:
        self._chunk = chunk
        self.data = PyByteArray_AS_STRING(chunk)
        self.cap = len(chunk)
        return 0

    cdef int _make_room(self, Py_ssize_t need) except -1:
        cdef bytearray grown
        if self.used > 0 and self.on_full is not None:
            self.on_full()
        if self.used + need > self.cap:
            # one message larger than a chunk (or on_full kept the records): a larger
            # buffer for this chunk only (it is not recycled)
            grown = bytearray(self.used + need)
            memcpy(PyByteArray_AS_STRING(grown), self.data, self.used)
            self._install(grown)
        return 0

    def add(self, int kind, uint32_t conn, int64_t t_ns, bytes meta, body=b""):
        """Append a DECLARE, OP or EVENT record: ``meta`` (JSON bytes) then ``body``
        (bytes-like, e.g. a REST response)."""
        cdef const unsigned char[::1] view = memoryview(body).cast("B") if len(body) else None
        cdef Py_ssize_t nbody = 0 if view is None else view.shape[0]
        cdef Py_ssize_t n = 4 + len(meta) + nbody
        cdef uint32_t m = <uint32_t>len(meta)
        if kind not in (KIND_DECLARE, KIND_OP, KIND_EVENT):
            raise ValueError(f"add() writes DECLARE, OP or EVENT records, not kind {kind}")
        if n > 0xFFFFFFFF:
            raise ValueError(f"a record holds at most 4 GiB, got {n} bytes")
        if self.used + RECORD_HEADER_SIZE + n > self.chunk_bytes:
            self._make_room(RECORD_HEADER_SIZE + n)
        self._header(<uint8_t>kind, 0, conn, t_ns, <uint32_t>n)
        memcpy(self.data + self.used, &m, 4)
        memcpy(self.data + self.used + 4, PyBytes_AS_STRING(meta), m)
        if nbody:
            memcpy(self.data + self.used + 4 + m, &view[0], nbody)
        self.used += n

    def take(self):
        """Seal the chunk: ``(records, first_ns, last_ns, count, frames)`` with
        ``records`` a memoryview of the chunk's bytes, or None when it is empty. The
        buffer starts over with a recycled (or new) one."""
        if self.records == 0:
            return None
        out = (memoryview(self._chunk)[:self.used], self.first_ns, self.last_ns,
               self.records, self.frames)
        self.used = 0
        self.records = 0
        self.frames = 0
        self.first_ns = 0
        self.last_ns = 0
        try:
            chunk = self.spare.pop()
        except IndexError:
            chunk = bytearray(self.chunk_bytes)
        self._install(chunk)
        return out

    def recycle(self, records) -> None:
        """Give back a chunk ``take`` returned, once written (safe from any thread)."""
        chunk = records.obj
        records.release()
        if len(chunk) == self.chunk_bytes and len(self.spare) < self.max_spare:
            self.spare.append(chunk)

    @property
    def used_bytes(self) -> int:
        """Bytes of records waiting in the buffer."""
        return self.used

    def add_frame_bytes(self, uint32_t conn, int64_t t_ns, payload, bint last_in_read=True):
        """Append one message from Python (tests, tools): what the listener does inline."""
        cdef const unsigned char[::1] view = memoryview(payload).cast("B")
        cdef Py_ssize_t n = view.shape[0]
        if n == 0:
            self.add_frame(conn, t_ns, b"", 0, last_in_read)
        else:
            self.add_frame(conn, t_ns, <const char*>&view[0], n, last_in_read)


cdef inline uint32_t _u32(const char* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline int64_t _i64(const char* p) noexcept nogil:
    cdef int64_t v
    memcpy(&v, p, 8)
    return v


def replay_records(raw, Py_ssize_t offset, list routers, on_record,
                   int64_t t_shift=0, int64_t until_ns=INT64_MAX,
                   LatencyHistogram processing=None):
    """Push the records of one decompressed chunk, from byte ``offset``, through routers.

    A FRAME of connection ``c`` is routed by ``routers[c]`` (a ``Router``; None or out of
    range: handed to ``on_record`` like any other record) with receive time
    ``t_ns + t_shift``, and the router's per-read callbacks run at the record that ended a
    socket read. Every other record calls ``on_record(kind, flags, conn, t_ns, raw,
    start, length)`` (the payload is ``raw[start:start + length]``). ``processing``, when
    given, records each routed message's decode → apply time (ns).

    Stops before the first record later than ``until_ns`` (recorded pace). Returns
    ``(offset, frames, frame_bytes)``: where to resume (``len(raw)`` when the chunk is
    done) and how many messages (and payload bytes) went to a router. Raises
    ``ValueError`` for a record that runs past the end of the chunk.
    """
    cdef const unsigned char[::1] view
    cdef const char* base = NULL
    cdef Py_ssize_t size = len(raw)
    cdef Py_ssize_t pos = offset, start
    cdef uint8_t kind, flags
    cdef uint32_t conn, length
    cdef int64_t t_ns, t0
    cdef Py_ssize_t frames = 0, frame_bytes = 0
    if size:
        view = memoryview(raw).cast("B")
        base = <const char*>&view[0]
    cdef PyObject* slot
    cdef Router router
    while pos < size:
        if size - pos < RECORD_HEADER_SIZE:
            raise ValueError(f"record at byte {pos} of the chunk: header cut off "
                             f"({size - pos} of {RECORD_HEADER_SIZE} bytes)")
        kind = <uint8_t>base[pos]
        flags = <uint8_t>base[pos + 1]
        conn = _u32(base + pos + 4)
        t_ns = _i64(base + pos + 8)
        length = _u32(base + pos + 16)
        start = pos + RECORD_HEADER_SIZE
        if <Py_ssize_t>length > size - start:
            raise ValueError(f"record at byte {pos} of the chunk: {length} payload bytes "
                             f"claimed, {size - start} left")
        if t_ns > until_ns:
            return pos, frames, frame_bytes
        pos = start + length
        if kind == KIND_FRAME and conn < <uint32_t>PyList_GET_SIZE(routers):
            slot = PyList_GET_ITEM(routers, conn)
            if slot != <PyObject*>None:
                router = <Router>slot
                if processing is None:
                    router.route(base + start, length, t_ns + t_shift)
                else:
                    t0 = monotonic_ns()
                    router.route(base + start, length, t_ns + t_shift)
                    processing.record(monotonic_ns() - t0)
                frames += 1
                frame_bytes += length
                if frames & 63 == 0:
                    # let the prefetch thread (waiting to start or finish decompressing
                    # the next chunk) have the GIL for a moment: it works without it
                    with nogil:
                        pass
                if flags & FLAG_LAST_IN_READ and router.read_queue:
                    router.flush_reads()
                continue
        on_record(kind, flags, conn, t_ns, raw, start, length)
    return pos, frames, frame_bytes
