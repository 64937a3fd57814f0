"""BookFeed: the offline entry point — raw payloads through the live compiled path."""

from __future__ import annotations

from fastfeed._parse import scale_from_increment
from fastfeed._router import OfflineCore
from fastfeed.venues import get_venue


def instrument_scales(tick_size: str, step_size: str) -> tuple[int, int, int, int]:
    """(price_decimals, size_decimals, price_tick, size_step) from increment strings.

    ``"0.01"`` → 2 decimals, tick 1 unit; ``"0.5"`` → 1 decimal, prices multiples of 5.
    """
    price_decimals, price_tick = scale_from_increment(tick_size)
    size_decimals, size_step = scale_from_increment(step_size)
    return price_decimals, size_decimals, price_tick, size_step


class BookFeed(OfflineCore):
    """One book fed by hand: the same decode → sequence → apply path the engine runs.

    ``tick_size``/``step_size`` are the instrument's increments as decimal strings
    (Binance ``tickSize``/``stepSize``, Coinbase ``quote_increment``/``base_increment``).
    With ``strict`` (default) a rejected payload raises ``DecodeRejected`` after being
    counted; with ``strict=False`` it is only counted (see ``rejects``/``last_reject``).

    Binance: ``apply_snapshot(rest_body)`` then ``apply_message(ws_payload)`` (raw or
    combined-stream form); events applied before a snapshot are buffered and replayed.
    Coinbase: ``apply_message(envelope)`` only; an in-band snapshot event replaces the book.

    ``book_latency`` is the precision of the book's latency histograms: ``"coarse"``
    (default, ~2 KiB each), ``"full"`` or ``"off"`` (``fastfeed.latency.BOOK_LATENCY``;
    docs/memory.md). ``memory()`` reports what the book holds.
    """

    __slots__ = ("step_size", "tick_size")   # a mistyped attribute fails loudly

    def __init__(self, venue: str, symbol: str, tick_size: str, step_size: str,
                 *, strict: bool = True, book_latency: str = "coarse") -> None:
        get_venue(venue)    # clear error for an unknown venue id
        scales = instrument_scales(tick_size, step_size)
        super().__init__(venue, symbol, *scales, strict=strict, book_latency=book_latency)
        self.tick_size = tick_size
        self.step_size = step_size
