"""Trade streams: ``TradeFeed`` (offline: raw payloads pushed by hand through the compiled
path) and ``LiveTrades`` (kept by an ``Engine`` on its connections).

``TRADE_DTYPE`` is the numpy layout of one recorded trade (``trades()``). The decoding,
id and state rules are in ``docs/venues.md`` ("Trades").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastfeed._trades import DEFAULT_CAPACITY, TRADE_DTYPE, OfflineTradeCore, TradeCore
from fastfeed.feed import instrument_scales
from fastfeed.venues import Instrument, get_venue

if TYPE_CHECKING:
    from fastfeed.recorder import Recorder

__all__ = ["DEFAULT_CAPACITY", "TRADE_DTYPE", "LiveTrades", "TradeFeed", "TradesCallback"]

#: ``callback(stream)`` after each message that recorded trades
TradesCallback = Callable[["LiveTrades"], Any]


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


class LiveTrades(TradeCore):
    """A trade stream kept by an :class:`~fastfeed.Engine` (``engine.subscribe_trades``).

    The same compiled core as ``TradeFeed``, fed by the connection's router: the trades
    are in a ring buffer in C memory (``capacity`` of them; ``trades(since=...)`` copies
    them out as ``TRADE_DTYPE``, ``recorded`` counts them all, so ``trades(since=n)``
    reads only what arrived after the n-th). ``state``: ``syncing`` until its
    subscription is sent, then ``live``; ``gap`` while losses are held (``missing``: their id ranges, ``clear_gaps()`` once handled); ``stale``
    while the connection is down; ``closed``. ``channel`` is the venue's trade stream
    (``aggTrade``, ``trade``, ``market_trades``, ``matches``).
    """

    __slots__ = ("connection", "instrument", "last_error", "recorder")
    #: the kind of its declaration in a recording (docs/recording.md)
    record_kind = "trades"

    def __init__(self, venue: str, symbol: str, instrument: Instrument, stream: str,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        #: Engine(record=): every operation on the stream is recorded
        self.recorder: Recorder | None = None
        super().__init__(venue, symbol, *instrument_scales(venue, instrument.tick_size,
                                                           instrument.step_size),
                         stream=stream, capacity=capacity, strict=False)
        self.instrument = instrument
        self.connection: Any = None
        self.last_error: str | None = None
        self.start_sync()       # live once its subscription is sent

    @property
    def channel(self) -> str:
        """The venue's trade stream this handle records (its subscription channel)."""
        return str(self.stream)

    def declaration(self) -> dict[str, Any]:
        """What a replay needs to build the same stream (docs/recording.md, DECLARE)."""
        return {"venue": self.venue, "symbol": self.symbol,
                "tick_size": self.instrument.tick_size, "step_size": self.instrument.step_size,
                "price_decimals": self.price_decimals, "size_decimals": self.size_decimals,
                "stream": self.channel, "capacity": self.capacity}

    def _record(self, op: str, body: bytes = b"") -> None:
        if self.recorder is not None:
            self.recorder.op(op, self, body=body)

    def start_sync(self) -> None:
        """``TradeCore.start_sync``, recorded."""
        self._record("start_sync")
        super().start_sync()

    def resume(self) -> None:
        """``TradeCore.resume``, recorded."""
        self._record("resume")
        super().resume()

    def mark_stale(self) -> None:
        """``TradeCore.mark_stale``, recorded."""
        self._record("mark_stale")
        super().mark_stale()

    def backfill(self, body: Any) -> int:
        """``TradeCore.backfill``, recorded with its REST body."""
        self._record("backfill", bytes(body))
        n: int = super().backfill(body)
        return n

    def clear_gaps(self) -> list[tuple[int, int]]:
        """``TradeCore.clear_gaps``, recorded."""
        self._record("clear_gaps")
        out: list[tuple[int, int]] = super().clear_gaps()
        return out

    def close(self) -> None:
        """``TradeCore.close``, recorded."""
        self._record("close")
        super().close()

    def __repr__(self) -> str:
        return (f"<LiveTrades {self.venue}:{self.symbol} {self.channel} {self.state} "
                f"{self.recorded} trades>")
