# cython: language_level=3
"""FeedListener: the compiled glue from a picows frame to the connection's router.

picows calls ``on_ws_frame`` through the vtable; we read ``frame.payload_ptr`` /
``payload_size`` directly and hand whole payloads to the ``Router`` (``_router.pyx``),
which decodes, checks and routes them to the books exactly as the offline ``BookFeed``
does. picows does not reassemble fragmented messages: that happens here, bounded by the
router's ``max_message_bytes``. Nothing keeps the frame or its memory after the call.
With a ``recorder`` (``Engine(record=)``) each whole message is first copied into the
recording's C buffer (docs/recording.md): two ``memcpy``, no Python object.

Everything slow (connection management, resubscribes, logging) is a Python method of
the owning connection object, called only on cold branches.

With ``read_interval`` the socket is read at most once per interval: after a read that
held frames, reading pauses and one timer resumes it, so the frames that arrive
meanwhile wait in the kernel and are read, decoded and applied in one wake-up
(docs/robustness.md, "Read batching"). A frame arriving after a quiet spell is read at
once: the pause follows a read, it never precedes one.
"""

import asyncio

from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport int64_t
from picows.picows cimport WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns
from fastfeed._router cimport Router

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: The longest pause between two reads ``read_interval`` may ask for, in seconds: the
#: frames of a pause wait in the kernel's buffers, and the venue's behind them.
MAX_READ_INTERVAL = 0.1


