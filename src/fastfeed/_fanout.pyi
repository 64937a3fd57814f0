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
    def __new__(cls, max_delta_levels: int = 1024) -> FanHub: ...
    def wake(self) -> None:
        """Called from the hot path when the hub arms (first change since a flush)."""
    def flush_full(self, core: Any) -> None:
        """Called from the hot path when ``core``'s log cannot take its next changes."""
    def drain_one(self, slot: int, publish: Callable[[int, int, bytes], bool]) -> int:
        """Send the book in ``slot`` now; the messages published."""
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
