"""The venue interface the engine drives."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastfeed.rest import RestClient


@dataclass(frozen=True)
class Instrument:
    """An instrument's scales: the tick (price increment) and step (size increment)."""

    symbol: str
    tick_size: str
    step_size: str


class Venue:
    """Base class: one exchange API family. Subclasses fill in the protocol details."""

    #: venue id used in the API and the CLI
    name: str = ""
    #: default WebSocket base (or full) URL and REST base URL
    ws_url: str = ""
    rest_url: str = ""
    #: streams (or products) one connection may carry
    max_streams_per_connection: int = 100
    #: REST request weight per minute allowed by the venue
    weight_per_minute: float = 600.0
    #: True when books are synced from REST snapshots (else snapshots arrive in-band)
    uses_rest_snapshots: bool = False
    #: seconds of silence after which a connection is considered dead
    stale_after: float = 30.0
    #: control messages (subscribe, unsubscribe) a connection may send per second
    max_control_per_second: int = 10

    def normalize_symbol(self, symbol: str) -> str:
        """The symbol as the venue's messages spell it."""
        return symbol.upper()

    def connection_url(self, ws_base: str, symbols: list[str]) -> str:
        """The URL to open for a connection carrying ``symbols``."""
        return ws_base

    def subscribe_messages(self, symbols: list[str]) -> list[bytes]:
        """Messages to send right after connecting (or to add symbols to a connection)."""
        return []

    def unsubscribe_messages(self, symbols: list[str]) -> list[bytes]:
        """Messages that stop ``symbols`` on a running connection."""
        return []

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """Fetch the instrument's tick/step sizes from the venue."""
        raise NotImplementedError

    async def snapshot(self, rest: RestClient, symbol: str, limit: int | None = None) -> bytes:
        """Fetch a REST depth snapshot body (venues with ``uses_rest_snapshots``)."""
        raise NotImplementedError(f"{self.name} has no REST snapshots")


def dumps(obj: object) -> bytes:
    """Compact JSON bytes for an outgoing control message."""
    return json.dumps(obj, separators=(",", ":")).encode()
