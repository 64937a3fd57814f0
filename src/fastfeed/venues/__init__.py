"""Venue definitions: URLs, stream names, subscribe messages, snapshots and scales.

Each venue module knows its protocol's cold-path rules; the compiled decoders and the
sequencer implement the hot-path ones. ``get_venue(name)`` returns the singleton.
"""

from __future__ import annotations

from fastfeed.venues.base import BOOK, Instrument, Venue
from fastfeed.venues.binance import BinanceSpot, BinanceUsdm
from fastfeed.venues.bybit import BybitLinear, BybitSpot
from fastfeed.venues.coinbase import CoinbaseAdvancedTrade, CoinbaseExchange
from fastfeed.venues.kraken import Kraken
from fastfeed.venues.okx import Okx

VENUES: dict[str, Venue] = {
    v.name: v
    for v in (BinanceSpot(), BinanceUsdm(), CoinbaseAdvancedTrade(), CoinbaseExchange(),
              BybitSpot(), BybitLinear(), Kraken(), Okx())
}


def get_venue(name: str) -> Venue:
    """The venue called ``name`` (``binance``, ``binance-usdm``, ``coinbase``, ``coinbase-exchange``,
    ``bybit``, ``bybit-linear``, ``kraken``, ``okx``)."""
    try:
        return VENUES[name]
    except KeyError:
        raise ValueError(f"unknown venue {name!r}; expected one of {sorted(VENUES)}") from None


__all__ = ["BOOK", "VENUES", "Instrument", "Venue", "get_venue"]
