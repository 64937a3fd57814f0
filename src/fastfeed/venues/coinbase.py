"""Coinbase Advanced Trade (``level2``) and Coinbase Exchange (``level2_batch``).

Both deliver the snapshot in-band after a subscribe; there is no REST step. Advanced
Trade numbers every message on a connection (``sequence_num``, all channels): any jump
invalidates every book on that connection, and the cure is to resubscribe (a new
snapshot follows). Coinbase Exchange's L2 channel has no sequence at all: integrity rests
on TCP and on resubscribing after any reconnect or unreadable message.
"""

from __future__ import annotations

import json
from typing import ClassVar

from fastfeed.rest import RestClient, RestError
from fastfeed.venues.base import BOOK, Instrument, Venue, dumps


class CoinbaseAdvancedTrade(Venue):
    """Coinbase Advanced Trade WebSocket: ``level2`` + ``heartbeats`` channels."""

    name = "coinbase"
    symbol_example = "BTC-USD"
    decoder = "coinbase-at"
    trade_decoder = "coinbase-at-trades"
    stream_decoder = "coinbase-at-stream"
    # numeric trade ids +1 observed, not promised; losses show in sequence_num
    trade_streams = (("market_trades", "observed"),)
    # both read the ticker channel (ticker_batch too, for tickers: it has no BBO)
    bbo_decoder = "coinbase-at-bbo"
    ticker_decoder = "coinbase-at-ticker"
    bbo_in_ticker = True
    channel_names: ClassVar[dict[str, str]] = {"bbo": "ticker", "ticker": "ticker", "candles": "candles"}
    # candles channel: fixed 5-minute buckets (docs/venues.md, "Candles")
    candle_decoder = "coinbase-at-candles"
    candle_intervals = ("5m",)
    connection_sequence = True
    unreadable_is_gap = True
    ws_url = "wss://advanced-trade-ws.coinbase.com"
    rest_url = "https://api.coinbase.com"
    max_streams_per_connection = 100
    weight_per_minute = 600.0
    stale_after = 10.0      # heartbeats arrive every second
    sends_heartbeats = True

    def subscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """One channel per subscribe message, as the venue requires: ``level2`` (books)
        or ``market_trades``, and ``heartbeats``."""
        return [
            dumps({"type": "subscribe", "product_ids": symbols,
                   "channel": "level2" if channel == BOOK else channel}),
            dumps({"type": "subscribe", "product_ids": symbols, "channel": "heartbeats"}),
        ]

    def unsubscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """Stop ``level2`` (or ``market_trades``) for these products (heartbeats keep the
        connection open)."""
        return [dumps({"type": "unsubscribe", "product_ids": symbols,
                       "channel": "level2" if channel == BOOK else channel})]

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """``quote_increment``/``base_increment`` from the public products endpoint."""
        body = await rest.get(f"/api/v3/brokerage/market/products/{symbol}")
        return _increments(body, symbol)


class CoinbaseExchange(Venue):
    """Coinbase Exchange WebSocket: ``level2_batch`` + ``heartbeat`` channels."""

    name = "coinbase-exchange"
    symbol_example = "BTC-USD"
    decoder = "coinbase-exchange"
    trade_decoder = "coinbase-exchange-trades"
    stream_decoder = "coinbase-exchange-stream"
    trade_streams = (("matches", "contiguous"),)     # trade_id +1 per product
    bbo_decoder = "coinbase-exchange-bbo"           # both read the ticker channel
    bbo_in_ticker = True
    channel_names: ClassVar[dict[str, str]] = {"bbo": "ticker", "ticker": "ticker"}
    ticker_decoder = "coinbase-exchange-ticker"
    unreadable_is_gap = True
    ws_url = "wss://ws-feed.exchange.coinbase.com"
    rest_url = "https://api.exchange.coinbase.com"
    max_streams_per_connection = 100
    weight_per_minute = 600.0
    # REST backfill: cursor pages of 1000, newest first (docs/venues.md, "Backfill")
    backfill_decoder: str | None = "coinbase-exchange-rest-trades"
    backfill_stream: str | None = "matches"
    backfill_path = "/products/{symbol}/trades"
    backfill_paging = "cursor"
    stale_after = 10.0
    sends_heartbeats = True     # the heartbeat channel: one a second per product

    def subscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """The channel (``level2_batch`` for books, or ``matches``) and ``heartbeat`` in
        one subscribe message."""
        return [dumps({"type": "subscribe", "product_ids": symbols,
                       "channels": [self._channel(channel), "heartbeat"]})]

    def unsubscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """Stop ``level2_batch`` (or ``matches``) for these products."""
        return [dumps({"type": "unsubscribe", "product_ids": symbols,
                       "channels": [self._channel(channel)]})]

    @staticmethod
    def _channel(channel: str) -> str:
        return "level2_batch" if channel == BOOK else channel

    async def instrument(self, rest: RestClient, symbol: str) -> Instrument:
        """``quote_increment``/``base_increment`` from ``GET /products/{id}``."""
        body = await rest.get(f"/products/{symbol}")
        return _increments(body, symbol)


def _increments(body: bytes, symbol: str) -> Instrument:
    try:
        info = json.loads(body)
        return Instrument(symbol, str(info["quote_increment"]), str(info["base_increment"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise RestError(f"unreadable product info for {symbol}: {exc!r}") from exc
