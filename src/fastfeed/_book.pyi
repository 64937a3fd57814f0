"""Type stub for the compiled L2 book core (``fastfeed._book``)."""

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

BID: Final[int]
ASK: Final[int]

def set_run_merging(on: bool) -> None:
    """Merge sorted runs in one pass (default) or apply every change one by one
    (benchmarks and tests; the same book either way)."""

@disjoint_base
class L2Book:
    """Exact L2 order book: int64 price ticks and size lots, best levels first on read."""

    @property
    def price_decimals(self) -> int: ...
    @property
    def size_decimals(self) -> int: ...
    @property
    def absent_deletes(self) -> int:
        """Deletes of prices the book did not hold (normal no-ops, counted)."""
    def __new__(cls, price_decimals: int, size_decimals: int, capacity: int = 1024) -> L2Book: ...
    def apply(self, side: int, price: int, size: int) -> None:
        """Set one level; size 0 deletes it (a no-op if absent)."""
    def apply_many(self, sides: npt.ArrayLike, prices: npt.ArrayLike, sizes: npt.ArrayLike) -> None:
        """Apply changes in order from three equal-length integer arrays."""
    def load(self, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]) -> None:
        """Replace the book with a snapshot (last duplicate wins, zero sizes absent)."""
    def truncate(self, depth: int) -> None:
        """Keep at most ``depth`` best levels on each side."""
    def clear(self) -> None:
        """Remove every level."""
    def bids(self, n: int | None = None) -> npt.NDArray[np.float64]:
        """Best ``n`` bids, best first, float64 (k, 2) [price, size]."""
    def asks(self, n: int | None = None) -> npt.NDArray[np.float64]:
        """Best ``n`` asks, best first, float64 (k, 2) [price, size]."""
    def bids_int(self, n: int | None = None) -> npt.NDArray[np.int64]:
        """Best ``n`` bids, best first, int64 (k, 2) [ticks, lots] (a copy)."""
    def asks_int(self, n: int | None = None) -> npt.NDArray[np.int64]:
        """Best ``n`` asks, best first, int64 (k, 2) [ticks, lots] (a copy)."""
    def best_bid(self) -> tuple[float, float] | None:
        """``(price, size)`` of the best bid, or None."""
    def best_ask(self) -> tuple[float, float] | None:
        """``(price, size)`` of the best ask, or None."""
    def best_bid_int(self) -> tuple[int, int] | None:
        """``(ticks, lots)`` of the best bid, or None."""
    def best_ask_int(self) -> tuple[int, int] | None:
        """``(ticks, lots)`` of the best ask, or None."""
    @property
    def bid_depth(self) -> int:
        """Number of bid levels."""
    @property
    def ask_depth(self) -> int:
        """Number of ask levels."""
    def is_crossed(self) -> bool:
        """Both sides non-empty and best bid >= best ask (crossed or locked)."""
    def _check_invariants(self) -> None:
        """Debug aid for tests: raise AssertionError if the internal layout is broken."""
