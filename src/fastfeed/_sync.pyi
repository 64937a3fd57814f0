"""Stub for the compiled per-book sequencer."""

from typing_extensions import disjoint_base

STATE_NAMES: tuple[str, ...]
VERDICT_NAMES: tuple[str, ...]
RULES: dict[str, int]

class InvalidTransition(RuntimeError):
    """A state change docs/states.md does not allow was attempted."""

@disjoint_base
class Sequencer:
    """Gap detection for one book under one venue rule."""

    rule: int
    state: int
    book_id: int
    first_buffered_id: int
    def __init__(self, rule: str) -> None: ...
    @property
    def state_name(self) -> str:
        """syncing, live, gap, stale or closed."""
    def check_py(self, first_id: int, last_id: int, prev_id: int = -1) -> str:
        """apply, buffer, old or gap."""
    def applied_py(self, last_id: int) -> None:
        """Record that the event ending at ``last_id`` was applied."""
    def snapshot_loaded_py(self, last_update_id: int) -> bool:
        """Load a snapshot id; False if it is older than the buffered stream."""
    def buffered_py(self, first_id: int) -> None:
        """Record that an event starting at ``first_id`` was buffered."""
    def restart_py(self, state: str = "syncing") -> None:
        """Drop the book id and enter ``state``."""
    @staticmethod
    def allowed_py(source: str, target: str) -> bool:
        """Whether docs/states.md allows ``source -> target``."""
