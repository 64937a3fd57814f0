"""Kraken WebSocket v2 (``book``): in-band snapshots, truncate to depth, CRC32 checksum.

Prices and sizes are bare JSON numbers, kept exact from their text (exponent forms such
as ``5.1e-05`` included: ``fastfeed._parse.parse_number_py``). After every message the
book is truncated to the subscribed depth and the CRC32 of its top 10 levels a side is
compared with the message's ``checksum``; a mismatch marks that book ``gap`` and the
cure is to unsubscribe and resubscribe that symbol only (a new snapshot follows). The
scales and the checksum's fixed precisions come from the ``instrument`` channel
(``price_increment``/``qty_increment``, ``price_precision``/``qty_precision``). The rules
are in docs/venues.md, "Kraken".
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import ClassVar

import aiohttp

from fastfeed.rest import RestError
from fastfeed.venues.base import BOOK, Instrument, Venue, dumps

#: the book depths Kraken accepts in a ``book`` subscription
BOOK_DEPTHS = (10, 25, 100, 500, 1000)
#: levels a side the checksum covers
CHECKSUM_LEVELS = 10


@dataclass(frozen=True)
class KrakenInstrument(Instrument):
    """An instrument's scales plus the fixed precisions the book checksum formats with."""

    price_precision: int = 0
    qty_precision: int = 0


