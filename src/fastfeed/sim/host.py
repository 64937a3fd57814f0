"""The host interface: what the :class:`~fastfeed.sim.server.Simulator` offers its parts.

Markets, connections, dialects and the REST app see the simulator only through
:class:`SimHost`; none of them touches another object's underscore names. A part that
needs something new from the simulator adds it here first, so this file stays the whole
list of what crosses the boundary.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

from fastfeed.sim.config import SimConfig

if TYPE_CHECKING:
    from fastfeed.sim.limits import Limits
    from fastfeed.sim.market import Market
    from fastfeed.sim.transport import Connection

#: A pre-framed run of WebSocket frames and each frame's end offset in it.
Blob = tuple[bytes, list[int]]


class Flushable(Protocol):
    """A connection that batches a clock tick's events and sends them in :meth:`flush`."""

    def flush(self) -> None:
        """Send what this tick queued."""


class BlobCache:
    """The last few pre-framed blobs built, by key (least recently used leaves first).

    Connections subscribing alike get the same bytes without rendering them again.
    """

    def __init__(self, size: int) -> None:
        """Keep at most ``size`` blobs."""
        self.size = size
        self._blobs: OrderedDict[Hashable, Blob] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], Blob]) -> Blob:
        """The blob cached under ``key``, built by ``build()`` on a miss."""
        cached = self._blobs.get(key)
        if cached is not None:
            self._blobs.move_to_end(key)
            return cached
        out = build()
        self._blobs[key] = out
        while len(self._blobs) > self.size:
            self._blobs.popitem(last=False)
        return out


class SimHost(Protocol):
    """The simulator as its markets, connections, dialects and REST app see it."""

    config: SimConfig
    """The run's configuration (timers, limits, history, seed)."""
    counters: Counter[str]
    """Stats counters (``messages_sent``, ``connections_opened``, ``bursts_written``,
    ``rest_requests``); parts add to them directly because some count per message."""
    blob_cache: BlobCache
    """Combined burst blobs shared by the connections of every venue."""
    limits: Limits
    """The venue limits: budgets, windows and trip counters (:mod:`fastfeed.sim.limits`)."""

    def fired(self, fault: str) -> None:
        """Record that one fault took effect (``faults_fired`` in the stats)."""

    def corrupted(self, record: dict[str, Any]) -> None:
        """Record what a ``corrupt_level`` fault sent (``corruptions`` in the stats)."""

    def find_market(self, venue: str, symbol: str) -> Market | None:
        """The market for (venue, symbol), or None when it is not configured."""

    def markets_of(self, venue: str) -> list[Market]:
        """Every market of ``venue``, in configuration order."""

    async def burst_gate(self) -> None:
        """Return when a burst may start: at once, or with ``SimConfig.burst_gate`` at the
        next release of the bursts."""

    def connection_opened(self, conn: Connection) -> None:
        """A WebSocket connection finished its handshake."""

    def connection_closed(self, conn: Connection) -> None:
        """A WebSocket connection went away."""

    def flush_after_tick(self, conn: Flushable) -> None:
        """Call ``conn.flush()`` once the market messages of the current tick are out."""
