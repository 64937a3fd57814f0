"""Stub for the compiled trade-stream core shared by TradeFeed and (later) live streams."""

from collections.abc import Callable
from typing import Any

import numpy as np
from typing_extensions import disjoint_base

from fastfeed._sync import Sequencer

#: trades a ring holds unless told otherwise
DEFAULT_CAPACITY: int
#: missing id ranges kept per stream before the last one is widened
MAX_MISSING: int
#: id rules by the names ``Venue.trade_streams`` uses
ID_RULES: dict[str, int]
#: the numpy layout of one recorded trade (the C ``TradeRecord``)
TRADE_DTYPE: np.dtype[Any]

@disjoint_base
class TradeCore:
    """One trade stream: ring buffer of trades, the stream's id checks, counters, state."""

    venue: str
    symbol: str
    price_decimals: int
    size_decimals: int
    price_tick: int
    size_step: int
    strict: bool
    seq: Sequencer
    capacity: int
    recorded: int
    overwritten: int
    messages: int
    duplicates: int
    gaps: int
    id_jumps: int
    other_stream: int
    callback_errors: int
    last_trade_id: int
    last_exchange_ns: int
    last_recv_ns: int
    last_reject: str | None
    last_gap_reason: str | None
    callback: Callable[[Any], Any] | None
    callback_per_read: bool
    # REST backfill (docs/venues.md, "Backfill")
    backfilled: int
    #: trades recorded up to the fan-out publisher's last message (docs/fanout.md)
    fan_sent: int

    def __init__(self, venue: str, symbol: str, price_decimals: int, size_decimals: int,
                 price_tick: int = 1, size_step: int = 1, *, stream: str | None = None,
                 capacity: int = ..., strict: bool = True) -> None: ...
    def _attach(self, owner: Any) -> None:
        """Engine wiring: owner.on_trades_gap / on_trades_reject(core, ...)."""
    def trades(self, since: int | None = None) -> np.ndarray[Any, Any]:
        """The trades held, oldest first (TRADE_DTYPE); ``since``: recording index."""
    def backfill(self, body: bytes | bytearray | memoryview) -> int:
        """Record a REST trade body's trades that fill ``missing``; how many."""
    def clear_gaps(self) -> list[tuple[int, int]]:
        """Forget the missing id ranges and return them; the stream is live again."""
    def close(self) -> None:
        """Stop recording."""
    def start_sync(self) -> None:
        """Not subscribed yet (``syncing``)."""
    def mark_stale(self) -> None:
        """The connection carrying the stream is down (``stale``)."""
    def resume(self) -> None:
        """Subscribed again: ``live`` (``gap`` while losses are held)."""
    @property
    def stream(self) -> str | None:
        """The trade stream recorded; None until the first trade when not given."""
    @property
    def state(self) -> str:
        """live | gap | closed."""
    @property
    def held(self) -> int:
        """Trades in the ring now."""
    @property
    def missing(self) -> list[tuple[int, int]]:
        """Lost trade id ranges (first, last); (-1, -1) where unknown."""
    @property
    def rejects(self) -> dict[str, int]:
        """Rejected inputs by reason."""
    @property
    def rejected(self) -> int:
        """Total rejected inputs."""
    def counters(self) -> dict[str, Any]:
        """All counters as a plain dict."""

@disjoint_base
class OfflineTradeCore(TradeCore):
    """A trade stream with its own decode step: payloads pushed by hand (TradeFeed)."""

    sequence_gaps: int
    unknown_symbol: int
    def apply_message(self, payload: bytes | bytearray | memoryview) -> int:
        """Push one WebSocket payload through the compiled path; trades recorded."""
    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh."""
    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen (Coinbase AT sequence_num; -1 if none)."""
