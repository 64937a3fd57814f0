"""Binance spot and USD-M futures: depth streams, SUBSCRIBE control, REST snapshots.

WebSocket (one port for both; see :mod:`fastfeed.sim.server` for the URL scheme): raw
streams ``/ws/<stream>[/<stream>...]`` (or ``/ws`` + SUBSCRIBE) and combined streams
``/stream?streams=a/b``, whose events arrive wrapped with their stream name. USD-M serves
depth only on its ``route`` (``/public``); other USD-M routes accept the connection and
stay silent, like the real venue. REST: ``depth_path`` and ``info_path`` of the venue,
weighted by the venue's ``snapshot_weight`` and ``info_weight``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web
from picows import WSTransport, WSUpgradeResponse, WSUpgradeResponseWithListener

from fastfeed.sim import render
from fastfeed.sim.config import SymbolConfig
from fastfeed.sim.dialects.base import Dialect, Wire
from fastfeed.sim.host import Blob, SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import Message, Scale
from fastfeed.sim.rest import RestApi, Route, error
from fastfeed.sim.tape import Agg, Bar, aggregate
from fastfeed.sim.transport import LITERAL, Connection, Item
from fastfeed.venues import BinanceSpot, BinanceUsdm, get_venue

#: Kline intervals the simulator builds, in seconds (``3d``, ``1w``, ``1M`` are not
#: epoch-aligned on the venue: their streams are accepted and stay silent).
KLINE_INTERVALS = {"1s": 1, "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600,
                   "2h": 7200, "4h": 14400, "6h": 21600, "8h": 28800, "12h": 43200, "1d": 86400}
#: Every kline interval name the venue has (docs/simulator.md#binance).
KLINE_NAMES = (*KLINE_INTERVALS, "3d", "1w", "1M")
CHANNEL_PATTERN = re.compile(
    r"^([a-z0-9]+)@(trade|aggTrade|bookTicker|ticker|miniTicker|kline_(?:"
    + "|".join(KLINE_NAMES) + r"))$")
"""The non-depth stream names (``<symbol>@<channel key>``)."""
MS = 1_000_000
MARKET_ROUTE = "/market"
"""USD-M: the route of trades, tickers and klines (the venue description knows only the
depth route, ``/public``)."""


def _description(name: str) -> BinanceSpot:
    venue = get_venue(name)
    assert isinstance(venue, BinanceSpot)
    return venue


def _has_prefix(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _strip(path: str, prefix: str) -> str:
    return path[len(prefix):] or "/"


class BinanceWire(Wire):
    """``depthUpdate`` events; bursts pre-framed once per stream form (raw or combined)."""

    def __init__(self, market: Market, usdm: bool) -> None:
        """``usdm``: events carry ``T`` and ``pu``."""
        super().__init__(market)
        self.usdm = usdm
        self._blobs: dict[bytes | None, Blob] = {}
        self._last_bbo: tuple[int, int, int, int] | None = None
        self._due: dict[str, int] = {}
        self._open_bar: dict[str, int] = {}

    def update(self, msg: Message, pad_bytes: int | None) -> bytes:
        """The raw-stream event (combined streams wrap it per connection)."""
        m = self.market
        e = render.now_ms()
        payload = render.binance_event(m.symbol, msg, m.fmt, self.usdm, e)
        if pad_bytes:
            per = len(m.fmt.price(m.model.far_ask_prices(1)[0])) + len(m.fmt.size(0)) + 8
            count = max(1, (pad_bytes - len(payload)) // per + 1)
            payload = render.binance_event(m.symbol, msg, m.fmt, self.usdm, e,
                                           m.model.far_ask_prices(count))
        return payload

    def prerender_burst(self) -> None:
        """Frame the raw-stream form now (combined forms are framed on first use)."""
        self.burst_blob(None)

    # -- trades, BBO, tickers, klines ------------------------------------------------------

    def channels(self, msg: Message, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """``@trade`` (one per fill), ``@aggTrade`` (one per aggregate), ``@bookTicker``
        (when the best bid or ask, price or size, changed)."""
        m = self.market
        fmt = m.fmt
        out: list[tuple[str, bytes]] = []
        keys = set(keys)
        e = render.now_ms()
        if msg.trades:
            if "trade" in keys:
                out.extend(("trade", render.binance_trade(
                    m.symbol, f.trade_id, fmt.price(f.price), fmt.size(f.size), f.t_ns // MS, f.taker < 0, e))
                    for f in msg.trades)
            if "aggTrade" in keys:
                out.extend(("aggTrade", render.binance_agg_trade(
                    m.symbol, a.agg_id, fmt.price(a.price), fmt.size(a.size), a.first_id, a.last_id,
                    a.t_ns // MS, a.taker < 0, e, self.usdm)) for a in aggregate(msg.trades))
        if "bookTicker" in keys:
            bbo = m.bbo()
            if bbo != self._last_bbo:
                self._last_bbo = bbo
                b, bq, a, aq = bbo
                out.append(("bookTicker", render.binance_book_ticker(
                    m.symbol, msg.last_id, fmt.price(b), fmt.size(bq), fmt.price(a), fmt.size(aq),
                    self.usdm, e)))
        else:
            self._last_bbo = None
        return out

    def periodic(self, now_ns: int, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """``@ticker``/``@miniTicker`` every 1000 ms; ``@kline_<i>`` every 1000 ms (``1s``)
        or 2000 ms (spot), 250 ms (USD-M), and the bar's final update (``x`` true) as soon
        as its interval is over."""
        out: list[tuple[str, bytes]] = []
        for key in keys:
            if key in ("ticker", "miniTicker"):
                if now_ns >= self._due.get(key, 0):
                    self._due[key] = now_ns + 1000 * MS
                    out.append((key, self.ticker(now_ns, key == "miniTicker")))
            elif key.startswith("kline_"):
                name = key[6:]
                secs = KLINE_INTERVALS.get(name)
                if secs is None:
                    continue
                interval = secs * 1_000_000_000
                start = now_ns - now_ns % interval
                open_start = self._open_bar.get(key)
                if open_start is not None and open_start != start:
                    out.append((key, self.kline(name, interval, self.market.bar(interval, open_start), True)))
                    self._due[key] = 0
                self._open_bar[key] = start
                if now_ns >= self._due.get(key, 0):
                    period = 250 if self.usdm else (1000 if secs == 1 else 2000)
                    self._due[key] = now_ns + period * MS
                    out.append((key, self.kline(name, interval, self.market.bar(interval, start), False)))
        for key in list(self._open_bar):
            if key not in keys:  # nobody left: a later subscriber starts afresh
                del self._open_bar[key]
                self._due.pop(key, None)
        return out

    def ticker(self, now_ns: int, mini: bool) -> bytes:
        """A ``24hrTicker`` (spot with ``x`` and the BBO sampled now; USD-M without) or
        ``24hrMiniTicker`` over the rolling window (``SimConfig.ticker_window``)."""
        m = self.market
        fmt = m.fmt
        st = m.window.stats(now_ns)
        e = now_ns // MS
        fallback = st.prev_price if st.prev_price is not None else m.mid()
        last = st.last if st.last is not None else fallback
        o = st.open if st.open is not None else fallback
        h = st.high if st.high is not None else last
        low = st.low if st.low is not None else last
        qw = m.dialect.quote_width
        v, q = fmt.size(st.volume), render.quote_text(fmt, st.quote, qw)
        if mini:
            return (f'{{"e":"24hrMiniTicker","E":{e},"s":"{m.symbol}","c":"{fmt.price(last)}",'
                    f'"o":"{fmt.price(o)}","h":"{fmt.price(h)}","l":"{fmt.price(low)}","v":"{v}",'
                    f'"q":"{q}"}}').encode()
        ps = fmt.ps
        change = render.price_delta(fmt, last - o)
        pct = render.ratio_text((last - o) * 100, o, 3)
        # VWAP in price units: quote / volume (ticks) at the printed price width
        vwap = render.ratio_text(st.quote * ps.mantissa, max(1, st.volume) * 10 ** ps.decimals, fmt.pd) \
            if st.volume else fmt.price(last)
        window_ms = int(m.host.config.ticker_window * 1000)
        head = (f'{{"e":"24hrTicker","E":{e},"s":"{m.symbol}","p":"{change}","P":"{pct}","w":"{vwap}",')
        if self.usdm:
            mid = f'"c":"{fmt.price(last)}","Q":"{fmt.size(st.last_size)}",'
        else:
            b, bq, a, aq = m.bbo()
            x = fmt.price(st.prev_price if st.prev_price is not None else o)
            mid = (f'"x":"{x}","c":"{fmt.price(last)}","Q":"{fmt.size(st.last_size)}","b":"{fmt.price(b)}",'
                   f'"B":"{fmt.size(bq)}","a":"{fmt.price(a)}","A":"{fmt.size(aq)}",')
        tail = (f'"o":"{fmt.price(o)}","h":"{fmt.price(h)}","l":"{fmt.price(low)}","v":"{v}","q":"{q}",'
                f'"O":{e - window_ms},"C":{e},"F":{st.first_id},"L":{st.last_id},"n":{st.n}}}')
        return (head + mid + tail).encode()

    def kline(self, name: str, interval_ns: int, bar: Bar, closed: bool) -> bytes:
        """One ``kline`` event for ``bar``."""
        m = self.market
        fmt = m.fmt
        qw = m.dialect.quote_width
        return render.binance_kline(
            m.symbol, name, bar.start_ns // MS, interval_ns // MS, bar.first_id, bar.last_id,
            fmt.price(bar.open), fmt.price(bar.close), fmt.price(bar.high), fmt.price(bar.low),
            fmt.size(bar.volume), bar.n, closed, render.quote_text(fmt, bar.quote, qw),
            fmt.size(bar.taker_buy_volume), render.quote_text(fmt, bar.taker_buy_quote, qw),
            render.now_ms())

    def burst_blob(self, stream: bytes | None) -> Blob:
        """All burst messages as pre-framed WS frames, plus frame end offsets.

        ``stream`` None = raw form; otherwise wrapped for that combined stream name. Built
        once per form and cached.
        """
        cached = self._blobs.get(stream)
        if cached is not None:
            return cached
        if stream is not None:      # wrapping the raw frames' payloads: no second render
            out = render.frames_blob(render.ws_frame(render.combined(stream, p))
                                     for p in render.frame_payloads(*self.burst_blob(None)))
        else:
            m = self.market
            e = render.now_ms()
            out = render.frames_blob(
                render.ws_frame(render.binance_event(m.symbol, msg, m.fmt, self.usdm, e))
                for msg in m.burst)
        self._blobs[stream] = out
        return out


class BinanceConn(Connection):
    """A Binance spot or USD-M connection (raw ``/ws`` or combined ``/stream``)."""

    def __init__(self, host: SimHost, dialect: BinanceSpotDialect, combined: bool, route: str | None,
                 streams: list[str]) -> None:
        """``route``: the USD-M route connected to (``/public``, ``/market``, ...; ``""``
        none), None on spot. Streams of another route are accepted and deliver nothing."""
        super().__init__(host)
        self.dialect = dialect
        self.venue = dialect.name
        self.combined = combined
        self.route = route
        self.deaf = not dialect.serves("depth", route)
        self.streams: dict[str, None] = {}  # (ordered: LIST_SUBSCRIPTIONS keeps the order)
        self.initial = streams

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Subscribe the streams named in the URL."""
        super().on_ws_connected(transport)
        for s in self.initial:
            self._add(s)

    def _market(self, name: str) -> Market | None:
        m = self.dialect.stream_pattern.match(name)
        return None if m is None else self.host.find_market(self.venue, m.group(1).upper())

    def _channel(self, name: str) -> tuple[Market, str] | None:
        """(market, channel key) of a non-depth stream this connection serves, else None."""
        m = CHANNEL_PATTERN.match(name)
        if m is None or not self.dialect.serves(m.group(2), self.route):
            return None
        market = self.host.find_market(self.venue, m.group(1).upper())
        return None if market is None or not market.live else (market, m.group(2))

    def _add(self, name: str) -> None:
        if name in self.streams:
            return
        self.streams[name] = None
        chan = self._channel(name)
        if chan is not None:
            chan[0].subscribe_channel(self, chan[1], name.encode())
            self.markets.add(chan[0])
            return
        if self.deaf:
            return
        market = self._market(name)
        if market is None:
            return  # unknown/unsupported streams are accepted and stay silent, like Binance
        stream = name.encode()
        market.subscribe(self, stream)
        self.markets.add(market)
        if not market.live:
            wire = market.wire
            assert isinstance(wire, BinanceWire)
            blob, ends = wire.burst_blob(stream if self.combined else None)
            self.spawn(self.write_blob(blob, ends, market.cfg.burst_delay))

    def _remove(self, name: str) -> None:
        if name not in self.streams:
            return
        del self.streams[name]
        chan = self._channel(name)
        if chan is not None:
            chan[0].unsubscribe_channel(self, chan[1], name.encode())
        market = chan[0] if chan is not None else self._market(name)
        if market is not None:
            if chan is None:
                market.unsubscribe(self, name.encode())
            if not market.has(self):
                self.markets.discard(market)

    def _reply(self, obj: Any) -> None:
        self.send_raw(render.json_bytes(obj), data=False)

    def on_text(self, data: bytes) -> None:
        """SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS (``{"method":..,"params":..,"id":..}``)."""
        try:
            req = json.loads(data)
        except ValueError as exc:
            self._reply({"error": {"code": 3, "msg": f"Invalid JSON: {exc}"}})
            return
        if not isinstance(req, dict):
            self._reply({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}})
            return
        rid = req.get("id")
        method = req.get("method")
        params = req.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE") and (
                not isinstance(params, list) or not all(isinstance(p, str) for p in params)):
            self._reply({"error": {"code": 2, "msg": "Invalid request: invalid params"}, "id": rid})
            return
        if method == "SUBSCRIBE":
            limit = self.host.limits.stream_limit(self.venue)
            new = {p for p in params if p not in self.streams}
            if limit and len(self.streams) + len(new) > limit:
                # Refused whole. The real venue's reply is not documented (UNCERTAIN); code 2
                # is its "Invalid request" family (docs/simulator.md#venue-limits).
                self.host.limits.trip(self.venue, "streams_subscribe")
                self._reply({"error": {"code": 2, "msg": f"Invalid request: too many streams (max {limit})"},
                             "id": rid})
                return
            for p in params:
                self._add(p)
            self._reply({"result": None, "id": rid})
        elif method == "UNSUBSCRIBE":
            for p in params:
                self._remove(p)
            self._reply({"result": None, "id": rid})
        elif method == "LIST_SUBSCRIPTIONS":
            self._reply({"result": list(self.streams), "id": rid})
        else:
            self._reply({"error": {"code": 2, "msg": f"Invalid request: unknown variant {method}"}, "id": rid})

    def deliver(self, market: Market, stream: bytes, items: list[Item], msg: Message) -> None:
        """Binance: one frame per item, wrapped for combined streams.

        Live frames of other symbols may interleave with a burst: burst chunks end on frame
        boundaries, and Binance ids are per symbol.
        """
        if market not in self.first_ids:
            self.first_ids[market] = msg.first_id
        for payload, mode in items:
            if mode != LITERAL and self.combined:
                payload = render.combined(stream, payload)
            self.send_item(payload, mode)

    def deliver_channel(self, market: Market, key: str, stream: bytes, items: list[Item]) -> None:
        """As :meth:`deliver`: one frame per item, wrapped for combined streams."""
        for payload, mode in items:
            if mode != LITERAL and self.combined:
                payload = render.combined(stream, payload)
            self.send_item(payload, mode)