cdef class FeedListener(WSListener):
    """picows listener for one venue connection carrying one or more books.

    ``owner`` is the Python connection object. It receives the listener's events
    ``on_listener_connected(transport)``, ``on_listener_disconnected(transport)``,
    ``on_listener_close_frame(code, reason)`` and ``on_listener_protocol_error(reason)``
    (the connection is being failed: a reserved bit, an extension never offered), and, as
    the owner of the listener's
    ``router``, the router's reports (``on_router_reject``, ``on_router_control``,
    ``on_router_connection_gap``; see :class:`fastfeed._router.Router`).
    """

    def __init__(self, str venue, owner, cores=(),
                 Py_ssize_t max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES,
                 double read_interval=0.0):
        if not 0.0 <= read_interval <= MAX_READ_INTERVAL:
            raise ValueError(f"read_interval must be within 0..{MAX_READ_INTERVAL} s, "
                             f"got {read_interval!r}")
        self.owner = owner
        self.router = Router(venue, owner, cores, max_message_bytes)
        self._fragments = bytearray()
        self.read_interval = read_interval
        self._resume_handle = None

    def set_cores(self, list cores):
        """Route messages to these books (replaces the routing table)."""
        self.router.set_cores(cores)

    # ------------------------------------------------------------------ picows callbacks

    cpdef on_ws_connected(self, WSTransport transport):
        self.router.reset_connection()
        self._mid_read = False
        self._fragmented = False
        self._fragments.clear()
        # fastfeed offers no extension: a server that claims one (permessage-deflate) would
        # send frames this client cannot read (RFC 6455 section 9.1).
        response = transport.response
        extensions = None if response is None else response.headers.get(
            "Sec-WebSocket-Extensions")
        if extensions:
            self._fail(transport, f"server negotiated an extension fastfeed never offered: "
                                  f"{extensions[:80]!r}")
            return
        self.owner.on_listener_connected(transport)

    cpdef on_ws_disconnected(self, WSTransport transport):
        if self.router.read_queue:
            self.router.flush_reads()       # what arrived before the socket went
        if self._resume_handle is not None:
            self._resume_handle.cancel()
            self._resume_handle = None
        self.owner.on_listener_disconnected(transport)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        # one clock read per socket read: its frames arrived together, and each is
        # stamped with the read's time (so recv → apply includes waiting behind the
        # frames before it in the read)
        cdef int64_t t_recv
        cdef WSMsgType kind = frame.msg_type
        if self._mid_read:
            t_recv = self.last_frame_ns
        else:
            t_recv = monotonic_ns()
            self.last_frame_ns = t_recv
            self.reads += 1
        self._mid_read = not frame.last_in_buffer
        self.frames += 1
        self.bytes_received += frame.payload_size
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            # no extension was negotiated, so a reserved bit makes the frame unreadable
            # (RFC 6455 section 5.2: fail the connection)
            self._fail(transport, "frame with a reserved bit (RSV1-3) set; no extension "
                                  "was negotiated")
            return
        if (kind == WSMsgType.TEXT or kind == WSMsgType.BINARY) and frame.fin:
            if self._fragmented:    # a new message while one was unfinished: drop that one
                self._drop_fragments("interrupted fragmented message")
            if self.recorder is not None:
                self.recorder.add_frame(self.record_conn, t_recv, frame.payload_ptr,
                                        frame.payload_size, frame.last_in_buffer)
            self.router.route(frame.payload_ptr, frame.payload_size, t_recv)
        elif kind == WSMsgType.TEXT or kind == WSMsgType.BINARY or kind == WSMsgType.CONTINUATION:
            self._on_fragment(frame, t_recv)
        elif kind == WSMsgType.CLOSE:
            self.owner.on_listener_close_frame(frame.get_close_code(), frame.get_close_reason())
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.last_in_buffer:
            if self.router.read_queue:      # per-read callbacks (one list check a read)
                self.router.flush_reads()
            if self.read_interval > 0.0:
                self._pause_reading(transport)

    # ------------------------------------------------------------------ cold path

    cdef _on_fragment(self, WSFrame frame, int64_t t_recv):
        if frame.msg_type != WSMsgType.CONTINUATION:
            if self._fragmented:
                self._drop_fragments("interrupted fragmented message")
            self._fragmented = True
        elif not self._fragmented:
            self.router.refuse("continuation frame without a first fragment",
                               frame.payload_ptr, frame.payload_size)
            return
        if len(self._fragments) + frame.payload_size > self.router.max_message_bytes:
            self.router.oversized += 1
            self._drop_fragments(f"fragmented message exceeds "
                                 f"{self.router.max_message_bytes} bytes")
            return
        self._fragments += frame.get_payload_as_bytes()
        if frame.fin:
            data = bytes(self._fragments)
            self._fragments.clear()
            self._fragmented = False
            if self.recorder is not None:
                self.recorder.add_frame(self.record_conn, t_recv, PyBytes_AS_STRING(data),
                                        len(data), frame.last_in_buffer)
            self.router.route(PyBytes_AS_STRING(data), len(data), t_recv)

    cdef _fail(self, WSTransport transport, str reason):
        """A protocol violation: nothing more on this connection can be read. Count it,
        report it to the owner, close with 1002 (the owner reconnects)."""
        self.protocol_errors += 1
        self.router.refuse(reason, b"", 0)
        self.owner.on_listener_protocol_error(reason)
        transport.send_close(WSCloseCode.PROTOCOL_ERROR)
        transport.disconnect()

    cdef _pause_reading(self, WSTransport transport):
        """After a read: no more reads for ``read_interval`` (one timer resumes them)."""
        if self._resume_handle is not None:
            return
        reader = transport.underlying_transport
        if reader.is_closing():
            return
        reader.pause_reading()
        self.read_pauses += 1
        self._resume_handle = asyncio.get_running_loop().call_later(
            self.read_interval, self._resume_reading, reader)

    def _resume_reading(self, reader) -> None:
        """The read pause is over: whatever arrived meanwhile is read in one go."""
        self._resume_handle = None
        if not reader.is_closing():
            reader.resume_reading()

    cdef _drop_fragments(self, str reason):
        self._fragments.clear()
        self._fragmented = False
        self.router.refuse(reason, b"", 0)

    # ------------------------------------------------------------------ Python API

    @property
    def max_message_bytes(self) -> int:
        """Larger messages are refused before decoding (counted as ``oversized``)."""
        return self.router.max_message_bytes

    @max_message_bytes.setter
    def max_message_bytes(self, Py_ssize_t value):
        self.router.max_message_bytes = value

    @property
    def decode_errors(self) -> int:
        """Payloads that could not be decoded (or were broken fragments)."""
        return self.router.decode_errors

    @property
    def unknown_symbol(self) -> int:
        """Segments for a symbol no book on this connection has."""
        return self.router.unknown_symbol

    @property
    def oversized(self) -> int:
        """Messages refused for exceeding ``max_message_bytes``."""
        return self.router.oversized

    @property
    def control_messages(self) -> int:
        """Subscribe acks, results and venue errors."""
        return self.router.control_messages

    @property
    def sequence_gaps(self) -> int:
        """Connection-level sequence jumps (Coinbase AT ``sequence_num``)."""
        return self.router.sequence_gaps

    @property
    def last_error(self):
        """The last reason a payload was refused (None if none was)."""
        return self.router.last_error

    @property
    def connection_sequence(self) -> int:
        """Last Coinbase AT sequence_num seen on this connection (-1 if none)."""
        return self.router.conn_seq

    def counters(self) -> dict:
        """Connection-level counters."""
        out = {"frames": self.frames, "bytes": self.bytes_received,
               "protocol_errors": self.protocol_errors, "read_pauses": self.read_pauses}
        out.update(self.router.counters())
        return out
