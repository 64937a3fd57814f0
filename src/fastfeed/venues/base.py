"""The venue interface the engine drives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from fastfeed.rest import RestClient, RestError

#: The channel of books in the venue methods below; another channel is named by its
#: trade stream (``Venue.trade_streams``: ``aggTrade``, ``trade``, ``market_trades``,
#: ``matches``). One connection carries the streams of one route
#: (``Venue.channel_route``), of any channels.
BOOK = "book"


@dataclass(frozen=True)
class Instrument:
    """An instrument's scales: the tick (price increment) and step (size increment)."""

    symbol: str
    tick_size: str
    step_size: str


class Venue:
    """One exchange API family: the single description every layer reads.

    The compiled core reads the hot-path rules (``decoder``, ``snapshot_decoder``,
    ``sequencing``, ``connection_sequence``, ``unreadable_is_gap``, ``trade_decoder``,
    ``stream_decoder``,
    ``trade_streams``) when a book, a trade stream or a listener is created; the engine reads the URLs, limits and control messages; the
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
    #: the same for trade streams whose ids cannot tell (``observed``): an unreadable
    #: trade message is a loss of unknown range. None: as ``unreadable_is_gap`` (Bybit:
    #: books have ``u``, trades nothing)
    trades_unreadable_is_gap: bool | None = None
    #: compiled decoder for trade payloads (a name in ``fastfeed._parse.DECODERS``)
    trade_decoder: str = ""
    #: compiled decoder for every channel a connection carries (books, trades): it hands
    #: each payload to the channel's decoder; routers use it (``parse/streams.pxi``,
    #: docs/architecture.md, "Channels"). Empty: ``decoder`` (books only)
    stream_decoder: str = ""
    #: the venue's trade streams and the id rule each follows, ``((stream, rule), ...)``:
    #: stream names from ``fastfeed._parse.TRADE_STREAMS``, rules from
    #: ``fastfeed._trades.ID_RULES`` (docs/venues.md, "Trades")
    trade_streams: tuple[tuple[str, str], ...] = ()
    #: compiled decoders of the best bid/offer and the 24 h ticker channels (names in
    #: ``fastfeed._parse.DECODERS``; None: the venue has no such channel), docs/venues.md
    #: "Best bid/offer" and "Tickers"
    bbo_decoder: str | None = None
    ticker_decoder: str | None = None
    #: the best bid/offer arrives inside the ticker channel's messages (Coinbase): a
    #: connection's router reads a ticker message with both decoders when both listen
    bbo_in_ticker: bool = False
    #: the ticker channel sends a snapshot, then deltas that carry only the changed
    #: fields (Bybit): ``TickerCore`` merges each delta into the last ticker
    #: (docs/venues.md, "Bybit tickers")
    ticker_deltas: bool = False
    #: a BBO or ticker update id of 1 is the venue's service restart (Bybit ``u``): the id
    #: space starts again, so it is never stale (docs/venues.md, "Bybit BBO")
    quote_id_restarts: bool = False
    #: compiled decoder for the venue's own candles (a name in ``fastfeed._parse.DECODERS``;
    #: None: the venue has none, local candles from trades only) and the interval names it
    #: offers (docs/venues.md, "Candles")
    candle_decoder: str | None = None
    candle_intervals: tuple[str, ...] = ()
    #: REST trade backfill (``fastfeed.backfill``; docs/venues.md, "Backfill"): the
    #: compiled decoder of the REST trade body (None: no backfill), the trade stream whose
    #: ids it heals, the endpoint path (``{symbol}`` filled in), its request weight, the
    #: most trades one page returns, and the paging: ``from-id`` (``fromId=`` the first
    #: id, ascending) or ``cursor`` (``after=`` one past the newest id wanted, newest first)
    backfill_decoder: str | None = None
    backfill_stream: str | None = None
    backfill_path: str = ""
    backfill_weight: float = 1.0
    backfill_limit: int = 1000
    backfill_paging: str = "from-id"
    #: text of the venue's error body saying the ids are older than it keeps ("" none)
    backfill_too_old: str = ""
    #: default WebSocket base (or full) URL and REST base URL
    ws_url: str = ""
    rest_url: str = ""
    #: streams (or products) one connection may carry
    max_streams_per_connection: int = 100
    #: REST request weight per minute allowed by the venue
    weight_per_minute: float = 600.0
    #: most levels a REST snapshot may ask for (venues with ``uses_rest_snapshots``)
    depth_max_limit: int | None = None
    #: seconds of silence after which a connection is considered dead (what counts as
    #: silence: ``sends_heartbeats``)
    stale_after: float = 30.0
    #: the venue sends data on every healthy connection at least once a second whatever
    #: the market does (Coinbase heartbeats), so ``stale_after`` without data means a
    #: broken feed. Otherwise (Binance: a quiet symbol sends nothing) only a silent socket
    #: does: fastfeed pings a connection idle for half of ``stale_after`` and reopens it
    #: when not even the pong arrived (docs/robustness.md, "Silence")
    sends_heartbeats: bool = False
    #: an application-level keep-alive the venue wants as a text message (Bybit
    #: ``{"op":"ping"}``), sent every ``keepalive_every`` seconds whatever the traffic and
    #: instead of the WebSocket PING to an idle connection; None: WebSocket PINGs only
    #: (docs/robustness.md, "Silence")
    keepalive_text: bytes | None = None
    keepalive_every: float = 20.0
    #: control messages (subscribe, unsubscribe) a connection may send per second
    max_control_per_second: int = 10
    #: streams named in the connection URL itself (None: the venue takes none there, or
    #: every stream fits); the rest are subscribed by control messages once connected
    max_url_streams: int | None = None
    #: streams one subscribe/unsubscribe message may name
    max_streams_per_message: int = 100
    # ---- the venue's own limits, which the simulator enforces (docs/venues.md) ----
    #: incoming WebSocket messages (pings, pongs, JSON requests) the venue accepts per
    #: connection in any one second before it closes the connection; None = none known
    #: (fastfeed itself sends at most ``max_control_per_second``)
    incoming_per_second: int | None = None
    #: new WebSocket connections the venue accepts per IP within ``connection_window``
    #: seconds; None = none known
    connections_per_window: int | None = None
    connection_window: float = 300.0
    #: HTTP 418 bans of an IP that keeps sending after a 429: the first ban and the
    #: longest, in seconds (repeat offenders get longer ones); None = the venue does not ban
    rest_ban_seconds: tuple[float, float] | None = None

    @property
    def uses_rest_snapshots(self) -> bool:
        """True when books are synced from REST snapshots (else snapshots arrive in-band)."""
        return self.snapshot_decoder is not None

    def normalize_symbol(self, symbol: str) -> str:
        """The symbol as the venue's messages spell it."""
        return symbol.upper()

    def channel_route(self, channel: str = BOOK) -> str:
        """The URL route a channel's streams are served on (Binance USD-M: books on
        ``/public``, trades on ``/market``); streams of one route share connections."""
        return ""

    #: the venue's subscription channel of each stream kind (``bbo``, ``ticker``,
    #: ``mini_ticker``, ``candles``; candles: a format with ``{interval}``); a kind the
    #: venue lacks is missing
    channel_names: ClassVar[dict[str, str]] = {}

    def channel_name(self, kind: str, interval: str | None = None) -> str:
        """The subscription channel of a stream kind (``ValueError`` if the venue has
        no such stream)."""
        name = self.channel_names.get(kind)
        if name is None:
            raise ValueError(f"{self.name} has no {kind} stream")
        return name.format(interval=interval)

    def connection_url(self, ws_base: str, symbols: list[str], channel: str = BOOK) -> str:
        """The URL to open for a connection carrying ``symbols`` of ``channel``."""
        return ws_base

    def subscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """Messages to send right after connecting (or to add symbols to a connection)."""
        return []

    def unsubscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """Messages that stop ``symbols`` of ``channel`` on a running connection."""
        return []

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """Fetch the instrument's tick/step sizes from the venue."""
        raise NotImplementedError

    async def instruments(self, rest: RestClient,
                          symbols: list[str]) -> dict[str, Instrument | RestError]:
        """Several symbols' scales (venues override this to batch the lookups); a symbol
        that cannot be looked up maps to its ``RestError``."""
        out: dict[str, Instrument | RestError] = {}
        for symbol in symbols:
            try:
                out[symbol] = await self.instrument(rest, symbol)
            except RestError as exc:
                out[symbol] = exc
        return out

    #: True when instruments are looked up over the venue's WebSocket (Kraken's
    #: ``instrument`` channel): the engine calls ``instruments_ws`` instead of ``instruments``
    instruments_over_ws: bool = False

    async def instruments_ws(self, ws_url: str,
                             symbols: list[str]) -> dict[str, Instrument | RestError]:
        """Several symbols' scales read over a WebSocket (``instruments_over_ws``)."""
        raise NotImplementedError(f"{self.name} looks instruments up over REST")

    async def snapshot(self, rest: RestClient, symbol: str, limit: int | None = None) -> bytes:
        """Fetch a REST depth snapshot body (venues with ``uses_rest_snapshots``)."""
        raise NotImplementedError(f"{self.name} has no REST snapshots")


def dumps(obj: object) -> bytes:
    """Compact JSON bytes for an outgoing control message."""
    return json.dumps(obj, separators=(",", ":")).encode()
