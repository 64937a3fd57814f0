"""Stubs for the compiled recording buffer and chunk walker (docs/recording.md)."""

from collections.abc import Callable
from typing import Any

from typing_extensions import disjoint_base

from fastfeed._hist import LatencyHistogram
from fastfeed._router import Router

HEADER_SIZE: int
FRAME: int
DECLARE: int
OP: int
EVENT: int
LAST_IN_READ: int
MIN_CHUNK_BYTES: int

@disjoint_base
class RecordBuffer:
    """The records of the chunk being filled."""

    chunk_bytes: int
    first_ns: int
    last_ns: int
    records: int
    frames: int
    total_records: int
    total_frames: int
    total_bytes: int
    def add(self, kind: int, conn: int, t_ns: int, meta: bytes,
            body: bytes | bytearray | memoryview = ...) -> None: ...
    spare: Any
    max_spare: int
    def __init__(self, chunk_bytes: int, on_full: Callable[[], object] | None,
                 max_spare: int = 4) -> None: ...
    def take(self) -> tuple[memoryview, int, int, int, int] | None: ...
    def recycle(self, records: memoryview) -> None: ...
    @property
    def used_bytes(self) -> int: ...
    def add_frame_bytes(self, conn: int, t_ns: int, payload: bytes | bytearray | memoryview,
                        last_in_read: bool = ...) -> None: ...

_OnRecord = Callable[[int, int, int, int, bytes, int, int], object]

def replay_records(raw: bytes | bytearray | memoryview, offset: int, routers: list[Router | None], on_record: _OnRecord,
                   t_shift: int = ..., until_ns: int = ...,
                   processing: LatencyHistogram | None = ...) -> tuple[int, int, int]: ...
