# cython: language_level=3
"""BookCore: one book's compiled state (book, sequencer, counters, latency, buffer)."""

from libc.stdint cimport int64_t

from fastfeed._book cimport L2Book
from fastfeed._hist cimport LatencyHistogram
from fastfeed._sync cimport Sequencer
from fastfeed._types cimport DeltaBatch, Segment


cdef enum VenueKind:
    VENUE_BINANCE_SPOT = 0
    VENUE_BINANCE_USDM = 1
    VENUE_COINBASE_AT = 2
    VENUE_COINBASE_EXCHANGE = 3


cdef enum:
    # Reject counters: indexes 0..15 are DecodeError codes; the rest are ours.
    N_DECODE_CODES = 16
    REJ_BUFFER_OVERFLOW = 16    # live events buffered during a sync exceeded the bound
    REJ_VENUE_ERROR = 17        # the venue sent an error message
    REJ_BEFORE_SNAPSHOT = 18    # an in-band update arrived before the book's snapshot
    N_REJECT_REASONS = 19


cdef int64_t monotonic_ns() noexcept nogil
cdef int64_t wall_ns() noexcept nogil
cdef int decode_payload(int venue_kind, const char* p, Py_ssize_t n,
                        DeltaBatch* b) noexcept nogil


cdef class BookCore:
    cdef readonly str venue
    cdef readonly str symbol
    cdef readonly int venue_kind
    cdef readonly L2Book book
    cdef readonly Sequencer seq
    cdef bytes _symbol_key          # what the venue's messages call this book
    cdef const char* symbol_ptr
    cdef Py_ssize_t symbol_len
    cdef DeltaBatch batch           # scratch for offline messages, snapshots and replay
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef readonly int64_t price_tick
    cdef readonly int64_t size_step
    cdef readonly bint strict       # raise on rejected input (offline API) vs count and log
    cdef bint _replaying            # replaying the sync buffer after a snapshot
    # live events kept while a snapshot is in flight (copies: frames die with the callback)
    cdef list _buffer
    cdef readonly Py_ssize_t buffer_bytes
    cdef public Py_ssize_t max_buffer_messages
    cdef public Py_ssize_t max_buffer_bytes
    # counters
    cdef readonly int64_t messages
    cdef readonly int64_t level_changes
    cdef readonly int64_t gaps
    cdef readonly int64_t resyncs
    cdef readonly int64_t old_messages
    cdef readonly int64_t buffered_messages
    cdef readonly int64_t crossed_events
    cdef readonly int64_t callback_errors
    cdef int64_t reject_counts[N_REJECT_REASONS]
    cdef readonly int64_t last_event_time_ns
    cdef readonly int64_t last_recv_ns
    cdef readonly int64_t last_applied_ns
    cdef readonly int64_t gap_started_ns
    cdef int64_t conn_seq           # offline in-band venues: the connection-level sequence
    # latency: the live histograms of `latency` (a fastfeed.latency.LatencySet)
    cdef readonly object latency
    cdef readonly LatencyHistogram recv_to_apply
    cdef readonly LatencyHistogram recv_to_publish
    cdef readonly LatencyHistogram exchange_to_recv
    cdef readonly LatencyHistogram resync_duration
    # Python hooks (cold path or opt-in)
    cdef public object callback     # callable(core) after each applied message
    cdef public object on_gap       # callable(core, reason: str) when the book turns invalid
    cdef public object on_reject    # callable(core, reason: str) for logging
    cdef readonly str last_reject
    cdef readonly str last_gap_reason

    cdef bint matches(self, const Segment* seg) noexcept nogil
    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload, Py_ssize_t n) except -1
    cdef int _load_in_band(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                           const char* payload, Py_ssize_t n) except -1
    cdef _went_live(self, int64_t now)
    cdef int _run_callback(self) except -1
    cdef int process_payload(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1
    cdef _reject_convert(self, DeltaBatch* b, const Segment* seg, const char* payload,
                         str what)
    cdef int reject(self, DeltaBatch* b, int reason, const char* p, Py_ssize_t n) except -1
    cdef int mark_gap(self, str reason, int state) except -1
    cdef int buffer_payload(self, const char* p, Py_ssize_t n, int64_t first_id) except -1
