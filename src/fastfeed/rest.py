"""REST access for snapshots and instrument metadata: one aiohttp session and one
request-weight budget per venue endpoint, shared by every book of that venue.

Binance counts request *weight* per IP per minute (6000 for spot); a depth snapshot of
limit 5000 costs 250. When 200 symbols resync together after the 24 h rollover, an
unbudgeted client would burn the minute in seconds and earn a 429 and then a 418 ban.
``WeightBudget`` is a token bucket refilled continuously at ``share × limit`` per minute;
every request waits for its weight first. A 429/418 with ``Retry-After`` closes the
bucket for every waiter until that time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger("fastfeed.rest")


class RestError(RuntimeError):
    """A REST request failed for good (bad request, unknown symbol, retries exhausted)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WeightBudget:
    """Token bucket of request weight per minute, shared by all requests to one venue."""

    def __init__(self, weight_per_minute: float, burst: float | None = None) -> None:
        if weight_per_minute <= 0:
            raise ValueError("weight_per_minute must be positive")
        self.rate = weight_per_minute / 60.0
        # The venue counts weight per minute window, so a whole minute's share may be spent
        # at once (start-up); after that, requests are paced at the refill rate.
        self.capacity = burst if burst is not None else weight_per_minute
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.blocked_until = 0.0
        self.waited_s = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

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


class RestClient:
    """An aiohttp session plus a weight budget for one venue's REST base URL."""

    def __init__(self, base_url: str, budget: WeightBudget, retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0
        self.throttled = 0
        self.failures = 0

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.retry.timeout),
                headers={"User-Agent": "fastfeed"},
            )
        return self._session

    async def get(self, path: str, params: dict[str, Any] | None = None, weight: float = 1) -> bytes:
        """GET ``path`` and return the body; retries transient failures within the budget."""
        url = self.base_url + path
        last_error = "no attempt made"
        for attempt in range(self.retry.attempts):
            await self.budget.acquire(weight)
            self.requests += 1
            try:
                async with self._get_session().get(url, params=params) as resp:
                    body = await resp.read()
                    if resp.status == 200:
                        return body
                    last_error = f"HTTP {resp.status} from {url}: {body[:200]!r}"
                    if resp.status in (429, 418):
                        self.throttled += 1
                        retry_after = _retry_after(resp.headers.get("Retry-After"))
                        wait = retry_after if retry_after is not None else self.retry.delay(attempt + 3)
                        log.warning("%s: HTTP %d, pausing all requests for %.1fs", url, resp.status, wait)
                        self.budget.block_for(wait)
                        continue
                    if 400 <= resp.status < 500:
                        raise RestError(last_error, resp.status)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                last_error = f"{type(exc).__name__} requesting {url}: {exc}"
            self.failures += 1
            delay = self.retry.delay(attempt)
            log.info("%s; retrying in %.2fs", last_error, delay)
            await asyncio.sleep(delay)
        raise RestError(f"giving up after {self.retry.attempts} attempts: {last_error}")

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
