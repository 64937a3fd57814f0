"""Binance spot and USD-M futures: combined depth streams + REST snapshots.

Rules (``docs/venues.md``): stream names are lower case; spot allows 1024 streams per
connection, USD-M 200 and only on the ``/public`` route (a depth stream requested on the
wrong route fails silently). Snapshot weights: spot 5/25/50/250 for limit ≤100/≤500/
≤1000/≤5000; USD-M 2/5/10/20 for ≤50/100/500/1000. Spot budget 6000 weight per minute.
"""

from __future__ import annotations

import itertools
import json
from typing import ClassVar
from urllib.parse import quote

from fastfeed.rest import RestClient, RestError
from fastfeed.venues.base import BOOK, Instrument, Venue, dumps


class BinanceSpot(Venue):
    """Binance spot: ``<symbol>@depth@100ms``, ``GET /api/v3/depth``."""

    name = "binance"
    symbol_example = "BTCUSDT"
    decoder = "binance-depth"
    snapshot_decoder = "binance-snapshot"
    sequencing = "binance-spot"
    trade_decoder = "binance-trades"
    stream_decoder = "binance-stream"
    # aggTrade: a +1 (gap otherwise), f == previous l + 1 observed only; trade: t +1
    # observed, not promised (docs/venues.md, "Trades")
    trade_streams: tuple[tuple[str, str], ...] = (("aggTrade", "contiguous-fills"),
                                                  ("trade", "observed"))
    # <symbol>@bookTicker (spot: no e/E; USD-M: e, E, T); @ticker and @miniTicker
    bbo_decoder: str | None = "binance-bbo"
    ticker_decoder: str | None = "binance-ticker"
    # <symbol>@kline_<interval> (docs/venues.md, "Candles")
    channel_names: ClassVar[dict[str, str]] = {"bbo": "bookTicker", "ticker": "ticker", "mini_ticker": "miniTicker",
                     "candles": "kline_{interval}"}
    candle_decoder: str | None = "binance-candles"
    candle_intervals: tuple[str, ...] = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h",
                                         "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")
    # Binance keeps every price and quantity with 8 decimals (spot prints exactly 8, USD-M
    # trims them); snapshots hold deep levels off today's tickSize/stepSize grid
    value_decimals = 8
    ws_url = "wss://data-stream.binance.vision"
    rest_url = "https://api.binance.com"
    max_streams_per_connection = 1024
    weight_per_minute = 6000.0
    # REST backfill of aggTrade (weight 4 since 2025-03-10; docs/venues.md, "Backfill")
    backfill_decoder: str | None = "binance-rest-aggtrades"
    backfill_stream: str | None = "aggTrade"
    backfill_path = "/api/v3/aggTrades"
    backfill_weight = 4.0
    stale_after = 30.0
    max_control_per_second = 4     # the venue allows 5 incoming messages/s, then disconnects
    incoming_per_second = 5        # pings, pongs and requests; more: close 1008
    connections_per_window = 300   # new connections per IP per 5 minutes
    connection_window = 300.0
    rest_ban_seconds = (120.0, 259200.0)   # "from 2 minutes to 3 days"
    stream_suffix = "@depth@100ms"
    route = ""
    #: the route of every other channel (USD-M: trades, tickers and klines on ``/market``)
    market_route = ""
    #: channels served on ``route`` (USD-M ``/public``: depth and ``bookTicker``)
    route_channels: tuple[str, ...] = (BOOK, "bookTicker")
    depth_path = "/api/v3/depth"
    info_path = "/api/v3/exchangeInfo"
    # 1000 levels cost 50 weight (5000 cost 250): 60 resyncs a minute fit in half the
    # budget. Deeper levels appear as they change; pass Engine(snapshot_limit=5000) for more.
    snapshot_limit = 1000
    #: update speeds a depth stream name may carry (``<symbol>@depth@<speed>``); without
    #: one the stream runs at the venue's default pace (spot: 1000 ms)
    depth_speeds: tuple[str, ...] = ("100ms", "1000ms")
    #: levels a depth snapshot returns when the request has no ``limit``
    depth_default_limit = 100
    #: largest snapshot ``limit``; spot truncates a larger one to this
    depth_max_limit = 5000
    #: the only snapshot limits accepted, or None for any of 1..``depth_max_limit``
    depth_limits: tuple[int, ...] | None = None
    #: request weight of an ``exchangeInfo`` request
    info_weight = 20
    #: snapshot limits the engine chooses from, deepest first, when the weight budget
    #: cannot fetch every waiting book at ``snapshot_limit`` in time (docs/states.md)
    snapshot_depths: tuple[int, ...] = (1000, 500, 100)
    # A 1,024-stream URL is ~25 KB, beyond what HTTP servers take in a request line: the
    # URL names the first 100 streams (~2.5 KB), SUBSCRIBE messages the rest, paced.
    max_url_streams = 100
    max_streams_per_message = 200
    #: symbols per ``exchangeInfo?symbols=[...]`` lookup (a long list is a long URL)
    info_batch = 100
    _ids = itertools.count(1)

    def stream(self, symbol: str, channel: str = BOOK) -> str:
        """A stream name (lower case, as Binance requires): ``<symbol>@depth@100ms`` for
        the book, ``<symbol>@aggTrade`` / ``<symbol>@trade`` for trades."""
        if channel == BOOK:
            return symbol.lower() + self.stream_suffix
        return f"{symbol.lower()}@{channel}"

    def channel_route(self, channel: str = BOOK) -> str:
        """``route`` for ``route_channels``, ``market_route`` for the rest (USD-M:
        ``/public`` for depth and bookTicker, ``/market`` for trades, tickers, klines)."""
        return self.route if channel in self.route_channels else self.market_route

    def connection_url(self, ws_base: str, symbols: list[str], channel: str = BOOK) -> str:
        """Combined-stream URL: every event arrives wrapped with its stream name."""
        streams = "/".join(self.stream(s, channel) for s in symbols)
        return (f"{ws_base.rstrip('/')}{self.channel_route(channel)}/stream?streams="
                f"{quote(streams, safe='@/')}")

    def subscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """``SUBSCRIBE`` requests adding streams to a running connection (at most
        ``max_streams_per_message`` streams each)."""
        return self._requests("SUBSCRIBE", symbols, channel)

    def unsubscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """``UNSUBSCRIBE`` requests."""
        return self._requests("UNSUBSCRIBE", symbols, channel)

    def _requests(self, method: str, symbols: list[str], channel: str) -> list[bytes]:
        step = self.max_streams_per_message
        return [dumps({"method": method,
                       "params": [self.stream(s, channel) for s in symbols[i:i + step]],
                       "id": next(self._ids)})
                for i in range(0, len(symbols), step)]

    def snapshot_weight(self, limit: int) -> int:
        """Request weight of a depth snapshot with this limit."""
        if limit <= 100:
            return 5
        if limit <= 500:
            return 25
        if limit <= 1000:
            return 50
        return 250

    async def snapshot(self, rest: RestClient, symbol: str, limit: int | None = None) -> bytes:
        """``GET /api/v3/depth?symbol=…&limit=…`` body, within the shared weight budget."""
        limit = limit or self.snapshot_limit
        return await rest.get(self.depth_path, {"symbol": symbol, "limit": limit},
                              weight=self.snapshot_weight(limit), record=False)

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """``PRICE_FILTER.tickSize`` and ``LOT_SIZE.stepSize`` from ``exchangeInfo``."""
        body = await rest.get(self.info_path, {"symbol": symbol}, weight=self.info_weight)
        return parse_exchange_info(body, symbol)

    async def instruments(self, rest: RestClient,
                          symbols: list[str]) -> dict[str, Instrument | RestError]:
        """Several symbols' scales: one ``exchangeInfo?symbols=[...]`` per
        ``info_batch`` symbols (the same weight as one symbol)."""
        out: dict[str, Instrument | RestError] = {}
        for i in range(0, len(symbols), self.info_batch):
            chunk = symbols[i:i + self.info_batch]
            if len(chunk) == 1:
                out.update(await super().instruments(rest, chunk))
                continue
            try:
                body = await rest.get(self.info_path, {"symbols": dumps(chunk).decode()},
                                      weight=self.info_weight)
            except RestError as exc:
                if exc.status == 400:   # one unknown symbol fails the list: ask one by one
                    out.update(await super().instruments(rest, chunk))
                else:
                    out.update((s, exc) for s in chunk)
                continue
            out.update(instruments_from(body, chunk))
        return out


