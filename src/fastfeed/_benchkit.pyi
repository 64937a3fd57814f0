"""Stub for the compiled benchmark kit (timing loops and listeners; not the production path)."""

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from picows import WSListener
from typing_extensions import disjoint_base

from fastfeed._book import L2Book
from fastfeed._core import BookCore
from fastfeed._hist import LatencyHistogram
from fastfeed._listener import FeedListener
from fastfeed._quotes import QuoteCore
from fastfeed._record import RecordBuffer
from fastfeed._trades import OfflineTradeCore

def bench_apply_deltas(
    book: L2Book,
    sides: npt.ArrayLike,
    prices: npt.ArrayLike,
    sizes: npt.ArrayLike,
    counts: npt.ArrayLike | None = None,
) -> int:
    """Apply rows through the cdef ``apply_deltas`` (one call, or one per ``counts``
    entry); return elapsed ns."""

def bench_record(hist: LatencyHistogram, values: npt.NDArray[np.int64]) -> int:
    """Total ns to record every value in a nogil C loop."""

def bench_record_pair(
    book: LatencyHistogram | None, connection: LatencyHistogram | None,
    values: npt.NDArray[np.int64],
) -> int:
    """Total ns to record every value into a book's and a connection's histogram."""

def bench_baseline(values: npt.NDArray[np.int64]) -> int:
    """Total ns for the same loop with a volatile store instead of record."""

@disjoint_base
class CountingListener(WSListener):
    """The raw picows ceiling: counts frames and bytes, parses nothing."""

    frames: int
    bytes_received: int
    first_ns: int
    last_ns: int
    target: int
    done: Any
    def __init__(self, target: int = 0, done: Any = None) -> None: ...

@disjoint_base
class TimedFeedListener(FeedListener):
    """The production ``FeedListener`` plus a frame-count hook.

    When ``frames`` reaches ``frame_target``, ``target_ns`` is stamped before the frame is
    processed and ``owner.on_listener_target()`` is called after it.
    """

    frame_target: int
    target_ns: int
    def __init__(self, venue: str, owner: Any, cores: Iterable[BookCore] = (), *,
                 frame_target: int = 0) -> None: ...

def bench_parse_decimal(text: bytes, decimals: int, iterations: int) -> int:
    """Total ns for ``iterations`` parses (loop in C)."""

def bench_decode(venue: str, payload: bytes, iterations: int, price_decimals: int,
                 size_decimals: int, *, snapshot: bool = False, convert: bool = True) -> int:
    """Total ns for ``iterations`` decode+convert runs (``convert=False``: decode alone)."""

def bench_trades(core: OfflineTradeCore, payloads: list[bytes]) -> tuple[int, int]:
    """Route every payload once through a trade stream: (total ns, trades recorded)."""
def bench_quotes(core: QuoteCore, payloads: list[bytes]) -> tuple[int, int]:
    """Route every payload once through a BBO or ticker stream: (total ns, records made)."""

def bench_record_frames(buf: RecordBuffer, payloads: list[bytes], repeats: int) -> tuple[int, int]:
    """Append every payload ``repeats`` times with ``add_frame`` (the listener's work)."""
def bench_stamp_only(payloads: list[bytes], repeats: int) -> tuple[int, int]:
    """The same loop without ``add_frame``: the baseline."""
