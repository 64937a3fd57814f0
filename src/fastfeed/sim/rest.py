"""REST plumbing every simulated venue shares: the aiohttp app, errors, faults, weight.

:class:`RestApi` builds one aiohttp application from the routes each dialect declares
(plus the simulator's debug routes), counts requests, answers injected HTTP faults
(``http_429``, ``http_418``, ``http_500``) and charges request weight against the venue's
per-minute budget (:mod:`fastfeed.sim.limits`: 429, then 418 bans for a client that does
not wait). Dialect handlers receive the :class:`RestApi` as their first argument.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from fastfeed.sim import render
from fastfeed.sim.host import SimHost
from fastfeed.venues import VENUES

#: A dialect's request handler: (the REST app, the request) -> the response.
Handler = Callable[["RestApi", web.Request], Awaitable[web.Response]]
#: (HTTP method, path pattern, handler) as a dialect declares it.
Route = tuple[str, str, Handler]
#: (HTTP method, path pattern, handler) of a route that needs no REST app (debug).
PlainRoute = tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]


def error(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> web.Response:
    """A Binance-style error: ``{"code": <negative code>, "msg": "..."}`` with ``status``."""
    return web.Response(status=status, body=render.json_bytes({"code": code, "msg": msg}),
                        content_type="application/json", headers=headers)


class RestApi:
    """The REST side of one simulator: routes, injected HTTP faults, weight budgets."""

    def __init__(self, host: SimHost) -> None:
        """No faults pending (the weight budgets live in ``host.limits``)."""
        self.host = host
        self._faults: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}

    def app(self, routes: Iterable[Route], plain: Iterable[PlainRoute] = ()) -> web.Application:
        """An aiohttp application serving the dialects' ``routes`` and the ``plain`` ones."""
        app = web.Application()
        for method, path, handler in routes:
            app.router.add_route(method, path, functools.partial(handler, self))
        for method, path, plain_handler in plain:
            app.router.add_route(method, path, plain_handler)
        return app

    # -- injected HTTP faults ---------------------------------------------------------------

    def add_fault(self, venue: str, fault: str, symbol: str, params: dict[str, Any]) -> None:
        """Answer the next ``params["count"]`` requests for ``symbol`` (``*``: any) with ``fault``."""
        self._faults.setdefault(venue, []).append((fault, symbol, dict(params)))

    def begin(self, venue: str, symbol: str | None) -> web.Response | None:
        """Count a request; the injected error response it gets, or None to serve it."""
        self.host.counters["rest_requests"] += 1
        faults = self._faults.get(venue, [])
        for i, (name, fsym, p) in enumerate(faults):
            if fsym not in ("*", symbol):
                continue
            p["count"] = int(p["count"]) - 1
            if p["count"] <= 0:
                del faults[i]
            self.host.fired(name)
            if name == "http_429":
                return error(429, -1003, "Too many requests; current limit of IP(127.0.0.1) request weight "
                             "per 1 MINUTE is exceeded. Please use WebSocket Streams for live updates "
                             "to avoid polling the API.", {"Retry-After": str(p["retry_after"])})
            if name == "http_418":
                until = render.now_ms() + int(p["retry_after"]) * 1000
                return error(418, -1003, f"Way too many requests; IP(127.0.0.1) banned until {until}. "
                             "Please use WebSocket Streams for live updates to avoid bans.",
                             {"Retry-After": str(p["retry_after"])})
            return error(500, -1000, "An unknown error occurred while processing the request.")
        return None

    # -- request weight -------------------------------------------------------------------

    def weight_limit(self, venue: str) -> int:
        """Weight per minute ``venue`` reports (the enforced limit, else the venue's own)."""
        return self.host.limits.weight_limit(venue) or int(VENUES[venue].weight_per_minute)

    def charge(self, venue: str, weight: int, request: web.Request) -> tuple[web.Response | None, int]:
        """Spend request weight (:meth:`fastfeed.sim.limits.Limits.charge`): ``(None, used)``
        to serve the request, or ``(the 429/418 answer, used)``; ``used`` is the weight spent
        in the window, for the ``X-MBX-USED-WEIGHT-1M`` header."""
        verdict = self.host.limits.charge(venue, weight)
        if verdict.status == 200:
            return None, verdict.used
        ip = request.remote or self.host.config.host
        headers = {"Retry-After": verdict.retry_after_header, "X-MBX-USED-WEIGHT-1M": str(verdict.used)}
        if verdict.status == 429:
            return error(429, -1003, f"Too many requests; current limit of IP({ip}) request weight per "
                         f"1 MINUTE is {self.weight_limit(venue)}. Please use WebSocket Streams for live "
                         "updates to avoid polling the API.", headers), verdict.used
        return error(418, -1003, f"Way too many requests; IP({ip}) banned until {verdict.banned_until_ms}. "
                     "Please use WebSocket Streams for live updates to avoid bans.", headers), verdict.used
