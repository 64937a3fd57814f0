"""Stub for the compiled best bid/offer and ticker cores (BboFeed, TickerFeed, later live)."""

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from typing_extensions import disjoint_base

#: BBO records a ring holds unless told otherwise
DEFAULT_CAPACITY: int
#: ticker records a ring holds unless told otherwise
DEFAULT_TICKER_CAPACITY: int
#: a value the venue does not give
QUOTE_MISSING: int
#: ticker decimal fields by TickerText code
TICKER_TEXTS: tuple[str, ...]
#: the numpy layout of one BBO record (the C ``BboRecord``)
BBO_DTYPE: np.dtype[Any]
#: the numpy layout of one ticker record (the C ``TickerRecord``)
TICKER_DTYPE: np.dtype[Any]

class Bbo(NamedTuple):
    """The latest BBO, exact ints."""

    bid_price: int
    bid_size: int
    ask_price: int
    ask_size: int
    update_id: int
    exchange_ns: int
    recv_ns: int

class Ticker(NamedTuple):
    """The latest ticker, exact ints (the TICKER_DTYPE fields)."""

    recv_ns: int
    exchange_ns: int
    update_id: int
    open_ns: int
    close_ns: int
    last_price: int
    last_size: int
    open: int
    high: int
    low: int
    change: int
    volume: int
    quote_volume: int
    first_trade_id: int
    last_trade_id: int
    trade_count: int
    volume_decimals: int
    quote_volume_decimals: int

def decode_quotes(venue: str, payload: bytes | bytearray | memoryview, channel: str,
                  price_decimals: int, size_decimals: int, price_tick: int = 1,
                  size_step: int = 1) -> dict[str, Any]:
    """Decode one payload through the venue's BBO or ticker decoder and convert it."""

@disjoint_base
class QuoteCore:
    """What a BBO and a ticker stream share."""

    venue: str
    symbol: str
    price_decimals: int
    size_decimals: int
    price_tick: int
    size_step: int
    strict: bool
    capacity: int
    recorded: int
    overwritten: int
    messages: int
    stale: int
    off_grid: int
    connection_gaps: int
    callback_errors: int
    last_update_id: int
    last_exchange_ns: int
    last_recv_ns: int
    last_reject: str | None
    last_gap_reason: str | None
    sequence_gaps: int
    unknown_symbol: int
    callback: Callable[[Any], Any] | None
    callback_per_read: bool

    def _setup(self, venue: str, symbol: str, price_decimals: int, size_decimals: int,
               price_tick: int, size_step: int, capacity: int, strict: bool,
               offline: bool, channel: str) -> None: ...
    def apply_message(self, payload: bytes | bytearray | memoryview) -> int:
        """Push one WebSocket payload through the compiled path; records made."""
    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh."""
    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen (-1 if none)."""
    def _attach(self, owner: Any) -> None:
        """Engine wiring: owner.on_quotes_gap / on_quotes_reject(core, ...)."""
    def _records(self, since: int | None) -> np.ndarray[Any, Any]: ...
    def close(self) -> None:
        """Stop recording."""
    @property
    def state(self) -> str:
        """live | closed."""
    @property
    def held(self) -> int:
        """Records in the ring now."""
    @property
    def rejects(self) -> dict[str, int]:
        """Rejected inputs by reason."""
    @property
    def rejected(self) -> int:
        """Total rejected inputs."""
    def counters(self) -> dict[str, Any]:
        """All counters as a plain dict."""

@disjoint_base
class BboCore(QuoteCore):
    """One best bid/offer stream: a ring of BBO_DTYPE records and the latest BBO."""
    def follow_book(self, book: Any) -> None:
        """Record ``book``'s top from now on (while it is live, when it changed)."""
    def unfollow_book(self, book: Any) -> None:
        """Stop following ``book``."""

    def __init__(self, venue: str, symbol: str, price_decimals: int, size_decimals: int,
                 price_tick: int = 1, size_step: int = 1, *, capacity: int = ...,
                 strict: bool = True, offline: bool = False) -> None: ...
    def _record_top(self, bid_price: int, bid_size: int, ask_price: int, ask_size: int,
                    update_id: int = -1, exchange_ns: int = 0) -> int:
        """Python entry to record_top (a book's top of book)."""
    def bbo(self) -> Bbo | None:
        """The latest BBO, or None before the first."""
    def updates(self, since: int | None = None) -> np.ndarray[Any, Any]:
        """The BBO records held, oldest first (BBO_DTYPE)."""
    @property
    def bid_price(self) -> int | None:
        """Latest best bid price in ticks."""
    @property
    def bid_size(self) -> int | None:
        """Latest best bid size in lots."""
    @property
    def ask_price(self) -> int | None:
        """Latest best ask price in ticks."""
    @property
    def ask_size(self) -> int | None:
        """Latest best ask size in lots."""

@disjoint_base
class TickerCore(QuoteCore):
    """One 24 h ticker stream: a ring of TICKER_DTYPE records and the latest ticker."""

    def __init__(self, venue: str, symbol: str, price_decimals: int, size_decimals: int,
                 price_tick: int = 1, size_step: int = 1, *, capacity: int = ...,
                 strict: bool = True, offline: bool = False) -> None: ...
    @property
    def merges_deltas(self) -> bool:
        """The venue sends ticker deltas (Venue.ticker_deltas): merged into the last."""
    @property
    def unmerged(self) -> int:
        """Deltas not applied: no snapshot to merge them into."""
    @property
    def has_snapshot(self) -> bool:
        """A delta-merging stream holds a snapshot to merge deltas into."""
    def drop_snapshot(self, reason: str = ...) -> None:
        """Forget the merged state: deltas wait for the next snapshot."""
    def ticker(self) -> Ticker | None:
        """The latest ticker, or None before the first."""
    def tickers(self, since: int | None = None) -> np.ndarray[Any, Any]:
        """The ticker records held, oldest first (TICKER_DTYPE)."""
