"""Stub for the compiled picows listener (the hot path)."""

from collections.abc import Iterable
from typing import Any

from picows import WSListener

from fastfeed._core import BookCore

DEFAULT_MAX_MESSAGE_BYTES: int

class FeedListener(WSListener):
    """picows listener for one venue connection carrying one or more books."""

    max_message_bytes: int
    frame_target: int
    frames: int
    bytes_received: int
    decode_errors: int
    unknown_symbol: int
    oversized: int
    control_messages: int
    sequence_gaps: int
    last_frame_ns: int
    last_error: str | None
    def __init__(self, venue: str, owner: Any, cores: Iterable[BookCore] = ()) -> None: ...
    def set_cores(self, cores: list[Any]) -> None:
        """Route messages to these books."""
    def counters(self) -> dict[str, int]:
        """Connection-level counters."""
    @property
    def connection_sequence(self) -> int:
        """Last Coinbase AT sequence_num seen (-1 if none)."""

class CountingListener(WSListener):
    """The raw picows ceiling: counts frames and bytes, parses nothing."""

    frames: int
    bytes_received: int
    first_ns: int
    last_ns: int
    target: int
    done: Any
    def __init__(self, target: int = 0, done: Any = None) -> None: ...
