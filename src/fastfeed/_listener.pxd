# cython: language_level=3
"""FeedListener: picows frames → whole payloads → the connection's Router."""

from libc.stdint cimport int64_t
from picows.picows cimport WSFrame, WSListener, WSTransport

from fastfeed._router cimport Router


cdef class FeedListener(WSListener):
    cdef readonly Router router
    cdef object owner
    cdef bytearray _fragments
    cdef bint _fragmented
    cdef readonly int64_t frames
    cdef readonly int64_t bytes_received
    cdef readonly int64_t last_frame_ns
    cdef readonly int64_t protocol_errors

    cdef _on_fragment(self, WSFrame frame, int64_t t_recv)
    cdef _drop_fragments(self, str reason)
    cdef _fail(self, WSTransport transport, str reason)
