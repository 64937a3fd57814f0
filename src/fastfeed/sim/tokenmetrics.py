"""A local Token Metrics server speaking the documented protocol (docs/venues.md, "Token
Metrics"; docs/simulator.md).

Not a :mod:`fastfeed.sim.dialects` dialect: those render book markets of the
:class:`~fastfeed.sim.server.Simulator`, while Token Metrics has no book, so this is one
small aiohttp application serving, on one port:

- the price WebSocket (any path): the ``x-api-key`` handshake header is checked; a missing
  or wrong key gets the upgrade and then a close with code 1008 and the reason
  :data:`BAD_KEY_REASON`. After ``{"is_append": 0|1, "tokens": [...]}`` it sends one
  documented price message per update, prices from an integer model printed as JSON
  numbers (plain, integral and exponent forms such as ``5.1e-05``);
- ``GET /v2/trading-signals`` and ``/v2/hourly-trading-signals`` with the envelope
  ``{"success","message","length","data"}`` and the documented filters.

Ground truth: :attr:`TokenMetricsSim.sent` holds every price sent as
``(token, exchange, epoch_ms, mantissa, decimals)``. Faults (:meth:`TokenMetricsSim.inject`):
``bad_key`` closes every open price connection as a refused key and refuses the key from
then on; ``malformed`` sends a price that is a string; ``signals_error`` answers the next
signals request with ``success: false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import json
import random
from typing import Any

from aiohttp import WSMsgType, web

BAD_KEY_REASON = "invalid or missing x-api-key"
"""The close reason (code 1008) for a refused key."""

#: slug -> (token_id, name, symbol, start price mantissa, decimals, print style)
TOKENS: dict[str, tuple[int, str, str, int, int, str]] = {
    "bitcoin": (3375, "Bitcoin", "BTC", 10537615, 2, "plain"),
    "ethereum": (3306, "Ethereum", "ETH", 24193021, 4, "plain"),
    "shiba-inu": (11264, "Shiba Inu", "SHIB", 1234567, 11, "exponent"),
    "tether": (3305, "Tether", "USDT", 1, 0, "integer"),
}
EXCHANGES = ("gate", "binance", "okx", "coinbase")
MALFORMED = '{"cg_id":"bitcoin","exchange":"gate","epoch":1,"price":"105376.15"}'
"""What the ``malformed`` fault sends: a price that is a string, not a JSON number."""


def number_text(mantissa: int, decimals: int, style: str) -> str:
    """``mantissa / 10**decimals`` as a JSON number, exactly: ``plain`` (``105376.15``),
    ``integer`` (``1``), ``exponent`` (``1.234567e-05``)."""
    if style == "exponent" and mantissa:
        digits = str(mantissa)
        exp = len(digits) - 1 - decimals
        frac = digits[1:].rstrip("0")
        return f"{digits[0]}{'.' + frac if frac else ''}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if decimals == 0:
        return str(mantissa)
    whole, frac = divmod(mantissa, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"


def price_message(slug: str, exchange: str, epoch_ms: int, price: str, volume: str) -> bytes:
    """One documented price message (the ``channels`` example's fields and order)."""
    tid, name, sym = TOKENS[slug][:3] if slug in TOKENS else (0, slug, slug.upper())
    ts = _dt.datetime.fromtimestamp(epoch_ms / 1000, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    head = json.dumps({"timestamp": ts, "event_timestamp": ts, "arrival_timestamp": ts, "epoch": epoch_ms,
                       "token_address": None, "token_name": name, "token_symbol": sym, "token_id": tid,
                       "cg_id": slug, "instrument": sym, "exchange": exchange, "exchange_rank": 13,
                       "exchange_type": "cex", "amount": None, "amount_in_usd": None},
                      separators=(",", ":"))[:-1]
    tail = (f',"price":{price},"price_in_usd":{price},"price_against_side_currency":{price},'
            f'"volume":{volume},"side_amount":null,"transaction_type":null,"isBid":false,"sequence":0,'
            f'"maker_address":null,"signature":null,"last_5s_messages":[]}}')
    return (head + tail).encode()


class TokenMetricsSim:
    """The server; ``async with TokenMetricsSim(api_key="k") as sim`` serves on
    ``127.0.0.1`` (:attr:`ws_url`, :attr:`rest_url`). ``interval``: seconds between a
    connection's price rounds (one update per subscribed token each)."""

    def __init__(self, api_key: str = "sim-key", *, host: str = "127.0.0.1", port: int = 0,
                 interval: float = 0.01, seed: int = 1) -> None:
        """Not serving until :meth:`start`."""
        self.api_key = api_key
        self.host, self.port = host, port
        self.interval = interval
        self.rng = random.Random(seed)
        self.key_valid = True
        self.sent: list[tuple[str, str, int, int, int]] = []
        """Ground truth: every price sent, ``(token, exchange, epoch_ms, mantissa, decimals)``."""
        self.counters: dict[str, int] = {"ws_connects": 0, "ws_refused": 0, "rest_requests": 0,
                                         "rest_refused": 0}
        self.headers_seen: list[dict[str, str]] = []
        """Request headers of every handshake and REST request (the tests check the key travels only there)."""
        self._prices = {s: t[3] for s, t in TOKENS.items()}
        self._epoch = 1750779662052
        self._signals_error: str | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None

    @property
    def ws_url(self) -> str:
        """The price WebSocket URL."""
        return f"ws://{self.host}:{self.port}/"

    @property
    def rest_url(self) -> str:
        """The REST base (``.../v2``)."""
        return f"http://{self.host}:{self.port}/v2"

    async def start(self) -> None:
        """Listen (port 0: a free one, then in :attr:`port`)."""
        app = web.Application()
        app.router.add_get("/v2/trading-signals", self._signals)
        app.router.add_get("/v2/hourly-trading-signals", self._hourly)
        app.router.add_get("/{tail:.*}", self._ws)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> TokenMetricsSim:
        """Start serving."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop serving."""
        await self.stop()

    async def inject(self, fault: str, **params: Any) -> None:
        """``bad_key``: close every open price connection with 1008 and refuse the key from
        now on; ``malformed``: one price message with the price as a string on every open
        connection; ``signals_error`` (``message=``): the next signals request answers
        ``success: false``."""
        if fault == "bad_key":
            self.key_valid = False
            for ws in list(self._sockets):
                await ws.close(code=1008, message=BAD_KEY_REASON.encode())
        elif fault == "malformed":
            for ws in list(self._sockets):
                await ws.send_str(MALFORMED)
        elif fault == "signals_error":
            self._signals_error = str(params.get("message", "Invalid query"))
        else:
            raise ValueError(f"unknown Token Metrics fault {fault!r}; known: bad_key, malformed, signals_error")

    def _key_ok(self, request: web.Request) -> bool:
        self.headers_seen.append(dict(request.headers))
        return self.key_valid and request.headers.get("x-api-key") == self.api_key

    # -- WebSocket ---------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        if not ws.can_prepare(request).ok:
            return web.Response(status=404)
        ok = self._key_ok(request)
        await ws.prepare(request)
        if not ok:
            self.counters["ws_refused"] += 1
            await ws.close(code=1008, message=BAD_KEY_REASON.encode())
            return ws
        self.counters["ws_connects"] += 1
        self._sockets.add(ws)
        tokens: list[str] = []
        sender = asyncio.get_running_loop().create_task(self._send(ws, tokens))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    body = json.loads(msg.data)
                    new = [t for t in body["tokens"] if isinstance(t, str)]
                    if not body.get("is_append"):
                        tokens.clear()
                    tokens.extend(t for t in new if t not in tokens)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._sockets.discard(ws)
        return ws

    async def _send(self, ws: web.WebSocketResponse, tokens: list[str]) -> None:
        while not ws.closed:
            for slug in list(tokens):
                if slug not in TOKENS:
                    continue
                _, _, _, _, dec, style = TOKENS[slug]
                self._prices[slug] = max(1, self._prices[slug] + self.rng.randint(-50, 50))
                self._epoch += self.rng.randint(1, 900)
                exchange = self.rng.choice(EXCHANGES)
                mantissa = self._prices[slug]
                volume = number_text(self.rng.randint(0, 10**15), 5, "plain")
                payload = price_message(slug, exchange, self._epoch,
                                        number_text(mantissa, dec, style), volume)
                self.sent.append((slug, exchange, self._epoch, mantissa, dec))
                await ws.send_str(payload.decode())
            await asyncio.sleep(self.interval)

    # -- REST --------------------------------------------------------------------------------

    async def _signals(self, request: web.Request) -> web.Response:
        return self._answer(request, hourly=False)

    async def _hourly(self, request: web.Request) -> web.Response:
        return self._answer(request, hourly=True)

    def _answer(self, request: web.Request, hourly: bool) -> web.Response:
        self.counters["rest_requests"] += 1
        if not self._key_ok(request):
            self.counters["rest_refused"] += 1
            return _envelope(False, "Invalid API key", [], status=401)
        if self._signals_error is not None:
            message, self._signals_error = self._signals_error, None
            return _envelope(False, message, [])
        q = request.query
        try:
            start = _dt.date.fromisoformat(q.get("startDate", "2025-06-01"))
            end = _dt.date.fromisoformat(q.get("endDate", "2025-06-05"))
            limit = int(q.get("limit", "50"))
            page = int(q.get("page", "0"))
        except ValueError as exc:
            return _envelope(False, f"Invalid query: {exc}", [])
        symbols = [s for s in q.get("symbol", "BTC,ETH").split(",") if s]
        rows = [signal_row(sym, day, hour if hourly else None)
                for day in _days(start, end) for hour in (range(24) if hourly else [0])
                for sym in symbols if sym in SYMBOLS]
        return _envelope(True, "Data fetched successfully", rows[page * limit:(page + 1) * limit])


SYMBOLS = {t[2]: slug for slug, t in TOKENS.items()}
"""Token symbol -> slug."""


def _days(start: _dt.date, end: _dt.date) -> list[_dt.date]:
    return [start + _dt.timedelta(days=i) for i in range((end - start).days + 1)]


def signal_row(symbol: str, day: _dt.date, hour: int | None) -> dict[str, Any]:
    """A deterministic signal row for ``symbol`` on ``day`` (``hour``: an hourly row)."""
    slug = SYMBOLS[symbol]
    tid, name = TOKENS[slug][:2]
    k = (day.toordinal() * 24 + (hour or 0) + tid) % 3
    sig = (1, -1, 0)[k]
    row: dict[str, Any] = {
        "token_id": tid, "token_name": name, "token_symbol": symbol, "slug": slug,
        "trading_signal": sig, "token_signal_str": ("bullish", "bearish", "none")[k],
        "token_trend": 1 if sig >= 0 else -1, "token_trend_str": "bullish" if sig >= 0 else "bearish",
        "trading_signals_returns": 0.1 * (k + 1) + 1e-17, "holding_returns": 12.3456789012345678,
        "tm_grade": 71.83, "fundamental_grade": None, "app_link": f"https://app.tokenmetrics.com/{slug}",
    }
    if hour is None:
        row["date"] = f"{day.isoformat()}T00:00:00.000Z"
    else:
        row["timestamp"] = f"{day.isoformat()}T{hour:02d}:00:00.000Z"
    return row


def _envelope(success: bool, message: str, data: list[Any], status: int = 200) -> web.Response:
    body = json.dumps({"success": success, "message": message, "length": len(data), "data": data})
    return web.Response(status=status, text=body, content_type="application/json")
