# cython: language_level=3
"""Router: one payload → decode → connection-level checks → each segment to its core
(a book, a trade stream).

Shared by the offline ``BookFeed`` (``OfflineCore`` owns a one-book router) and the live
``FeedListener`` (one router per connection), so both paths run the same code.
"""

from cpython.ref cimport PyObject
from libc.stdint cimport int64_t

from fastfeed._core cimport BookCore, VenueRules
from fastfeed._parse cimport DecodeFn
from fastfeed._types cimport REJECT_N_REASONS, DeltaBatch, Segment


ctypedef struct RouteSlot:
    PyObject* core                  # borrowed: the router's lists keep it alive
    const char* symbol_ptr          # the core's own symbol bytes
    Py_ssize_t symbol_len


ctypedef struct SymbolTable:
    # One channel's cores by symbol: open addressing on the symbol's hash
    RouteSlot* slots                # mask + 1 of them; core NULL = empty
    Py_ssize_t mask
    PyObject* only                  # the one core, when there is one (unnamed segments)


cdef class Router:
    cdef VenueRules rules
    cdef readonly str venue
    cdef DeltaBatch batch
    cdef list _cores                # keeps the borrowed table pointers alive
    cdef list _trade_cores
    cdef list _bbo_cores
    cdef list _ticker_cores
    cdef list _candle_cores         # CandleCore: by symbol and interval, scanned
    cdef SymbolTable _books         # BookCore by symbol (MSG_DEPTH, MSG_SNAPSHOT)
    cdef SymbolTable _trades        # TradeCore by symbol (MSG_TRADES)
    cdef SymbolTable _bbos          # BboCore by symbol (MSG_BBO)
    cdef SymbolTable _tickers       # TickerCore by symbol (MSG_TICKER)
    # the venue's ticker messages also carry its best bid/offer (Venue.bbo_in_ticker):
    # decoded again with this decoder when BBO cores listen; NULL otherwise
    cdef DecodeFn _bbo_in_ticker
    # Cold-path sink: on_router_reject(text, head), on_router_control(payload, is_error),
    # on_router_connection_gap(reason). None: nothing is reported beyond the counters.
    cdef object owner
    cdef int64_t conn_seq           # last connection-level sequence (-1: none yet)
    cdef public Py_ssize_t max_message_bytes
    cdef readonly int64_t messages
    cdef readonly int64_t decode_errors
    cdef readonly int64_t unknown_symbol
    cdef readonly int64_t oversized
    cdef readonly int64_t control_messages
    cdef readonly int64_t sequence_gaps
    cdef readonly int64_t unrouted  # data of a channel no core on this connection takes
    # cores whose per-read callback is due (TradeCore.callback_per_read): run by
    # flush_reads at the end of each socket read (FeedListener), or of route_payload
    cdef readonly list read_queue
    cdef int64_t reject_counts[REJECT_N_REASONS]
    cdef readonly str last_error

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1
    cdef int refuse(self, str reason, const char* p, Py_ssize_t n) except -1
    cdef int _unreadable(self, str text, const char* p, Py_ssize_t n) except -1
    cdef int _unreadable_channel(self, str text, const char* p, Py_ssize_t n,
                                 int kind) except -1
    cdef int _route_bbo(self, DeltaBatch* b, int64_t t_recv, const char* p) except -1
    cdef int connection_gap(self, str reason) except -1
    cdef int flush_reads(self) except -1


cdef class OfflineCore(BookCore):
    cdef readonly Router router
    cdef int _route_one(self, payload, int64_t t_recv) except -1
