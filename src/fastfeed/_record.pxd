# cython: language_level=3
"""RecordBuffer: the recording's C buffer, appended to by the listener on the hot path.

The record layout is docs/recording.md ("Records"): a 20-byte little-endian header
(kind u8, flags u8, reserved u16, conn u32, t_ns i64, len u32) and the payload. ``add_frame``
is defined here (inline) so the listener's call is a bounds check and two ``memcpy``;
the rare full buffer goes to the cold ``_make_room``.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memcpy

cdef enum:
    RECORD_HEADER_SIZE = 20
    KIND_FRAME = 1
    KIND_DECLARE = 2
    KIND_OP = 3
    KIND_EVENT = 4
    FLAG_LAST_IN_READ = 1


cdef class RecordBuffer:
    cdef bytearray _chunk                   # the chunk being filled; data is its buffer
    cdef char* data
    cdef Py_ssize_t used
    cdef Py_ssize_t cap
    cdef readonly Py_ssize_t chunk_bytes    # a buffer this full is sealed
    cdef readonly int64_t first_ns          # of the buffered records (0: none yet)
    cdef readonly int64_t last_ns
    cdef readonly uint32_t records
    cdef readonly uint32_t frames
    cdef readonly int64_t total_records     # appended since creation (sealed or not)
    cdef readonly int64_t total_frames
    cdef readonly int64_t total_bytes       # record bytes, headers included
    cdef object on_full                     # seal(): called when a record does not fit
    cdef readonly object spare              # deque of written chunks' buffers, for reuse
    cdef readonly Py_ssize_t max_spare

    cdef int _install(self, bytearray chunk) except -1
    cdef int _make_room(self, Py_ssize_t need) except -1

    cdef inline void _header(self, uint8_t kind, uint8_t flags, uint32_t conn, int64_t t_ns,
                             uint32_t n) noexcept nogil:
        cdef char* h = self.data + self.used
        cdef uint32_t zero = 0
        h[0] = <char>kind
        h[1] = <char>flags
        memcpy(h + 2, &zero, 2)
        # little-endian hosts only (checked when _record is imported): plain copies
        memcpy(h + 4, &conn, 4)
        memcpy(h + 8, &t_ns, 8)
        memcpy(h + 16, &n, 4)
        if self.records == 0:
            self.first_ns = t_ns
        self.last_ns = t_ns
        self.records += 1
        self.total_records += 1
        self.total_bytes += RECORD_HEADER_SIZE + n
        self.used += RECORD_HEADER_SIZE

    cdef inline int add_frame(self, uint32_t conn, int64_t t_ns, const char* p, Py_ssize_t n,
                              bint last_in_read) except -1:
        """Append one received message (the listener's only recording work)."""
        if self.used + RECORD_HEADER_SIZE + n > self.chunk_bytes:
            self._make_room(RECORD_HEADER_SIZE + n)
        self._header(KIND_FRAME, FLAG_LAST_IN_READ if last_in_read else 0, conn, t_ns,
                     <uint32_t>n)
        memcpy(self.data + self.used, p, n)
        self.used += n
        self.frames += 1
        self.total_frames += 1
        return 0