class Kraken(Venue):
    """Kraken spot WebSocket v2: ``book`` (with ``depth``), ``trade``, ``ticker`` (also
    the best bid/offer), ``ohlc`` (venue candles) and ``instrument``."""

    name = "kraken"
    symbol_example = "BTC/USD"
    decoder = "kraken"
    stream_decoder = "kraken-stream"
    trade_decoder = "kraken-trades"
    # `trade_id` is documented as sequential per book, but a report says the WebSocket
    # skips ids (docs/venues.md, "Kraken trades"): UNCERTAIN, so ids are only observed
    trade_streams = (("kraken-trade", "observed"),)
    #: one ``ticker`` message holds the 24 h ticker and the best bid/offer; the BBO stream
    #: subscribes it with ``event_trigger: "bbo"`` (docs/venues.md, "Kraken ticker and
    #: best bid/offer")
    ticker_decoder = "kraken-ticker"
    bbo_decoder = "kraken-bbo"
    bbo_in_ticker = True
    channel_names: ClassVar[dict[str, str]] = {"bbo": "bbo", "ticker": "ticker",
                                               "candles": "ohlc-{interval}"}
    #: the ``ohlc`` channel: fastfeed's interval names and the minutes Kraken's
    #: ``interval`` parameter takes; no closed flag, a later ``interval_begin`` closes a
    #: bar (docs/venues.md, "Kraken candles")
    OHLC_MINUTES: ClassVar[dict[str, int]] = {
        "1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440,
        "1w": 10080, "15d": 21600}
    candle_decoder = "kraken-candles"
    candle_intervals: tuple[str, ...] = tuple(OHLC_MINUTES)
    #: the ``ticker`` subscription's ``event_trigger`` of each fastfeed channel
    TICKER_TRIGGERS: ClassVar[dict[str, str]] = {"bbo": "bbo", "ticker": "trades"}
    sequencing = "in-band"
    ws_url = "wss://ws.kraken.com/v2"
    rest_url = "https://api.kraken.com"
    max_streams_per_connection = 100
    stale_after = 10.0      # heartbeat about once a second on a subscribed connection
    sends_heartbeats = True
    #: the subscribed book depth (25, not 10: the top-10 checksum keeps headroom after
    #: truncation, as Kraken's own SDK does; docs/venues.md, "Kraken")
    book_depth = 25
    #: the book checksum rule (``fastfeed._core``: CRC32 over the top 10 levels a side)
    book_checksum = "kraken-crc32"

    def normalize_symbol(self, symbol: str) -> str:
        """``BTC/USD`` as Kraken v2 spells it (upper case, ``/`` between base and quote)."""
        return symbol.upper()

    def subscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """One ``book`` subscribe for all the symbols, with ``depth`` and a snapshot
        (``trade``: with its snapshot of recent trades; ``ticker`` / ``bbo``: the
        ``ticker`` channel with ``event_trigger`` ``trades`` / ``bbo``; ``ohlc-<interval>``:
        the ``ohlc`` channel with ``interval`` in minutes and its snapshot)."""
        if channel == "kraken-trade":
            return [dumps({"method": "subscribe",
                           "params": {"channel": "trade", "symbol": symbols,
                                      "snapshot": True}})]
        if channel.startswith("ohlc-"):
            return [dumps({"method": "subscribe",
                           "params": {"channel": "ohlc", "symbol": symbols,
                                      "interval": self._ohlc_minutes(channel),
                                      "snapshot": True}})]
        if channel in self.TICKER_TRIGGERS:
            return [dumps({"method": "subscribe",
                           "params": {"channel": "ticker", "symbol": symbols,
                                      "event_trigger": self.TICKER_TRIGGERS[channel],
                                      "snapshot": True}})]
        self._check_channel(channel)
        return [dumps({"method": "subscribe",
                       "params": {"channel": "book", "symbol": symbols,
                                  "depth": self.book_depth, "snapshot": True}})]

    def unsubscribe_messages(self, symbols: list[str], channel: str = BOOK) -> list[bytes]:
        """``book`` unsubscribe; Kraken keys it by ``depth``, so it echoes the depth."""
        if channel == "kraken-trade":
            return [dumps({"method": "unsubscribe",
                           "params": {"channel": "trade", "symbol": symbols}})]
        if channel.startswith("ohlc-"):
            return [dumps({"method": "unsubscribe",
                           "params": {"channel": "ohlc", "symbol": symbols,
                                      "interval": self._ohlc_minutes(channel)}})]
        if channel in self.TICKER_TRIGGERS:
            return [dumps({"method": "unsubscribe",
                           "params": {"channel": "ticker", "symbol": symbols,
                                      "event_trigger": self.TICKER_TRIGGERS[channel]}})]
        self._check_channel(channel)
        return [dumps({"method": "unsubscribe",
                       "params": {"channel": "book", "symbol": symbols,
                                  "depth": self.book_depth}})]

    def _ohlc_minutes(self, channel: str) -> int:
        minutes = self.OHLC_MINUTES.get(channel[5:])
        if minutes is None:
            raise ValueError(f"{self.name}: no {channel!r} channel (expected ohlc-<one of "
                             f"{', '.join(self.candle_intervals)}>)")
        return minutes

    def _check_channel(self, channel: str) -> None:
        if channel != BOOK:
            raise ValueError(f"{self.name}: no {channel!r} channel is implemented")

    #: the scales come from the ``instrument`` channel over the WebSocket, not from REST
    #: (``instruments_ws``; docs/venues.md, "Kraken integrity: truncation and checksum")
    instruments_over_ws = True
    #: seconds the one-off ``instrument`` lookup may take
    instrument_timeout = 10.0

    async def instruments_ws(self, ws_url: str,
                             symbols: list[str]) -> dict[str, Instrument | RestError]:
        """The symbols' scales and checksum precisions from one ``instrument`` snapshot,
        read on a short-lived WebSocket of its own (cold path, once per lookup batch)."""
        try:
            async with asyncio.timeout(self.instrument_timeout):
                async with aiohttp.ClientSession() as session, \
                        session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024) as ws:
                    await ws.send_bytes(self.instrument_subscribe())
                    async for frame in ws:
                        if frame.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                            break
                        data = frame.data if isinstance(frame.data, bytes) else frame.data.encode()
                        if data.startswith(b'{"channel":"instrument","type":"snapshot"'):
                            found = parse_instruments(data)
                            return {s: found.get(s) or RestError(f"no instrument {s} in the "
                                                                 f"instrument snapshot")
                                    for s in symbols}
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = RestError(f"instrument lookup over {ws_url} failed: {exc!r}")
        else:
            error = RestError(f"instrument lookup over {ws_url}: closed before a snapshot")
        return {s: error for s in symbols}

    @staticmethod
    def instrument_subscribe() -> bytes:
        """The ``instrument`` channel subscribe (its snapshot holds every pair)."""
        return dumps({"method": "subscribe", "params": {"channel": "instrument",
                                                        "snapshot": True}})


def parse_instruments(body: bytes | str) -> dict[str, KrakenInstrument]:
    """The pairs of an ``instrument`` channel message, by symbol (cold path).

    Ticks and steps are ``price_increment``/``qty_increment`` as their JSON text (exact;
    not always a power of ten), the checksum precisions ``price_precision`` and
    ``qty_precision``. ``RestError`` for a message that is not an instrument snapshot or
    update, or a pair without those fields.
    """
    def exact(text: str) -> str:
        return text
    try:
        msg = json.loads(body, parse_float=exact, parse_int=exact)
        if msg.get("channel") != "instrument":
            raise ValueError("not an instrument message")
        out: dict[str, KrakenInstrument] = {}
        for pair in msg["data"]["pairs"]:
            out[pair["symbol"]] = KrakenInstrument(
                pair["symbol"], str(pair["price_increment"]), str(pair["qty_increment"]),
                int(pair["price_precision"]), int(pair["qty_precision"]))
        return out
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RestError(f"unreadable Kraken instrument message: {exc!r}") from exc
