# cython: language_level=3
"""BboCore and TickerCore: one best bid/offer stream's and one ticker stream's compiled
state (bounded rings in C memory, staleness checks, counters).

The router contract is TradeCore's (``docs/architecture.md``): ``matches(seg)``,
``process_segment(batch, seg, t_recv, payload)``, ``connection_gap(reason)``,
``unreadable(text)``. ``BboRecord`` / ``TickerRecord`` are the rings' C layouts;
``BBO_DTYPE`` / ``TICKER_DTYPE`` the same layouts for numpy. ``BboCore.record_top`` is
the entry a book path calls with its top of book (docs/venues.md, "Best bid/offer").
"""

from libc.stdint cimport int8_t, int64_t, uint8_t

from fastfeed._cdefs cimport ff_shm_market
from fastfeed._parse cimport DecodeFn
from fastfeed._types cimport REJECT_N_REASONS, DeltaBatch, Grid, Segment


ctypedef struct BboRecord:
    int64_t recv_ns             # receive time, ns since the epoch (our clock)
    int64_t exchange_ns         # the venue's time (Binance E, Coinbase time); 0: none
    int64_t update_id           # Binance u, Coinbase Exchange sequence, book id; -1: none
    int64_t bid_price           # ticks: price * 10**price_decimals
    int64_t bid_size            # lots: size * 10**size_decimals; QUOTE_MISSING: not given
    int64_t ask_price
    int64_t ask_size


ctypedef struct TickerRecord:
    int64_t recv_ns
    int64_t exchange_ns
    int64_t update_id           # Coinbase Exchange sequence; -1: none
    int64_t open_ns             # Binance window open O; 0: none
    int64_t close_ns            # Binance window close C; 0: none
    int64_t last_price          # ticks (QUOTE_MISSING: the venue gives none)
    int64_t last_size           # lots
    int64_t open
    int64_t high
    int64_t low
    int64_t change              # signed ticks
    int64_t volume              # base volume, scale-free: volume * 10**-volume_decimals
    int64_t quote_volume        # quote volume, scale-free
    int64_t first_trade_id      # -1: none
    int64_t last_trade_id
    int64_t trade_count         # -1: none
    int8_t volume_decimals
    int8_t quote_volume_decimals
    uint8_t pad[6]


cdef class QuoteCore:
    cdef readonly str venue
    cdef readonly str symbol
    cdef bytes _symbol_key
    cdef const char* symbol_ptr
    cdef Py_ssize_t symbol_len
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef readonly int64_t price_tick
    cdef readonly int64_t size_step
    cdef Grid price_grid
    cdef Grid size_grid
    cdef readonly bint strict
    cdef bint id_restarts           # Venue.quote_id_restarts: an update id of 1 is fresh
    cdef uint8_t msg_kind           # MSG_BBO or MSG_TICKER: the segments this core takes
    cdef bint closed
    # ring: capacity records of itemsize bytes in C memory, head = next write
    cdef char* ring
    cdef Py_ssize_t itemsize
    cdef readonly Py_ssize_t capacity
    cdef Py_ssize_t head
    cdef Py_ssize_t count
    cdef object _dtype
    # counters
    cdef readonly int64_t recorded
    cdef readonly int64_t overwritten
    cdef readonly int64_t messages      # segments of this stream processed
    cdef readonly int64_t stale         # not newer than the last recorded (ignored)
    cdef readonly int64_t off_grid      # BBO sides off the tick/step grid (kept)
    cdef readonly int64_t connection_gaps
    cdef readonly int64_t callback_errors
    cdef int64_t reject_counts[REJECT_N_REASONS]
    cdef readonly int64_t last_update_id
    cdef readonly int64_t last_exchange_ns
    cdef readonly int64_t last_recv_ns
    cdef readonly str last_reject
    cdef readonly str last_gap_reason
    cdef public object callback
    cdef public bint callback_per_read  # once per socket read (the router's read queue)
    cdef list _read_queue
    cdef bint _in_read_queue
    cdef object _owner              # engine wiring: on_quotes_gap / on_quotes_reject
    # offline (BboFeed, TickerFeed): the decode step and the connection sequence
    cdef DeltaBatch* batch
    cdef DecodeFn decode
    cdef bint connection_sequence
    cdef int64_t conn_seq
    cdef readonly int64_t sequence_gaps
    cdef readonly int64_t unknown_symbol

    cdef bint matches(self, const Segment* seg) noexcept nogil
    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1
    cdef char* _slot(self) noexcept nogil
    cdef bint _is_stale(self, int64_t update_id) noexcept nogil
    cdef int unreadable(self, str text) except -1
    cdef int connection_gap(self, str reason) except -1
    cdef int note_reject(self, str text) except -1
    cdef int _run_callback(self) except -1
    cdef int _callback_due(self) except -1
    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1


cdef class BboCore(QuoteCore):
    cdef BboRecord last
    # shared-memory publishing (fastfeed._shm sets these; NULL: not published, one branch)
    cdef ff_shm_market* shm_market
    cdef object _shm_owner          # keeps the mapping alive while shm_market points into it

    cdef int record_top(self, int64_t t_recv, int64_t exchange_ns, int64_t update_id,
                        int64_t bid_price, int64_t bid_size, int64_t ask_price,
                        int64_t ask_size) except -1


cdef class TickerCore(QuoteCore):
    cdef TickerRecord last
    # delta tickers (Venue.ticker_deltas, Bybit): a delta merges into the last snapshot
    cdef readonly bint merges_deltas
    cdef bint have_snapshot         # a snapshot since the start or the last loss
    cdef readonly int64_t unmerged  # deltas not applied: no snapshot to merge into

    cdef int forget_snapshot(self, str reason) except -1
