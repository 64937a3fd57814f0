# cython: language_level=3
"""Router: one payload → decode → connection-level checks → each segment to its book.

Shared by the offline ``BookFeed`` (``OfflineCore`` owns a one-book router) and the live
``FeedListener`` (one router per connection), so both paths run the same code.
"""

from cpython.ref cimport PyObject
from libc.stdint cimport int64_t

from fastfeed._core cimport BookCore, VenueRules
from fastfeed._types cimport REJECT_N_REASONS, DeltaBatch, Segment


cdef class Router:
    cdef VenueRules rules
    cdef readonly str venue
    cdef DeltaBatch batch
    cdef list _cores                # keeps the borrowed table pointers alive
    cdef PyObject** _table          # open addressing by symbol hash; NULL = empty slot
    cdef Py_ssize_t _mask
    cdef PyObject* _only            # the book of a one-book router (takes unnamed segments)
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
    cdef int64_t reject_counts[REJECT_N_REASONS]
    cdef readonly str last_error

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1
    cdef int refuse(self, str reason, const char* p, Py_ssize_t n) except -1
    cdef PyObject* _lookup(self, const Segment* seg) noexcept
    cdef int _unreadable(self, str text, const char* p, Py_ssize_t n) except -1
    cdef int connection_gap(self, str reason) except -1


cdef class OfflineCore(BookCore):
    cdef readonly Router router
