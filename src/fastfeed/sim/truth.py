"""Ground truth: the simulator's book as of a given update id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastfeed.sim.model import Scale


@dataclass(frozen=True)
class BookTruth:
    """The exact book the simulator holds for (venue, symbol) as of ``last_id``.

    ``bids``/``asks`` are ``(price_int, size_int)`` best first, where ``price_int`` is a
    count of ticks and ``size_int`` a count of lots. For power-of-ten increments (all the
    defaults) that is the same as ``price = price_int / 10**price_decimals``; in general
    ``price = price_int * tick_size`` and ``size = size_int * step_size``.
    """

    last_id: int
    """Update id of the last message applied (Binance ``u``; internal id for Coinbase)."""
    bids: list[tuple[int, int]]
    """Bid levels, highest price first."""
    asks: list[tuple[int, int]]
    """Ask levels, lowest price first."""
    venue: str = ""
    """Venue id."""
    symbol: str = ""
    """Venue symbol."""
    tick_size: str = "1"
    """Price increment string (one price_int unit)."""
    step_size: str = "1"
    """Size increment string (one size_int unit)."""
    price_decimals: int = field(default=0)
    """Decimals of the price scale (for power-of-ten ticks: price = int / 10**this)."""
    size_decimals: int = field(default=0)
    """Decimals of the size scale."""
    off_grid_bids: list[tuple[str, str]] = field(default_factory=list)
    """Resting bids off the tick grid (``SymbolConfig.off_grid_bids``) as the venue prints
    them, best first: below every bid in ``bids``, and not counts of ticks."""

    def _scales(self) -> tuple[Scale, Scale]:
        return Scale(self.tick_size), Scale(self.step_size)

    def bids_str(self) -> list[tuple[str, str]]:
        """Bids as decimal strings at the scale (no trailing padding)."""
        ps, ss = self._scales()
        return [(ps.fmt(p), ss.fmt(q)) for p, q in self.bids]

    def asks_str(self) -> list[tuple[str, str]]:
        """Asks as decimal strings at the scale."""
        ps, ss = self._scales()
        return [(ps.fmt(p), ss.fmt(q)) for p, q in self.asks]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``GET /debug/truth`` returns)."""
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "last_id": self.last_id,
            "tick_size": self.tick_size,
            "step_size": self.step_size,
            "price_decimals": self.price_decimals,
            "size_decimals": self.size_decimals,
            "bids": [list(x) for x in self.bids_str()],
            "asks": [list(x) for x in self.asks_str()],
            "bids_int": [list(x) for x in self.bids],
            "asks_int": [list(x) for x in self.asks],
            "off_grid_bids": [list(x) for x in self.off_grid_bids],
        }