class BinanceUsdm(BinanceSpot):
    """Binance USD-M futures: depth on the ``/public`` route, ``pu`` chaining."""

    name = "binance-usdm"
    sequencing = "binance-usdm"
    # aggTrade only (on the /market route); a +1, the f..l fill ranges have holes
    trade_streams = (("aggTrade", "contiguous"),)
    candle_intervals = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h",
                        "12h", "1d", "3d", "1w", "1M")      # no 1s on USD-M
    ws_url = "wss://fstream.binance.com"
    rest_url = "https://fapi.binance.com"
    max_streams_per_connection = 200
    weight_per_minute = 2400.0
    # aggTrades weight 20, only 48 h back (error -4166; docs/venues.md, "Backfill")
    backfill_path = "/fapi/v1/aggTrades"
    backfill_weight = 20.0
    backfill_too_old = "-4166"
    incoming_per_second = 10
    # connections_per_window: the spot figure (300 per 5 min); USD-M states none (UNCERTAIN)
    route = "/public"
    market_route = "/market"
    depth_path = "/fapi/v1/depth"
    info_path = "/fapi/v1/exchangeInfo"
    snapshot_limit = 1000
    depth_speeds = ("100ms", "250ms", "500ms")      # default pace 250 ms
    depth_default_limit = 500
    depth_max_limit = 1000
    depth_limits = (5, 10, 20, 50, 100, 500, 1000)  # any other limit is rejected
    snapshot_depths = (1000, 500, 100, 50)
    info_weight = 1
    max_url_streams = 100

    async def instruments(self, rest: RestClient,
                          symbols: list[str]) -> dict[str, Instrument | RestError]:
        """USD-M ``exchangeInfo`` takes no symbol filter: one request (weight 1) answers
        every symbol."""
        try:
            body = await rest.get(self.info_path, {}, weight=self.info_weight)
        except RestError as exc:
            return {s: exc for s in symbols}
        return instruments_from(body, symbols)

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """``exchangeInfo`` (every symbol; USD-M has no filter) → this symbol's scales."""
        body = await rest.get(self.info_path, {}, weight=self.info_weight)
        return parse_exchange_info(body, symbol)

    def snapshot_weight(self, limit: int) -> int:
        """USD-M weights: 2/5/10/20 for limit ≤50/100/500/1000."""
        if limit <= 50:
            return 2
        if limit <= 100:
            return 5
        if limit <= 500:
            return 10
        return 20


