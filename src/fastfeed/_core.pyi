"""Stub for the compiled per-book core shared by BookFeed and the live engine."""

from collections.abc import Callable, Iterable
from typing import Any

from typing_extensions import disjoint_base

from fastfeed._book import L2Book
from fastfeed._hist import LatencyHistogram
from fastfeed._parse import DecodeFailed
from fastfeed._sync import Sequencer
from fastfeed.latency import LatencySet

DEFAULT_MAX_BUFFER_MESSAGES: int
DEFAULT_MAX_BUFFER_BYTES: int
BOOK_MEMORY_BOUND: int

class DecodeRejected(DecodeFailed):
    """A payload was refused: malformed, mistyped, off-scale or otherwise unusable."""

def monotonic_time_ns() -> int:
    """The clock the hot path stamps frames with (CLOCK_MONOTONIC, ns)."""

@disjoint_base
class BookCore:
    """One book: int64 L2 book, sequencer, counters, latency histograms, sync buffer."""

    venue: str
    symbol: str
    book: L2Book
    seq: Sequencer
    strict: bool
    buffer_bytes: int
    max_buffer_messages: int
    max_buffer_bytes: int
    messages: int
    level_changes: int
    gaps: int
    resyncs: int
    old_messages: int
    buffered_messages: int
    crossed_events: int
    callback_errors: int
    off_grid_levels: int
    off_grid_snapshot_levels: int
    depth_limit: int
    checksum_levels: int
    checksum_mismatches: int
    unchained_messages: int
    last_event_time_ns: int
    last_recv_ns: int
    last_applied_ns: int
    gap_started_ns: int
    book_latency: str
    latency: LatencySet | None
    recv_to_apply: LatencyHistogram | None
    recv_to_publish: LatencyHistogram | None
    exchange_to_recv: LatencyHistogram | None
    resync_duration: LatencyHistogram | None
    callback: Callable[[Any], Any] | None
    callback_per_read: bool
    last_reject: str | None
    last_gap_reason: str | None

    def __init__(self, venue: str, symbol: str, price_decimals: int, size_decimals: int,
                 price_tick: int = 1, size_step: int = 1, strict: bool = True,
                 book_latency: str = "coarse") -> None: ...
    def _attach(self, owner: Any) -> None:
        """Engine wiring: owner.on_book_gap/_reject/_buffered/_live(core, ...)."""
    def _attach_latency(self, latency: LatencySet | None) -> None:
        """Engine wiring: also record every sample into ``latency`` (the connection's)."""
    def memory(self) -> dict[str, int]:
        """Bytes this book holds, by part, with total and beyond_levels."""
    def apply_snapshot(self, body: bytes | bytearray | memoryview) -> str:
        """Load a REST snapshot and replay buffered events: live, too_old or gap."""
    def gaps_on_connection(self, reason: str) -> None:
        """The connection lost messages: this book can no longer be trusted."""
    def start_tap(self) -> None:
        """Keep a copy of every payload applied from now on (for an audit)."""
    def take_tap(self) -> list[bytes] | None:
        """Payloads applied since the tap opened or was last taken; None if closed."""
    def stop_tap(self) -> None:
        """Close the tap and drop what it holds."""
    def set_checksum_precisions(self, price_precision: int, qty_precision: int) -> None:
        """The fixed decimals the book checksum formats with (Kraken)."""
    def checksum(self) -> int:
        """The book's current checksum (CRC32, unsigned)."""
    def replace_levels(self, bids: Iterable[tuple[int, int]],
                       asks: Iterable[tuple[int, int]]) -> None:
        """Replace the book's levels without touching its state (audit healing)."""
    def start_sync(self, state: str = "syncing") -> None:
        """Begin (re)synchronising: buffer live events until a snapshot is loaded."""
    def mark_stale(self, reason: str) -> None:
        """Freeze and stop trusting the book (connection lost or silent)."""
    def close(self) -> None:
        """Stop applying anything to this book."""
    @property
    def price_decimals(self) -> int:
        """The price scale: a price is ticks / 10**price_decimals."""
    @property
    def size_decimals(self) -> int:
        """The size scale: a size is lots / 10**size_decimals."""
    @property
    def absent_deletes(self) -> int:
        """Deletes of prices the book did not hold (normal no-ops, counted)."""
    @property
    def price_tick(self) -> int:
        """The instrument's tick size in units of 10**-price_decimals."""
    @property
    def size_step(self) -> int:
        """The instrument's step size in units of 10**-size_decimals."""
    @property
    def state(self) -> str:
        """syncing | live | gap | stale | closed."""
    @property
    def is_live(self) -> bool:
        """True when the book is exact as of ``last_update_id``."""
    @property
    def last_update_id(self) -> int:
        """The venue update id the book reflects."""
    @property
    def buffered(self) -> int:
        """Messages held for replay after the next snapshot."""
    @property
    def rejects(self) -> dict[str, int]:
        """Rejected messages by reason."""
    @property
    def rejected(self) -> int:
        """Total rejected messages."""
    def counters(self) -> dict[str, Any]:
        """All counters as a plain dict."""
