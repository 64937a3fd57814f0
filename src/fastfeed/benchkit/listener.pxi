# Included by _benchkit.pyx: listeners for the over-the-socket benchmark (fastfeed bench).

from libc.stdint cimport int64_t
from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns

from fastfeed._listener cimport FeedListener


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


cdef class TimedFeedListener(FeedListener):
    """The production ``FeedListener`` with a frame-count hook, for timing a burst.

    ``TimedFeedListener(venue, owner, cores=(), frame_target=0)``: per frame, when
    ``frames`` reaches ``frame_target``, stamps ``target_ns`` (monotonic ns, the clock of
    ``last_frame_ns``) before ``FeedListener.on_ws_frame`` (a direct C call) processes the
    frame, and calls ``owner.on_listener_target()`` (which may set a new ``frame_target``)
    after it. The hook lives here, not in the production listener: per frame it adds a
    compare.
    """

    cdef object _timed_owner
    cdef public int64_t frame_target
    cdef readonly int64_t target_ns

    def __init__(self, str venue, owner, cores=(), *, int64_t frame_target=0):
        FeedListener.__init__(self, venue, owner, cores)
        self._timed_owner = owner
        self.frame_target = frame_target

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef bint hit = self.frames + 1 == self.frame_target
        if hit:     # stamped before the frame is processed, as the timed span starts there
            self.target_ns = monotonic_ns()
        FeedListener.on_ws_frame(self, transport, frame)
        if hit:
            self._timed_owner.on_listener_target()
