"""Bybit v5 public order books and trades: ``bybit`` (spot) and ``bybit-linear`` (USDT
perpetuals).

Snapshots arrive in-band (``orderbook.{depth}.{symbol}``: a ``snapshot`` after the
subscribe, then ``delta`` messages); ``u`` steps by one per message of a book, and a
snapshot with ``u == 1`` means the venue's service restarted (a fresh book, not a gap).
A jump in ``u`` resubscribes that symbol only. Trades: ``publicTrade.{symbol}`` on the
same connections (no usable id sequence: ``i`` is a UUID on derivatives); tickers, the
BBO (``orderbook.1``) and candles (``kline.{interval}.{symbol}``) too. The rules:
docs/venues.md, "Bybit".
"""

from __future__ import annotations

import json
from typing import ClassVar

from fastfeed.rest import RestClient, RestError
from fastfeed.venues.base import BOOK, Instrument, Venue, dumps

#: The BBO's channel: the 1-level book, ``orderbook.1.{symbol}`` (snapshot-only).
BBO_TOPIC = "orderbook.1"
#: The ``kline.{interval}`` intervals and their lengths in ms; ``M`` (a calendar month)
#: has none fixed: 0, the decoder takes 28..31 days (docs/venues.md, "Bybit candles").
KLINE_MS: dict[str, int] = {
    "1": 60_000, "3": 180_000, "5": 300_000, "15": 900_000, "30": 1_800_000,
    "60": 3_600_000, "120": 7_200_000, "240": 14_400_000, "360": 21_600_000,
    "720": 43_200_000, "D": 86_400_000, "W": 604_800_000, "M": 0}


class BybitSpot(Venue):
    """Bybit v5 spot public WebSocket: ``orderbook.{depth}.{symbol}`` and
    ``publicTrade.{symbol}``."""

    name = "bybit"
    symbol_example = "BTCUSDT"
    decoder = "bybit"
    trade_decoder = "bybit-trades"
    ticker_decoder = "bybit-ticker"
    # the venue BBO: orderbook.1, the 1-level book (snapshot-only; docs/venues.md "Bybit BBO")
    bbo_decoder = "bybit-bbo"
    # u == 1 is the venue's service restart: the id space starts again
    quote_id_restarts = True
    # linear sends a snapshot, then deltas of the changed fields; spot whole snapshots
    ticker_deltas = True
    stream_decoder = "bybit-stream"
    # no id rule: `i` is a UUID on derivatives, and numeric spot ids are not promised +1
    trade_streams = (("publicTrade", "observed"),)
    # so an unreadable publicTrade message is a loss of unknown range (books have `u`)
    trades_unreadable_is_gap = True
    sequencing = "bybit"
    #: the ``category`` of the REST instrument lookup (and the WebSocket route)
    category = "spot"
    #: the ``orderbook.{depth}`` depth fastfeed subscribes (the venue offers 1, 50, 200, 1000)
    depth = 50
    ws_url = "wss://stream.bybit.com/v5/public/spot"
    rest_url = "https://api.bybit.com"
    # one public connection's args must not exceed 21 000 characters in total
    # (~22 per topic): a conservative fastfeed bound well under it
    max_streams_per_connection = 200
    # spot: at most 10 args per subscribe request
    max_streams_per_message = 10
    weight_per_minute = 600.0
    stale_after = 30.0
    sends_heartbeats = False
    #: the application keep-alive: ``{"op":"ping"}`` about every 20 s (docs/venues.md, "Bybit")
    keepalive_text = b'{"op":"ping"}'
    keepalive_every = 20.0
    channel_names: ClassVar[dict[str, str]] = {"ticker": "tickers", "bbo": BBO_TOPIC,
                                               "candles": "kline.{interval}"}
    #: ``kline.{interval}.{symbol}``, ``confirm`` true the final update (docs/venues.md,
    #: "Bybit candles"); every documented interval, the month's length read from the bar
    candle_decoder = "bybit-candles"
    candle_intervals: tuple[str, ...] = tuple(KLINE_MS)

    def topic(self, symbol: str, channel: str = BOOK) -> str:
        """The topic of ``symbol``'s ``channel``: ``orderbook.50.BTCUSDT`` (books),
        ``publicTrade.BTCUSDT`` (trades), ``tickers.BTCUSDT`` or ``orderbook.1.BTCUSDT``
        (the BBO), ``kline.5.BTCUSDT`` (candles)."""
        if channel == BOOK:
            return f"orderbook.{self.depth}.{symbol}"
        if channel == "publicTrade":
            return f"publicTrade.{symbol}"
        if channel == "tickers":
            return f"tickers.{symbol}"
        if channel == BBO_TOPIC:
            return f"{BBO_TOPIC}.{symbol}"
        if channel.startswith("kline.") and channel[6:] in KLINE_MS:
            return f"{channel}.{symbol}"
        raise ValueError(f"{self.name}: only books, publicTrade, tickers, {BBO_TOPIC} and "
                         f"kline.{{interval}} are implemented, not {channel!r}")

    def _ops(self, op: str, symbols: list[str], channel: str) -> list[bytes]:
        self.topic("", channel)         # an unimplemented channel's error, even for none
        step = self.max_streams_per_message
        return [dumps({"op": op, "args": [self.topic(s, channel)
                                          for s in symbols[i:i + step]]})
                for i in range(0, len(symbols), step)]

    def subscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """``{"op":"subscribe","args":["orderbook.50.BTCUSDT",...]}`` (or
        ``publicTrade.BTCUSDT``, ...), at most
        ``max_streams_per_message`` topics per request."""
        return self._ops("subscribe", symbols, channel)

    def unsubscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """``{"op":"unsubscribe","args":[...]}``, split like the subscribes."""
        return self._ops("unsubscribe", symbols, channel)

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """``priceFilter.tickSize`` and the size step (``lotSizeFilter.basePrecision`` on
        spot, ``qtyStep`` on derivatives) from ``/v5/market/instruments-info``."""
        body = await rest.get("/v5/market/instruments-info",
                              {"category": self.category, "symbol": symbol})
        return parse_instruments_info(body, symbol, self.step_field)

    #: the ``lotSizeFilter`` field holding the size increment
    step_field = "basePrecision"


class BybitLinear(BybitSpot):
    """Bybit v5 USDT perpetuals (``linear``): the same book protocol, no args limit."""

    name = "bybit-linear"
    category = "linear"
    ws_url = "wss://stream.bybit.com/v5/public/linear"
    # futures have no args limit per request: fastfeed's usual batch
    max_streams_per_message = 100
    step_field = "qtyStep"


def parse_instruments_info(body: bytes, symbol: str, step_field: str) -> Instrument:
    """The instrument of ``symbol`` from an ``instruments-info`` body
    (``{"retCode":0,"result":{"list":[{"symbol":..,"priceFilter":{"tickSize":..},
    "lotSizeFilter":{...}}]}}``); ``RestError`` when it is not there or unreadable."""
    try:
        info = json.loads(body)
        if info.get("retCode", 0) != 0:
            raise RestError(f"instruments-info for {symbol}: retCode {info.get('retCode')} "
                            f"{str(info.get('retMsg', ''))[:100]!r}")
        for row in info["result"]["list"]:
            if row.get("symbol") == symbol:
                return Instrument(symbol, str(row["priceFilter"]["tickSize"]),
                                  str(row["lotSizeFilter"][step_field]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RestError(f"unreadable instruments-info for {symbol}: {exc!r}") from exc
    raise RestError(f"instruments-info has no symbol {symbol}")
