# cython: language_level=3
"""Per-book sequencer: the venue's gap rules and the book-state machine.

State changes happen in one place, :meth:`Sequencer.transition`, which refuses the moves
``docs/states.md`` does not allow (``InvalidTransition``: a bug in the caller, never a
venue's fault). The sequencing rules are those of ``docs/venues.md``:

* Binance spot (docs as corrected Nov 2025): buffer while the snapshot is in flight;
  an event with ``u <= id`` is old; ``U > id + 1`` means updates were missed; otherwise
  apply and set ``id = u``. The same test implements the snapshot-overlap rule (the
  first kept event has ``U <= lastUpdateId + 1 <= u``).
* Binance USD-M: drop ``u < lastUpdateId``; the first applied event has
  ``U <= lastUpdateId <= u``; afterwards every ``pu`` equals the previous ``u``.
  Extension: a first event with ``pu == lastUpdateId`` is also accepted — it proves it
  continues exactly where the snapshot ends (a snapshot taken on an event boundary).
  Deviation, on purpose: an event with ``u <= id`` after the first (a duplicate or a late
  retransmission) is ignored as old rather than forcing a resync; with absolute sizes it
  carries nothing the book lacks.
* In-band venues (Coinbase): no per-book ids; the connection-level sequence is checked
  by the listener. The sequencer only tracks state.
* Bybit (docs/venues.md, "Bybit"): snapshots arrive in-band and set the id to their
  ``u`` (``u == 1``: the venue restarted, still just a snapshot); a delta must have
  ``u == id + 1``; ``u == id`` is old (a duplicate: sizes are absolute), any other ``u``
  a gap (also a smaller one: after a restart snapshot that was lost, deltas restart
  low, and calling them old would freeze a book that claims to be live).
* OKX (docs/venues.md, "OKX"): snapshots arrive in-band and set the id to their
  ``seqId``; an update applies iff its ``prevSeqId`` equals the id (the idle keep-alive,
  ``seqId == prevSeqId``, too; a ``seqId`` lower than ``prevSeqId`` after maintenance
  too), anything else is a gap. A message without ``seqId`` (recordings from before OKX
  added it; the decoder gives -1) applies unchecked and leaves the id at -1: the chain
  check is off for that book until a message carries ``seqId`` again.
"""

from libc.stdint cimport int64_t

STATE_NAMES = ("syncing", "live", "gap", "stale", "closed")
VERDICT_NAMES = ("apply", "buffer", "old", "gap")
# Sequencing rules by the names venue descriptions use (fastfeed.venues: Venue.sequencing).
RULES = {"binance-spot": RULE_BINANCE_SPOT, "binance-usdm": RULE_BINANCE_USDM,
         "in-band": RULE_IN_BAND, "bybit": RULE_BYBIT, "okx": RULE_OKX}


class InvalidTransition(RuntimeError):
    """A state change docs/states.md does not allow was attempted (a bug, not bad input)."""


# Targets allowed from each state (bit i = state i). closed is final.
cdef enum:
    _TO_SYNCING = 1 << SYNC_SYNCING
    _TO_LIVE = 1 << SYNC_LIVE
    _TO_GAP = 1 << SYNC_GAP
    _TO_STALE = 1 << SYNC_STALE
    _TO_CLOSED = 1 << SYNC_CLOSED

cdef int[5] _ALLOWED
_ALLOWED[<int>SYNC_SYNCING] = _TO_SYNCING | _TO_LIVE | _TO_STALE | _TO_CLOSED
_ALLOWED[<int>SYNC_LIVE] = _TO_SYNCING | _TO_LIVE | _TO_GAP | _TO_STALE | _TO_CLOSED
_ALLOWED[<int>SYNC_GAP] = _TO_SYNCING | _TO_LIVE | _TO_STALE | _TO_CLOSED
_ALLOWED[<int>SYNC_STALE] = _TO_SYNCING | _TO_LIVE | _TO_STALE | _TO_CLOSED
_ALLOWED[<int>SYNC_CLOSED] = _TO_CLOSED


cdef str sequence_break_reason(int64_t last, int64_t got):
    if got > last:
        return f"sequence_num jumped from {last} to {got}"
    if got == last:
        return f"sequence_num {got} repeated"
    return f"sequence_num went back from {last} to {got}"


cdef int transition_allowed(int source, int target) noexcept nogil:
    if source < 0 or source > SYNC_CLOSED or target < 0 or target > SYNC_CLOSED:
        return 0
    return (_ALLOWED[source] >> target) & 1


