"""The simulator: a picows WebSocket server for every venue and an aiohttp REST server.

URL scheme (one WS port, one REST port; ``H`` = host):

* Binance spot — base ``ws://H:WS`` — ``/ws/<stream>[/<stream>...]``, ``/ws`` + SUBSCRIBE,
  ``/stream?streams=a/b`` (combined). Also under the prefix ``/binance``.
  REST base ``http://H:REST``: ``/api/v3/depth``, ``/api/v3/exchangeInfo``.
* Binance USD-M — base ``ws://H:WS`` — ``/public/ws/<stream>``, ``/public/stream?streams=``.
  Other USD-M routes (``/market/...``, ``/private/...``, ``/binance-usdm/ws...``) accept the
  connection and deliver nothing, silently, like the real venue. Also under the prefix
  ``/binance-usdm`` (``/binance-usdm/public/ws/...``). Note that an unprefixed ``/ws/...``
  is the *spot* route. REST: ``/fapi/v1/depth``, ``/fapi/v1/exchangeInfo``.
* Coinbase Advanced Trade — ``ws://H:WS/coinbase/advanced-trade``.
* Coinbase Exchange — ``ws://H:WS/coinbase/exchange``.
* Bybit — ``ws://H:WS/bybit/v5/public/spot`` and ``.../linear`` (books only). REST:
  ``/v5/market/instruments-info?category=spot|linear&symbol=``.
* Debug (REST port): ``GET /debug/truth``, ``POST /debug/fault``, ``POST /debug/pause``,
  ``POST /debug/resume``, ``POST /debug/burst`` (release the gated bursts),
  ``GET /debug/stats``, ``GET /debug/limits``, and the trade
  truth: ``GET /debug/trades?venue=&symbol=[&from_id=][&limit=]`` (the tape) and
  ``GET /debug/candles?venue=&symbol=&interval=<seconds>`` (the bars it makes).
* Trades, BBO, tickers and candles (``SymbolConfig.trade_rate``): Binance
  ``<s>@trade``, ``@aggTrade``, ``@bookTicker``, ``@ticker``, ``@miniTicker``,
  ``@kline_<i>`` (USD-M: ``/market``, ``bookTicker`` on ``/public``); Coinbase AT
  ``market_trades``, ``ticker``, ``candles``; Coinbase Exchange ``matches``, ``ticker``.
  REST backfill: ``/api/v3/aggTrades``, ``/api/v3/trades``, ``/api/v3/historicalTrades``,
  ``/fapi/v1/aggTrades``, ``/products/{id}/trades`` (``docs/simulator.md``).

The Binance venues' limits (REST weight with 429 then 418 bans, incoming messages a
second, streams per connection, new connections per 5 minutes) are on by default:
:mod:`fastfeed.sim.limits` and ``docs/simulator.md``.

Stream speed suffixes (``@100ms`` …) are validated but do not change the pace: every
subscription gets every model message, at the symbol's configured ``rate``.

Layout: :class:`Simulator` (here) owns the markets, the connections, the clock and the
controls, and is the :class:`~fastfeed.sim.host.SimHost` of everything else;
:mod:`fastfeed.sim.market` steps and faults one instrument; :mod:`fastfeed.sim.transport`
and :mod:`fastfeed.sim.rest` are the WebSocket and REST plumbing;
:mod:`fastfeed.sim.dialects` holds one module per venue protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections import Counter, deque
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from aiohttp import web
from picows import WSUpgradeRequest, ws_create_server

from fastfeed.sim import dialects, render
from fastfeed.sim.config import FaultSpec, SimConfig, SymbolConfig
from fastfeed.sim.faults import CONN_FAULTS, REST_FAULTS, fault_params
from fastfeed.sim.host import BlobCache, Flushable
from fastfeed.sim.limits import Limits
from fastfeed.sim.market import MARKET_FAULTS, Market
from fastfeed.sim.render import json_bytes
from fastfeed.sim.rest import PlainRoute, RestApi
from fastfeed.sim.tape import Bar, Fill, candles, fill_dict
from fastfeed.sim.transport import Connection
from fastfeed.sim.truth import BookTruth

BURST_CACHE = 8
"""Combined Coinbase burst blobs kept per simulator."""
CORRUPTIONS_KEPT = 100
"""``corrupt_level`` records kept (``Simulator.corruptions``)."""
CHANNEL_TICK = 0.25
"""Seconds between checks of the periodic channels (tickers, klines, candles): the
finest cadence any of them has (USD-M klines, 250 ms)."""


class Simulator:
    """Local exchange simulator: real venue protocols, fault injection, ground truth.

    >>> async with Simulator(SimConfig()) as sim:          # doctest: +SKIP
    ...     url = sim.ws_url("binance")                      # ws://127.0.0.1:PORT
    ...     sim.inject("binance", "BTCUSDT", "drop", count=1)
    ...     truth = sim.truth("binance", "BTCUSDT")

    Besides its public controls it implements :class:`~fastfeed.sim.host.SimHost`, the
    interface its markets, connections, dialects and REST app use.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        """Build every market from ``config`` (burst messages are generated here)."""
        self.config = config or SimConfig()
        for v in self.config.venues:
            if v not in dialects.DIALECTS:
                raise ValueError(f"unknown venue {v!r}; known: {', '.join(dialects.DIALECTS)}")
        self.counters: Counter[str] = Counter()
        self.blob_cache = BlobCache(BURST_CACHE)
        self._markets: dict[tuple[str, str], Market] = {}
        for venue, symbols in self.config.venues.items():
            dialect = dialects.get_dialect(venue)
            for cfg in symbols:
                self._markets[(venue, cfg.symbol)] = Market(self, dialect, cfg)
        self._conns: set[Connection] = set()
        self._dirty: set[Flushable] = set()
        self._faults_fired: Counter[str] = Counter()
        self.limits = Limits(self.config)
        self._corruptions: deque[dict[str, Any]] = deque(maxlen=CORRUPTIONS_KEPT)
        self._rest = RestApi(self)
        self._paused = False
        self._ws_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ws_port = 0
        self._rest_port = 0
        self._started = False
        self._gate = asyncio.Event()
        self._gate_waiting = 0
        self._releases = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Open both ports, start the market clock, heartbeats and start-up faults."""
        if self._started:
            return
        cfg = self.config
        self._ws_server = await ws_create_server(
            self._route, cfg.host, cfg.ws_port, use_aiofastnet=cfg.use_aiofastnet,
            # Pings are answered by the connections: they count against the incoming limit.
            logger_name="fastfeed.sim", enable_auto_pong=False, max_frame_size=1 << 20,
        )
        self._ws_port = self._ws_server.sockets[0].getsockname()[1]
        routes = [r for d in dialects.DIALECTS.values() for r in d.rest_routes()]
        app = self._rest.app(routes, self._debug_routes())
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.rest_port)
        await site.start()
        self._rest_port = self._runner.addresses[0][1]
        loop = asyncio.get_running_loop()
        now = loop.time()
        for m in self._markets.values():
            m.t0 = now
        self._tasks.append(loop.create_task(self._clock()))
        self._tasks.append(loop.create_task(self._heartbeats()))
        self._tasks.append(loop.create_task(self._channel_clock()))
        self._started = True
        for spec in cfg.faults:
            self.inject(spec.venue, spec.symbol, spec.fault, **spec.params)

    async def stop(self) -> None:
        """Close every connection (abruptly) and both servers."""
        if not self._started:
            return
        self._started = False
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        for c in list(self._conns):
            if c.transport is not None:
                c.transport.disconnect(graceful=False)
        if self._ws_server is not None:
            self._ws_server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws_server.wait_closed(), 2)
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Simulator:
        """``async with Simulator(...) as sim``: start on enter."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop on exit."""
        await self.stop()

    # -- addresses ----------------------------------------------------------------------

    @property
    def ws_port(self) -> int:
        """The WebSocket port (valid after start)."""
        return self._ws_port

    @property
    def rest_port(self) -> int:
        """The REST port (valid after start)."""
        return self._rest_port

    def ws_url(self, venue: str) -> str:
        """The WebSocket base URL a client should use as its override for ``venue``.

        Binance spot and USD-M: ``ws://H:PORT`` (the client appends ``/ws/...``,
        ``/stream?...`` or, for USD-M, ``/public/ws/...``). Coinbase: the full URL.
        """
        return dialects.get_dialect(venue).ws_url(f"ws://{self.config.host}:{self._ws_port}")

    def rest_url(self, venue: str) -> str:
        """REST base URL (``http://H:PORT``; the client appends ``/api/v3/...``/``/fapi/v1/...``)."""
        dialects.get_dialect(venue)  # ValueError when unknown
        return f"http://{self.config.host}:{self._rest_port}"

    def urls(self) -> dict[str, dict[str, str]]:
        """``{venue: {"ws": ..., "rest": ...}}`` for every venue."""
        return {v: {"ws": self.ws_url(v), "rest": self.rest_url(v)} for v in dialects.DIALECTS}

    # -- controls -----------------------------------------------------------------------

    def symbols(self, venue: str) -> list[str]:
        """Symbols configured for ``venue``."""
        return [s for (v, s) in self._markets if v == venue]

    def market(self, venue: str, symbol: str) -> Market:
        """The market object (model, config) for (venue, symbol); KeyError if unknown."""
        try:
            return self._markets[(venue, symbol)]
        except KeyError:
            raise KeyError(f"no such market: {venue} {symbol}") from None

    def pause(self) -> None:
        """Freeze every market: no new messages until :meth:`resume` (heartbeats go on)."""
        self._paused = True

    def resume(self) -> None:
        """Unfreeze; the clock restarts from now (no catch-up burst)."""
        if not self._paused:
            return
        self._paused = False
        now = asyncio.get_running_loop().time()
        for m in self._markets.values():
            m.restart_clock(now)

    @property
    def paused(self) -> bool:
        """True while paused."""
        return self._paused

    def release_bursts(self) -> dict[str, int]:
        """Start every burst waiting at the gate now (``SimConfig.burst_gate``); bursts of
        later subscriptions wait for the next release. Returns ``released`` (how many)
        and ``t_ns``, the wall-clock instant of the release."""
        gate, self._gate = self._gate, asyncio.Event()
        released, self._gate_waiting = self._gate_waiting, 0
        self._releases += 1
        t_ns = time.time_ns()
        gate.set()
        return {"released": released, "t_ns": t_ns}

    async def burst_gate(self) -> None:
        """Return when a burst may start (:class:`~fastfeed.sim.host.SimHost`)."""
        if not self.config.burst_gate:
            return
        gate = self._gate
        self._gate_waiting += 1
        try:
            await gate.wait()
        finally:
            if not gate.is_set():       # the connection went away before the release
                self._gate_waiting -= 1

    def step(self, venue: str, symbol: str, count: int = 1) -> None:
        """Generate and send ``count`` messages for one market right now (works while paused)."""
        self.market(venue, symbol).advance(count)
        self._flush()

    def inject(self, venue: str, symbol: str, fault: str, **params: Any) -> None:
        """Inject a fault now (names and parameters: :data:`fastfeed.sim.faults.FAULTS`).

        ``symbol="*"``: every symbol of the venue. ``every=S``: re-inject every S seconds.
        """
        p = fault_params(fault, params)
        if venue not in dialects.DIALECTS:
            raise ValueError(f"unknown venue {venue!r}")
        markets = [m for (v, s), m in self._markets.items() if v == venue and symbol in ("*", s)]
        if not markets and fault not in REST_FAULTS:
            raise KeyError(f"no such market: {venue} {symbol}")
        every = p.pop("every", None)
        if fault == "close":
            if not 1000 <= int(p["code"]) <= 4999:
                raise ValueError(f"close code {p['code']} is outside 1000..4999")
        if fault in MARKET_FAULTS:
            for m in markets:
                m.inject(fault, p)
        elif fault in CONN_FAULTS:
            conns = {c for m in markets for c in m.subs}
            if symbol == "*":
                conns |= {c for c in self._conns if c.venue == venue}
            if conns:
                for c in conns:
                    c.arm(fault, p)
            else:
                for m in markets:
                    m.arm_next_subscriber(fault, p)
        else:
            self._rest.add_fault(venue, fault, symbol, p)
        if every:
            loop = asyncio.get_running_loop()
            loop.call_later(float(every), self._reinject, venue, symbol, fault, dict(params))

    def _reinject(self, venue: str, symbol: str, fault: str, params: dict[str, Any]) -> None:
        if self._started:
            self.inject(venue, symbol, fault, **params)

    def truth(self, venue: str, symbol: str, last_id: int | None = None) -> BookTruth:
        """The simulator's book for (venue, symbol) as of update id ``last_id`` (None = now).

        Returns the state after the last message whose ``u`` <= ``last_id``; raises
        ``LookupError`` beyond the retained history (``SimConfig.history`` messages). For
        Coinbase (no ids on the wire) call :meth:`pause` first and compare with ``None``.
        """
        m = self.market(venue, symbol)
        state = m.model.book_at(last_id)
        ps, ss = m.model.price_scale, m.model.size_scale
        return BookTruth(state.last_id, state.sorted_bids(), state.sorted_asks(), venue, symbol,
                         ps.text, ss.text, ps.decimals, ss.decimals, list(m.off_grid_bids))

    def trades(self, venue: str, symbol: str, from_id: int | None = None) -> list[Fill]:
        """The trade tape of (venue, symbol), oldest first, from trade id ``from_id`` (None:
        all retained, ``SimConfig.trade_history`` fills). Prices in ticks, sizes in lots."""
        fills = self.market(venue, symbol).model.fills
        return [f for f in fills if from_id is None or f.trade_id >= from_id]

    def candles(self, venue: str, symbol: str, interval: float) -> list[Bar]:
        """The bars the retained tape makes at ``interval`` seconds (epoch-aligned; only
        buckets holding a trade), oldest first: what a client's local candles must equal."""
        if interval <= 0 or int(interval * 1e9) != interval * 1e9:
            raise ValueError(f"interval must be a positive number of seconds, not {interval!r}")
        return candles(self.market(venue, symbol).model.fills, int(interval * 1e9))

    # -- stats --------------------------------------------------------------------------

    @property
    def messages_sent(self) -> int:
        """Data messages sent over WebSocket (acks and pings excluded)."""
        return self.counters["messages_sent"]

    @property
    def faults_fired(self) -> dict[str, int]:
        """How many times each fault took effect."""
        return dict(self._faults_fired)

    @property
    def corruptions(self) -> list[dict[str, Any]]:
        """What each ``corrupt_level`` fault sent, oldest first (the last 100): venue,
        symbol, the message's ``first_id``/``last_id``, ``side``, ``price`` (ticks),
        ``true_size`` and ``sent_size`` (lots), and the texts as sent."""
        return list(self._corruptions)

    def limit_trips(self) -> dict[str, dict[str, int]]:
        """Venue limits tripped so far, per venue and kind (empty: none); the kinds are
        :data:`fastfeed.sim.limits.TRIPS`."""
        return self.limits.trips()

    def stats(self) -> dict[str, Any]:
        """Counters (what ``GET /debug/stats`` returns)."""
        return {
            "messages_sent": self.messages_sent,
            "faults_fired": self.faults_fired,
            "connections_open": len(self._conns),
            "connections_opened": self.counters["connections_opened"],
            "rest_requests": self.counters["rest_requests"],
            "bursts_written": self.counters["bursts_written"],
            "bursts_waiting": self._gate_waiting,
            "burst_releases": self._releases,
            "limit_trips": self.limit_trips(),
            "corruptions": self.corruptions,
            "paused": self._paused,
            "markets": {
                f"{v}:{s}": {"last_id": m.model.last_id, "messages": m.sent + len(m.burst),
                             "last_trade_id": m.model.fills[-1].trade_id if m.model.fills else None,
                             "subscribers": len(m.subs), "mode": "live" if m.live else "burst"}
                for (v, s), m in self._markets.items()
            },
        }

    # -- the host interface (fastfeed.sim.host.SimHost) ------------------------------------

    def fired(self, fault: str) -> None:
        """Record that one fault took effect."""
        self._faults_fired[fault] += 1

    def corrupted(self, record: dict[str, Any]) -> None:
        """Keep what a ``corrupt_level`` fault sent."""
        self._corruptions.append(record)

    def find_market(self, venue: str, symbol: str) -> Market | None:
        """The market for (venue, symbol), or None when it is not configured."""
        return self._markets.get((venue, symbol))

    def markets_of(self, venue: str) -> list[Market]:
        """Every market of ``venue``, in configuration order."""
        return [m for (v, _), m in self._markets.items() if v == venue]

    def connection_opened(self, conn: Connection) -> None:
        """Track a new connection (stats, ``*`` connection faults, shutdown)."""
        self._conns.add(conn)
        self.counters["connections_opened"] += 1

    def connection_closed(self, conn: Connection) -> None:
        """Forget a connection."""
        self._conns.discard(conn)

    def flush_after_tick(self, conn: Flushable) -> None:
        """Flush ``conn`` once this tick's market messages are out."""
        self._dirty.add(conn)

    # -- clock --------------------------------------------------------------------------

    async def _clock(self) -> None:
        # A heap of (when the next message is due, market): each tick touches only the
        # markets with a message due, so a thousand quiet markets cost next to nothing.
        # Market.tick decides what is due; the heap only says when to look again.
        tick = max(0.0005, self.config.tick_interval)
        live = [m for m in self._markets.values() if m.live and m.rate > 0]
        loop = asyncio.get_running_loop()
        heap: list[tuple[float, int, Market]] = []
        paused = True
        while True:
            await asyncio.sleep(tick)
            if self._paused:
                paused = True
                continue
            now = loop.time()
            if paused:  # (re)start: clocks may have moved (resume, step)
                paused = False
                heap = [(m.next_due(), i, m) for i, m in enumerate(live)]
                heapq.heapify(heap)
            due = []
            while heap and heap[0][0] <= now:
                due.append(heapq.heappop(heap))
            for _, i, m in due:
                m.tick(now)
                heapq.heappush(heap, (m.next_due(), i, m))
            self._flush()

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for c in dirty:
            c.flush()

    async def _channel_clock(self) -> None:
        # Periodic channels of every market someone subscribed to (none while paused).
        while True:
            await asyncio.sleep(CHANNEL_TICK)
            if self._paused:
                continue
            now_ns = time.time_ns()
            for m in self._markets.values():
                if m.chan_subs:
                    m.periodic(now_ns)
            self._flush()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            for c in list(self._conns):
                if not c.closed:
                    c.heartbeat()

    # -- WebSocket routing ---------------------------------------------------------------

    def _route(self, request: WSUpgradeRequest) -> Any:
        split = urlsplit(request.path.decode("latin-1"))
        path = unquote(split.path).rstrip("/") or "/"
        return dialects.accept(self, path, parse_qs(split.query))

    # -- debug endpoints (REST port) -------------------------------------------------------

    def _debug_routes(self) -> list[PlainRoute]:
        return [
            ("GET", "/debug/truth", self._debug_truth),
            ("POST", "/debug/fault", self._debug_fault),
            ("POST", "/debug/pause", self._debug_pause),
            ("POST", "/debug/resume", self._debug_resume),
            ("POST", "/debug/burst", self._debug_burst),
            ("GET", "/debug/stats", self._debug_stats),
            ("GET", "/debug/limits", self._debug_limits),
            ("GET", "/debug/trades", self._debug_trades),
            ("GET", "/debug/candles", self._debug_candles),
        ]

    async def _debug_truth(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            last_id = int(q["last_id"]) if q.get("last_id") else None
            t = self.truth(q.get("venue", ""), q.get("symbol", ""), last_id)
        except (KeyError, ValueError, LookupError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.Response(body=json_bytes(t.to_dict()), content_type="application/json")

    async def _debug_trades(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            m = self.market(q.get("venue", ""), q.get("symbol", ""))
            from_id = int(q["from_id"]) if q.get("from_id") else None
            limit = int(q["limit"]) if q.get("limit") else None
        except (KeyError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        fills = self.trades(m.venue, m.symbol, from_id)
        if limit is not None:
            fills = fills[:max(0, limit)]
        ps, ss = m.model.price_scale, m.model.size_scale
        body = {"venue": m.venue, "symbol": m.symbol, "tick_size": ps.text, "step_size": ss.text,
                "trades": [fill_dict(f, m.fmt.price(f.price), m.fmt.size(f.size)) for f in fills]}
        return web.Response(body=json_bytes(body), content_type="application/json")

    async def _debug_candles(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            m = self.market(q.get("venue", ""), q.get("symbol", ""))
            bars = self.candles(m.venue, m.symbol, float(q.get("interval", "60")))
        except (KeyError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        fmt = m.fmt
        body = {"venue": m.venue, "symbol": m.symbol, "interval": float(q.get("interval", "60")),
                "candles": [{"start_ns": b.start_ns, "open": fmt.price(b.open), "high": fmt.price(b.high),
                             "low": fmt.price(b.low), "close": fmt.price(b.close), "volume": fmt.size(b.volume),
                             "quote_volume": render.quote_text(fmt, b.quote), "count": b.n,
                             "first_id": b.first_id, "last_id": b.last_id,
                             "taker_buy_volume": fmt.size(b.taker_buy_volume),
                             "int": [b.open, b.high, b.low, b.close, b.volume, b.quote]} for b in bars]}
        return web.Response(body=json_bytes(body), content_type="application/json")

    async def _debug_fault(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            self.inject(body["venue"], body.get("symbol", "*"), body["fault"], **(body.get("params") or {}))
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _debug_pause(self, request: web.Request) -> web.Response:
        self.pause()
        return web.json_response({"paused": True})

    async def _debug_resume(self, request: web.Request) -> web.Response:
        self.resume()
        return web.json_response({"paused": False})

    async def _debug_burst(self, request: web.Request) -> web.Response:
        return web.json_response(self.release_bursts())

    async def _debug_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _debug_limits(self, request: web.Request) -> web.Response:
        return web.json_response(self.limits.view())


__all__ = ["FaultSpec", "Market", "SimConfig", "Simulator", "SymbolConfig"]
