"""Pure-Python reference for the sequencer: the docs/venues.md rules, written plainly.

Binance spot: docs/venues.md#binance-spot-sync-rule; Binance USD-M, with fastfeed's
extension and deviation: docs/venues.md#binance-usd-m-sync-rule. Bybit (in-band snapshots,
``u`` +1 per delta): docs/venues.md, "Bybit". OKX (in-band snapshots, the ``prevSeqId``
chain): docs/venues.md, "OKX".
"""

from __future__ import annotations


class ReferenceSequencer:
    """Verdicts ``apply``/``buffer``/``old``/``gap`` for Binance spot and USD-M events."""

    def __init__(self, rule: str) -> None:
        assert rule in ("binance-spot", "binance-usdm", "in-band", "bybit", "okx")
        self.rule = rule
        self.live = False
        self.book_id = -1
        self.applied_any = False

    def load_snapshot(self, last_update_id: int, first_buffered: int | None) -> bool:
        """False when the snapshot predates the first buffered event (fetch again)."""
        if self.rule == "binance-spot" and first_buffered is not None \
                and not first_buffered <= last_update_id + 1:
            return False
        if self.rule == "binance-usdm" and first_buffered is not None \
                and not first_buffered <= last_update_id + 1:
            return False
        self.live = True
        self.book_id = last_update_id
        self.applied_any = False
        return True

    def verdict(self, first: int, last: int, prev: int) -> str:
        """What to do with an event covering update ids ``first..last``. The decoder only
        lets through ``0 <= first <= last <= 2**62`` (docs/venues.md#accepted-json)."""
        if not self.live:
            return "buffer"
        if self.rule == "in-band":
            return "apply"
        if self.rule == "bybit":
            # a delta continues the book by exactly one; the same u again: a duplicate;
            # anything else (lower too: a lost restart snapshot) is a gap
            if last == self.book_id:
                return "old"
            return "apply" if last == self.book_id + 1 else "gap"
        if self.rule == "okx":
            # prevSeqId must be the last seqId; no id on either side (a book or a message
            # from before OKX added seqId, -1): applied unchecked
            if self.book_id == -1 or last == -1:
                return "apply"
            return "apply" if prev == self.book_id else "gap"
        if self.rule == "binance-spot":
            # docs/venues.md#binance-spot-sync-rule: u <= id old; U > id + 1 gap; else apply
            if last <= self.book_id:
                return "old"
            return "apply" if first <= self.book_id + 1 <= last else "gap"
        if not self.applied_any:
            # first event after the snapshot: drop u < id; must have U <= id <= u
            # (or continue the snapshot exactly: pu == id)
            if last < self.book_id:
                return "old"
            return "apply" if first <= self.book_id <= last or prev == self.book_id else "gap"
        if last <= self.book_id:
            return "old"     # duplicate / late retransmission (documented deviation)
        return "apply" if prev == self.book_id else "gap"

    def apply(self, last: int) -> None:
        """The event was applied (OKX: an unchained message, -1, turns the check off)."""
        self.book_id = last
        self.applied_any = True
