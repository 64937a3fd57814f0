"""BboFeed and TickerFeed: the offline entry points for best bid/offer and 24 h tickers.

Raw payloads through the compiled path (the venue's ``bbo_decoder`` / ``ticker_decoder``
→ ``BboCore`` / ``TickerCore``). ``BBO_DTYPE`` and ``TICKER_DTYPE`` are the numpy layouts
of one record. The decoding, staleness and scale rules are in ``docs/venues.md`` ("Best
bid/offer", "Tickers").
"""

from __future__ import annotations

from typing import Any

from fastfeed._quotes import (
    BBO_DTYPE,
    DEFAULT_CAPACITY,
    DEFAULT_TICKER_CAPACITY,
    QUOTE_MISSING,
    TICKER_DTYPE,
    Bbo,
    BboCore,
    Ticker,
    TickerCore,
)
from fastfeed.feed import instrument_scales
from fastfeed.subscription import Subscribed
from fastfeed.venues import Instrument, get_venue

__all__ = ["BBO_DTYPE", "QUOTE_MISSING", "TICKER_DTYPE", "Bbo", "BboFeed", "LiveBbo", "LiveTicker", "Ticker",
           "TickerFeed"]


class BboFeed(BboCore):
    """One best bid/offer stream fed by hand: the compiled decode → stale check → ring path.

    ``tick_size``/``step_size`` are the instrument's increments as decimal strings, as for
    ``BookFeed`` (the same scale rule). ``apply_message(payload)`` returns the BBO records
    made from one WebSocket payload (0 or 1 for this symbol; a BBO whose update id is not
    newer than the last one is counted in ``stale`` and ignored); ``bbo()`` is the latest
    (``Bbo`` of exact ints), ``updates()`` the records held, oldest first (``np.ndarray``
    of ``BBO_DTYPE``: ``recv_ns``, ``exchange_ns``, ``update_id``, ``bid_price``,
    ``bid_size``, ``ask_price``, ``ask_size``). With ``strict`` (default) a rejected
    payload raises ``DecodeRejected`` after being counted; with ``strict=False`` it is only
    counted.
    """

    __slots__ = ("step_size", "tick_size")   # a mistyped attribute fails loudly

    def __init__(self, venue: str, symbol: str, tick_size: str, step_size: str, *,
                 capacity: int = DEFAULT_CAPACITY, strict: bool = True) -> None:
        get_venue(venue)    # clear error for an unknown venue id
        scales = instrument_scales(venue, tick_size, step_size)
        super().__init__(venue, symbol, *scales, capacity=capacity, strict=strict,
                         offline=True)
        self.tick_size = tick_size
        self.step_size = step_size


class TickerFeed(TickerCore):
    """One 24 h ticker stream fed by hand, as ``BboFeed`` is for BBOs.

    ``ticker()`` is the latest (``Ticker`` of exact ints: prices in ticks, sizes in lots,
    volumes scale-free as ``volume * 10**-volume_decimals``, ``QUOTE_MISSING`` for what the
    venue does not send); ``tickers()`` the records held (``np.ndarray`` of
    ``TICKER_DTYPE``).
    """

    __slots__ = ("step_size", "tick_size")

    def __init__(self, venue: str, symbol: str, tick_size: str, step_size: str, *,
                 capacity: int = DEFAULT_TICKER_CAPACITY, strict: bool = True) -> None:
        get_venue(venue)
        scales = instrument_scales(venue, tick_size, step_size)
        super().__init__(venue, symbol, *scales, capacity=capacity, strict=strict,
                         offline=True)
        self.tick_size = tick_size
        self.step_size = step_size


class LiveBbo(Subscribed, BboCore):
    """A best bid/offer stream kept by an :class:`~fastfeed.Engine`
    (``engine.subscribe_bbo``): the compiled ``BboCore`` fed by the connection's router
    (the venue's BBO channel) or, with ``source="book"``, by a live book's top after each
    message it applies (channel ``book``). ``bbo()`` the latest, ``updates()`` the ring;
    ``state`` as in :mod:`fastfeed.subscription` (from a book: the book's state)."""

    __slots__ = ("_book", "_channel", "_link", "connection", "instrument", "last_error",
                 "recorder")
    record_kind = "bbo"     # its declaration's kind in a recording (docs/recording.md)

    def __init__(self, venue: str, symbol: str, instrument: Instrument, channel: str,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__(venue, symbol, *instrument_scales(venue, instrument.tick_size,
                                                           instrument.step_size),
                         capacity=capacity, strict=False)
        self._init_subscription(channel, instrument)
        self._book: Any = None

    def follow(self, book: Any) -> None:
        """Take the BBO from ``book``'s top (``source="book"``)."""
        self.follow_book(book)
        self._book = book
        self.connection = book.connection

    @property
    def state(self) -> str:
        """The subscription's state, or the followed book's."""
        if self._book is not None and super().state != "closed":
            return str(self._book.state)
        return super().state

    def close(self) -> None:
        """Stop recording (the BBOs held stay readable)."""
        if self._book is not None:
            self.unfollow_book(self._book)
        super().close()


class LiveTicker(Subscribed, TickerCore):
    """A 24 h ticker stream kept by an :class:`~fastfeed.Engine`
    (``engine.subscribe_ticker``): ``ticker()`` the latest, ``tickers()`` the ring."""

    __slots__ = ("_channel", "_link", "connection", "instrument", "last_error", "recorder")
    record_kind = "ticker"  # its declaration's kind in a recording (docs/recording.md)

    def __init__(self, venue: str, symbol: str, instrument: Instrument, channel: str,
                 capacity: int = DEFAULT_TICKER_CAPACITY) -> None:
        super().__init__(venue, symbol, *instrument_scales(venue, instrument.tick_size,
                                                           instrument.step_size),
                         capacity=capacity, strict=False)
        self._init_subscription(channel, instrument)

    def mark_stale(self) -> None:
        """The connection is down (``stale``); a delta-merging ticker (Bybit linear)
        also forgets its merged state: deltas wait for the resubscribe's snapshot."""
        super().mark_stale()
        self.drop_snapshot()
