"""Stub for the compiled candle cores (venue candles and candles from trades)."""

from collections.abc import Callable
from typing import Any

import numpy as np
from typing_extensions import disjoint_base

#: closed candles a ring holds unless told otherwise
DEFAULT_CAPACITY: int
#: offset of weekly buckets from the epoch (Mondays 00:00 UTC)
WEEK_OFFSET_NS: int
#: the numpy layout of one candle (the C ``CandleRecord``)
CANDLE_DTYPE: np.dtype[Any]

def parse_interval(interval: str | int) -> tuple[int, int]:
    """(interval_ns, offset_ns) of a local candle interval name or ns."""

def quote_volume(candles: Any) -> Any:
    """Exact quote volume(s) of CANDLE_DTYPE record(s) as int(s); -1 where none."""

@disjoint_base
class _CandleSeries:
    """A ring of closed candles and the open candle."""

    capacity: int
    last_closed_open_ns: int
    closed_count: int
    overwritten: int
    price_decimals: int
    size_decimals: int
    callback: Callable[[Any], Any] | None
    callback_per_read: bool
    callback_errors: int
    def candles(self, since: int | None = None) -> np.ndarray[Any, Any]:
        """The closed candles held, oldest first (CANDLE_DTYPE)."""
    def current(self) -> np.ndarray[Any, Any] | None:
        """The open candle as a one-element array, or None."""
    @property
    def held(self) -> int:
        """Closed candles in the ring now."""
    @property
    def quote_decimals(self) -> int:
        """The quote volume's scale."""

@disjoint_base
class CandleCore(_CandleSeries):
    """One venue candle stream."""

    venue: str
    symbol: str
    interval: str
    strict: bool
    closed_stream: bool
    messages: int
    updates: int
    unconfirmed: int
    stale: int
    duplicates: int
    other_interval: int
    gaps: int
    last_reject: str | None
    last_gap_reason: str | None
    def __init__(self, venue: str, symbol: str, interval: str, price_decimals: int,
                 size_decimals: int, *, capacity: int = ..., strict: bool = True) -> None: ...
    def _attach(self, owner: Any) -> None:
        """Engine wiring: owner.on_candles_gap / on_candles_reject(core, ...)."""
    def close(self) -> None:
        """Stop recording."""
    @property
    def state(self) -> str:
        """live | closed."""
    @property
    def rejects(self) -> dict[str, int]:
        """Rejected inputs by reason."""
    @property
    def rejected(self) -> int:
        """Total rejected inputs."""
    def counters(self) -> dict[str, Any]:
        """All counters as a plain dict."""

@disjoint_base
class OfflineCandleCore(CandleCore):
    """A venue candle stream with its own decode step (CandleFeed)."""

    sequence_gaps: int
    unknown_symbol: int
    def apply_message(self, payload: bytes | bytearray | memoryview) -> int:
        """Push one WebSocket payload through the compiled path; updates applied."""
    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh."""

@disjoint_base
class LocalCandleCore(_CandleSeries):
    """Candles of a fixed interval built from trades by exchange time."""

    interval_ns: int
    offset_ns: int
    fill_empty: bool
    added: int
    late: int
    out_of_order: int
    empty_filled: int
    overflows: int
    def __init__(self, interval: str | int, price_decimals: int, size_decimals: int, *,
                 capacity: int = ..., fill_empty: bool = False) -> None: ...
    def attach(self, trades: Any) -> None:
        """Aggregate every trade a TradeCore records from now on (its hot-path hook)."""
    @staticmethod
    def detach(trades: Any) -> None:
        """Stop the per-trade hook of a TradeCore."""
    def add_trades(self, trades: np.ndarray[Any, Any]) -> int:
        """Aggregate a TRADE_DTYPE array; the trades added."""
    def add_trade(self, exchange_ns: int, price: int, size: int, trade_id: int = -1,
                  recv_ns: int = 0) -> None:
        """Aggregate one trade."""
    def advance(self, exchange_ns: int) -> int:
        """Close the open candle if exchange time passed its end; candles closed."""
    def counters(self) -> dict[str, Any]:
        """All counters as a plain dict."""
