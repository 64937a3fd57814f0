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
    """One exchange API family: the single description every layer reads.

    The compiled core reads the hot-path rules (``decoder``, ``snapshot_decoder``,
    ``sequencing``, ``connection_sequence``, ``unreadable_is_gap``) when a book or a
    listener is created; the engine reads the URLs, limits and control messages; the
    reference twins, the simulator and the benchmarks read the same attributes instead of
    restating them. Adding a venue means one module here (a subclass), its compiled
    decoder and its simulator dialect. The rules themselves are written down in
    ``docs/venues.md``.
    """

    #: venue id used in the API and the CLI
    name: str = ""
    #: how the venue spells a symbol in its messages (the simulator and docs show it)
    symbol_example: str = ""

    # ---- hot-path rules (compiled core) ----
    #: compiled decoder for WebSocket payloads (a name in ``fastfeed._parse.DECODERS``)
    decoder: str = ""
    #: compiled decoder for REST snapshot bodies; None when snapshots arrive in-band
    snapshot_decoder: str | None = None
    #: per-book sequencing rule (a name in ``fastfeed._sync.RULES``)
    sequencing: str = "in-band"
    #: True when every message carries a per-connection counter that must step by one
    #: (Coinbase Advanced Trade ``sequence_num``): any jump invalidates every book on it
    connection_sequence: bool = False
    #: the book's scale (decimals) for prices and sizes: fine enough for any value the
    #: venue prints, so a level off the instrument's current tick/step grid (left from
    #: before a tick size change) is still exact; the tick/step is then metadata checked
    #: per level and counted (``docs/venues.md#instrument-scales``). None: the increment's
    #: own decimals (a finer value is an error). Either way at least the increment's.
    value_decimals: int | None = None
    #: True when an unreadable message may have carried any book's update and nothing
    #: later would tell (no per-book ids): every live book on the connection turns ``gap``
    unreadable_is_gap: bool = False
    #: default WebSocket base (or full) URL and REST base URL
    ws_url: str = ""
    rest_url: str = ""
    #: streams (or products) one connection may carry
    max_streams_per_connection: int = 100
    #: REST request weight per minute allowed by the venue
    weight_per_minute: float = 600.0
    #: most levels a REST snapshot may ask for (venues with ``uses_rest_snapshots``)
    depth_max_limit: int | None = None
    #: seconds of silence after which a connection is considered dead
    stale_after: float = 30.0
    #: control messages (subscribe, unsubscribe) a connection may send per second
    max_control_per_second: int = 10

    @property
    def uses_rest_snapshots(self) -> bool:
        """True when books are synced from REST snapshots (else snapshots arrive in-band)."""
        return self.snapshot_decoder is not None

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
