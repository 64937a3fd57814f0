# cython: language_level=3
"""L2 book core: each side is a pair of int64 numpy arrays (prices, sizes) + a count.

Contract used by the listener / BookFeed (internals are the book module's business):
all cdef methods below may be called with the GIL held; the ones marked nogil never
touch Python objects. Growth of the arrays is the only path that needs the GIL and it
is a cold branch inside ``apply_level``.

Layout: ``bid_px[0:n_bids]`` is ascending and ``ask_px[0:n_asks]`` descending, so the
best level of each side is the LAST used element (``bid_px[n_bids - 1]``). The used
region floats inside its array (``*_lo`` elements from the array start) so that a
change may shift whichever part is shorter and truncation is O(1): the pointers move on
any structural change, not only on growth — re-read them after every call.
"""

from libc.stdint cimport int64_t, uint8_t

from fastfeed._types cimport Delta


cdef class L2Book:
    cdef readonly int price_decimals
    cdef readonly int size_decimals
    # numpy int64 arrays owning the memory (reallocated on growth)
    cdef object _bid_px_arr
    cdef object _bid_sz_arr
    cdef object _ask_px_arr
    cdef object _ask_sz_arr
    # raw pointers to the first used element (move on growth, deletes and truncation)
    cdef int64_t* bid_px
    cdef int64_t* bid_sz
    cdef int64_t* ask_px
    cdef int64_t* ask_sz
    cdef Py_ssize_t n_bids
    cdef Py_ssize_t n_asks
    cdef Py_ssize_t cap_bids
    cdef Py_ssize_t cap_asks
    # offset of the used region from the start of each array (bid_px - data(bid array))
    cdef Py_ssize_t bid_lo
    cdef Py_ssize_t ask_lo
    # deletes of prices the book did not hold (normal: a no-op, counted; docs/venues.md)
    cdef readonly int64_t absent_deletes

    # Set one level (size 0 deletes; deleting an absent level is a no-op). Returns 0;
    # -1 with ValueError for a negative price or size or a side other than
    # SIDE_BID/SIDE_ASK.
    cdef int apply_level(self, uint8_t side, int64_t price, int64_t size) except -1
    # Apply n converted deltas in order (sizes absolute, last wins). On a bad delta
    # (as for apply_level) the ones before it stay applied and ValueError is raised.
    cdef int apply_deltas(self, const Delta* d, Py_ssize_t n) except -1
    # Replace the whole book with n converted deltas (snapshot; zero sizes skipped);
    # ValueError (book unchanged) on a bad delta.
    cdef int load_deltas(self, const Delta* d, Py_ssize_t n) except -1
    # Keep at most `depth` best levels per side.
    cdef void truncate_levels(self, Py_ssize_t depth) noexcept nogil
    cdef void clear_levels(self) noexcept nogil
    cdef bint is_crossed_c(self) noexcept nogil
    # Cold path: make room for at least `need` levels on one side (needs the GIL).
    cdef int _grow(self, uint8_t side, Py_ssize_t need) except -1
