"""TradeFeed: the offline entry point for trades — raw payloads through the compiled path.

``TRADE_DTYPE`` is the numpy layout of one recorded trade (``TradeFeed.trades()``).
The decoding, id and state rules are in ``docs/venues.md`` ("Trades").
"""

from __future__ import annotations

from fastfeed._trades import DEFAULT_CAPACITY, TRADE_DTYPE, OfflineTradeCore
from fastfeed.feed import instrument_scales
from fastfeed.venues import get_venue

__all__ = ["TRADE_DTYPE", "TradeFeed"]


class TradeFeed(OfflineTradeCore):
    """One trade stream fed by hand: the compiled decode → id check → ring buffer path.

    ``tick_size``/``step_size`` are the instrument's increments as decimal strings, as
    for ``BookFeed`` (the same scale rule). ``stream`` picks the venue's trade stream
    (Binance spot: ``"trade"`` or ``"aggTrade"``; None: the first one the payloads
    carry); ``capacity`` bounds the ring buffer (oldest trades overwritten first,
    counted in ``overwritten``). With ``strict`` (default) a rejected payload raises
    ``DecodeRejected`` after being counted; with ``strict=False`` it is only counted.

    ``apply_message(payload)`` returns the trades recorded from one WebSocket payload;
    ``trades()`` returns them oldest first (``np.ndarray`` of ``TRADE_DTYPE``: ``recv_ns``,
    ``exchange_ns``, ``trade_id``, ``price``, ``size``, ``side``); ``state`` is ``live`` or
    ``gap`` (``gaps`` losses detected, ``missing`` their id ranges).
    """

    __slots__ = ("step_size", "tick_size")   # a mistyped attribute fails loudly

    def __init__(self, venue: str, symbol: str, tick_size: str, step_size: str, *,
                 stream: str | None = None, capacity: int = DEFAULT_CAPACITY,
                 strict: bool = True) -> None:
        get_venue(venue)    # clear error for an unknown venue id
        scales = instrument_scales(venue, tick_size, step_size)
        super().__init__(venue, symbol, *scales, stream=stream, capacity=capacity,
                         strict=strict)
        self.tick_size = tick_size
        self.step_size = step_size
