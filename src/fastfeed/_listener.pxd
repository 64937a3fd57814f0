# cython: language_level=3
"""FeedListener: picows frames → whole payloads → the connection's Router."""

from libc.stdint cimport int64_t, uint32_t
from picows.picows cimport WSFrame, WSListener, WSTransport

from fastfeed._record cimport RecordBuffer
from fastfeed._router cimport Router


cdef class FeedListener(WSListener):
    cdef readonly Router router
    cdef object owner
    cdef bytearray _fragments
    cdef bint _fragmented
    cdef readonly int64_t frames
    cdef readonly int64_t bytes_received
    cdef readonly int64_t last_frame_ns
    cdef bint _mid_read                 # frames of the current socket read are pending
    cdef readonly int64_t reads         # socket reads that held complete frames
    cdef readonly int64_t protocol_errors
    cdef readonly double read_interval  # seconds between reads (0: read as frames arrive)
    cdef readonly int64_t read_pauses   # reads followed by a read_interval pause
    cdef object _resume_handle          # the timer that ends the current pause
    # Engine(record=): every whole message is appended here first (docs/recording.md)
    cdef public RecordBuffer recorder
    cdef public uint32_t record_conn    # this connection's id in the recording

    cdef _on_fragment(self, WSFrame frame, int64_t t_recv)
    cdef _drop_fragments(self, str reason)
    cdef _fail(self, WSTransport transport, str reason)
    cdef _pause_reading(self, WSTransport transport)