cdef class Sequencer:
    """Gap detection for one book under one venue rule.

    ``rule`` is one of ``"binance-spot"``, ``"binance-usdm"``, ``"in-band"``, ``"bybit"``,
    ``"okx"``.
    """

    def __init__(self, str rule):
        if rule not in RULES:
            raise ValueError(f"unknown sequencing rule {rule!r}; expected one of {sorted(RULES)}")
        self.rule = RULES[rule]
        self.state = SYNC_SYNCING
        self.book_id = -1
        self.expect_first = True
        self.first_buffered_id = -1

    cdef int transition(self, int target) except -1:
        """Enter ``target`` if docs/states.md allows it from the current state."""
        if not transition_allowed(self.state, target):
            name = STATE_NAMES[target] if 0 <= target < len(STATE_NAMES) else str(target)
            raise InvalidTransition(f"book state cannot go {STATE_NAMES[self.state]} -> {name}")
        self.state = target
        return 0

    cdef int restart(self, int state) except -1:
        """Enter ``state`` and forget the book id; the next snapshot starts from scratch."""
        self.transition(state)
        self.book_id = -1
        self.expect_first = True
        self.first_buffered_id = -1
        return 0

    cdef int go_live(self, int64_t book_id) except -1:
        """A snapshot (REST or in-band) made the book exact as of ``book_id``."""
        self.transition(SYNC_LIVE)
        self.book_id = book_id
        self.expect_first = True
        self.first_buffered_id = -1
        return 0

    cdef void buffered(self, int64_t first_id) noexcept:
        """An event starting at ``first_id`` was kept for replay after the snapshot."""
        if self.first_buffered_id < 0:
            self.first_buffered_id = first_id

    cdef void forget_buffered(self) noexcept:
        """The sync buffer was dropped: the next snapshot must cover what comes next."""
        self.first_buffered_id = -1

    cdef SeqVerdict check(self, int64_t first_id, int64_t last_id, int64_t prev_id) noexcept:
        # Binance ids come from the decoder as 0 <= first_id <= last_id <= 2**62 (and
        # prev_id -1 or in range): docs/venues.md#accepted-json
        if self.state != SYNC_LIVE:
            return SEQ_BUFFER
        if self.rule == RULE_BINANCE_SPOT:
            if last_id <= self.book_id:
                return SEQ_OLD
            if first_id > self.book_id + 1:
                return SEQ_GAP
            return SEQ_APPLY
        if self.rule == RULE_BINANCE_USDM:
            if self.expect_first:
                if last_id < self.book_id:
                    return SEQ_OLD
                if first_id > self.book_id and prev_id != self.book_id:
                    return SEQ_GAP
                return SEQ_APPLY
            if last_id <= self.book_id:
                return SEQ_OLD
            if prev_id != self.book_id:
                return SEQ_GAP
            return SEQ_APPLY
        if self.rule == RULE_BYBIT:
            if last_id == self.book_id:
                return SEQ_OLD
            if last_id != self.book_id + 1:
                return SEQ_GAP
            return SEQ_APPLY
        if self.rule == RULE_OKX:
            if self.book_id < 0 or last_id < 0:
                return SEQ_APPLY    # unchained book or message: nothing to check
            if prev_id != self.book_id:
                return SEQ_GAP
            return SEQ_APPLY
        return SEQ_APPLY

    cdef void applied(self, int64_t last_id) noexcept:
        # in-band venues have no per-book ids (Coinbase AT's sequence is per connection)
        if self.rule == RULE_OKX:
            self.book_id = last_id      # -1 (no seqId): the chain check is off
        elif last_id >= 0 and self.rule != RULE_IN_BAND:
            self.book_id = last_id
        self.expect_first = False

    cdef SnapshotVerdict snapshot_loaded(self, int64_t last_update_id) except *:
        """A snapshot as of ``last_update_id`` was loaded into the book: go live.

        Returns SNAP_TOO_OLD (and stays syncing) when the first buffered event starts
        after the snapshot, i.e. the events in between were never seen.
        """
        # Spot: the first kept event needs U <= id + 1. USD-M: U <= id, or U == id + 1
        # with pu == id (checked at replay; a wrong pu turns into a gap there).
        cdef int64_t limit = last_update_id + 1
        if (self.rule != RULE_IN_BAND and self.rule != RULE_BYBIT and self.rule != RULE_OKX
                and self.first_buffered_id > limit):
            return SNAP_TOO_OLD
        self.go_live(last_update_id)
        return SNAP_OK

    # ---- Python access, for the reference-model tests and diagnostics ----

    @property
    def state_name(self):
        """The state as text: syncing, live, gap, stale or closed."""
        return STATE_NAMES[self.state]

    def check_py(self, first_id: int, last_id: int, prev_id: int = -1) -> str:
        """``check`` from Python: returns apply, buffer, old or gap (no side effects)."""
        return VERDICT_NAMES[self.check(first_id, last_id, prev_id)]

    def applied_py(self, last_id: int) -> None:
        """Record that the event ending at ``last_id`` was applied."""
        self.applied(last_id)

    def snapshot_loaded_py(self, last_update_id: int) -> bool:
        """Load a snapshot id; False if it is older than the buffered stream."""
        return self.snapshot_loaded(last_update_id) == SNAP_OK

    def buffered_py(self, first_id: int) -> None:
        """Record that an event starting at ``first_id`` was buffered during a sync."""
        self.buffered(first_id)

    def restart_py(self, state: str = "syncing") -> None:
        """Drop the book id and enter ``state`` (syncing, gap, stale or closed)."""
        self.restart(STATE_NAMES.index(state))

    @staticmethod
    def allowed_py(source: str, target: str) -> bool:
        """Whether docs/states.md allows ``source -> target`` (state names)."""
        return bool(transition_allowed(STATE_NAMES.index(source), STATE_NAMES.index(target)))
