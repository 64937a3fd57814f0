"""Compiled side of the fan-out publisher (docs/fanout.md): change logs, dirty list, encoder."""

from collections.abc import Callable
from typing import Any

from typing_extensions import disjoint_base

KIND_DELTA: int
KIND_SNAPSHOT: int
KIND_TRADES: int

@disjoint_base
class FanHub:
    """The change logs of the books one publisher sends, and their dirty list."""

    @property
    def max_delta_levels(self) -> int: ...
    on_wake: Callable[[], object] | None
    on_full: Callable[[int], object] | None
    @property
    def early_flushes(self) -> int: ...
    @property
    def overflows(self) -> int: ...
    @property
    def wakes(self) -> int: ...
    @property
    def lost_trades(self) -> int: ...
    @property
    def messages(self) -> int: ...
    @property
    def bytes_sent(self) -> int: ...
    @property
    def deltas(self) -> int: ...
    @property
    def snapshots(self) -> int: ...
    @property
    def trade_messages(self) -> int: ...
    @property
    def too_large(self) -> int: ...
    max_payload: int
    def __new__(cls, max_delta_levels: int = 1024) -> FanHub: ...
    def wake(self) -> None:
        """Called from the hot path when the hub arms (first change since a flush)."""
    def flush_full(self, core: Any) -> None:
        """Called from the hot path when ``core``'s log cannot take its next changes."""
    def drain_one(self, slot: int, publish: Callable[[int, int, bytes], bool]) -> int:
        """Send the book in ``slot`` now; the messages published."""
    def drain_one_framed(self, slot: int) -> int:
        """``drain_one`` into the framed buffer."""
    def next_epoch(self) -> int:
        """A new epoch (wall-clock ns, or one more than the last)."""
    def attach(self, core: Any) -> int:
        """Publish ``core`` from now on; its slot."""
    def attach_trades(self, core: Any) -> int:
        """Publish the trade stream ``core`` from now on; its slot."""
    def detach(self, core: Any) -> None:
        """Stop publishing ``core`` (a book or a trade stream)."""
    def core(self, slot: int) -> Any:
        """The book in ``slot`` (None: free)."""
    @property
    def books(self) -> int: ...
    @property
    def dirty(self) -> int: ...
    @property
    def armed(self) -> bool: ...
    def touch_all(self, new_epoch: bool) -> bool:
        """Mark every book for a snapshot; True if the hub armed."""
    def request_snapshots(self, start: int, count: int) -> tuple[int, bool]:
        """Mark up to ``count`` books from ``start`` for a periodic snapshot."""
    def drain(self, publish: Callable[[int, int, bytes], bool]) -> int:
        """Turn every dirty book into its message(s); the number published."""
    def drain_framed(self) -> int:
        """Every dirty book's message(s), framed as NATS ``PUB``s into one buffer."""
    def take_framed(self) -> bytes:
        """The framed messages since the last call, as one bytes object."""
    @property
    def framed_bytes(self) -> int: ...
    def take_events(self) -> list[tuple[Any, ...]]:
        """State changes and skipped messages noticed by the framed drains."""
    def set_subjects(self, slot: int, delta_subject: bytes, snapshot_subject: bytes) -> None:
        """The NATS subjects ``drain_framed`` publishes the book in ``slot`` on."""

@disjoint_base
class SocketWriter:
    """Sends buffers to a socket from a thread of its own."""

    @property
    def notify_fd(self) -> int: ...
    @property
    def high_mark(self) -> int: ...
    @property
    def low_mark(self) -> int: ...
    def __new__(cls, fd: int, high_mark: int, low_mark: int) -> SocketWriter: ...
    def submit(self, data: bytes) -> int:
        """Queue ``data``; the bytes queued after it, or -1 if the writer has stopped."""
    def wakeup(self) -> None:
        """``notify_fd`` was readable: empty it and release the buffers already sent."""
    def stop(self, drain: bool = False) -> None:
        """Finish the thread, after what is queued (``drain``) or at once."""
    def join(self) -> None:
        """Wait for the thread and close its descriptor."""
    @property
    def queued(self) -> int: ...
    @property
    def error(self) -> int: ...
    @property
    def finished(self) -> bool: ...
    @property
    def sends(self) -> int: ...
    @property
    def bytes_written(self) -> int: ...
