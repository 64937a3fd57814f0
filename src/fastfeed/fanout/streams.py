"""The JetStream streams fan-out uses (``docs/wire.md``, "Subjects and streams").

One place for their names, subjects and retention: the publisher creates (or updates)
them on every connect; consumers only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastfeed.fanout.wire import stream_name

__all__ = ["StreamLimits", "ensure_streams", "stream_configs"]


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """Retention of the delta, trade and status streams (the snapshot stream keeps one message
    per subject). ``max_age`` must exceed the publisher's snapshot interval, or a consumer
    that starts from the last snapshot may find the deltas after it already gone."""

    max_age: float = 600.0              # seconds of deltas kept
    max_bytes: int = 1 << 30            # bytes of deltas kept
    status_max_age: float = 3600.0
    memory: bool = False                # file storage survives a server restart

    def __post_init__(self) -> None:
        if not self.max_age > 0 or not self.status_max_age > 0:
            raise ValueError("stream max_age must be positive")
        if self.max_bytes <= 0:
            raise ValueError("stream max_bytes must be positive")


def stream_configs(prefix: str, limits: StreamLimits) -> list[Any]:
    """The ``nats.js.api.StreamConfig`` of each stream (book, trade, snap, status)."""
    from nats.js.api import DiscardPolicy, StorageType, StreamConfig

    storage = StorageType.MEMORY if limits.memory else StorageType.FILE
    return [
        StreamConfig(name=stream_name(prefix, "book"), subjects=[f"{prefix}.book.>"],
                     max_age=limits.max_age, max_bytes=limits.max_bytes,
                     discard=DiscardPolicy.OLD, storage=storage, allow_direct=True),
        StreamConfig(name=stream_name(prefix, "trade"), subjects=[f"{prefix}.trade.>"],
                     max_age=limits.max_age, max_bytes=limits.max_bytes,
                     discard=DiscardPolicy.OLD, storage=storage, allow_direct=True),
        StreamConfig(name=stream_name(prefix, "snap"), subjects=[f"{prefix}.snap.>"],
                     max_msgs_per_subject=1, discard=DiscardPolicy.OLD, storage=storage,
                     allow_direct=True),
        StreamConfig(name=stream_name(prefix, "status"), subjects=[f"{prefix}.status.>"],
                     max_age=limits.status_max_age, discard=DiscardPolicy.OLD,
                     storage=storage, allow_direct=True),
    ]


async def ensure_streams(js: Any, prefix: str, limits: StreamLimits) -> None:
    """Create the streams, or bring an existing one to these limits (``js``: a nats-py
    JetStream context)."""
    from nats.js.errors import BadRequestError, NotFoundError

    for config in stream_configs(prefix, limits):
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError:         # created meanwhile by another publisher
                pass
        await js.update_stream(config)
