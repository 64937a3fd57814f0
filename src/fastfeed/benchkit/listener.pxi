# Included by _benchkit.pyx: listeners for the over-the-socket benchmark (fastfeed bench).

from libc.stdint cimport int64_t
from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns

from fastfeed._listener import FeedListener


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


cdef class TimedFeedListener(WSListener):
    """The production ``FeedListener`` with a frame-count hook, for timing a burst.

    ``TimedFeedListener(venue, owner, *args, frame_target=0)`` builds
    ``FeedListener(venue, owner, *args)`` (today ``args`` is ``(cores,)``; whatever else
    FeedListener's constructor takes is passed through unchanged) and hands every picows
    callback to it. Per frame it counts ``frames`` and, when ``frames`` reaches
    ``frame_target``, stamps ``target_ns`` (monotonic ns, the clock of
    ``FeedListener.last_frame_ns``) and calls ``owner.on_listener_target()`` (which may set
    a new ``frame_target``), then calls the feed listener's ``on_ws_frame``.

    The feed listener is held, not inherited from: ``FeedListener`` has no ``.pxd`` a
    subclass could be compiled against. The forwarding call goes through picows'
    ``WSListener`` vtable (a C call, as picows itself makes it; no Python dispatch), so
    per frame the hook adds one indirect call, an increment and a compare.
    """

    cdef WSListener _feed
    cdef object _owner
    cdef readonly int64_t frames
    cdef public int64_t frame_target
    cdef readonly int64_t target_ns

    def __init__(self, str venue, owner, *args, int64_t frame_target=0):
        self._feed = FeedListener(venue, owner, *args)
        self._owner = owner
        self.frame_target = frame_target

    @property
    def feed(self):
        """The wrapped ``FeedListener`` (its counters: ``frames``, ``bytes_received``, …)."""
        return self._feed

    cpdef on_ws_connected(self, WSTransport transport):
        self._feed.on_ws_connected(transport)

    cpdef on_ws_disconnected(self, WSTransport transport):
        self._feed.on_ws_disconnected(transport)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        self.frames += 1
        if self.frames == self.frame_target:
            self.target_ns = monotonic_ns()
            self._owner.on_listener_target()
        self._feed.on_ws_frame(transport, frame)
