"""The simulator's venue dialects, by venue id.

Adding a venue to the simulator = one dialect module here (a
:class:`~fastfeed.sim.dialects.base.Dialect` subclass, its connection and its wire) and
one :func:`register` call below; the venue's facts live in :mod:`fastfeed.venues`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastfeed.sim.dialects.base import Dialect, Wire
from fastfeed.sim.dialects.binance import BinanceSpotDialect, BinanceUsdmDialect
from fastfeed.sim.dialects.bybit import BybitDialect, BybitLinearDialect
from fastfeed.sim.dialects.coinbase import AdvancedTradeDialect
from fastfeed.sim.dialects.coinbase_exchange import ExchangeDialect
from fastfeed.sim.dialects.kraken import KrakenDialect
from fastfeed.sim.dialects.okx import OkxDialect
from fastfeed.sim.host import SimHost

DIALECTS: dict[str, Dialect] = {}
"""Registered dialects by venue id, in registration order."""

FALLBACK = BinanceSpotDialect.venue_name
"""The venue of upgrade paths no dialect claims (an unprefixed ``/ws/...`` is Binance spot)."""


def register(dialect: Dialect) -> Dialect:
    """Make ``dialect`` the simulator's speaker of its venue."""
    DIALECTS[dialect.name] = dialect
    return dialect


def get_dialect(venue: str) -> Dialect:
    """The dialect of ``venue``; ValueError when none is registered."""
    try:
        return DIALECTS[venue]
    except KeyError:
        raise ValueError(f"unknown venue {venue!r}; known: {', '.join(DIALECTS)}") from None


def accept(host: SimHost, path: str, query: Mapping[str, list[str]]) -> Any:
    """Answer a WebSocket upgrade on ``path`` (normalised, unquoted) with the dialect that
    claims it, else the fallback's: a listener, an error response, or None (404)."""
    for dialect in DIALECTS.values():
        if dialect.claims(path):
            return dialect.accept(host, path, query)
    return DIALECTS[FALLBACK].accept(host, path, query)


for _dialect in (BinanceSpotDialect(), BinanceUsdmDialect(), AdvancedTradeDialect(), ExchangeDialect(),
                 BybitDialect(), BybitLinearDialect(), KrakenDialect(), OkxDialect()):
    register(_dialect)

__all__ = ["DIALECTS", "FALLBACK", "Dialect", "Wire", "accept", "get_dialect", "register"]
