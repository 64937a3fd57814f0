"""REST access for snapshots and instrument metadata: one aiohttp session and one
request-weight budget per venue endpoint, shared by every book of that venue.

Binance counts request *weight* per IP per minute (6000 for spot); a depth snapshot of
limit 5000 costs 250. When 200 symbols resync together after the 24 h rollover, an
unbudgeted client would burn the minute in seconds and earn a 429 and then a 418 ban.
``WeightBudget`` is a token bucket that never spends more than its ``weight_per_minute``
in any rolling minute (the venue may count either way): a burst of half of it, refilled
continuously at the other half per minute; every request waits for its weight first. A 429/418 with ``Retry-After`` closes the
bucket for every waiter until that time (clamped to ``max_retry_after``).

Hostile or broken servers (docs/robustness.md): bodies are read incrementally and
refused beyond ``max_body_bytes``; redirects are followed by hand, never from ``https``
to ``http`` and never to another host unless it is in ``redirect_hosts``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from fastfeed.logsafe import RateLimitedLog, redact_url, venue_text

log = logging.getLogger("fastfeed.rest")
rlog = RateLimitedLog(log)

#: default body limit: the largest real snapshot (Binance, 5000 levels) is ~400 KB
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: a ``Retry-After`` longer than this is clamped (``inf`` would block forever)
DEFAULT_MAX_RETRY_AFTER = 120.0
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5


class RestError(RuntimeError):
    """A REST request failed for good (bad request, unknown symbol, retries exhausted)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WeightBudget:
    """Token bucket of request weight, shared by all requests to one venue endpoint.

    Any rolling minute spends at most ``capacity + 60 × rate`` = ``weight_per_minute``:
    the bucket holds ``burst`` (default half of it, spent at once at start-up) and refills
    at the rest per minute.
    """

    def __init__(self, weight_per_minute: float, burst: float | None = None) -> None:
        if weight_per_minute <= 0:
            raise ValueError("weight_per_minute must be positive")
        self.capacity = burst if burst is not None else weight_per_minute / 2
        if not 0 < self.capacity < weight_per_minute:
            raise ValueError("burst must be in (0, weight_per_minute)")
        self.rate = (weight_per_minute - self.capacity) / 60.0
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.blocked_until = 0.0
        self.waited_s = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def available(self) -> float:
        """Weight that could be spent right now (0 while a 429/418 pause lasts)."""
        now = time.monotonic()
        if now < self.blocked_until:
            return 0.0
        self._refill(now)
        return self.tokens

    async def acquire(self, weight: float) -> None:
        """Wait until ``weight`` can be spent (FIFO: one waiter refills at a time)."""
        weight = min(weight, self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self.blocked_until:
                    delay = self.blocked_until - now
                else:
                    self._refill(now)
                    if self.tokens >= weight:
                        self.tokens -= weight
                        return
                    delay = (weight - self.tokens) / self.rate
                self.waited_s += delay
                await asyncio.sleep(delay)

    def block_for(self, seconds: float) -> None:
        """The venue said stop (429/418 Retry-After): nobody sends before then."""
        self.blocked_until = max(self.blocked_until, time.monotonic() + seconds)
        self.tokens = 0.0


@dataclass
class RetryPolicy:
    """How a failed request is retried: capped exponential backoff with full jitter."""

    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 10.0
    timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def redirect_refusal(src: URL, dst: URL, allowed_hosts: Collection[str] = ()) -> str | None:
    """Why a redirect from ``src`` to ``dst`` is refused, or None if it may be followed:
    never ``https`` → ``http``; never to another host (or port) unless listed."""
    if src.scheme == "https" and dst.scheme != "https":
        return f"refused redirect from https to {dst.scheme}"
    # same host; the port may change only with the scheme (http → https upgrade)
    same = dst.host == src.host and (dst.port == src.port or dst.scheme != src.scheme)
    if not same and dst.host not in allowed_hosts:
        return f"refused redirect to another host ({dst.host})"
    return None


class RestClient:
    """An aiohttp session plus a weight budget for one venue's REST base URL.

    ``max_body_bytes``: larger responses are refused (``RestError``) while being read;
    ``max_retry_after``: the longest pause a ``Retry-After`` may impose; ``redirect_hosts``:
    other hosts a redirect may go to. ``on_throttle(text)`` is told of every 429/418
    pause (the engine puts it in the waiting books' ``last_error``). ``headers``: extra
    request headers sent with every request (Token Metrics' ``x-api-key``); they are never
    logged or put in an error.
    """

    def __init__(self, base_url: str, budget: WeightBudget, retry: RetryPolicy | None = None,
                 *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
                 redirect_hosts: Collection[str] = (),
                 on_throttle: Callable[[str], Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        if max_body_bytes <= 0 or max_retry_after <= 0:
            raise ValueError("max_body_bytes and max_retry_after must be positive")
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self.max_retry_after = max_retry_after
        self.redirect_hosts = frozenset(redirect_hosts)
        self.on_throttle = on_throttle
        self._headers = {"User-Agent": "fastfeed", **(headers or {})}
        #: ``on_body(url, params, body)``: every body returned by a ``get(record=True)``
        #: (``Engine(record=)`` records the instrument lookups this way)
        self.on_body: Callable[[str, dict[str, Any] | None, bytes], Any] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0
        self.throttled = 0
        self.failures = 0
        self.last_error: str | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.retry.timeout),
                headers=self._headers,
            )
        return self._session

    async def get(self, path: str, params: dict[str, Any] | None = None, weight: float = 1,
                  *, record: bool = True) -> bytes:
        """GET ``path`` and return the body; retries transient failures within the budget.
        ``record=False``: the caller records the body itself (a snapshot, a backfill page
        travel inside the recorded operation that uses them: docs/recording.md)."""
        url = self.base_url + path
        shown = redact_url(url)
        last_error = "no attempt made"
        for attempt in range(self.retry.attempts):
            await self.budget.acquire(weight)
            self.requests += 1
            try:
                status, headers, body = await self._fetch(URL(url), params)
                if status == 200:
                    self.last_error = None
                    if record and self.on_body is not None:
                        self.on_body(shown, params, body)
                    return body
                last_error = f"HTTP {status} from {shown}: {venue_text(body)}"
                if status in (429, 418):
                    self.throttled += 1
                    raw = headers.get("Retry-After")
                    wait = self._throttle_pause(raw, attempt)
                    last_error = (f"HTTP {status} from {shown} (Retry-After "
                                  f"{venue_text(raw, 40)}): pausing all requests for {wait:.1f}s")
                    self.last_error = last_error
                    rlog.warning((id(self), status), "%s", last_error)
                    self.budget.block_for(wait)
                    if self.on_throttle is not None:
                        self.on_throttle(last_error)
                    continue
                if 400 <= status < 500:
                    raise RestError(last_error, status)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                last_error = f"{type(exc).__name__} requesting {shown}: {venue_text(str(exc))}"
            self.failures += 1
            self.last_error = last_error
            delay = self.retry.delay(attempt)
            rlog.info((id(self), "retry"), "%s; retrying in %.2fs", last_error, delay)
            await asyncio.sleep(delay)
        raise RestError(f"giving up after {self.retry.attempts} attempts: {last_error}")

    def _throttle_pause(self, retry_after: str | None, attempt: int) -> float:
        """The pause a 429/418 imposes: ``Retry-After`` clamped, or a backoff."""
        seconds = _retry_after(retry_after)
        if seconds is None:
            seconds = self.retry.delay(attempt + 3)
        return min(seconds, self.max_retry_after)

    async def _fetch(self, url: URL, params: dict[str, Any] | None) -> tuple[int, Any, bytes]:
        """One request, redirects followed by hand under ``redirect_refusal``; the body is
        read incrementally and refused beyond ``max_body_bytes``."""
        for _ in range(_MAX_REDIRECTS + 1):
            async with self._get_session().get(url, params=params,
                                               allow_redirects=False) as resp:
                if resp.status in _REDIRECTS and "Location" in resp.headers:
                    target = url.join(URL(resp.headers["Location"]))
                    refusal = redirect_refusal(url, target, self.redirect_hosts)
                    if refusal is not None:
                        raise RestError(f"{refusal}: {redact_url(url)} → "
                                        f"{redact_url(target)}", resp.status)
                    url, params = target, None   # the Location carries its own query
                    continue
                return resp.status, resp.headers, await self._read_body(resp, url)
        raise RestError(f"more than {_MAX_REDIRECTS} redirects from {redact_url(url)}")

    async def _read_body(self, resp: aiohttp.ClientResponse, url: URL) -> bytes:
        limit = self.max_body_bytes
        too_big = f"response from {redact_url(url)} exceeds max_body_bytes ({limit})"
        if resp.content_length is not None and resp.content_length > limit:
            raise RestError(f"{too_big}: Content-Length {resp.content_length}", resp.status)
        body = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:   # an endless or lying body stops here, not at the timeout
                raise RestError(too_big, resp.status)
        return bytes(body)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
