# cython: language_level=3
"""CandleCore (venue candles) and LocalCandleCore (candles built from trades).

``CandleRecord`` is the ring's C layout; ``fastfeed._candles.CANDLE_DTYPE`` is the same
layout for numpy. The router contract of ``CandleCore`` is ``TradeCore``'s
(``docs/architecture.md``): ``matches(seg)``, ``process_segment``, ``connection_gap``,
``unreadable``; ``local_candles_add`` is the hook a ``TradeCore`` can call per recorded
trade. Rules: ``docs/venues.md``, "Candles".
"""

from libc.stdint cimport int8_t, int64_t, uint8_t, uint64_t

from fastfeed._parse cimport DecodeFn
from fastfeed._trades cimport TradeRecord
from fastfeed._types cimport REJECT_N_REASONS, DeltaBatch, Segment


ctypedef struct CandleRecord:
    int64_t open_ns             # bucket start, ns since the epoch (exchange time)
    int64_t close_ns            # bucket end, exclusive
    int64_t open                # prices in ticks: price * 10**price_decimals
    int64_t high
    int64_t low
    int64_t close
    int64_t volume              # base volume in lots; -1: overflowed int64 (local only)
    int64_t quote_hi            # quote volume = quote_hi * 2**64 + quote_lo, in
    uint64_t quote_lo           # 10**-(price_decimals + size_decimals) units; -1: none
    int64_t trades              # trades in the bucket; -1: the venue does not say
    int64_t first_id            # first / last trade id; -1: unknown
    int64_t last_id
    int64_t recv_ns             # receive time of the last update, ns since the epoch
    int64_t updates             # venue messages merged (venue) / trades added (local)
    int8_t closed               # 1 final, 0 finalized without the venue's final word
    uint8_t pad[7]


cdef class _CandleSeries:
    cdef CandleRecord* ring
    cdef readonly Py_ssize_t capacity
    cdef Py_ssize_t head
    cdef Py_ssize_t count
    cdef CandleRecord cur           # the open candle
    cdef bint has_cur
    cdef readonly int64_t last_closed_open_ns   # open_ns of the newest closed candle (-1)
    cdef readonly int64_t closed_count          # candles appended to the ring
    cdef readonly int64_t overwritten
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef public object callback     # user: callable(series) after each change (venue) / close
    cdef public bint callback_per_read  # once per socket read (the router's read queue)
    cdef list _read_queue
    cdef bint _in_read_queue
    cdef readonly int64_t callback_errors

    cdef int _init_series(self, int price_decimals, int size_decimals,
                          Py_ssize_t capacity) except -1
    cdef void push(self, const CandleRecord* r) noexcept nogil


cdef class CandleCore(_CandleSeries):
    cdef readonly str venue
    cdef readonly str symbol
    cdef readonly str interval
    cdef bytes _symbol_key
    cdef const char* symbol_ptr
    cdef Py_ssize_t symbol_len
    cdef bytes _interval_key
    cdef const char* interval_ptr
    cdef Py_ssize_t interval_len
    cdef bint has_closed_flag       # the venue marks final updates (Binance k.x)
    cdef bint gap_since_update      # a connection gap since the open candle's last update
    cdef readonly bint strict
    cdef readonly bint closed_stream
    cdef readonly int64_t messages      # segments of this stream processed
    cdef readonly int64_t updates       # candle updates applied
    cdef readonly int64_t unconfirmed   # closed by a later bucket without a final update
    cdef readonly int64_t stale         # updates for a bucket older than the open one
    cdef readonly int64_t duplicates    # updates for a bucket already closed
    cdef readonly int64_t other_interval
    cdef readonly int64_t gaps
    cdef int64_t reject_counts[REJECT_N_REASONS]
    cdef readonly str last_reject
    cdef readonly str last_gap_reason
    cdef object _owner              # engine wiring: on_candles_gap / on_candles_reject

    cdef bint matches(self, const Segment* seg) noexcept nogil
    cdef bint matches_interval(self, const DeltaBatch* b, const Segment* seg) noexcept nogil
    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1
    cdef int connection_gap(self, str reason) except -1
    cdef int unreadable(self, str text) except -1
    cdef int note_reject(self, str text) except -1
    cdef int _run_callback(self) except -1
    cdef int _callback_due(self) except -1


cdef class OfflineCandleCore(CandleCore):
    cdef DeltaBatch batch
    cdef DecodeFn decode
    cdef bint connection_sequence
    cdef int64_t conn_seq
    cdef readonly int64_t sequence_gaps
    cdef readonly int64_t unknown_symbol

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1


cdef class LocalCandleCore(_CandleSeries):
    cdef readonly int64_t interval_ns
    cdef readonly int64_t offset_ns     # bucket boundaries at offset_ns + k * interval_ns
    cdef readonly bint fill_empty       # emit empty candles for intervals without trades
    cdef int64_t first_t                # exchange time of the open candle's open / close
    cdef int64_t last_t
    cdef int64_t max_t                  # latest exchange time seen
    cdef bint quote_bad                 # the open candle's quote volume overflowed
    cdef readonly int64_t added         # trades aggregated
    cdef readonly int64_t late          # trades for an already closed bucket (dropped)
    cdef readonly int64_t out_of_order  # trades older than the latest seen (kept if open)
    cdef readonly int64_t empty_filled  # empty candles emitted (fill_empty)
    cdef readonly int64_t overflows     # volumes that overflowed (marked -1)

    cdef void add(self, int64_t t, int64_t price, int64_t size, int64_t trade_id,
                  int64_t recv_ns) noexcept nogil
    cdef void roll(self, int64_t bucket) noexcept nogil


# The hook a TradeCore calls per recorded trade (docs/venues.md, "Candles"): nogil, no
# allocation; closes buckets as exchange time passes them.
cdef inline void local_candles_add(LocalCandleCore c, const TradeRecord* r) noexcept nogil:
    c.add(r.exchange_ns, r.price, r.size, r.trade_id, r.recv_ns)
