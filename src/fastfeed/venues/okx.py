"""OKX v5 public order books and trades (``okx``): spot and swap instruments by ``instId``.

Snapshots arrive in-band (channel ``books``: a 400-level ``snapshot`` after the
subscribe, then ``update`` messages every 100 ms); each update's ``prevSeqId`` must equal
the previous message's ``seqId`` (the idle keep-alive has ``seqId == prevSeqId`` and empty
sides; after maintenance ``seqId`` may go backwards while the chain holds). A break
resubscribes that instrument only. Trades (channel ``trades``, aggregated per taker
order), tickers (``tickers``) and the best bid/offer (``bbo-tbt``) share the connection; trade ids are only observed. The connection wants the text ``ping`` when idle and
answers ``pong``. The rules: docs/venues.md, "OKX".
"""

from __future__ import annotations

import json
from typing import ClassVar

from fastfeed.rest import RestClient, RestError
from fastfeed.venues.base import BOOK, Instrument, Venue, dumps

#: The ``candle<bar>`` bars fastfeed takes and their lengths in seconds (case matters:
#: ``1m`` minute, ``1H`` hour); the ``utc`` variants of 6H and longer are as long. Months
#: (``1M``, ``3M``) have no fixed length and are not taken (docs/venues.md, "OKX").
BAR_SECONDS: dict[str, int] = {
    "1s": 1, "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1H": 3600,
    "2H": 7200, "4H": 14400, "6H": 21600, "12H": 43200, "1D": 86400, "2D": 172800,
    "3D": 259200, "5D": 432000, "1W": 604800, "6Hutc": 21600, "12Hutc": 43200,
    "1Dutc": 86400, "2Dutc": 172800, "3Dutc": 259200, "5Dutc": 432000, "1Wutc": 604800}


class Okx(Venue):
    """OKX v5 public WebSocket: the ``books``, ``trades``, ``tickers`` and ``bbo-tbt``
    channels."""

    name = "okx"
    symbol_example = "BTC-USDT"
    decoder = "okx"
    sequencing = "okx"
    trade_decoder = "okx-trades"
    stream_decoder = "okx-stream"
    # `tradeId` is the last id of `count` aggregated fills; the inferred chain rule
    # (tradeId - count == previous tradeId) is UNCERTAIN, so ids are only observed
    # (docs/venues.md, "OKX")
    trade_streams = (("trades", "observed"),)
    #: ``tickers`` and ``bbo-tbt`` (docs/venues.md, "OKX")
    ticker_decoder = "okx-ticker"
    bbo_decoder = "okx-bbo"
    channel_names: ClassVar[dict[str, str]] = {"ticker": "tickers", "bbo": "bbo-tbt",
                                               "candles": "candle{interval}"}
    #: ``candle<bar>`` on the ``/business`` endpoint (``channel_route``); bars of a fixed
    #: length only (no ``1M``/``3M``), docs/venues.md "OKX"
    candle_decoder = "okx-candles"
    candle_intervals: tuple[str, ...] = tuple(BAR_SECONDS)
    #: the channels besides books a connection subscribes by name
    channel_arg_names: ClassVar[tuple[str, ...]] = ("trades", "tickers", "bbo-tbt")
    #: the book channel fastfeed subscribes (400-level snapshot + 100 ms updates)
    book_channel = "books"
    ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    rest_url = "https://www.okx.com"
    # "use multiple websocket connections, with each of less than 30 channels" for the
    # 50/400-level books (docs/venues.md, "OKX")
    max_streams_per_connection = 29
    max_streams_per_message = 29
    # the venue allows 480 subscribe/unsubscribe requests per hour per connection (not
    # a per-second rule; a resubscribe is two): fastfeed sends at most 3 a second
    max_control_per_second = 3
    # public market data: 20 requests / 2 s per IP for the instruments endpoint
    weight_per_minute = 600.0
    # the venue drops a connection after 30 s without data; fastfeed's own text ping
    # (below) keeps a quiet one open
    stale_after = 30.0
    sends_heartbeats = False
    #: the text ``ping`` when idle for < 30 s, answered by ``pong`` (docs/venues.md, "OKX")
    keepalive_text = b"ping"
    keepalive_every = 20.0

    def channel_route(self, channel: str = BOOK) -> str:
        """``/business`` for candles (the venue serves them there only), ``""`` (the
        ``/public`` URL itself) for the rest."""
        return "/business" if channel.startswith("candle") else ""

    def connection_url(self, ws_base: str, symbols: list[str], channel: str = BOOK) -> str:
        """``ws_base`` (``…/ws/v5/public``), or for candles the same URL ending in
        ``/business`` instead."""
        if self.channel_route(channel) == "/business" and ws_base.endswith("/public"):
            return ws_base[:-len("/public")] + "/business"
        return ws_base

    @staticmethod
    def inst_type(symbol: str) -> str:
        """The REST ``instType`` of an ``instId``: ``SWAP`` for ``...-SWAP``, else ``SPOT``."""
        return "SWAP" if symbol.endswith("-SWAP") else "SPOT"

    def _ops(self, op: str, symbols: list[str], channel: str) -> list[bytes]:
        if channel != BOOK and channel not in self.channel_arg_names and not (
                channel.startswith("candle") and channel[6:] in self.candle_intervals):
            raise ValueError(f"{self.name}: only books, "
                             f"{', '.join(self.channel_arg_names)} are implemented, "
                             f"not {channel!r}")
        name = self.book_channel if channel == BOOK else channel
        step = self.max_streams_per_message
        return [dumps({"op": op, "args": [{"channel": name, "instId": s}
                                          for s in symbols[i:i + step]]})
                for i in range(0, len(symbols), step)]

    def subscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},...]}``
        (``"channel":"trades"``, ``"tickers"``, ``"bbo-tbt"`` for those channels)."""
        return self._ops("subscribe", symbols, channel)

    def unsubscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """``{"op":"unsubscribe","args":[...]}`` for these instruments."""
        return self._ops("unsubscribe", symbols, channel)

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """``tickSz``/``lotSz`` from ``GET /api/v5/public/instruments?instType=&instId=``."""
        body = await rest.get("/api/v5/public/instruments",
                              {"instType": self.inst_type(symbol), "instId": symbol})
        return parse_instruments(body, symbol)


def parse_instruments(body: bytes, symbol: str) -> Instrument:
    """The instrument of ``symbol`` from a ``/api/v5/public/instruments`` body
    (``{"code":"0","msg":"","data":[{"instId":..,"tickSz":..,"lotSz":..}]}``);
    ``RestError`` when it is not there or unreadable."""
    try:
        info = json.loads(body)
        if str(info.get("code", "0")) != "0":
            raise RestError(f"instruments for {symbol}: code {str(info.get('code'))[:20]!r} "
                            f"{str(info.get('msg', ''))[:100]!r}")
        for row in info["data"]:
            if row.get("instId") == symbol:
                return Instrument(symbol, str(row["tickSz"]), str(row["lotSz"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RestError(f"unreadable instruments body for {symbol}: {exc!r}") from exc
    raise RestError(f"instruments has no instId {symbol}")
