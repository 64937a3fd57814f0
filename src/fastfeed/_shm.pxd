# cython: language_level=3
"""Shared-memory book segment: the publisher's and the reader's mapped views.

Layout and seqlock protocol: ``docs/shm.md`` and ``include/ff_shm.h`` (the numbers).
"""

from libc.stdint cimport int64_t, uint32_t, uint64_t

from fastfeed._cdefs cimport ff_shm_header, ff_shm_market, ff_shm_slot


cdef class SegmentWriter:
    cdef char* base
    cdef ff_shm_header* hdr
    cdef readonly uint64_t size
    cdef readonly uint32_t capacity
    cdef readonly uint32_t depth
    cdef dict _slots                # (venue, symbol) -> slot index
    cdef list _cores                # attached BookCores (their shm_slot points in here)
    cdef list _trade_cores          # attached TradeCores (their shm_market points in here)
    cdef list _bbo_cores            # attached BboCores (the same)

    cdef int _check_open(self) except -1
    cdef ff_shm_market* _market_for(self, str venue, str symbol, int price_decimals,
                                    int size_decimals, uint32_t* slot) except NULL


cdef class Snapshot:
    cdef readonly object venue
    cdef readonly object symbol
    cdef readonly object bids_int
    cdef readonly object asks_int
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef readonly int state_code
    cdef readonly int64_t update_id
    cdef readonly int64_t exchange_ts_ns
    cdef readonly int64_t recv_ts_ns
    cdef readonly uint64_t updates
    cdef readonly uint64_t seq
    cdef readonly uint64_t checksum

    cdef object _to_float(self, object arr)


cdef class Market:
    cdef readonly object venue
    cdef readonly object symbol
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    cdef readonly int64_t bid_px
    cdef readonly int64_t bid_sz
    cdef readonly int64_t ask_px
    cdef readonly int64_t ask_sz
    cdef readonly int64_t bbo_update_id
    cdef readonly int64_t bbo_exchange_ns
    cdef readonly int64_t bbo_recv_ns
    cdef readonly uint64_t bbo_updates
    cdef readonly uint64_t trades_total
    cdef readonly int trade_state_code
    cdef readonly object trades
    cdef readonly uint64_t seq


cdef class SegmentView:
    cdef const char* base
    cdef const ff_shm_header* hdr
    cdef readonly uint64_t size
    cdef readonly uint32_t capacity
    cdef readonly uint32_t depth
    cdef readonly uint64_t generation
    cdef readonly int64_t pid
    cdef readonly int64_t created_ns
    cdef int64_t* scratch           # one copy of a slot's levels (4 * depth words)
    cdef public bint _recheck       # DEBUG ONLY: False lets torn copies through

    cdef int _check_open(self) except -1
    cdef const ff_shm_slot* _slot(self, uint32_t slot) except NULL
