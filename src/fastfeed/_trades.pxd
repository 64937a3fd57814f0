# cython: language_level=3
"""TradeCore: one trade stream's compiled state (ring buffer, id checks, counters).

The contract a router uses (``docs/architecture.md``): ``matches(seg)`` picks the core
of a decoded segment, ``process_segment`` records its trades, ``connection_gap`` and
``unreadable`` report losses the ids cannot show. ``TradeRecord`` is the ring's C layout;
``fastfeed._trades.TRADE_DTYPE`` is the same layout for numpy.
"""

from libc.stdint cimport int8_t, int64_t, uint8_t, uint64_t

from fastfeed._cdefs cimport ff_fan_log, ff_shm_market
from fastfeed._parse cimport DecodeFn
from fastfeed._sync cimport Sequencer
from fastfeed._types cimport REJECT_N_REASONS, DeltaBatch, Grid, Segment


ctypedef struct TradeRecord:
    int64_t recv_ns             # receive time, ns since the epoch (our clock)
    int64_t exchange_ns         # execution time, ns since the epoch (the venue's clock)
    int64_t trade_id            # -1 where the venue has none
    int64_t price               # ticks: price * 10**price_decimals
    int64_t size                # lots: size * 10**size_decimals
    int8_t side                 # +1 the taker bought, -1 the taker sold, 0 unknown
    uint8_t pad[7]


# Optional per-trade hook (docs/venues.md, "Local candles"): called with each record just
# written to the ring, nogil, no allocation. fastfeed._candles sets it
# (LocalCandleCore.attach); NULL (the default) costs one compare per trade.
ctypedef void (*TradeSinkFn)(void* sink, const TradeRecord* r) noexcept nogil


cdef enum IdRule:
    # How a stream's trade ids follow each other (Venue.trade_streams; docs/venues.md,
    # "Trades"). Names in ID_RULES.
    ID_OBSERVED = 0             # +1 seen in practice, not promised: a jump is counted
    ID_CONTIGUOUS = 1           # +1 per stream: a jump is a gap (missing id range)
    ID_CONTIGUOUS_FILLS = 2     # as contiguous, and fills f..l continue (counted only)


cdef class TradeCore:
    cdef readonly str venue
    cdef readonly str symbol
    cdef bytes _symbol_key          # what the venue's messages call this instrument
    cdef const char* symbol_ptr
    cdef Py_ssize_t symbol_len
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef readonly int64_t price_tick
    cdef readonly int64_t size_step
    cdef Grid price_grid            # the scales and the instrument's grid on them
    cdef Grid size_grid
    cdef readonly bint strict       # raise on rejected input (offline) vs count and log
    cdef uint8_t stream_code        # TradeStream this core records; 0: the first one seen
    cdef int stream_rules[8]        # IdRule per TradeStream code; -1: not this venue's
    cdef int id_rule                # stream_rules[stream_code]
    cdef bint unreadable_is_gap     # venue rule, for streams whose ids cannot tell
    cdef readonly Sequencer seq     # the state (docs/states.md); no book ids here
    # ring buffer: capacity records in C memory, head = next write, count held
    cdef TradeRecord* ring
    cdef readonly Py_ssize_t capacity
    cdef Py_ssize_t head
    cdef Py_ssize_t count
    # counters
    cdef readonly int64_t recorded     # trades recorded since creation (index of the next)
    cdef readonly int64_t overwritten  # oldest trades overwritten in the full ring
    cdef readonly int64_t messages     # segments of this stream processed
    cdef readonly int64_t duplicates   # trades ignored: id already held (or older)
    cdef readonly int64_t gaps         # losses detected (each one entry of `missing`)
    cdef readonly int64_t id_jumps     # observed-only id rules broken (no gap)
    cdef readonly int64_t other_stream  # segments of another trade stream, ignored
    cdef readonly int64_t callback_errors
    cdef int64_t reject_counts[REJECT_N_REASONS]
    cdef readonly int64_t last_trade_id    # highest trade id held (-1: none)
    cdef int64_t last_fill_id              # aggTrade l of the last trade (-1: none)
    cdef readonly int64_t last_exchange_ns
    cdef readonly int64_t last_recv_ns     # monotonic stamp of the last recorded message
    cdef list _missing              # [(first, last)] id ranges lost; (-1, -1): unknown
    cdef readonly str last_reject
    cdef readonly str last_gap_reason
    cdef public object callback     # user: callable(core) after each message with trades
    # ... or, with callback_per_read, once per socket read that recorded trades: the core
    # queues itself on its router's read queue, the listener runs it at last_in_buffer
    cdef public bint callback_per_read
    cdef list _read_queue
    cdef bint _in_read_queue
    cdef object _owner              # engine wiring: on_trades_gap / on_trades_reject
    # shared-memory publishing (fastfeed._shm sets these; NULL: not published, one branch)
    cdef ff_shm_market* shm_market
    cdef uint64_t shm_published     # trades written into the block so far
    cdef object _shm_owner          # keeps the mapping alive while shm_market points into it
    # fan-out (fastfeed._fanout sets these; docs/fanout.md): the publisher's dirty mark;
    # the trades to send are the ring's newest recorded - fan_sent
    cdef ff_fan_log* fan_log
    cdef object _fan_owner
    cdef public int64_t fan_sent
    # the optional per-trade hook (above); _sink_ref keeps the sink object alive
    cdef TradeSinkFn sink_fn
    cdef void* sink
    cdef object _sink_ref
    # REST backfill (TradeCore.backfill; docs/venues.md, "Backfill")
    cdef readonly int64_t backfilled   # trades recorded from REST bodies

    cdef bint matches(self, const Segment* seg) noexcept nogil
    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1
    cdef int lost(self, str reason, int64_t first, int64_t last) except -1
    cdef int unreadable(self, str text) except -1
    cdef int connection_gap(self, str reason) except -1
    cdef int note_reject(self, str text) except -1
    cdef int _reject_convert(self, DeltaBatch* b, const Segment* seg,
                             const char* payload) except -1
    cdef int _run_callback(self) except -1
    cdef void shm_publish(self, Py_ssize_t n) noexcept nogil
    cdef int _state_changed(self) except -1


cdef class OfflineTradeCore(TradeCore):
    cdef DeltaBatch batch
    cdef DecodeFn decode
    cdef bint connection_sequence   # Venue.connection_sequence (Coinbase AT sequence_num)
    cdef int64_t conn_seq
    cdef readonly int64_t sequence_gaps
    cdef readonly int64_t unknown_symbol

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1
