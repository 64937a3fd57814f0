"""Binance spot and USD-M futures: combined depth streams + REST snapshots.

Rules (``docs/venues.md``): stream names are lower case; spot allows 1024 streams per
connection, USD-M 200 and only on the ``/public`` route (a depth stream requested on the
wrong route fails silently). Snapshot weights: spot 5/25/50/250 for limit ≤100/≤500/
≤1000/≤5000; USD-M 2/5/10/20 for ≤50/100/500/1000. Spot budget 6000 weight per minute.
"""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote

from fastfeed.rest import RestClient, RestError
from fastfeed.venues.base import Instrument, Venue, dumps


class BinanceSpot(Venue):
    """Binance spot: ``<symbol>@depth@100ms``, ``GET /api/v3/depth``."""

    name = "binance"
    symbol_example = "BTCUSDT"
    decoder = "binance-depth"
    snapshot_decoder = "binance-snapshot"
    sequencing = "binance-spot"
    # Binance keeps every price and quantity with 8 decimals (spot prints exactly 8, USD-M
    # trims them); snapshots hold deep levels off today's tickSize/stepSize grid
    value_decimals = 8
    ws_url = "wss://data-stream.binance.vision"
    rest_url = "https://api.binance.com"
    max_streams_per_connection = 1024
    weight_per_minute = 6000.0
    stale_after = 30.0
    max_control_per_second = 4     # the venue allows 5 incoming messages/s, then disconnects
    stream_suffix = "@depth@100ms"
    route = ""
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
    _ids = itertools.count(1)

    def stream(self, symbol: str) -> str:
        """The depth stream name for a symbol (lower case, as Binance requires)."""
        return symbol.lower() + self.stream_suffix

    def connection_url(self, ws_base: str, symbols: list[str]) -> str:
        """Combined-stream URL: every event arrives wrapped with its stream name."""
        streams = "/".join(self.stream(s) for s in symbols)
        return f"{ws_base.rstrip('/')}{self.route}/stream?streams={quote(streams, safe='@/')}"

    def subscribe_messages(self, symbols: list[str]) -> list[bytes]:
        """A ``SUBSCRIBE`` request adding streams to a running connection."""
        return [dumps({"method": "SUBSCRIBE", "params": [self.stream(s) for s in symbols],
                       "id": next(self._ids)})]

    def unsubscribe_messages(self, symbols: list[str]) -> list[bytes]:
        """An ``UNSUBSCRIBE`` request."""
        return [dumps({"method": "UNSUBSCRIBE", "params": [self.stream(s) for s in symbols],
                       "id": next(self._ids)})]

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
                              weight=self.snapshot_weight(limit))

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """``PRICE_FILTER.tickSize`` and ``LOT_SIZE.stepSize`` from ``exchangeInfo``."""
        body = await rest.get(self.info_path, {"symbol": symbol}, weight=20)
        return parse_exchange_info(body, symbol)


class BinanceUsdm(BinanceSpot):
    """Binance USD-M futures: depth on the ``/public`` route, ``pu`` chaining."""

    name = "binance-usdm"
    sequencing = "binance-usdm"
    ws_url = "wss://fstream.binance.com"
    rest_url = "https://fapi.binance.com"
    max_streams_per_connection = 200
    weight_per_minute = 2400.0
    route = "/public"
    depth_path = "/fapi/v1/depth"
    info_path = "/fapi/v1/exchangeInfo"
    snapshot_limit = 1000
    depth_speeds = ("100ms", "250ms", "500ms")      # default pace 250 ms
    depth_default_limit = 500
    depth_max_limit = 1000
    depth_limits = (5, 10, 20, 50, 100, 500, 1000)  # any other limit is rejected
    info_weight = 1

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
    try:
        info = json.loads(body)
        for entry in info["symbols"]:
            if entry["symbol"] == symbol:
                filters = {f["filterType"]: f for f in entry["filters"]}
                return Instrument(symbol, filters["PRICE_FILTER"]["tickSize"],
                                  filters["LOT_SIZE"]["stepSize"])
    except (ValueError, KeyError, TypeError) as exc:
        raise RestError(f"unreadable exchangeInfo for {symbol}: {exc!r}") from exc
    raise RestError(f"symbol {symbol} not in exchangeInfo")
