"""What a venue dialect provides the simulator.

A :class:`Dialect` is one venue's protocol: which WebSocket paths it answers and with
which :class:`~fastfeed.sim.transport.Connection` subclass, how its markets print numbers
and render messages (a :class:`Wire` per market), and its REST endpoints. The venue's
facts (limits, paths, stream names) come from its description in :mod:`fastfeed.venues`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from fastfeed.sim import render
from fastfeed.sim.config import SymbolConfig
from fastfeed.sim.host import SimHost
from fastfeed.sim.model import Message, Scale
from fastfeed.sim.rest import Route
from fastfeed.venues import Venue, get_venue

if TYPE_CHECKING:
    from fastfeed.sim.market import Market
    from fastfeed.sim.transport import Connection


class Wire:
    """One market's messages in its venue's bytes (each dialect subclasses it).

    :meth:`update` runs once per live message, whatever the number of subscribers;
    :meth:`prerender_burst` runs once at start, so burst writes only copy bytes.
    """

    def __init__(self, market: Market) -> None:
        """The wire form of ``market`` (its model, format and burst are read as needed)."""
        self.market = market

    def update(self, msg: Message, pad_bytes: int | None) -> bytes:
        """The payload for one live message (``pad_bytes``: an ``oversized`` fault's size)."""
        raise NotImplementedError

    def prerender_burst(self) -> None:
        """Render (and frame, where the bytes do not depend on the connection) the burst."""
        raise NotImplementedError

    def inject(self, fault: str, params: dict[str, Any]) -> bool:
        """Queue a venue-specific stream fault (Bybit ``restart``, Kraken ``bad_checksum``);
        False when this venue has no such fault."""
        return False

    def pending(self) -> bool:
        """True while a venue-specific stream fault waits for a message."""
        return False

    def channels(self, msg: Message, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """The ``(channel key, payload)`` pairs one live message feeds, for the subscribed
        channel ``keys`` (trades, BBO, per-trade tickers), in sending order."""
        return []

    def periodic(self, now_ns: int, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """The ``(channel key, payload)`` pairs of the periodic channels due at ``now_ns``
        (called every ``CHANNEL_TICK``)."""
        return []


class Dialect:
    """One venue's protocol in the simulator (register an instance in
    :mod:`fastfeed.sim.dialects`)."""

    venue: Venue
    """The venue description (:data:`fastfeed.venues.VENUES`) this dialect speaks."""
    id_skip = False
    """True when update ids skip values between messages (USD-M chains with ``pu``)."""
    trade_holes = False
    """True when trade ids skip values now and then (USD-M: fills the public tape omits)."""
    channel_names: tuple[str, ...] = ()
    """The channels besides the book that stream faults can name (``channel=``)."""
    quote_width: int | None = None
    """Decimals quote volumes print with (None: exactly the price's plus the size's)."""
    reorder_per_connection = False
    """True when a ``reorder`` fault swaps per-connection envelopes (the connection calls
    :meth:`~fastfeed.sim.market.Market.claim_reorder`) instead of market messages."""

    @property
    def name(self) -> str:
        """The venue id."""
        return self.venue.name

    def number_format(self, cfg: SymbolConfig, price: Scale, size: Scale) -> render.Fmt:
        """How this venue prints prices and sizes: the scales' decimals, deletes as ``"0"``
        (``cfg.print_decimals`` overrides the width)."""
        pd = price.text_decimals if cfg.print_decimals is None else cfg.print_decimals
        sd = size.text_decimals if cfg.print_decimals is None else cfg.print_decimals
        return render.Fmt(price, size, pd, sd, "0")

    def wire(self, market: Market) -> Wire:
        """The :class:`Wire` rendering ``market``'s messages."""
        raise NotImplementedError

    def ws_url(self, base: str) -> str:
        """The WebSocket URL a client uses for this venue, given ``ws://H:PORT``."""
        raise NotImplementedError

    def claims(self, path: str) -> bool:
        """True when the WebSocket upgrade path ``path`` belongs to this venue."""
        raise NotImplementedError

    def accept(self, host: SimHost, path: str, query: Mapping[str, list[str]]) -> Any:
        """Answer an upgrade on a claimed ``path``: a new connection listener, a picows
        error response, or None for 404."""
        raise NotImplementedError

    def rest_routes(self) -> list[Route]:
        """This venue's REST endpoints (every dialect's are served, configured or not)."""
        return []


class PathDialect(Dialect):
    """A venue served on one WebSocket path (Bybit, OKX, Kraken): subclasses name the
    ``venue_name``, the ``ws_path`` (``also_paths``: other paths it answers on), the
    ``wire_class`` rendering each market and the ``conn_class`` serving each connection
    (``conn_class(host, venue_name)``)."""

    venue_name: str
    ws_path: str
    also_paths: tuple[str, ...] = ()
    wire_class: type[Wire]
    conn_class: Any

    def __init__(self) -> None:
        """Read the venue's description."""
        self.venue = get_venue(self.venue_name)

    def wire(self, market: Market) -> Wire:
        """The venue's rendering of ``market``."""
        return self.wire_class(market)

    def ws_url(self, base: str) -> str:
        """The one stream URL."""
        return base + self.ws_path

    def claims(self, path: str) -> bool:
        """``ws_path`` (and ``also_paths``)."""
        return path == self.ws_path or path in self.also_paths

    def accept(self, host: SimHost, path: str, query: Mapping[str, list[str]]) -> Any:
        """A new connection on the claimed path."""
        return self.conn_class(host, self.name)


W = TypeVar("W", bound=Wire)


def wire_of(market: Market, cls: type[W]) -> W:
    """``market.wire``, checked to be the dialect's own ``cls``."""
    wire = market.wire
    assert isinstance(wire, cls), (market.symbol, type(wire).__name__)
    return wire


def switch_channel(conn: Connection, method: str, m: Market, subs: list[str], symbol: str,
                   key: str, first: Callable[[], None] | None = None) -> None:
    """One symbol's ``subscribe`` / ``unsubscribe`` (``method``) of channel ``key`` of
    ``m`` on ``conn``, ``subs`` listing the symbols ``conn`` holds on that channel: a new
    subscribe lists ``symbol``, calls ``first`` (its snapshot goes out before any update)
    and joins the channel; an unsubscribe is :func:`leave_channel`. A repeated subscribe
    or an unknown unsubscribe changes nothing."""
    if method == "subscribe" and symbol not in subs:
        subs.append(symbol)
        if first is not None:
            first()
        m.subscribe_channel(conn, key)
        conn.markets.add(m)
    elif method == "unsubscribe":
        leave_channel(conn, m, subs, symbol, key)


def leave_channel(conn: Connection, m: Market, subs: list[str], symbol: str,
                  key: str) -> None:
    """Unsubscribe ``symbol`` (if ``subs`` lists it) from channel ``key`` of ``m`` on
    ``conn``: unlisted, the channel left, and ``m`` dropped from ``conn.markets`` once
    nothing of it (book or another channel) is subscribed there."""
    if symbol in subs:
        subs.remove(symbol)
        m.unsubscribe_channel(conn, key)
        if not m.has(conn):
            conn.markets.discard(m)
