# cython: language_level=3
"""Per-book sequencer: decides, from a message's update ids, what to do with it."""

from libc.stdint cimport int64_t


cdef enum SyncState:
    SYNC_SYNCING = 0        # first sync: waiting for a snapshot, buffering events
    SYNC_LIVE = 1           # the book is exact as of `book_id`
    SYNC_GAP = 2            # updates were lost: not trustworthy, a resync is under way
    SYNC_STALE = 3          # connection lost or silent: frozen, not trustworthy
    SYNC_CLOSED = 4         # unsubscribed / engine closed


cdef enum SeqRule:
    RULE_BINANCE_SPOT = 0   # U/u: u <= id old; U > id + 1 gap
    RULE_BINANCE_USDM = 1   # first event U <= id <= u, then pu == previous u
    RULE_IN_BAND = 2        # no per-book ids; snapshots arrive in-band (Coinbase)
    RULE_BYBIT = 3          # in-band snapshots; each delta's u == previous u + 1 (== u: old)
    RULE_OKX = 4            # in-band snapshots; each update's prevSeqId == previous seqId


cdef enum SeqVerdict:
    SEQ_APPLY = 0
    SEQ_BUFFER = 1          # not live yet: keep for replay after the snapshot
    SEQ_OLD = 2             # already covered by the book: ignore
    SEQ_GAP = 3             # updates missing: the book is invalid


cdef enum SnapshotVerdict:
    SNAP_OK = 0             # loaded; replay buffered events next
    SNAP_TOO_OLD = 1        # lastUpdateId older than the first buffered event: fetch again


# The one place a book's state changes: Sequencer.transition(). Legal moves, as a bit
# mask of target states per source state (docs/states.md has the diagram).
cdef int transition_allowed(int source, int target) noexcept nogil


cdef class Sequencer:
    cdef readonly int rule
    cdef readonly int state
    # Last update id the book reflects (Binance lastUpdateId / u); -1 before a snapshot.
    cdef readonly int64_t book_id
    # USD-M: the first event after a snapshot follows the overlap rule, not the pu chain.
    cdef bint expect_first
    # First `U` seen while buffering (-1 if none): tells a too-old snapshot apart.
    cdef readonly int64_t first_buffered_id

    cdef SeqVerdict check(self, int64_t first_id, int64_t last_id, int64_t prev_id) noexcept
    cdef void applied(self, int64_t last_id) noexcept
    cdef void buffered(self, int64_t first_id) noexcept
    cdef void forget_buffered(self) noexcept
    cdef int transition(self, int target) except -1
    cdef int go_live(self, int64_t book_id) except -1
    cdef SnapshotVerdict snapshot_loaded(self, int64_t last_update_id) except *
    cdef int restart(self, int state) except -1


# Connection-level sequence (Venue.connection_sequence: Coinbase Advanced Trade
# sequence_num, docs/venues.md#coinbase-advanced-trade-sequencing), shared by the router
# (books) and trade streams: the first value sets it (*last < 0: none yet), every later
# one must be the previous + 1; a jump, a repeat or a decrease breaks it. Records `got`.
cdef inline bint connection_sequence_broken(int64_t* last, int64_t got) noexcept nogil:
    cdef bint broken = last[0] >= 0 and got != last[0] + 1
    last[0] = got
    return broken


# Cold path: why a connection sequence broke, as a gap reason.
cdef str sequence_break_reason(int64_t last, int64_t got)
