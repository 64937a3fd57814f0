"""Token Metrics: the key-gated price WebSocket and the REST trading signals.

This is a **Python-level stream**, kept apart from the compiled channel path on purpose:
the price stream is one multi-token, multi-exchange stream with no instrument, no book and
no sequence (``docs/venues.md``, "Token Metrics"), so it does not go through
``FeedListener``/``Router``. Numbers are still exact: every JSON number is parsed from its
own text into a :class:`decimal.Decimal` (``json.loads(parse_float=Decimal)``, never a
float) and kept as an int mantissa plus a count of decimals.

The API key comes from ``api_key=`` or the environment (:data:`ENV_VARS`, in order), is
sent only as the ``x-api-key`` header, and is never logged, put in an error, a ``repr`` or
``stats()``: every text built here goes through :func:`redact`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as _dt
import json
import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import aiohttp

from fastfeed.logsafe import RateLimitedLog, redact_url, venue_text
from fastfeed.reference.decimal import INT64_MAX
from fastfeed.rest import RestClient, RestError, RetryPolicy, WeightBudget

log = logging.getLogger(__name__)
rlog = RateLimitedLog(log)

VENUE = "tokenmetrics"
"""The venue id ``Engine.subscribe_prices`` accepts."""
ENV_VARS = ("FASTFEED_TOKENMETRICS_API_KEY", "TOKENMETRICS_API_KEY")
"""Environment variables read for the key when ``api_key`` is not given, in this order."""
WS_URL = "wss://price.data-service.tokenmetrics.com"
"""The documented price WebSocket (the key in the ``x-api-key`` handshake header)."""
REST_URL = "https://api.tokenmetrics.com/v2"
"""The documented REST base."""
KEY_HEADER = "x-api-key"
"""The header carrying the key, on the WebSocket handshake and on every REST request."""
DEFAULT_CALLS_PER_MINUTE = 20.0
"""REST budget when none is given: the real limit depends on the plan (docs/venues.md)."""
MAX_LIMIT = 100
"""Largest ``limit`` a signals request may ask for (the MCP schema's maximum)."""
MAX_DECIMALS = 30
"""Most decimals an exact price or volume may carry; beyond it the message is rejected."""
CLOSE_POLICY = 1008
"""The WebSocket close code the simulator uses for a refused key (a definite refusal)."""


class TokenMetricsError(RuntimeError):
    """Base of every Token Metrics error (its text never contains the key)."""


class MissingApiKey(TokenMetricsError):
    """No key was given and none is set in the environment: raised before connecting."""


class ApiKeyRefused(TokenMetricsError):
    """The server refused the key (a closed WebSocket, or HTTP 401/403)."""


class ApiError(TokenMetricsError):
    """A REST answer with ``"success": false`` or a body that is not the documented envelope."""


class PriceDecodeError(TokenMetricsError, ValueError):
    """A price message that is not the documented shape (the reason says which field)."""


def resolve_api_key(api_key: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``api_key``, else the first of :data:`ENV_VARS` set in ``env`` (default
    ``os.environ``); :class:`MissingApiKey` when there is none."""
    if api_key is None:
        env = os.environ if env is None else env
        api_key = next((env[v] for v in ENV_VARS if env.get(v)), None)
    if not api_key:
        raise MissingApiKey(f"Token Metrics needs an API key: pass api_key= or set {' or '.join(ENV_VARS)}")
    if any(c in api_key for c in "\r\n\0"):
        raise MissingApiKey("the Token Metrics API key contains a control character")
    return api_key


def redact(text: object, key: str | None) -> str:
    """``text`` with the key (if any) replaced by ``***`` and URL credentials removed."""
    shown = redact_url(text)
    return shown.replace(key, "***") if key else shown


# -- exact numbers -------------------------------------------------------------------------

def exact_number(value: Any, field: str) -> tuple[int, int]:
    """``(mantissa, decimals)`` of a JSON number parsed as ``int`` or ``Decimal`` from its
    text, exactly (``5.1e-05`` → ``(51, 6)``, ``1E+3`` → ``(1000, 0)``); negative, non-finite
    or out-of-range values raise :class:`PriceDecodeError`."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise PriceDecodeError(f"{field}: expected a JSON number, got {venue_text(repr(value), 60)}")
    if isinstance(value, int):
        mantissa, decimals = value, 0
    else:
        if not value.is_finite():
            raise PriceDecodeError(f"{field}: not a finite number")
        sign, digits, exp = value.as_tuple()
        assert isinstance(exp, int)
        if exp < -MAX_DECIMALS or exp > 18:
            raise PriceDecodeError(f"{field}: exponent out of range in {venue_text(str(value), 60)}")
        mantissa = int("".join(map(str, digits)) or "0")
        if sign:
            mantissa = -mantissa
        if exp >= 0:
            mantissa, decimals = mantissa * 10**exp, 0
        else:
            decimals = -exp
    if mantissa < 0:
        raise PriceDecodeError(f"{field}: negative value {venue_text(str(value), 60)}")
    if mantissa > INT64_MAX:
        raise PriceDecodeError(f"{field}: mantissa beyond int64 in {venue_text(str(value), 60)}")
    return mantissa, decimals


def _loads(payload: bytes | str) -> Any:
    def no_constant(name: str) -> Any:
        raise PriceDecodeError(f"non-finite JSON constant {name}")
    return json.loads(payload, parse_float=Decimal, parse_constant=no_constant)


@dataclasses.dataclass(frozen=True, slots=True)
class PriceUpdate:
    """One price update: ``price`` is ``price_mantissa / 10**price_decimals`` exactly, as
    printed (trailing zeros kept); ``volume`` likewise, or None when the message has none."""

    token: str
    """The token's slug (``cg_id``), as subscribed."""
    symbol: str | None
    """``token_symbol`` (``BTC``)."""
    token_id: int | None
    """Token Metrics' numeric id (``3375`` for bitcoin)."""
    exchange: str
    """The source exchange of this update (one token's stream mixes venues)."""
    epoch_ms: int
    """``epoch``: the update's time in ms since 1970 (the string timestamps are not used)."""
    price_mantissa: int
    """The price's digits as an integer."""
    price_decimals: int
    """How many of those digits are decimals."""
    volume_mantissa: int | None
    """The volume's digits, or None."""
    volume_decimals: int
    """Decimals of the volume (0 when there is none)."""

    @property
    def price(self) -> Decimal:
        """The price as an exact :class:`~decimal.Decimal`."""
        return Decimal(self.price_mantissa).scaleb(-self.price_decimals)

    @property
    def volume(self) -> Decimal | None:
        """The volume as an exact :class:`~decimal.Decimal`, or None."""
        if self.volume_mantissa is None:
            return None
        return Decimal(self.volume_mantissa).scaleb(-self.volume_decimals)


def decode_price(payload: bytes | str) -> PriceUpdate:
    """Decode one price message (docs/venues.md, "Token Metrics"); a
    :class:`PriceDecodeError` names the offending field."""
    try:
        msg = _loads(payload)
    except PriceDecodeError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise PriceDecodeError(f"not JSON: {venue_text(str(exc), 80)}") from None
    if not isinstance(msg, dict):
        raise PriceDecodeError(f"expected a JSON object, got {type(msg).__name__}")
    token, exchange, epoch = msg.get("cg_id"), msg.get("exchange"), msg.get("epoch")
    if not isinstance(token, str) or not token:
        raise PriceDecodeError("cg_id: missing or not a string")
    if not isinstance(exchange, str) or not exchange:
        raise PriceDecodeError("exchange: missing or not a string")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise PriceDecodeError("epoch: missing or not a non-negative integer (ms)")
    if "price" not in msg:
        raise PriceDecodeError("price: missing")
    pm, pd = exact_number(msg["price"], "price")
    vol = msg.get("volume")
    vm, vd = (None, 0) if vol is None else exact_number(vol, "volume")
    sym, tid = msg.get("token_symbol"), msg.get("token_id")
    return PriceUpdate(token, sym if isinstance(sym, str) else None,
                       tid if isinstance(tid, int) and not isinstance(tid, bool) else None,
                       exchange, epoch, pm, pd, vm, vd)


def subscribe_message(tokens: Sequence[str], append: bool = False) -> str:
    """The documented subscribe body: ``{"is_append": 0|1, "tokens": [...]}``."""
    return json.dumps({"is_append": int(append), "tokens": list(tokens)}, separators=(",", ":"))


# -- the price stream ----------------------------------------------------------------------

PriceCallback = Callable[[PriceUpdate], Any]


class PriceStream:
    """The price WebSocket for ``tokens`` (slugs such as ``bitcoin``): :meth:`price` the
    latest update per token, :meth:`updates` a ring of the last ``capacity``.

    Reconnects with capped, jittered backoff after a drop. A refused key stops it for
    good (state ``refused``, :attr:`error` an :class:`ApiKeyRefused`): a close with code
    1008, an HTTP 401/403 handshake, or ``refused_after`` connections in a row closed by
    the server before any price arrived. :meth:`wait_live` raises that error.
    """

    def __init__(self, tokens: Iterable[str], *, api_key: str | None = None, url: str = WS_URL,
                 capacity: int = 1024, refused_after: int = 3, backoff: tuple[float, float] = (0.5, 30.0),
                 callback: PriceCallback | None = None) -> None:
        """Resolve the key now (:class:`MissingApiKey` before any connection)."""
        self.tokens = list(dict.fromkeys(tokens))
        if not self.tokens or not all(isinstance(t, str) and t for t in self.tokens):
            raise ValueError("tokens must be a non-empty list of slugs such as 'bitcoin'")
        if capacity <= 0 or refused_after <= 0:
            raise ValueError("capacity and refused_after must be positive")
        self._key = resolve_api_key(api_key)
        self.url = url
        self.refused_after = refused_after
        self.backoff = backoff
        self.callback = callback
        self.state = "idle"
        """``idle``, ``connecting``, ``live`` (a price arrived on this connection), ``refused``, ``closed``."""
        self.error: TokenMetricsError | None = None
        """Why the stream stopped (:class:`ApiKeyRefused`), else None."""
        self.last_error: str | None = None
        """The last problem seen (a drop, a reject), key redacted."""
        self.counters = collections.Counter[str]()
        """``connects``, ``messages``, ``rejects`` (undecodable messages), ``drops``,
        ``early_closes``, ``callback_errors``."""
        self._latest: dict[str, PriceUpdate] = {}
        self._ring: collections.deque[PriceUpdate] = collections.deque(maxlen=capacity)
        self._task: asyncio.Task[None] | None = None
        self._live = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        """The stream without its key."""
        return f"PriceStream({self.tokens!r}, url={redact(self.url, self._key)!r}, state={self.state!r})"

    def price(self, token: str) -> PriceUpdate | None:
        """The latest update of ``token``, or None before its first."""
        return self._latest.get(token)

    def prices(self) -> dict[str, PriceUpdate]:
        """The latest update of every token seen so far."""
        return dict(self._latest)

    def updates(self) -> list[PriceUpdate]:
        """The ring of recent updates, oldest first."""
        return list(self._ring)

    def stats(self) -> dict[str, Any]:
        """Counters, state and the last error (no key)."""
        return {"state": self.state, "last_error": self.last_error, **self.counters}

    def start(self) -> None:
        """Start the connection task (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def wait_live(self, timeout: float | None = None) -> None:
        """Wait for the first price; raises :attr:`error` when the key was refused."""
        self.start()
        assert self._task is not None
        live = asyncio.ensure_future(self._live.wait())
        try:
            done, _ = await asyncio.wait({live, self._task}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            live.cancel()
        if self.error is not None:
            raise self.error
        if self._task in done:
            exc = None if self._task.cancelled() else self._task.exception()
            raise TokenMetricsError(redact(f"the price stream stopped ({self.state}): {exc!r}", self._key))
        if not done:
            raise TimeoutError(f"no Token Metrics price within {timeout}s ({self.last_error or 'no error'})")

    async def close(self) -> None:
        """Stop the stream and close its socket. Idempotent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()
        if self.state != "refused":
            self.state = "closed"

    def _refuse(self, why: str) -> None:
        self.state = "refused"
        self.error = ApiKeyRefused(redact(f"Token Metrics refused the API key: {why}", self._key))
        self.last_error = str(self.error)
        log.error("%s", self.last_error)

    async def _run(self) -> None:
        self._session = aiohttp.ClientSession()
        early = 0
        attempt = 0
        while True:
            self.state = "connecting"
            got_price = False
            try:
                got_price, code, reason = await self._connect_once()
                why = f"closed by the server (code {code}, reason {venue_text(reason, 80)})"
                if code == CLOSE_POLICY:
                    self._refuse(why)
                    return
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    self._refuse(f"HTTP {exc.status} on the WebSocket handshake")
                    return
                why = f"handshake failed: HTTP {exc.status}"
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                why = f"{type(exc).__name__}: {venue_text(str(exc), 120)}"
            self.counters["drops"] += 1
            self.last_error = redact(f"{redact_url(self.url)}: {why}", self._key)
            self._live.clear()
            if got_price:
                early, attempt = 0, 0
            else:
                early += 1
                self.counters["early_closes"] += 1
                if early >= self.refused_after:
                    self._refuse(f"{early} connections in a row closed before any price ({why})")
                    return
            rlog.warning((id(self), "drop"), "Token Metrics price stream: %s; reconnecting", self.last_error)
            lo, hi = self.backoff
            await asyncio.sleep(random.uniform(0, min(hi, lo * 2**attempt)))
            attempt += 1

    async def _connect_once(self) -> tuple[bool, int | None, str]:
        """One connection: subscribe, read until closed. ``(any price arrived, close code,
        close reason)``."""
        assert self._session is not None
        got = False
        async with self._session.ws_connect(self.url, headers={KEY_HEADER: self._key},
                                            heartbeat=None, autoping=True) as ws:
            self.counters["connects"] += 1
            await ws.send_str(subscribe_message(self.tokens))
            reason = ""
            while True:
                msg = await ws.receive()
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    got = self._on_message(msg.data) or got
                    continue
                if msg.type == aiohttp.WSMsgType.CLOSE:
                    reason = str(msg.extra or "")
                break
            return got, ws.close_code, reason

    def _on_message(self, data: bytes | str) -> bool:
        try:
            update = decode_price(data)
        except PriceDecodeError as exc:
            self.counters["rejects"] += 1
            self.last_error = redact(f"rejected message: {exc}", self._key)
            rlog.warning((id(self), "reject"), "Token Metrics price stream: %s", self.last_error)
            return False
        self.counters["messages"] += 1
        self._latest[update.token] = update
        self._ring.append(update)
        if self.state != "live":
            self.state = "live"
            self._live.set()
        if self.callback is not None:
            try:
                self.callback(update)
            except Exception as exc:    # a user bug must not stop the stream
                self.counters["callback_errors"] += 1
                rlog.warning((id(self), "callback"), "Token Metrics price callback raised %s",
                             redact(repr(exc), self._key))
        return True


# -- REST trading signals ------------------------------------------------------------------

def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ApiError(f"expected a number, got {venue_text(repr(value), 60)}")
    return Decimal(value)


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"expected an integer, got {venue_text(repr(value), 60)}")
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclasses.dataclass(frozen=True, slots=True)
class TradingSignal:
    """One daily or hourly trading signal (fields as documented; decimals exact)."""

    token_id: int | None
    """Token Metrics' id (BTC = 3375)."""
    token_name: str | None
    """``token_name``."""
    token_symbol: str | None
    """``token_symbol``."""
    slug: str | None
    """``slug``."""
    date: str | None
    """``date`` (hourly: ``timestamp`` when there is no ``date``), as sent."""
    trading_signal: int | None
    """1 bullish, -1 bearish, 0 none."""
    token_signal_str: str | None
    """The signal's string form."""
    token_trend: int | None
    """The last non-zero signal, i.e. the trend."""
    token_trend_str: str | None
    """The trend's string form."""
    trading_signals_returns: Decimal | None
    """Cumulative ROI of the strategy."""
    holding_returns: Decimal | None
    """Cumulative ROI of holding."""
    tm_grade: Decimal | None
    """The Token Metrics grade."""
    fundamental_grade: Decimal | None
    """The fundamental grade."""
    app_link: str | None
    """Link to the token's page."""

    @classmethod
    def from_json(cls, row: Any) -> TradingSignal:
        """One ``data`` row; :class:`ApiError` for a row that is not an object or has a
        wrongly typed numeric field."""
        if not isinstance(row, dict):
            raise ApiError(f"a data row is not an object: {venue_text(repr(row), 60)}")
        signal = _int(row.get("trading_signal"))
        if signal not in (None, -1, 0, 1):
            raise ApiError(f"trading_signal {signal} is not -1, 0 or 1")
        return cls(_int(row.get("token_id")), _str(row.get("token_name")), _str(row.get("token_symbol")),
                   _str(row.get("slug")), _str(row.get("date", row.get("timestamp"))), signal,
                   _str(row.get("token_signal_str")), _int(row.get("token_trend")),
                   _str(row.get("token_trend_str")), _dec(row.get("trading_signals_returns")),
                   _dec(row.get("holding_returns")), _dec(row.get("tm_grade")),
                   _dec(row.get("fundamental_grade")), _str(row.get("app_link")))


def _date(value: str | _dt.date | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.date):
        return value.isoformat()
    try:
        return _dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date or 'YYYY-MM-DD', got {value!r}") from None


class TokenMetrics:
    """The Token Metrics REST API (``/v2``), through one :class:`~fastfeed.rest.RestClient`
    with a weight budget of ``calls_per_minute`` (1 call = 1 credit)."""

    def __init__(self, api_key: str | None = None, *, rest_url: str = REST_URL,
                 calls_per_minute: float = DEFAULT_CALLS_PER_MINUTE,
                 retry: RetryPolicy | None = None) -> None:
        """Resolve the key now (:class:`MissingApiKey` before any request)."""
        self._key = resolve_api_key(api_key)
        self.rest = RestClient(rest_url, WeightBudget(calls_per_minute), retry,
                               headers={KEY_HEADER: self._key})

    def __repr__(self) -> str:
        """The client without its key."""
        return f"TokenMetrics(rest_url={redact(self.rest.base_url, self._key)!r})"

    async def __aenter__(self) -> TokenMetrics:
        """Use as ``async with``: closes the session on exit."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the session."""
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.rest.close()

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """GET ``path`` (``/trading-signals``) and return the envelope's ``data``;
        :class:`ApiError` for ``success: false`` or a malformed envelope,
        :class:`ApiKeyRefused` for HTTP 401/403."""
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        try:
            body = await self.rest.get(path, query, weight=1)
        except RestError as exc:
            if exc.status in (401, 403):
                raise ApiKeyRefused(redact(f"Token Metrics refused the API key: {exc}", self._key)) from None
            raise TokenMetricsError(redact(str(exc), self._key)) from None
        try:
            env = _loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(f"{path}: response is not JSON: {venue_text(body, 80)}") from None
        if not isinstance(env, dict) or not isinstance(env.get("success"), bool):
            raise ApiError(f"{path}: not the documented envelope: {venue_text(body, 80)}")
        if not env["success"]:
            raise ApiError(redact(f"{path}: success false: {venue_text(env.get('message'), 120)}", self._key))
        data = env.get("data")
        if not isinstance(data, list):
            raise ApiError(f"{path}: data is not a list")
        return data

    async def trading_signals(self, *, symbol: str | None = None, token_id: int | None = None,
                              start_date: str | _dt.date | None = None,
                              end_date: str | _dt.date | None = None, signal: int | None = None,
                              limit: int | None = None, page: int | None = None) -> list[TradingSignal]:
        """Daily signals (``/trading-signals``), filtered as documented."""
        return await self._signals("/trading-signals", symbol, token_id, start_date, end_date,
                                   signal, limit, page)

    async def hourly_trading_signals(self, *, symbol: str | None = None, token_id: int | None = None,
                                     start_date: str | _dt.date | None = None,
                                     end_date: str | _dt.date | None = None, signal: int | None = None,
                                     limit: int | None = None, page: int | None = None) -> list[TradingSignal]:
        """Hourly signals (``/hourly-trading-signals``), filtered as documented."""
        return await self._signals("/hourly-trading-signals", symbol, token_id, start_date, end_date,
                                   signal, limit, page)

    async def _signals(self, path: str, symbol: str | None, token_id: int | None,
                       start_date: str | _dt.date | None, end_date: str | _dt.date | None,
                       signal: int | None, limit: int | None, page: int | None) -> list[TradingSignal]:
        if limit is not None and not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_LIMIT}, got {limit}")
        if signal not in (None, -1, 0, 1):
            raise ValueError(f"signal must be -1, 0 or 1, got {signal}")
        params = {"symbol": symbol, "token_id": token_id, "startDate": _date(start_date, "start_date"),
                  "endDate": _date(end_date, "end_date"), "signal": signal, "limit": limit, "page": page}
        return [TradingSignal.from_json(row) for row in await self.get(path, params)]
