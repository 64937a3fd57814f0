"""fastfeed: exact L2 order books from exchange WebSocket feeds at C speed.

Public names: :class:`BookFeed` (offline, same compiled path), :class:`Engine` (live),
:class:`LiveBook`, :class:`L2Book`, :class:`DecodeRejected`, :class:`SubscribeError`,
:class:`TradeFeed` (offline trades) and :data:`TRADE_DTYPE` (one recorded trade),
:class:`BboFeed` / :class:`TickerFeed` (offline best bid/offer and 24 h tickers) with
:data:`BBO_DTYPE` / :data:`TICKER_DTYPE`.
:class:`CandleFeed` (offline venue candles), :class:`LocalCandles` (candles from
trades), :func:`cross_check` and :data:`CANDLE_DTYPE` (one candle).
They are imported on first use, so pure-Python parts (``fastfeed.sim``, the CLI's
``--help``) start without loading the compiled core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "BookFeed": "fastfeed.feed",
    "DecodeRejected": "fastfeed._core",
    "Engine": "fastfeed.engine",
    "L2Book": "fastfeed._book",
    "LiveBook": "fastfeed.engine",
    "SubscribeError": "fastfeed.engine",
    "TRADE_DTYPE": "fastfeed.trades",
    "TradeFeed": "fastfeed.trades",
    "BBO_DTYPE": "fastfeed.quotes",
    "BboFeed": "fastfeed.quotes",
    "TICKER_DTYPE": "fastfeed.quotes",
    "TickerFeed": "fastfeed.quotes",
    "CANDLE_DTYPE": "fastfeed.candles",
    "CandleFeed": "fastfeed.candles",
    "LocalCandles": "fastfeed.candles",
    "cross_check": "fastfeed.candles",
}

if TYPE_CHECKING:
    from fastfeed._book import L2Book
    from fastfeed._core import DecodeRejected
    from fastfeed.candles import CANDLE_DTYPE, CandleFeed, LocalCandles, cross_check
    from fastfeed.engine import Engine, LiveBook, SubscribeError
    from fastfeed.feed import BookFeed
    from fastfeed.quotes import BBO_DTYPE, TICKER_DTYPE, BboFeed, TickerFeed
    from fastfeed.trades import TRADE_DTYPE, TradeFeed


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastfeed' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["TRADE_DTYPE", "BookFeed", "DecodeRejected", "Engine", "L2Book", "LiveBook",
           "SubscribeError", "TradeFeed", "__version__"]
__all__ += ["BBO_DTYPE", "TICKER_DTYPE", "BboFeed", "TickerFeed"]
__all__ += ["CANDLE_DTYPE", "CandleFeed", "LocalCandles", "cross_check"]
