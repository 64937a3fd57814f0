"""Pure-Python reference L2 book: the executable spec the compiled ``L2Book`` is tested against.

Deliberately simple (a dict per side, sorted on every read) so that it is obviously
right; it is slow and meant for tests and benchmarks only. Same API names and semantics
as :class:`fastfeed._book.L2Book` (float views are ``float(ticks) / 10.0**decimals``,
exactly what the compiled book computes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

BID = 0
ASK = 1
_MAX_DECIMALS = 18
_INT64_MAX = 2**63 - 1


def _check_int64(value: int, what: str) -> int:
    value = int(value)
    if value < 0:
        raise ValueError(f"negative {what} {value}")
    if value > _INT64_MAX:
        raise OverflowError(f"{what} {value} does not fit int64")
    return value


class ReferenceBook:
    """Dict-per-side L2 book with the same public API as the compiled ``L2Book``."""

    def __init__(self, price_decimals: int, size_decimals: int, capacity: int = 1024) -> None:
        for name, d in (("price_decimals", price_decimals), ("size_decimals", size_decimals)):
            if not 0 <= d <= _MAX_DECIMALS:
                raise ValueError(f"{name} must be in 0..{_MAX_DECIMALS}, got {d}")
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self._sides: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.absent_deletes = 0

    # updates

    def apply(self, side: int, price: int, size: int) -> None:
        """Set one level; size 0 deletes it (a no-op if absent, counted in
        ``absent_deletes``)."""
        if side not in (BID, ASK):
            raise ValueError(f"side must be {BID} (bid) or {ASK} (ask), got {side}")
        price = _check_int64(price, "price")
        size = _check_int64(size, "size")
        levels = self._sides[side]
        if size:
            levels[price] = size
        elif levels.pop(price, None) is None:
            self.absent_deletes += 1

    def apply_many(self, sides: Iterable[int], prices: Iterable[int], sizes: Iterable[int]) -> None:
        """Apply changes in order; every row is validated before any is applied."""
        rows = list(
            zip(
                *(np.asarray(a, dtype=np.int64).tolist() for a in (sides, prices, sizes)),
                strict=True,
            )
        )
        for i, (s, p, q) in enumerate(rows):
            if s not in (BID, ASK) or p < 0 or q < 0:
                raise ValueError(f"bad row {i}: side={s} price={p} size={q}")
        for s, p, q in rows:
            self.apply(s, p, q)

    def load(self, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]) -> None:
        """Replace the book: same result as applying the levels in order to an empty book
        (a snapshot's zero sizes are not deletes: ``absent_deletes`` is unchanged)."""
        checked = [
            [(_check_int64(p, "price"), _check_int64(q, "size")) for p, q in levels]
            for levels in (bids, asks)
        ]
        self.clear()
        absent = self.absent_deletes
        for side, levels in enumerate(checked):
            for p, q in levels:
                self.apply(side, p, q)
        self.absent_deletes = absent

    def truncate(self, depth: int) -> None:
        """Keep at most ``depth`` best levels per side."""
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        for side in (BID, ASK):
            keep = self._sorted(side)[:depth]
            self._sides[side].clear()
            self._sides[side].update(keep)

    def clear(self) -> None:
        """Remove every level."""
        for levels in self._sides:
            levels.clear()

    # reads

    def _sorted(self, side: int) -> list[tuple[int, int]]:
        return sorted(self._sides[side].items(), reverse=(side == BID))

    def _top(self, side: int, n: int | None) -> list[tuple[int, int]]:
        if n is not None and n < 0:
            raise ValueError(f"n must be >= 0 or None, got {n}")
        levels = self._sorted(side)
        return levels if n is None else levels[:n]

    def _floats(self, levels: list[tuple[int, int]]) -> npt.NDArray[np.float64]:
        # int64 -> float64 rounds to nearest like float(int); then one IEEE division.
        ints = np.array(levels, dtype=np.int64).reshape(-1, 2)
        out = ints.astype(np.float64)
        out[:, 0] /= 10.0**self.price_decimals
        out[:, 1] /= 10.0**self.size_decimals
        return out

    def bids(self, n: int | None = None) -> npt.NDArray[np.float64]:
        """Best ``n`` bids (all if None), best first, float64 (k, 2)."""
        return self._floats(self._top(BID, n))

    def asks(self, n: int | None = None) -> npt.NDArray[np.float64]:
        """Best ``n`` asks (all if None), best first, float64 (k, 2)."""
        return self._floats(self._top(ASK, n))

    def bids_int(self, n: int | None = None) -> npt.NDArray[np.int64]:
        """Best ``n`` bids, best first, int64 (k, 2)."""
        return np.array(self._top(BID, n), dtype=np.int64).reshape(-1, 2)

    def asks_int(self, n: int | None = None) -> npt.NDArray[np.int64]:
        """Best ``n`` asks, best first, int64 (k, 2)."""
        return np.array(self._top(ASK, n), dtype=np.int64).reshape(-1, 2)

    def best_bid_int(self) -> tuple[int, int] | None:
        """``(ticks, lots)`` of the best bid or None."""
        levels = self._sides[BID]
        if not levels:
            return None
        p = max(levels)
        return (p, levels[p])

    def best_ask_int(self) -> tuple[int, int] | None:
        """``(ticks, lots)`` of the best ask or None."""
        levels = self._sides[ASK]
        if not levels:
            return None
        p = min(levels)
        return (p, levels[p])

    def _best_float(self, best: tuple[int, int] | None) -> tuple[float, float] | None:
        if best is None:
            return None
        return (
            float(best[0]) / 10.0**self.price_decimals,
            float(best[1]) / 10.0**self.size_decimals,
        )

    def best_bid(self) -> tuple[float, float] | None:
        """``(price, size)`` floats of the best bid or None."""
        return self._best_float(self.best_bid_int())

    def best_ask(self) -> tuple[float, float] | None:
        """``(price, size)`` floats of the best ask or None."""
        return self._best_float(self.best_ask_int())

    @property
    def bid_depth(self) -> int:
        """Number of bid levels."""
        return len(self._sides[BID])

    @property
    def ask_depth(self) -> int:
        """Number of ask levels."""
        return len(self._sides[ASK])

    def is_crossed(self) -> bool:
        """Both sides non-empty and best bid >= best ask."""
        bb, ba = self.best_bid_int(), self.best_ask_int()
        return bb is not None and ba is not None and bb[0] >= ba[0]

    def __repr__(self) -> str:
        return (
            f"ReferenceBook(price_decimals={self.price_decimals}, "
            f"size_decimals={self.size_decimals}, bids={self.bid_depth}, "
            f"asks={self.ask_depth}, best_bid={self.best_bid_int()}, "
            f"best_ask={self.best_ask_int()})"
        )
