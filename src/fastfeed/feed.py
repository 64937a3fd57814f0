"""BookFeed: the offline entry point — raw payloads through the live compiled path."""

from __future__ import annotations

from fastfeed._parse import scale_from_increment
from fastfeed._router import OfflineCore
from fastfeed.venues import Venue, get_venue

_INT64_MAX = (1 << 63) - 1


def instrument_scales(venue: str | Venue, tick_size: str,
                      step_size: str) -> tuple[int, int, int, int]:
    """``(price_decimals, size_decimals, price_tick, size_step)`` of a book on ``venue``.

    The one place a book's scales are chosen (``docs/venues.md#instrument-scales``): each
    scale is the venue's ``value_decimals`` (Binance: 8) or the increment's own decimals,
    whichever is finer (venues without ``value_decimals``: the increment's); the tick and
    step are then counts of units at that scale. Binance ``"0.01"`` → 8 decimals, tick
    ``1_000_000``; Coinbase ``"0.01"`` → 2 decimals, tick 1; ``"0.5"`` → 1 decimal, tick 5.
    Raises ``ValueError`` for an unusable increment (zero, malformed, finer than 18
    decimals, or too large for int64 at the scale).
    """
    spec = get_venue(venue) if isinstance(venue, str) else venue
    out: list[int] = []
    for increment in (tick_size, step_size):
        decimals, units = scale_from_increment(increment)
        scale = decimals if spec.value_decimals is None else max(decimals, spec.value_decimals)
        unit_count = units * 10 ** (scale - decimals)
        if unit_count > _INT64_MAX:
            raise ValueError(f"increment {increment!r} does not fit a 64-bit integer at "
                             f"{scale} decimals")
        out += (scale, unit_count)
    price_decimals, price_tick, size_decimals, size_step = out
    return price_decimals, size_decimals, price_tick, size_step


class BookFeed(OfflineCore):
    """One book fed by hand: the same decode → sequence → apply path the engine runs.

    ``tick_size``/``step_size`` are the instrument's increments as decimal strings
    (Binance ``tickSize``/``stepSize``, Coinbase ``quote_increment``/``base_increment``);
    the book's scales come from :func:`instrument_scales` (Binance books count
    ``10**-8`` units, so levels off the tick/step grid stay exact: ``off_grid_levels``).
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
        scales = instrument_scales(venue, tick_size, step_size)    # unknown venue: ValueError
        super().__init__(venue, symbol, *scales, strict=strict, book_latency=book_latency)
        self.tick_size = tick_size
        self.step_size = step_size
