"""Configuration dataclasses for the simulator: per symbol, per run, and fault specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastfeed import venues as _venues
from fastfeed.venues import BinanceSpot, BinanceUsdm, CoinbaseAdvancedTrade, CoinbaseExchange

#: Venue ids, as in the rest of fastfeed (read from :data:`fastfeed.venues.VENUES`).
BINANCE = BinanceSpot.name
BINANCE_USDM = BinanceUsdm.name
COINBASE = CoinbaseAdvancedTrade.name
COINBASE_EXCHANGE = CoinbaseExchange.name
VENUES = tuple(_venues.VENUES)


def _weight_limits() -> dict[str, int]:
    return {name: int(v.weight_per_minute) for name, v in _venues.VENUES.items()}


def _max_streams() -> dict[str, int]:
    return {name: v.max_streams_per_connection for name, v in _venues.VENUES.items()}


def _incoming_limits() -> dict[str, int]:
    return {name: v.incoming_per_second or 0 for name, v in _venues.VENUES.items()}


def _connection_limits() -> dict[str, int]:
    return {name: v.connections_per_window or 0 for name, v in _venues.VENUES.items()}


_BANS = BinanceSpot.rest_ban_seconds or (0.0, 0.0)


@dataclass
class SymbolConfig:
    """How one simulated instrument looks and moves."""

    symbol: str
    """Venue symbol: ``BTCUSDT`` for Binance, ``BTC-USD`` for Coinbase (upper case)."""
    tick_size: str = "0.01"
    """Price increment as a decimal string (Binance ``PRICE_FILTER.tickSize``)."""
    step_size: str = "0.00001"
    """Size increment as a decimal string (Binance ``LOT_SIZE.stepSize``)."""
    mid_price: str = "30000"
    """Initial mid price (snapped to the tick grid)."""
    depth: int = 200
    """Levels maintained per side; the far end is trimmed/refilled to keep this count."""
    levels_per_message: int = 10
    """Mean number of level changes per message (actual count uniform in n/2..3n/2)."""
    rate: float = 10.0
    """Messages per second for this symbol in live mode (0 = the book never moves)."""
    move_prob: float = 0.1
    """Probability per message that the mid price walks one step (best level removed)."""
    size_scale: int = 10_000
    """Typical level size in lots (sizes are heavy-tailed around this)."""
    print_decimals: int | None = None
    """Decimals printed on the wire; None = venue default (Binance spot 8, others the scale)."""
    start_id: int | None = None
    """First update id (the book's initial ``lastUpdateId``); None = derived from the seed."""
    burst: int = 0
    """Burst mode: pre-generate this many messages and write them, pre-framed, as fast as
    the socket takes them to every connection that subscribes; the symbol has no live
    updates (0 = live mode)."""
    burst_delay: float = 0.0
    """Seconds between a subscription and the start of its burst write."""
    burst_snapshot_index: int = 0
    """Burst mode: the REST snapshot is frozen at the state after this burst message
    (0 = after the first one), so ``lastUpdateId`` lies inside the burst's id range."""
    off_grid_bids: int = 0
    """Binance: this many resting bids off the tick grid (half a tick above a grid price,
    around half the mid: orders left from before a tick size change), in every REST
    snapshot whose limit leaves room and in the ground truth; the stream never touches
    them (``docs/venues.md#instrument-scales``)."""
    trade_rate: float = 0.0
    """Taker orders per second (live mode). Each rides on a depth message and takes
    liquidity at the best level(s) of the side it hits, so the book change is in that
    message (docs/simulator.md#trades-bbo-tickers-and-candles). 0 (the default) = no
    trades: book-only configurations produce exactly what they did before trades existed;
    a lively market is about ``rate / 4``. Trades need ``rate > 0``."""


@dataclass
class FaultSpec:
    """A fault to inject at start (see :data:`fastfeed.sim.faults.FAULTS` for names)."""

    venue: str
    """Venue id."""
    symbol: str
    """Symbol, or ``"*"`` for every symbol/connection of the venue."""
    fault: str
    """Fault name, e.g. ``"drop"``, ``"http_429"``."""
    params: dict[str, Any] = field(default_factory=dict)
    """Fault parameters; ``every`` (seconds) re-injects the fault periodically."""


def _default_venues() -> dict[str, list[SymbolConfig]]:
    return {
        BINANCE: [
            SymbolConfig("BTCUSDT", "0.01", "0.00001", "97250.01"),
            SymbolConfig("ETHUSDT", "0.01", "0.0001", "3500.00"),
        ],
        BINANCE_USDM: [SymbolConfig("BTCUSDT", "0.10", "0.001", "97250.0", size_scale=1000)],
        COINBASE: [
            SymbolConfig("BTC-USD", "0.01", "0.00000001", "97250.01", size_scale=10_000_000),
            SymbolConfig("ETH-USD", "0.01", "0.00000001", "3500.00", size_scale=100_000_000),
        ],
        COINBASE_EXCHANGE: [SymbolConfig("BTC-USD", "0.01", "0.00000001", "97250.01", size_scale=10_000_000)],
    }


@dataclass
class SimConfig:
    """One simulator run: instruments per venue, ports, timers, faults."""

    venues: dict[str, list[SymbolConfig]] = field(default_factory=_default_venues)
    """Instruments per venue id; a venue absent here serves nothing (but its paths exist)."""
    seed: int = 1
    """Run seed; each symbol's model is seeded from (seed, symbol)."""
    host: str = "127.0.0.1"
    """Interface to listen on."""
    ws_port: int = 0
    """WebSocket port for all venues (0 = pick a free port)."""
    rest_port: int = 0
    """REST port for all venues and the debug endpoints (0 = pick a free port)."""
    ping_interval: float = 20.0
    """Seconds between server PINGs on every connection (Binance spot: 20; 0 disables)."""
    pong_timeout: float = 60.0
    """Disconnect when no PONG arrived this long after a PING (Binance: 60 s)."""
    subscribe_timeout: float = 5.0
    """Coinbase: close the connection when no subscribe arrived within this many seconds."""
    heartbeat_interval: float = 1.0
    """Coinbase heartbeat period in seconds."""
    tick_interval: float = 0.005
    """Granularity of the market clock; messages due in one tick are sent back to back."""
    history: int = 10_000
    """Messages of undo history kept per symbol for ``truth(last_id=...)`` (burst symbols
    keep at least their burst length)."""
    # -- venue limits (docs/simulator.md#venue-limits); a limit of 0 is off ---------------
    weight_limit: dict[str, int] = field(default_factory=_weight_limits)
    """REST request weight per ``weight_window``, per venue (default and fallback: the
    venue's ``weight_per_minute``; only Binance requests are charged)."""
    weight_window: float = 60.0
    """Seconds of the rolling window the weight is counted over (the venue's minute)."""
    ban_seconds: float = _BANS[0]
    """First HTTP 418 ban of a client that keeps sending during a 429's ``Retry-After``;
    each later ban doubles, up to ``ban_max_seconds`` (0: no bans, only 429s)."""
    ban_max_seconds: float = _BANS[1]
    """Longest ban."""
    ban_grace: float = 1.0
    """Requests arriving this soon after a 429 were in flight when it left: they get a 429
    too, not a ban."""
    max_streams: dict[str, int] = field(default_factory=_max_streams)
    """Streams allowed per connection, per venue (default and fallback: the venue's
    ``max_streams_per_connection``; enforced on Binance connections)."""
    incoming_limit: dict[str, int] = field(default_factory=_incoming_limits)
    """Incoming WebSocket messages (pings, pongs, requests) per connection in any one
    second, per venue; one more closes the connection with 1008 (default: the venue's
    ``incoming_per_second``)."""
    connection_limit: dict[str, int] = field(default_factory=_connection_limits)
    """New WebSocket connections per ``connection_window``, per venue; further handshakes
    get HTTP 429 (default: the venue's ``connections_per_window``)."""
    connection_window: float = BinanceSpot.connection_window
    """Seconds of the rolling window new connections are counted over."""
    faults: list[FaultSpec] = field(default_factory=list)
    """Faults injected at start."""
    trade_history: int = 100_000
    """Fills kept per symbol for the trade tape (``GET /debug/trades``, REST backfill,
    candles, the ticker window)."""
    ticker_window: float = 86_400.0
    """Seconds of the rolling window of the 24 h statistics (Binance ``@ticker``,
    ``@miniTicker``, Coinbase ``ticker``); shorter windows let tests see trades expire."""
    trade_snapshot: int = 50
    """Coinbase Advanced Trade: recent trades in the ``market_trades`` snapshot sent on
    subscribe (the venue does not document the count: UNCERTAIN)."""
    burst_gate: bool = False
    """Burst mode: every burst write waits, after its ``burst_delay``, until
    :meth:`~fastfeed.sim.server.Simulator.release_bursts` (``POST /debug/burst``), so the
    bursts of every connection start at one instant (docs/simulator.md, "Synchronized
    bursts")."""
    use_aiofastnet: bool = False
    """Let picows use aiofastnet transports (plain uvloop transports measured faster)."""

    def disable_limits(self) -> SimConfig:
        """Turn every venue limit off (for benchmarks and stress runs); returns ``self``."""
        for limits in (self.weight_limit, self.max_streams, self.incoming_limit,
                       self.connection_limit):
            for venue in VENUES:
                limits[venue] = 0
        self.ban_seconds = 0.0
        return self