def parse_exchange_info(body: bytes, symbol: str) -> Instrument:
    """Pick ``symbol``'s tick and step size out of an ``exchangeInfo`` body."""
    found = instruments_from(body, [symbol])[symbol]
    if isinstance(found, RestError):
        raise found
    return found


def instruments_from(body: bytes, symbols: list[str]) -> dict[str, Instrument | RestError]:
    """Each symbol's scales from one ``exchangeInfo`` body, parsed once (a symbol it lacks,
    or whose entry is unreadable, maps to its error)."""
    out: dict[str, Instrument | RestError] = {}
    try:
        info = json.loads(body)
        entries = {e["symbol"]: e for e in info["symbols"] if isinstance(e, dict) and "symbol" in e}
    except (ValueError, KeyError, TypeError) as exc:
        err = RestError(f"unreadable exchangeInfo: {exc!r}")
        return {s: err for s in symbols}
    for symbol in symbols:
        entry = entries.get(symbol)
        if entry is None:
            out[symbol] = RestError(f"symbol {symbol} not in exchangeInfo")
            continue
        try:
            filters = {f["filterType"]: f for f in entry["filters"]}
            out[symbol] = Instrument(symbol, filters["PRICE_FILTER"]["tickSize"],
                                     filters["LOT_SIZE"]["stepSize"])
        except (KeyError, TypeError) as exc:
            out[symbol] = RestError(f"unreadable exchangeInfo for {symbol}: {exc!r}")
    return out
