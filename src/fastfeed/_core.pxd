# cython: language_level=3
"""BookCore: one book's compiled state (book, sequencer, counters, latency, buffer).

``VenueRules`` is the compiled form of a venue description (``fastfeed.venues.Venue``):
the decoders and the connection-level rules, read once when a book or a router is made.
"""

from libc.stdint cimport int64_t

from fastfeed._book cimport L2Book
from fastfeed._cdefs cimport ff_fan_log, ff_shm_slot
from fastfeed._hist cimport LatencyHistogram
from fastfeed._parse cimport DecodeFn
from fastfeed._sync cimport Sequencer
from fastfeed._types cimport REJECT_N_REASONS, DeltaBatch, Grid, Segment


ctypedef struct VenueRules:
    DecodeFn decode             # WebSocket payloads, every channel (Venue.stream_decoder)
    DecodeFn decode_snapshot    # REST snapshot bodies; NULL: snapshots arrive in-band
    bint connection_sequence    # messages carry a per-connection counter stepping by one
    bint unreadable_is_gap      # an unreadable message may have held any book's update


# Reject counters (an array of REJECT_N_REASONS) as {reason name: count}, zeros left out.
cdef dict reject_counts_by_name(const int64_t* counts)

# Fill `rules` from a venue id through fastfeed.venues (cold path; ValueError if unknown).
cdef int load_rules(VenueRules* rules, str venue) except -1


# The hook a best bid/offer stream takes on a book (docs/venues.md, "Live channel
# streams"): called after each applied message while the book is live, with its top
# (ticks and lots; an empty side is 0, 0).
ctypedef int (*TopSinkFn)(object sink, int64_t t_recv, int64_t exchange_ns,
                          int64_t update_id, int64_t bid_price, int64_t bid_size,
                          int64_t ask_price, int64_t ask_size) except -1


cdef class BookCore:
    cdef readonly str venue
    cdef readonly str symbol
    cdef VenueRules rules
    cdef readonly L2Book book
    cdef readonly Sequencer seq
    cdef bytes _symbol_key          # what the venue's messages call this book
    cdef const char* symbol_ptr
    cdef Py_ssize_t symbol_len
    cdef DeltaBatch batch           # scratch for snapshots and replay
    # the book's scales and the instrument's tick/step on them (docs/venues.md#instrument-scales)
    cdef Grid price_grid
    cdef Grid size_grid
    cdef readonly bint strict       # raise on rejected input (offline API) vs count and log
    cdef bint _replaying            # replaying the sync buffer after a snapshot
    # live events kept while a snapshot is in flight (copies: frames die with the callback)
    cdef list _buffer
    # audit tap (fastfeed.audit): copies of the payloads applied while an audit runs
    cdef list _tap
    cdef Py_ssize_t _tap_bytes
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
    cdef readonly int64_t off_grid_levels           # levels applied off the tick/step grid
    cdef readonly int64_t off_grid_snapshot_levels  # of which in snapshots (REST, in-band)
    cdef readonly int64_t unchained_messages        # OKX book messages without seqId, unchecked
    cdef int64_t reject_counts[REJECT_N_REASONS]
    cdef readonly int64_t last_event_time_ns
    cdef readonly int64_t last_recv_ns
    cdef readonly int64_t last_applied_ns
    cdef readonly int64_t gap_started_ns
    # latency: the live histograms of `latency` (a fastfeed.latency.LatencySet, or None
    # with book_latency "off"), and the connection's that every sample also goes to
    # (None offline); docs/memory.md
    cdef readonly str book_latency
    cdef readonly object latency
    cdef readonly LatencyHistogram recv_to_apply
    cdef readonly LatencyHistogram recv_to_publish
    cdef readonly LatencyHistogram exchange_to_recv
    cdef readonly LatencyHistogram resync_duration
    cdef LatencyHistogram _conn_recv_to_apply
    cdef LatencyHistogram _conn_recv_to_publish
    cdef LatencyHistogram _conn_exchange_to_recv
    cdef LatencyHistogram _conn_resync_duration
    cdef public object callback     # user: callable(core) after each applied message
    # with callback_per_read: once per socket read that applied any (docs/architecture.md)
    cdef public bint callback_per_read
    # per-read work (the router's read queue, run at picows' last_in_buffer): the
    # shared-memory copy and a per-read callback wait for the end of the read
    cdef list _read_queue
    cdef bint _in_read_queue
    cdef bint _shm_pending
    cdef bint _callback_pending
    # engine wiring (cold path): on_book_gap / on_book_reject / on_book_buffered / on_book_live
    cdef object _owner
    cdef readonly str last_reject
    cdef readonly str last_gap_reason
    # shared-memory publishing (fastfeed._shm sets these; NULL: not published, one branch)
    cdef ff_shm_slot* shm_slot
    cdef unsigned int shm_depth
    cdef object _shm_owner          # keeps the mapping alive while shm_slot points into it
    # fan-out (fastfeed._fanout sets these: docs/fanout.md): the change log the publisher
    # drains; NULL: not published, one branch per applied message
    cdef ff_fan_log* fan_log
    cdef object _fan_owner          # the FanHub: owns fan_log; wake() schedules a flush
    # a best bid/offer stream following this book's top (fastfeed._quotes sets these:
    # BboCore.follow_book); NULL: none, one branch per applied message
    cdef TopSinkFn top_sink_fn
    cdef object top_sink
    # book integrity by checksum (Venue.book_checksum, Kraken; docs/venues.md, "Kraken"):
    # after every message each side is truncated to depth_limit levels (0: never), then
    # the CRC32 of the top checksum_levels a side (0: no checksum) is compared with the
    # message's (DeltaBatch.prev_id); the precisions as divisor/multiplier of the scale
    cdef readonly int depth_limit
    cdef readonly int checksum_levels
    cdef int64_t _ck_pdiv, _ck_pmul, _ck_sdiv, _ck_smul
    cdef readonly int64_t checksum_mismatches

    cdef bint matches(self, const Segment* seg) noexcept nogil
    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload, Py_ssize_t n) except -1
    cdef int _load_in_band(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                           const char* payload, Py_ssize_t n) except -1
    cdef int _went_live(self, int64_t now) except -1
    cdef int _run_callback(self) except -1
    cdef void _record_publish(self, int64_t t_recv) noexcept
    cdef int _defer_to_read_end(self) except -1
    # the end of a socket read (or of a snapshot's replay): the work deferred to it
    cdef int read_done(self) except -1
    cdef int _replay_one(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1
    cdef _reject_convert(self, DeltaBatch* b, const Segment* seg, const char* payload,
                         str what)
    cdef int note_reject(self, str text) except -1
    cdef int mark_gap(self, str reason, int state) except -1
    cdef void shm_publish(self) noexcept nogil
    cdef int _fan_touch(self, unsigned int flags) except -1
    cdef int _publish_top(self, int64_t t_recv) except -1
    cdef int _trim_scratch(self) except -1
    cdef int _check_book(self, DeltaBatch* b) except -1
    cdef int buffer_payload(self, const char* p, Py_ssize_t n, int64_t first_id) except -1
    cdef int _tap_payload(self, const char* p, Py_ssize_t n) except -1
