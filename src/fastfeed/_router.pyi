"""Stub for the compiled router shared by BookFeed and the live listener."""

from collections.abc import Iterable
from typing import Any

from typing_extensions import disjoint_base

from fastfeed._core import BookCore

@disjoint_base
class Router:
    """Routes one venue connection's payloads to its books."""

    venue: str
    max_message_bytes: int
    messages: int
    decode_errors: int
    unknown_symbol: int
    oversized: int
    control_messages: int
    sequence_gaps: int
    unrouted: int
    read_queue: list[Any]
    last_error: str | None
    def __init__(self, venue: str, owner: Any = None, cores: Iterable[BookCore] = (),
                 max_message_bytes: int = ...) -> None: ...
    def set_cores(self, cores: list[Any]) -> None:
        """Route depth and snapshot messages to these books (replaces the table)."""
    def set_channel_cores(self, cores: list[Any]) -> None:
        """Route every non-book channel to these cores (replaces the tables)."""
    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh."""
    def route_payload(self, payload: bytes | bytearray | memoryview, t_recv: int = -1) -> int:
        """Route one payload from Python; level changes applied."""
    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen (-1 if none)."""
    @property
    def rejects(self) -> dict[str, int]:
        """Payloads refused at the connection level, by reason."""
    def memory(self) -> dict[str, int]:
        """Bytes this router holds: scratch (decode batch) and objects."""
    def counters(self) -> dict[str, int]:
        """Connection-level counters."""

@disjoint_base
class OfflineCore(BookCore):
    """A book with its own one-book router: payloads pushed by hand (BookFeed)."""

    router: Router
    def __init__(self, venue: str, symbol: str, price_decimals: int, size_decimals: int,
                 price_tick: int = 1, size_step: int = 1, strict: bool = True,
                 book_latency: str = "coarse") -> None: ...
    def memory(self) -> dict[str, int]:
        """BookCore.memory() plus this book's own router."""
    def apply_message(self, payload: bytes | bytearray | memoryview) -> int:
        """Push one WebSocket payload through the compiled path; level changes applied."""
    def apply_read(self, payloads: Iterable[bytes | bytearray | memoryview]) -> int:
        """Push payloads that arrived in one socket read; level changes applied."""
    def on_router_reject(self, text: str, head: bytes) -> None:
        """An unusable payload: this book's last_reject; raises when strict."""
    def on_router_control(self, payload: bytes, is_error: bool) -> None:
        """A venue error message is a reject; acks are only counted."""
    def on_router_connection_gap(self, reason: str) -> None:
        """Nothing to add: the router has already marked this book."""
    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen by this feed (Coinbase AT)."""
