"""The venue limits the simulator enforces, their state and their trip counters.

What each limit is and how the simulator answers it: ``docs/simulator.md#venue-limits``.
:class:`Limits` holds, per venue, the REST weight spent in a rolling window with the
429/418 state (:meth:`Limits.charge`) and the new connections in a rolling window
(:meth:`Limits.admit_connection`); the per-connection limits (incoming messages a second,
streams per connection) are checked where the messages arrive (``transport.py``,
``dialects/binance.py``) and counted here with :meth:`Limits.trip`.

Every client of one simulator counts as one IP: they are all local, and picows' upgrade
callback does not see the peer address.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastfeed.sim.config import SimConfig
from fastfeed.venues import VENUES

#: Kinds of limit trips, as counted in the stats.
TRIPS = (
    "rest_429",             # a REST request over the weight budget (or in flight after one)
    "rest_418",             # a REST request answered 418: it started a ban or came during one
    "bans",                 # bans started (each longer than the last)
    "incoming_rate",        # connections closed for sending too many messages a second
    "streams_url",          # handshakes refused: more streams in the URL than allowed
    "streams_subscribe",    # SUBSCRIBE requests refused: the connection would exceed it
    "connections_refused",  # handshakes refused: too many new connections in the window
)


class RollingWindow:
    """Amounts spent at points in time; what was spent in the last ``span`` seconds."""

    def __init__(self, span: float) -> None:
        """An empty window ``span`` seconds long."""
        self.span = span
        self._spent: deque[tuple[float, int]] = deque()
        self._total = 0

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - self.span:
            self._total -= self._spent.popleft()[1]

    def used(self, now: float) -> int:
        """The sum spent in ``(now - span, now]``."""
        self._expire(now)
        return self._total

    def add(self, now: float, amount: int) -> None:
        """Spend ``amount`` at ``now``."""
        self._expire(now)
        self._spent.append((now, amount))
        self._total += amount

    def wait(self, now: float, amount: int, limit: int) -> float:
        """Seconds until ``amount`` more fits under ``limit`` (``span`` if it never can)."""
        self._expire(now)
        if amount > limit:
            return self.span
        over = self._total + amount - limit
        if over <= 0:
            return 0.0
        for t, spent in self._spent:
            over -= spent
            if over <= 0:
                return t + self.span - now
        return self.span  # pragma: no cover - the loop always frees enough


@dataclass
class Verdict:
    """What :meth:`Limits.charge` decided for one REST request."""

    status: int
    """200 (serve it), 429 (over the budget, or in flight after a 429) or 418 (banned)."""
    used: int
    """Weight spent in the current window (the ``X-MBX-USED-WEIGHT-1M`` header)."""
    retry_after: float = 0.0
    """Seconds the client must wait (429: until the request fits; 418: the ban's rest)."""
    banned_until_ms: int = 0
    """418: the end of the ban, wall-clock milliseconds (quoted in the error text)."""

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` as the venue sends it: whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


@dataclass
class VenueLimits:
    """One venue's limit state (one IP: see the module docstring)."""

    weight: RollingWindow
    connections: RollingWindow
    wait_until: float = 0.0
    """End of the ``Retry-After`` of the latest 429 (monotonic seconds)."""
    warned_at: float = 0.0
    """When the 429 that set ``wait_until`` was sent."""
    banned_until: float = 0.0
    bans: list[float] = field(default_factory=list)
    """Length of every ban so far, in seconds."""
    trips: Counter[str] = field(default_factory=Counter)


class Limits:
    """The venue limits of one simulator run, read from its :class:`SimConfig`.

    ``clock`` (monotonic seconds) times every window, the connections' incoming-message
    window included; tests replace it to step time by hand.
    """

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        """Nothing spent, nothing tripped."""
        self.config = config
        self.clock = clock
        self._venues: dict[str, VenueLimits] = {}

    def of(self, venue: str) -> VenueLimits:
        """The state of ``venue`` (created on first use)."""
        state = self._venues.get(venue)
        if state is None:
            state = VenueLimits(RollingWindow(self.config.weight_window),
                                RollingWindow(self.config.connection_window))
            self._venues[venue] = state
        return state

    # -- the configured limits (0 = off; a venue missing from a dict: the venue's own) ----

    def weight_limit(self, venue: str) -> int:
        """Request weight allowed per window."""
        return int(self.config.weight_limit.get(venue, VENUES[venue].weight_per_minute))

    def stream_limit(self, venue: str) -> int:
        """Streams one connection may carry."""
        return int(self.config.max_streams.get(venue, VENUES[venue].max_streams_per_connection))

    def incoming_limit(self, venue: str) -> int:
        """Incoming messages one connection may send in any one second."""
        return int(self.config.incoming_limit.get(venue, VENUES[venue].incoming_per_second or 0))

    def connection_limit(self, venue: str) -> int:
        """New connections allowed per connection window."""
        return int(self.config.connection_limit.get(venue, VENUES[venue].connections_per_window or 0))

    # -- enforcement ------------------------------------------------------------------------

    def trip(self, venue: str, kind: str) -> None:
        """Count one trip of a limit (``kind`` one of :data:`TRIPS`)."""
        self.of(venue).trips[kind] += 1

    def charge(self, venue: str, weight: int) -> Verdict:
        """Decide one REST request of ``weight`` and spend the weight if it is served.

        Over the budget: 429 with the seconds until it fits. A request arriving during that
        wait, more than ``ban_grace`` after the 429 (it was not in flight), starts a ban:
        418, the first ``ban_seconds`` long, each later one twice the last (at most
        ``ban_max_seconds``); every request during a ban gets 418 with the time left.
        """
        cfg = self.config
        now = self.clock()
        state = self.of(venue)
        used = state.weight.used(now)
        if now < state.banned_until:
            state.trips["rest_418"] += 1
            return self._banned(state, now, used)
        if now < state.wait_until:
            if cfg.ban_seconds > 0 and now - state.warned_at > cfg.ban_grace:
                length = min(cfg.ban_max_seconds, cfg.ban_seconds * 2 ** len(state.bans))
                state.bans.append(length)
                state.banned_until = now + length
                state.wait_until = 0.0
                state.trips["bans"] += 1
                state.trips["rest_418"] += 1
                return self._banned(state, now, used)
            state.trips["rest_429"] += 1
            return Verdict(429, used, state.wait_until - now)
        limit = self.weight_limit(venue)
        if limit > 0 and used + weight > limit:
            wait = state.weight.wait(now, weight, limit)
            state.wait_until = now + wait
            state.warned_at = now
            state.trips["rest_429"] += 1
            return Verdict(429, used, wait)
        state.weight.add(now, weight)
        return Verdict(200, used + weight)

    def _banned(self, state: VenueLimits, now: float, used: int) -> Verdict:
        left = state.banned_until - now
        return Verdict(418, used, left, int((time.time() + left) * 1000))

    def admit_connection(self, venue: str) -> float | None:
        """Count a new connection: None when admitted, else the seconds until one fits."""
        limit = self.connection_limit(venue)
        if limit <= 0:
            return None
        now = self.clock()
        window = self.of(venue).connections
        wait = window.wait(now, 1, limit)
        if wait > 0:
            self.trip(venue, "connections_refused")
            return wait
        window.add(now, 1)
        return None

    # -- views ------------------------------------------------------------------------------

    def trips(self) -> dict[str, dict[str, int]]:
        """Limit trips per venue, only the venues and kinds that tripped."""
        out = {}
        for venue, state in self._venues.items():
            tripped = {k: n for k, n in state.trips.items() if n}
            if tripped:
                out[venue] = tripped
        return out

    def view(self) -> dict[str, Any]:
        """Configuration, current state and trips of every venue (``GET /debug/limits``)."""
        cfg = self.config
        now = self.clock()
        out: dict[str, Any] = {}
        for venue in VENUES.keys() | self._venues.keys():
            state = self.of(venue)
            out[venue] = {
                "weight_limit": self.weight_limit(venue),
                "weight_window": cfg.weight_window,
                "weight_used": state.weight.used(now),
                "retry_after": max(0.0, state.wait_until - now),
                "banned_for": max(0.0, state.banned_until - now),
                "bans": list(state.bans),
                "max_streams": self.stream_limit(venue),
                "incoming_limit": self.incoming_limit(venue),
                "connection_limit": self.connection_limit(venue),
                "connection_window": cfg.connection_window,
                "connections_in_window": state.connections.used(now),
                "trips": {k: state.trips[k] for k in TRIPS},
            }
        return dict(sorted(out.items()))
