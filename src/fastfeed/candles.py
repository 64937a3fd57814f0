"""Candles offline: venue candles (``CandleFeed``) and candles built from trades
(``LocalCandles``), exact ints, and ``cross_check`` between the two.

``CANDLE_DTYPE`` is the numpy layout of one candle (``candles()``, ``current()``). The
rules (closing, empty intervals, late trades, the quote volume's 128-bit representation)
are in ``docs/venues.md`` ("Candles").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastfeed._candles import (
    CANDLE_DTYPE,
    DEFAULT_CAPACITY,
    CandleCore,
    LocalCandleCore,
    OfflineCandleCore,
    parse_interval,
    quote_volume,
)
from fastfeed.feed import instrument_scales
from fastfeed.subscription import Subscribed
from fastfeed.venues import Instrument, get_venue

__all__ = ["CANDLE_DTYPE", "CandleFeed", "LiveCandles", "LocalCandles", "cross_check", "parse_interval",
           "quote_volume"]

#: The fields ``cross_check`` compares unless told otherwise: those a local candle built
#: from any trade stream must share with the venue's (trade counts and ids depend on
#: which trade stream fed the local candles: Binance ``k.n``/``f``/``L`` count ``@trade``
#: trades, not ``@aggTrade`` ones).
CROSS_CHECK_FIELDS = ("open", "high", "low", "close", "volume")
_FIELDS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "first_id",
           "last_id")


class CandleFeed(OfflineCandleCore):
    """One venue candle stream fed by hand: the compiled decode → convert → candle path.

    ``interval`` is one of the venue's (``Venue.candle_intervals``; None: ``"1m"``, or the
    venue's only one: Coinbase Advanced Trade's ``"5m"``). ``tick_size``/``step_size`` as
    for ``BookFeed`` (the same scale rule: ``price_decimals``, ``size_decimals``; the quote
    volume counts ``10**-(price_decimals + size_decimals)``). ``capacity`` bounds the ring
    of closed candles. With ``strict`` (default) a rejected payload raises
    ``DecodeRejected`` after being counted.

    ``apply_message(payload)`` returns the candle updates applied from one WebSocket
    payload; ``candles()`` the closed candles oldest first, ``current()`` the open one.
    """

    __slots__ = ("step_size", "tick_size")

    def __init__(self, venue: str, symbol: str, interval: str | None = None, *,
                 tick_size: str, step_size: str, capacity: int = DEFAULT_CAPACITY,
                 strict: bool = True) -> None:
        spec = get_venue(venue)
        if interval is None:
            intervals = spec.candle_intervals
            interval = intervals[0] if len(intervals) == 1 else "1m"
        pd, sd, _tick, _step = instrument_scales(venue, tick_size, step_size)
        super().__init__(venue, symbol, interval, pd, sd, capacity=capacity, strict=strict)
        self.tick_size = tick_size
        self.step_size = step_size


class LocalCandles(LocalCandleCore):
    """Candles of any fixed ``interval`` (``"1s"``, ``"1m"``, ``"5m"``, ``"1h"``, ``"1d"``,
    ``"1w"``, or ns) built from trades by exchange time, at ``price_decimals`` /
    ``size_decimals`` (a ``TradeFeed``'s). ``add_trades(trades)`` aggregates a
    ``TRADE_DTYPE`` array; ``candles()`` returns the closed ones oldest first,
    ``current()`` the open one; ``advance(t)`` closes it once exchange time ``t`` passed
    its end. ``fill_empty`` emits flat empty candles for intervals without trades
    (default: no candle there)."""

    @classmethod
    def for_feed(cls, feed: Any, interval: str | int, **kwargs: Any) -> LocalCandles:
        """Local candles at the scales of a ``TradeFeed`` (or any object with
        ``price_decimals`` and ``size_decimals``)."""
        return cls(interval, feed.price_decimals, feed.size_decimals, **kwargs)


def _closed(x: Any) -> np.ndarray:
    arr = x.candles() if hasattr(x, "candles") else np.asarray(x)
    if arr.dtype != CANDLE_DTYPE:
        raise TypeError(f"expected CANDLE_DTYPE candles, got {arr.dtype}")
    return arr


def _value(rec: Any, field: str) -> int:
    if field == "quote_volume":
        return int(quote_volume(rec))
    return int(rec[field])


def cross_check(local: Any, venue: Any,
                fields: tuple[str, ...] = CROSS_CHECK_FIELDS) -> dict[str, Any]:
    """Compare local candles with venue candles over the intervals both cover, exactly.

    ``local`` and ``venue``: ``LocalCandles`` / ``CandleFeed`` (their closed candles) or
    ``CANDLE_DTYPE`` arrays, at the same scales. Candles are matched by ``open_ns`` (and
    must have the same ``close_ns``); only the span both cover is compared. A venue candle
    with no trades (``trades == 0``) needs no local one. Returns ``{"compared",
    "equal", "mismatches": [{"open_ns", "field", "local", "venue"}], "only_local",
    "only_venue", "empty_venue"}`` (``only_*``: ``open_ns`` of candles the other side
    lacks; ``empty_venue``: trade-less venue candles with no local counterpart).
    """
    for name in fields:
        if name not in _FIELDS:
            raise ValueError(f"unknown candle field {name!r} (expected one of "
                             f"{', '.join(_FIELDS)})")
    for attr in ("price_decimals", "size_decimals"):
        a, b = getattr(local, attr, None), getattr(venue, attr, None)
        if a is not None and b is not None and a != b:
            raise ValueError(f"local and venue candles have different {attr} ({a}, {b})")
    loc, ven = _closed(local), _closed(venue)
    out: dict[str, Any] = {"compared": 0, "equal": 0, "mismatches": [], "only_local": [],
                           "only_venue": [], "empty_venue": 0}
    if len(loc) == 0 or len(ven) == 0:
        return out
    lo = max(int(loc["open_ns"].min()), int(ven["open_ns"].min()))
    hi = min(int(loc["open_ns"].max()), int(ven["open_ns"].max()))
    by_open = {int(r["open_ns"]): r for r in loc if lo <= int(r["open_ns"]) <= hi}
    seen: set[int] = set()
    for v in ven:
        t = int(v["open_ns"])
        if not lo <= t <= hi:
            continue
        r = by_open.get(t)
        if r is None:
            if int(v["trades"]) == 0:
                out["empty_venue"] += 1
            else:
                out["only_venue"].append(t)
            continue
        seen.add(t)
        out["compared"] += 1
        diffs = [{"open_ns": t, "field": f, "local": _value(r, f), "venue": _value(v, f)}
                 for f in ("close_ns", *fields) if _value(r, f) != _value(v, f)]
        out["mismatches"] += diffs
        if not diffs:
            out["equal"] += 1
    out["only_local"] = sorted(t for t in by_open if t not in seen)
    return out


class LiveCandles(Subscribed, CandleCore):
    """A venue candle stream kept by an :class:`~fastfeed.Engine`
    (``engine.subscribe_candles``): the compiled ``CandleCore`` fed by the connection's
    router; ``candles()`` the closed ones, ``current()`` the open one."""

    __slots__ = ("_channel", "_link", "connection", "instrument", "last_error", "recorder")
    record_kind = "candles"     # its declaration's kind in a recording (docs/recording.md)

    def __init__(self, venue: str, symbol: str, instrument: Instrument, interval: str,
                 channel: str, capacity: int = DEFAULT_CAPACITY) -> None:
        pd, sd, _tick, _step = instrument_scales(venue, instrument.tick_size,
                                                 instrument.step_size)
        super().__init__(venue, symbol, interval, pd, sd, capacity=capacity, strict=False)
        self._init_subscription(channel, instrument)