class BinanceSpotDialect(Dialect):
    """Binance spot: under ``/binance``, and every path no other venue claims."""

    venue: BinanceSpot
    venue_name = BinanceSpot.name
    """The id of the venue description this dialect reads."""
    usdm = False
    """USD-M wire format: events carry ``T`` and ``pu``, snapshots ``E`` and ``T``."""
    channel_names: tuple[str, ...] = ("trade", "aggTrade", "bookTicker", "ticker", "miniTicker", "kline")
    quote_width: int | None = 8
    """Decimals of quote volumes (spot prints 8; None: the exact ones, USD-M)."""

    def __init__(self) -> None:
        """Read the venue's description and compile its depth-stream name pattern."""
        self.venue = _description(self.venue_name)
        speeds = "|".join(re.escape(s) for s in self.venue.depth_speeds)
        self.stream_pattern = re.compile(rf"^([a-z0-9]+)@depth(@({speeds}))?$")
        self.prefix = "/" + self.venue.name

    def number_format(self, cfg: SymbolConfig, price: Scale, size: Scale) -> render.Fmt:
        """Spot prints 8 decimals for both (zero-padded deletes)."""
        d = 8 if cfg.print_decimals is None else cfg.print_decimals
        return render.Fmt(price, size, d, d, None)

    def wire(self, market: Market) -> Wire:
        """Binance events for ``market``."""
        return BinanceWire(market, self.usdm)

    def ws_url(self, base: str) -> str:
        """The base itself: the client appends ``/ws/...`` or ``/stream?...``."""
        return base

    def claims(self, path: str) -> bool:
        """Paths under ``/binance`` (unclaimed paths come here too: see the registry)."""
        return _has_prefix(path, self.prefix)

    def route_of(self, path: str) -> tuple[str, str | None]:
        """(the path below the venue prefix, the route: None on spot, which has none)."""
        return (_strip(path, self.prefix) if _has_prefix(path, self.prefix) else path), None

    def serves(self, key: str, route: str | None) -> bool:
        """True when stream kind ``key`` (``depth``, ``trade``, ``kline_1m``, ...) is
        delivered on ``route``: spot serves every kind everywhere."""
        return True

    def accept(self, host: SimHost, path: str, query: Mapping[str, list[str]]) -> Any:
        """``/ws[/<stream>...]`` or ``/stream?streams=...`` below the prefix/route; 404 else."""
        rest, route = self.route_of(path)
        if rest == "/ws" or rest.startswith("/ws/"):
            streams = [s for s in rest[4:].split("/") if s]
            combined = False
        elif rest == "/stream":
            streams = [s for part in query.get("streams", []) for s in part.split("/") if s]
            combined = True
        else:
            return None  # 404
        limits = host.limits
        limit = limits.stream_limit(self.name)
        if limit and len(streams) > limit:
            limits.trip(self.name, "streams_url")
            return _refuse(400, {"code": -1, "msg": f"Too many streams: {len(streams)} > {limit} per connection"})
        wait = limits.admit_connection(self.name)
        if wait is not None:
            count, window = limits.connection_limit(self.name), host.config.connection_window
            return _refuse(429, {"code": -1003, "msg": f"Too many new connections: at most {count} per "
                                 f"{window:g} s per IP"}, {"Retry-After": str(max(1, math.ceil(wait)))})
        return BinanceConn(host, self, combined, route, streams)

    # -- REST -----------------------------------------------------------------------------

    #: REST trade endpoints: path -> (weight, kind). Weights from the venue's pages as
    #: summarised in docs/simulator.md#rest-backfill (``trades`` on spot: UNCERTAIN).
    trade_paths: ClassVar[dict[str, tuple[int, str]]] = {
        "/api/v3/aggTrades": (4, "agg"),
        "/api/v3/trades": (25, "recent"),
        "/api/v3/historicalTrades": (25, "historical"),
    }

    def rest_routes(self) -> list[Route]:
        """The venue's ``depth_path`` and ``info_path``, and the trade endpoints."""
        routes: list[Route] = [("GET", self.venue.depth_path, self.depth), ("GET", self.venue.info_path, self.info)]
        for path, (weight, kind) in self.trade_paths.items():
            routes.append(("GET", path, functools.partial(self.trades, weight=weight, kind=kind)))
        return routes

    async def trades(self, api: RestApi, request: web.Request, *, weight: int, kind: str) -> web.Response:
        """``aggTrades`` (``fromId`` = an aggregate id), ``trades`` (the most recent) and
        ``historicalTrades`` (``fromId`` = a trade id): ``limit`` default 500, at most 1000;
        without ``fromId`` the most recent. From the retained tape only
        (``SimConfig.trade_history``): a ``fromId`` older than it starts at its oldest."""
        q = request.query
        symbol = q.get("symbol")
        injected = api.begin(self.name, symbol)
        if injected is not None:
            return injected
        if not symbol:
            return error(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        m = api.host.find_market(self.name, symbol)
        if m is None:
            return error(400, -1121, "Invalid symbol.")
        try:
            limit = int(q.get("limit", "500"))
            from_id = int(q["fromId"]) if kind != "recent" and q.get("fromId") else None
        except ValueError:
            return error(400, -1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= 1000:
            return error(400, -1130, "Data sent for parameter 'limit' is not valid.")
        refused, used = api.charge(self.name, weight, request)
        if refused is not None:
            return refused
        fmt = m.fmt
        if kind == "agg":
            aggs = list(m.model.aggs)
            if from_id is None:
                sel = aggs[-limit:]
            else:
                sel = [a for a in aggs if a.agg_id >= from_id][:limit]
            body = [self.agg_row(fmt, a) for a in sel]
        else:
            fills = list(m.model.fills)
            if from_id is None:
                sel_f = fills[-limit:]
            else:
                sel_f = [f for f in fills if f.trade_id >= from_id][:limit]
            body = [{"id": f.trade_id, "price": fmt.price(f.price), "qty": fmt.size(f.size),
                     "quoteQty": render.quote_text(fmt, f.price * f.size, self.quote_width), "time": f.t_ns // MS,
                     "isBuyerMaker": f.taker < 0, "isBestMatch": True} for f in sel_f]
        return web.Response(body=render.json_bytes(body), content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": str(used)})

    def agg_row(self, fmt: render.Fmt, a: Agg) -> dict[str, Any]:
        """One ``aggTrades`` row (spot: with ``M``)."""
        return {"a": a.agg_id, "p": fmt.price(a.price), "q": fmt.size(a.size), "f": a.first_id,
                "l": a.last_id, "T": a.t_ns // MS, "m": a.taker < 0, "M": True}

    async def depth(self, api: RestApi, request: web.Request) -> web.Response:
        """A depth snapshot: the venue's limit rules and weights, stale/slow if injected."""
        venue = self.venue
        symbol = request.query.get("symbol")
        injected = api.begin(self.name, symbol)
        if injected is not None:
            return injected
        if not symbol:
            return error(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        m = api.host.find_market(self.name, symbol)
        if m is None:
            return error(400, -1121, "Invalid symbol.")
        raw = request.query.get("limit")
        if raw is None:
            limit = venue.depth_default_limit
        elif not raw.isdigit():
            return error(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.")
        else:
            limit = int(raw)
        if venue.depth_limits is not None:
            if limit not in venue.depth_limits:
                return error(400, -1130, "Data sent for parameter 'limit' is not valid.")
        else:
            if limit < 1:
                return error(400, -1130, "Data sent for parameter 'limit' is not valid.")
            limit = min(limit, venue.depth_max_limit)  # the real venue truncates
        refused, used = api.charge(self.name, venue.snapshot_weight(limit), request)
        if refused is not None:
            return refused
        # Captured on arrival: a slow snapshot is delivered late, and so is older than the stream.
        state = m.rest_state()
        delay = m.snapshot_delay()
        if delay is not None:
            await asyncio.sleep(delay)
        body = render.binance_snapshot(state, limit, m.fmt, self.usdm, m.off_grid_bids)
        return web.Response(body=body, content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": str(used)})

    def symbol_info(self, m: Market) -> dict[str, Any]:
        """One ``symbols`` entry of ``exchangeInfo`` (the filters a client reads)."""
        cfg = m.cfg
        ps, ss = m.model.price_scale, m.model.size_scale
        tick, step = ps.fmt(1, 8), ss.fmt(1, 8)
        base = _base_asset(cfg.symbol)
        return {
            "symbol": cfg.symbol, "status": "TRADING", "baseAsset": base,
            "baseAssetPrecision": 8, "quoteAsset": cfg.symbol[len(base):], "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
                {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
            ],
        }

    async def info(self, api: RestApi, request: web.Request) -> web.Response:
        """``exchangeInfo`` for ``symbol``, ``symbols=[...]`` or every configured symbol."""
        injected = api.begin(self.name, request.query.get("symbol"))
        if injected is not None:
            return injected
        names: list[str] | None = None
        if "symbol" in request.query:
            names = [request.query["symbol"]]
        elif "symbols" in request.query:
            try:
                parsed = json.loads(request.query["symbols"])
                if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
                    raise ValueError
                names = parsed
            except ValueError:
                return error(400, -1100, "Illegal characters found in parameter 'symbols'.")
        if names is None:
            markets = api.host.markets_of(self.name)
        else:
            markets = []
            for n in names:
                found = api.host.find_market(self.name, n)
                if found is None:
                    return error(400, -1121, "Invalid symbol.")
                markets.append(found)
        refused, used = api.charge(self.name, self.venue.info_weight, request)
        if refused is not None:
            return refused
        body = {
            "timezone": "UTC",
            "serverTime": render.now_ms(),
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                            "limit": api.weight_limit(self.name)}],
            "exchangeFilters": [],
            "symbols": [self.symbol_info(m) for m in markets],
        }
        return web.Response(body=render.json_bytes(body), content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": str(used)})


class BinanceUsdmDialect(BinanceSpotDialect):
    """Binance USD-M: under ``/binance-usdm``, and the unprefixed ``/public``, ``/market``
    and ``/private`` routes (depth is served on ``/public`` only)."""

    venue_name = BinanceUsdm.name
    usdm = True
    id_skip = True
    trade_holes = True
    quote_width = None
    channel_names = ("aggTrade", "bookTicker", "ticker", "miniTicker", "kline")
    trade_paths: ClassVar[dict[str, tuple[int, str]]] = {"/fapi/v1/aggTrades": (20, "agg")}
    #: the venue's other routes: connections there are accepted and deliver no depth
    silent_routes = ("/market", "/private")

    def number_format(self, cfg: SymbolConfig, price: Scale, size: Scale) -> render.Fmt:
        """USD-M prints the scales' decimals (zero-padded deletes)."""
        pd = price.text_decimals if cfg.print_decimals is None else cfg.print_decimals
        sd = size.text_decimals if cfg.print_decimals is None else cfg.print_decimals
        return render.Fmt(price, size, pd, sd, None)

    def claims(self, path: str) -> bool:
        """Paths under ``/binance-usdm`` or on one of the venue's routes."""
        return _has_prefix(path, self.prefix) or any(
            _has_prefix(path, r) for r in (self.venue.route, *self.silent_routes))

    def route_of(self, path: str) -> tuple[str, str | None]:
        """Below the prefix, then below its route (``""`` when there is none)."""
        rest, _ = super().route_of(path)
        for route in (self.venue.route, *self.silent_routes):
            if _has_prefix(rest, route):
                return _strip(rest, route), route
        return rest, ""

    def serves(self, key: str, route: str | None) -> bool:
        """``/public``: depth and ``bookTicker``; ``/market``: ``aggTrade``, ``ticker``,
        ``miniTicker``, ``kline_*`` (no ``1s``); no ``@trade``. Streams on another route
        (or no route) are accepted and silent, like the real fstream."""
        if key in ("depth", "bookTicker"):
            return route == self.venue.route
        if key == "trade" or key == "kline_1s":
            return False
        return route == MARKET_ROUTE

    def agg_row(self, fmt: render.Fmt, a: Agg) -> dict[str, Any]:
        """One USD-M ``aggTrades`` row (``nq``, no ``M``)."""
        return {"a": a.agg_id, "p": fmt.price(a.price), "q": fmt.size(a.size), "nq": fmt.size(a.size),
                "f": a.first_id, "l": a.last_id, "T": a.t_ns // MS, "m": a.taker < 0}

    def symbol_info(self, m: Market) -> dict[str, Any]:
        """One USD-M ``symbols`` entry (perpetual contract, scale-wide filters)."""
        cfg = m.cfg
        ps, ss = m.model.price_scale, m.model.size_scale
        base = _base_asset(cfg.symbol)
        return {
            "symbol": cfg.symbol, "pair": cfg.symbol, "contractType": "PERPETUAL", "status": "TRADING",
            "baseAsset": base, "quoteAsset": cfg.symbol[len(base):],
            "pricePrecision": ps.text_decimals, "quantityPrecision": ss.text_decimals,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": ps.text, "maxPrice": "4529764", "tickSize": ps.text},
                {"filterType": "LOT_SIZE", "minQty": ss.text, "maxQty": "1000", "stepSize": ss.text},
            ],
        }


def _refuse(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """A handshake answered with an HTTP error (a JSON body like the REST errors)."""
    resp = WSUpgradeResponse.create_error_response(
        status, render.json_bytes(body), {"Content-Type": "application/json", **(headers or {})})
    return WSUpgradeResponseWithListener(resp, None)


def _base_asset(symbol: str) -> str:
    return symbol[:-4] if symbol.endswith(("USDT", "USDC")) else symbol[:-3]
