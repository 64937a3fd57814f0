"""Replay a recording through the compiled path (docs/recording.md, "Replay").

``Replay(path).run()`` builds, from the recording's declarations, one offline core per
book and stream (``BookFeed``, ``TradeFeed``, ``BboFeed``, ``TickerFeed``,
``CandleFeed``), one ``Router`` per recorded connection, and then walks the chunks:
every message goes through its connection's router (``fastfeed._record.replay_records``:
compiled, no Python object per message) and every recorded operation is performed on
its core at the place it happened. The books, trades and states at the end are the
live engine's.

What a replay cannot know it says: a stretch the recording lost (a ``dropped`` event, a
damaged or missing chunk) marks every book and stream ``stale`` there, as a lost
connection would (``problems`` says where); a later snapshot in the recording heals it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from fastfeed._core import DecodeRejected
from fastfeed._hist import LatencyHistogram
from fastfeed._parse import format_decimal_py
from fastfeed._record import DECLARE, EVENT, OP, replay_records
from fastfeed._router import Router
from fastfeed.candles import CandleFeed
from fastfeed.feed import BookFeed
from fastfeed.quotes import BboFeed, TickerFeed
from fastfeed.recording import Recording, split_meta
from fastfeed.trades import TradeFeed

__all__ = ["Replay", "book_json"]

_INT64_MAX = (1 << 63) - 1


def book_json(book: Any, depth: int | None = None) -> dict[str, Any]:
    """A book as "Book JSON" (docs/recording.md): ``venue``, ``symbol``, ``state``,
    ``update_id`` and every level (or the top ``depth``) best first, as exact decimal
    strings ``[["price", "size"], ...]``."""
    pd, sd = book.price_decimals, book.size_decimals

    def side(levels: Any) -> list[list[str]]:
        return [[format_decimal_py(int(p), pd), format_decimal_py(int(q), sd)]
                for p, q in levels]

    return {"venue": book.venue, "symbol": book.symbol, "state": book.state,
            "update_id": book.last_update_id, "bids": side(book.book.bids_int(depth)),
            "asks": side(book.book.asks_int(depth))}


def _record_time(raw: bytes, offset: int) -> int:
    """``t_ns`` of the record at ``offset`` (docs/recording.md, "Records")."""
    return int.from_bytes(raw[offset + 8:offset + 16], "little", signed=True)


def _build(declaration: dict[str, Any]) -> Any:
    """The offline core a declaration describes (strict off, as the live engine's)."""
    kind = declaration["kind"]
    venue, symbol = declaration["venue"], declaration["symbol"]
    tick, step = declaration["tick_size"], declaration["step_size"]
    if kind == "book":
        core: Any = BookFeed(venue, symbol, tick, step, strict=False, book_latency="off")
    elif kind == "trades":
        core = TradeFeed(venue, symbol, tick, step, stream=declaration.get("stream"),
                         capacity=declaration["capacity"], strict=False)
    elif kind == "bbo":
        core = BboFeed(venue, symbol, tick, step, capacity=declaration["capacity"],
                       strict=False)
    elif kind == "ticker":
        core = TickerFeed(venue, symbol, tick, step, capacity=declaration["capacity"],
                          strict=False)
    elif kind == "candles":
        core = CandleFeed(venue, symbol, declaration.get("interval"), tick_size=tick,
                          step_size=step, capacity=declaration["capacity"], strict=False)
    else:
        raise ValueError(f"unknown declaration kind {kind!r}")
    for scale in ("price_decimals", "size_decimals"):
        if scale in declaration and getattr(core, scale) != declaration[scale]:
            raise ValueError(f"{venue}:{symbol}: the recording says {scale} "
                             f"{declaration[scale]}, this fastfeed derives "
                             f"{getattr(core, scale)} from the same tick/step")
    return core


class Replay:
    """Replays one recording (a path or an open ``fastfeed.recording.Recording``).

    ``run(speed=None)``: as fast as possible, or at ``speed`` × the recorded pace.
    Then ``books`` / ``trades`` / ``streams`` hold the cores by ``(venue, symbol)`` (and
    channel for streams), ``stats()`` the counts and throughput, ``processing`` the
    histogram of each message's decode → apply time (ns), ``problems`` what could not
    be replayed exactly and where. ``prefetch``: chunks a background thread decompresses
    ahead of the walk (0, the default: decompress in line; on a busy machine a thread
    can win, on an idle one the GIL hand-overs cost more than they save:
    ``benches/recording.py`` measures both). ``min_trade_capacity``: trade rings
    hold at least that many trades (a ring's size changes what a stream *holds*, never
    what it records: ids, states and values are the same; ``fastfeed.export`` reads a
    whole tape through it).
    """

    def __init__(self, recording: Recording | str, *, prefetch: int = 0,
                 min_trade_capacity: int = 0) -> None:
        self.prefetch = prefetch
        self.min_trade_capacity = min_trade_capacity
        self.recording = Recording(recording) if isinstance(recording, str) else recording
        self.cores: dict[int, Any] = {}                 # declaration id -> core
        self.declarations: dict[int, dict[str, Any]] = {}
        self.routers: list[Router | None] = [None]      # by recorded connection id
        self.events: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()
        self.problems: list[str] = []
        self.frames = 0
        self.frame_bytes = 0
        self.unrouted_frames = 0    # frames of a connection the recording never opened
        self.router_rejects = 0
        self.seconds = 0.0
        self.processing = LatencyHistogram(1, 60_000_000_000, 3)
        self._last_chunk: int | None = None
        self._source: Iterator[tuple[Any, bytes]] | None = None    # the chunks left
        self._pending: tuple[bytes, int, int] | None = None     # (raw, shift, offset)

    # ------------------------------------------------------------------ results

    @property
    def books(self) -> dict[tuple[str, str], BookFeed]:
        """The replayed books by ``(venue, symbol)``."""
        return {(c.venue, c.symbol): c for c in self.cores.values() if isinstance(c, BookFeed)}

    @property
    def trades(self) -> dict[tuple[str, str], TradeFeed]:
        """The replayed trade streams by ``(venue, symbol)``."""
        return {(c.venue, c.symbol): c for c in self.cores.values()
                if isinstance(c, TradeFeed)}

    @property
    def streams(self) -> list[Any]:
        """Every replayed core that is not a book (trades, BBO, tickers, candles)."""
        return [c for c in self.cores.values() if not isinstance(c, BookFeed)]

    def stats(self) -> dict[str, Any]:
        """Counts, throughput and the decode → apply percentiles of the replay."""
        h = self.processing
        return {"frames": self.frames, "bytes": self.frame_bytes,
                "seconds": round(self.seconds, 6),
                "msgs_per_s": round(self.frames / self.seconds) if self.seconds else None,
                "MB_per_s": round(self.frame_bytes / self.seconds / 1e6, 1)
                if self.seconds else None,
                "apply_ns": {"p50": h.value_at_percentile(50), "p99": h.value_at_percentile(99),
                             "p99.9": h.value_at_percentile(99.9), "max": h.max,
                             "mean": round(h.mean(), 1)} if h.total_count else None,
                "books": len(self.books), "streams": len(self.streams),
                "connections": len(self.routers) - 1, "ops": dict(self.ops),
                "events": dict(self.events), "unrouted_frames": self.unrouted_frames,
                "router_rejects": self.router_rejects, "problems": list(self.problems),
                "recording_problems": [str(p) for p in self.recording.problems]}

    # ------------------------------------------------------------------ the walk

    def run(self, *, speed: float | None = None, until_ns: int | None = None) -> Replay:
        """Replay the readable chunks up to recorded time ``until_ns`` (default: all of
        them); returns self. A later ``run`` goes on from where this one stopped.
        ``speed``: follow the recorded pace, ``speed`` times faster."""
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        started = time.perf_counter()
        limit = _INT64_MAX if until_ns is None else until_ns
        origin: tuple[int, float] | None = None     # (first recorded ns, perf_counter)
        if self._source is None:
            # prefetch: the next chunks decompress in a thread while this one is walked
            self._source = iter(self.recording.chunk_raws(prefetch=self.prefetch))
        try:
            while True:
                if self._pending is None:
                    nxt = next(self._source, None)
                    if nxt is None:
                        return self
                    info, raw = nxt
                    self._check_continuity(info.number)
                    # receive times in this process's monotonic clock, such that their
                    # wall times are the recorded ones (trades' recv_ns)
                    shift = (info.wall_ns - info.mono_ns) - (time.time_ns()
                                                              - time.monotonic_ns())
                    self._pending = (raw, shift, 0)
                raw, shift, offset = self._pending
                while offset < len(raw):
                    due = limit
                    if speed is not None:
                        if origin is None:
                            origin = (_record_time(raw, offset), time.perf_counter())
                        elapsed = time.perf_counter() - origin[1]
                        due = min(limit, origin[0] + int(elapsed * speed * 1e9))
                    offset, frames, nbytes = replay_records(
                        raw, offset, self.routers, self._on_record, shift, due,
                        self.processing)
                    self.frames += frames
                    self.frame_bytes += nbytes
                    self._pending = (raw, shift, offset)
                    if offset < len(raw):
                        if due == limit:
                            return self         # until_ns reached: resume from here
                        assert origin is not None and speed is not None
                        # the next record is not due yet: sleep exactly until it is
                        wait = ((_record_time(raw, offset) - origin[0]) / speed / 1e9
                                - (time.perf_counter() - origin[1]))
                        if wait > 0:
                            time.sleep(wait)
                self._pending = None
        finally:
            self.seconds += time.perf_counter() - started

    def _check_continuity(self, number: int) -> None:
        expected = 0 if self._last_chunk is None else self._last_chunk + 1
        if number != expected:
            self._lost(f"chunks {expected}..{number - 1} are missing or unreadable")
        self._last_chunk = number

    def _lost(self, why: str) -> None:
        """Part of the recording is gone: nothing replayed can be trusted past it."""
        self.problems.append(why)
        for core in self.cores.values():
            if isinstance(core, BookFeed):
                if core.state not in ("closed", "stale"):
                    core.mark_stale(f"recording: {why}")
            elif isinstance(core, TradeFeed):
                core.mark_stale()

    def _on_record(self, kind: int, flags: int, conn: int, t_ns: int, raw: bytes,
                   start: int, length: int) -> None:
        payload = raw[start:start + length]
        if kind == DECLARE or kind == OP or kind == EVENT:
            try:
                meta, body = split_meta(payload)
            except ValueError as exc:
                self.problems.append(f"unreadable record at t={t_ns}: {exc}")
                return
            try:
                if kind == DECLARE:
                    self._declare(meta)
                elif kind == OP:
                    self._op(meta, conn, body)
                else:
                    self._event(meta)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                # a record this fastfeed cannot perform (another version's, or damaged
                # past its checksums): said, and the replay goes on
                self.problems.append(f"record at t={t_ns} not performed: "
                                     f"{type(exc).__name__}: {exc}")
        else:
            self.unrouted_frames += 1       # a frame of no known connection

    def _declare(self, meta: dict[str, Any]) -> None:
        ident = meta.get("id")
        if not isinstance(ident, int) or ident in self.cores:
            return      # (declarations repeat after a drop)
        if meta.get("kind") == "trades" and isinstance(meta.get("capacity"), int):
            meta = {**meta, "capacity": max(meta["capacity"], self.min_trade_capacity)}
        try:
            self.cores[ident] = _build(meta)
            self.declarations[ident] = meta
        except (ValueError, KeyError, TypeError) as exc:
            self.problems.append(f"declaration {ident}: {exc}")

    def _op(self, meta: dict[str, Any], conn: int, body: bytes) -> None:
        name = str(meta.get("op"))
        self.ops[name] += 1
        if name == "connect":
            while len(self.routers) <= conn:
                self.routers.append(None)
            self.routers[conn] = Router(str(meta["venue"]), self)
            return
        if name == "route":
            router = self.routers[conn] if conn < len(self.routers) else None
            if router is None:
                self.problems.append(f"route for connection {conn} never opened")
                return
            router.set_cores([self.cores[i] for i in meta.get("books", []) if i in self.cores])
            router.set_channel_cores([self.cores[i] for i in meta.get("channels", [])
                                      if i in self.cores])
            return
        core = self.cores.get(meta.get("id", -1))
        if core is None:
            return      # an operation on a stream this recording never declared
        try:
            self._perform(name, core, meta, body)
        except DecodeRejected:
            pass        # the live engine was refused the same body (counted on the core)

    @staticmethod
    def _perform(name: str, core: Any, meta: dict[str, Any], body: bytes) -> None:
        book = isinstance(core, BookFeed)
        trades = isinstance(core, TradeFeed)
        if not (book or trades):
            return      # BBO, ticker, candle states are the engine's, not their cores'
        if name == "start_sync" and book:
            core.start_sync(meta.get("state", "syncing"))
        elif name == "start_sync":
            core.start_sync()
        elif name == "snapshot" and book:
            core.apply_snapshot(body)
        elif name == "mark_stale" and book:
            core.mark_stale(meta.get("reason", ""))
        elif name == "mark_stale":
            core.mark_stale()
        elif name == "gap" and book:
            core.gaps_on_connection(meta.get("reason", ""))
        elif name == "replace_levels" and book:
            bids, asks = json.loads(body)
            core.replace_levels([tuple(x) for x in bids], [tuple(x) for x in asks])
        elif name == "close":
            core.close()
        elif trades and name == "resume":
            core.resume()
        elif trades and name == "backfill":
            core.backfill(body)
        elif trades and name == "clear_gaps":
            core.clear_gaps()

    def _event(self, meta: dict[str, Any]) -> None:
        name = str(meta.get("event"))
        self.events[name] += 1
        if name == "dropped":
            self._lost(f"the recorder dropped {meta.get('frames')} frames here "
                       f"(writer queue full)")

    # ------------------------------------------------------------------ router reports

    def on_router_reject(self, text: str, head: bytes) -> None:
        """A recorded message the router refused (the live engine refused it too)."""
        self.router_rejects += 1

    def on_router_control(self, payload: bytes, is_error: bool) -> None:
        """A subscribe ack or venue error in the recording (nothing to do)."""

    def on_router_connection_gap(self, reason: str) -> None:
        """A connection-level gap (its books were marked by the router itself)."""

    def book_lines(self) -> Iterator[str]:
        """Every replayed book as one line of Book JSON, in declaration order."""
        for core in self.cores.values():
            if isinstance(core, BookFeed):
                yield json.dumps(book_json(core))
