"""Stub for the compiled picows listener (the hot path's entry)."""

from collections.abc import Iterable
from typing import Any

from picows import WSListener
from typing_extensions import disjoint_base

from fastfeed._core import BookCore
from fastfeed._record import RecordBuffer
from fastfeed._router import Router

DEFAULT_MAX_MESSAGE_BYTES: int
MAX_READ_INTERVAL: float

@disjoint_base
class FeedListener(WSListener):
    """picows listener for one venue connection carrying one or more books."""

    router: Router
    frames: int
    bytes_received: int
    last_frame_ns: int
    reads: int
    protocol_errors: int
    read_interval: float
    read_pauses: int
    recorder: RecordBuffer | None
    record_conn: int
    max_message_bytes: int
    def __init__(self, venue: str, owner: Any, cores: Iterable[BookCore] = (),
                 max_message_bytes: int = ..., read_interval: float = 0.0) -> None: ...
    def _resume_reading(self, reader: Any) -> None:
        """The read pause is over: whatever arrived meanwhile is read in one go."""
    def set_cores(self, cores: list[Any]) -> None:
        """Route messages to these books."""
    @property
    def decode_errors(self) -> int:
        """Payloads that could not be decoded (or were broken fragments)."""
    @property
    def unknown_symbol(self) -> int:
        """Segments for a symbol no book on this connection has."""
    @property
    def oversized(self) -> int:
        """Messages refused for exceeding max_message_bytes."""
    @property
    def control_messages(self) -> int:
        """Subscribe acks, results and venue errors."""
    @property
    def sequence_gaps(self) -> int:
        """Connection-level sequence jumps."""
    @property
    def last_error(self) -> str | None:
        """The last reason a payload was refused."""
    @property
    def connection_sequence(self) -> int:
        """Last Coinbase AT sequence_num seen (-1 if none)."""
    def counters(self) -> dict[str, int]:
        """Connection-level counters."""
