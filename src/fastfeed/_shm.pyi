"""Stub for the compiled shared-memory segment (layout: docs/shm.md)."""

from typing import Any, final

import numpy as np
import numpy.typing as npt

from fastfeed._book import L2Book
from fastfeed._core import BookCore
from fastfeed._quotes import BboCore
from fastfeed._trades import TradeCore

MAX_CAPACITY: int
MAX_DEPTH: int
VENUE_LEN: int
SYMBOL_LEN: int
FLAG_CLOSED: int
TRADES: int
SHM_TRADE_DTYPE: np.dtype[Any]

class SegmentFull(RuntimeError):
    """Every directory entry of the segment is taken (its capacity is fixed at creation)."""

class SlotBusy(RuntimeError):
    """A slot stayed mid-write (same odd seq) for 1 s: its publisher died writing it."""

class NotASegment(ValueError):
    """The mapped file is not a fastfeed segment of a layout version this code reads."""

def segment_size(capacity: int, depth: int) -> int:
    """Bytes of a segment with ``capacity`` books of ``depth`` levels a side."""

def layout() -> dict[str, int]:
    """The layout constants of ``ff_shm.h`` (for tests and tools)."""

@final
class SegmentWriter:
    """A segment mapped read-write by its (single) publisher."""

    @property
    def size(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def depth(self) -> int: ...
    def __init__(self, fd: int, capacity: int, depth: int, generation: int,
                 pid: int) -> None: ...
    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
    @property
    def n_books(self) -> int:
        """Directory entries in use."""
    def slot_of(self, venue: str, symbol: str) -> int:
        """The slot of ``(venue, symbol)``, taking a new directory entry the first time."""
    def attach(self, core: BookCore) -> int:
        """Publish ``core`` into its slot from now on (returns the slot index)."""
    def detach(self, core: BookCore) -> None:
        """Stop publishing ``core``."""
    def attach_bbo(self, core: BboCore) -> int:
        """Publish the BBO stream ``core`` into its instrument's market block."""
    def detach_bbo(self, core: BboCore) -> None:
        """Stop publishing the BBO stream ``core``."""
    def attach_trades(self, core: TradeCore) -> int:
        """Publish the trade stream ``core`` into its instrument's market block."""
    def detach_trades(self, core: TradeCore) -> None:
        """Stop publishing the trade stream ``core``."""
    def heartbeat(self) -> None:
        """Refresh the header's heartbeat."""
    def close(self) -> None:
        """Detach every core, mark the segment closed and unmap it. Idempotent."""
    def _hammer(self, slot: int, n: int, first_id: int = 0, interval_ns: int = 0,
                stamp: bool = False) -> int: ...
    def _bench_publish(self, book: L2Book, slot: int, n: int) -> float: ...

@final
class Snapshot:
    """One consistent copy of a published book."""

    @property
    def venue(self) -> Any: ...
    @property
    def symbol(self) -> Any: ...
    @property
    def bids_int(self) -> npt.NDArray[np.int64]: ...
    @property
    def asks_int(self) -> npt.NDArray[np.int64]: ...
    @property
    def price_decimals(self) -> int: ...
    @property
    def size_decimals(self) -> int: ...
    @property
    def state_code(self) -> int: ...
    @property
    def update_id(self) -> int: ...
    @property
    def exchange_ts_ns(self) -> int: ...
    @property
    def recv_ts_ns(self) -> int: ...
    @property
    def updates(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def checksum(self) -> int: ...
    @property
    def bids(self) -> npt.NDArray[np.float64]:
        """Bid levels ``[price, size]`` as float64, best (highest) first."""
    @property
    def asks(self) -> npt.NDArray[np.float64]:
        """Ask levels ``[price, size]`` as float64, best (lowest) first."""
    @property
    def state(self) -> str:
        """``syncing`` | ``live`` | ``gap`` | ``stale`` | ``closed``."""
    @property
    def is_live(self) -> bool:
        """True when the publisher's book was exact (``live``) at this copy."""
    def best_bid(self) -> tuple[float, float] | None:
        """``(price, size)`` of the best bid as floats, or None."""
    def best_ask(self) -> tuple[float, float] | None:
        """``(price, size)`` of the best ask as floats, or None."""

@final
class SegmentView:
    """A segment mapped read-only."""

    _recheck: bool
    @property
    def size(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def depth(self) -> int: ...
    @property
    def generation(self) -> int: ...
    @property
    def pid(self) -> int: ...
    @property
    def created_ns(self) -> int: ...
    def __init__(self, fd: int, size: int) -> None: ...
    def close(self) -> None:
        """Unmap (idempotent)."""
    @property
    def heartbeat_ns(self) -> int:
        """The publisher's last heartbeat, CLOCK_REALTIME ns."""
    @property
    def flags(self) -> int:
        """Header flags."""
    @property
    def n_books(self) -> int:
        """Directory entries in use."""
    def entries(self, start: int = 0) -> list[tuple[str, str, int]]:
        """Directory entries ``start..n_books`` as ``(venue, symbol, slot)``."""
    def updates(self, slot: int) -> int:
        """The slot's publish counter."""
    def read(self, slot: int, venue: object = None, symbol: object = None) -> Snapshot:
        """A consistent copy of ``slot``."""
    def read_market(self, slot: int, venue: object = None, symbol: object = None) -> Market:
        """A consistent copy of ``slot``'s market block."""
    def _check_reads(self, slot: int, n: int, max_ns: int = 0) -> dict[str, int]: ...
    def _visible_latency(self, slot: int, n: int,
                         timeout_ns: int) -> npt.NDArray[np.int64]: ...
    def _bench_read(self, slot: int, n: int) -> float: ...

@final
class Market:
    """One consistent copy of an instrument's market block (BBO and newest trades)."""

    @property
    def venue(self) -> Any: ...
    @property
    def symbol(self) -> Any: ...
    @property
    def price_decimals(self) -> int: ...
    @property
    def size_decimals(self) -> int: ...
    @property
    def bid_px(self) -> int: ...
    @property
    def bid_sz(self) -> int: ...
    @property
    def ask_px(self) -> int: ...
    @property
    def ask_sz(self) -> int: ...
    @property
    def bbo_update_id(self) -> int: ...
    @property
    def bbo_exchange_ns(self) -> int: ...
    @property
    def bbo_recv_ns(self) -> int: ...
    @property
    def bbo_updates(self) -> int: ...
    @property
    def trades_total(self) -> int: ...
    @property
    def trade_state_code(self) -> int: ...
    @property
    def trades(self) -> npt.NDArray[Any]: ...
    @property
    def seq(self) -> int: ...
    @property
    def trade_state(self) -> str:
        """The trade stream's state name."""
