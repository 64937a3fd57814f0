"""What a live channel stream (best bid/offer, ticker, candles) adds to its compiled
core: its subscription's state, kept in Python (the cores have no sync protocol: every
message is whole). ``LiveTrades`` keeps the same states in its compiled core.

States (docs/venues.md, "Live channel streams"): ``syncing`` until the subscription is
sent, ``live``, ``stale`` while the connection is down, ``closed``.
"""

from __future__ import annotations

from typing import Any


class Subscribed:
    """Mixin for a compiled channel core kept by an :class:`~fastfeed.Engine`: its
    ``channel`` (the venue's subscription name), ``connection``, ``instrument``,
    ``last_error`` and the subscription state (``state``)."""

    # the attributes live in each subclass's __slots__ (a mixin with slots of its own
    # would clash with the compiled base's layout)
    __slots__ = ()
    _channel: str
    _link: str
    connection: Any
    instrument: Any
    last_error: str | None
    recorder: Any
    capacity: int
    venue: str
    symbol: str

    def _init_subscription(self, channel: str, instrument: Any) -> None:
        self._channel = channel  # type: ignore[misc]
        self._link = "syncing"  # type: ignore[misc]
        self.connection: Any = None  # type: ignore[misc]
        self.instrument = instrument  # type: ignore[misc]
        self.last_error: str | None = None  # type: ignore[misc]
        self.recorder: Any = None  # type: ignore[misc]   # Engine(record=) sets it

    def declaration(self) -> dict[str, Any]:
        """What a replay needs to build the same stream (docs/recording.md, DECLARE)."""
        out = {"venue": self.venue, "symbol": self.symbol,
               "tick_size": self.instrument.tick_size, "step_size": self.instrument.step_size,
               "channel": self._channel, "capacity": self.capacity}
        interval = getattr(self, "interval", None)
        if interval is not None:
            out["interval"] = interval
        return out

    @property
    def channel(self) -> str:
        """The venue's channel this stream is subscribed to (``bookTicker``, ``ticker``,
        ``kline_1m``, ``candles``, ...)."""
        return self._channel

    @property
    def state(self) -> str:
        """``syncing`` (not subscribed yet) | ``live`` | ``stale`` (connection down) |
        ``closed``."""
        return "closed" if super().state == "closed" else self._link  # type: ignore[misc]

    def start_sync(self) -> None:
        """Not subscribed yet (``syncing``)."""
        self._link = "syncing"  # type: ignore[misc]

    def resume(self) -> None:
        """Subscribed (again): ``live``."""
        self._link = "live"  # type: ignore[misc]

    def mark_stale(self) -> None:
        """The connection is down: ``stale`` until resubscribed."""
        if self._link == "live":
            self._link = "stale"  # type: ignore[misc]
