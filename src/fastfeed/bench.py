"""``fastfeed bench``: throughput and latency, side by side with the usual alternatives.

One command, no network. By default (socket mode) it starts the simulator
(``python -m fastfeed.sim --json-ready --burst N``) in a **child process** and, in the
same run, lets each contender connect over loopback and receive the same burst of
pre-framed venue messages (written as fast as the socket takes them):

``ceiling``
    picows + ``CountingListener`` (compiled): frames are counted, nothing is parsed.
    What the transport alone can do on this machine: the ceiling.
``fastfeed``
    picows + ``FeedListener`` + one ``BookCore`` per symbol: the production hot path
    (decode → sequence check → int64 book → latency record), books synced from the
    simulator's REST snapshot (Binance) or its in-band snapshot (Coinbase) first.
``picows-orjson``
    picows with a Python ``WSListener``: ``orjson.loads(frame payload)`` then a dict
    book (``bench_gen.DictBook``). Same transport as fastfeed, Python above it.
``websockets-json``
    ``websockets`` (asyncio client, no compression): ``async for msg in ws`` then
    ``json.loads`` and the same dict book. What most Python code does.

The dict-book baselines are kept honest (see :mod:`fastfeed.bench_gen`): every level is
applied as ``float(price) -> float(size)``, a zero size deletes, and the venue's sequence
rule is checked exactly as fastfeed checks it. Everything runs on uvloop.

Measured per contender and run: messages/s and MB/s from the first to the last frame
of the burst (payload bytes; Coinbase's ``subscriptions`` ack, sent before the simulator
renders the burst, is left out), CPU µs per message (this process's CPU time from the moment
the first connection is open to the last frame, divided by the frames; the simulator's
CPU is not included), the ratio of its rate to the ceiling, fastfeed's speedup over each baseline
(per run, then the median), and receive→applied latency percentiles (p50, p90, p99,
p99.9, max) from fastfeed's ``recv_to_apply`` histograms (stamped in the frame callback,
recorded after the book update). ``picows-orjson`` records the same interval with the
same clock (a Python call per message, ~0.3 µs, included in its figures). With
``--repeat N`` rates are the median of N runs (contender order rotates between runs)
and latencies come from all runs merged.

Exactness: after every burst each contender's books are compared, level by level, with
the simulator's ground truth (``GET /debug/truth``). A contender whose book differs (or
is not live) is reported and the command exits with status 3. ``--corrupt NAME`` is a
test aid: it changes one level of contender NAME's book after the burst, to prove the
check bites (``tests/test_bench_cli.py`` uses it).

``--no-socket`` measures decode + apply in-process instead: ``BookFeed.apply_message``
against ``json.loads`` + dict book and ``orjson.loads`` + dict book, on messages
generated with the simulator's model (no transport, no ceiling).

Output: a rich table on the terminal (progress bar on stderr), ``--json`` (every field,
machine readable), ``--hlog PATH`` (one HdrHistogram interval per run and contender,
via ``latency.HlogWriter``), ``--plot PATH.png`` (latency by percentile; needs
matplotlib from the ``bench`` extra). Exit status: 0 ok, 1 a contender failed (timeout,
gap, simulator error), 2 usage, 3 a book disagreed with the truth.

Simulator notes: bursts are pre-rendered and pre-framed for every venue, so one connection
carries every stream; on Coinbase Advanced Trade the simulator numbers the combined burst
for that connection (consecutive ``sequence_num``). The timed window runs from the first
burst frame to the last (the ``subscriptions`` ack is left out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastfeed.bench_gen import (
    VENUE_DEFAULTS,
    DictBook,
    Workload,
    book_levels_decimal,
    compare_levels,
    dict_levels,
    make_router,
    make_workload,
    mid_price,
    model_levels_for,
    symbol_names,
)
from fastfeed.latency import HlogWriter, LatencyHistogram, format_ns, summary
from fastfeed.sim.process import SimProcess

__all__ = ["CONTENDERS", "LABELS", "RunResult", "build_parser", "main", "run_bench"]

VENUES = ("binance", "binance-usdm", "coinbase", "coinbase-exchange")
#: Socket-mode contenders, in report order.
CONTENDERS = ("ceiling", "fastfeed", "picows-orjson", "websockets-json")
#: In-process (``--no-socket``) contenders.
INPROC_CONTENDERS = ("fastfeed", "orjson-dict", "json-dict")
LABELS = {
    "ceiling": "picows raw ceiling (count frames)",
    "fastfeed": "fastfeed (FeedListener + BookCore)",
    "picows-orjson": "picows + orjson + dict book",
    "websockets-json": "websockets + json + dict book",
    "orjson-dict": "orjson.loads + dict book",
    "json-dict": "json.loads + dict book",
}
BASELINES = {"socket": ("picows-orjson", "websockets-json"),
             "no-socket": ("orjson-dict", "json-dict")}
PERCENTILES = ("p50", "p90", "p99", "p99.9", "max")
EXIT_FAILED = 1
EXIT_MISMATCH = 3


@dataclass
class RunResult:
    """One contender, one run."""

    name: str
    messages: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    level_changes: int = 0
    error: str | None = None
    exact: bool | None = None
    mismatch: str | None = None
    hist: LatencyHistogram | None = None
    wall_start: float = 0.0
    wall_end: float = 0.0

    @property
    def rate(self) -> float:
        """Messages per second (first to last frame)."""
        return (self.messages - 1) / self.elapsed_s if self.elapsed_s > 0 and self.messages > 1 else 0.0

    @property
    def mb_s(self) -> float:
        """Payload megabytes (1e6) per second."""
        return self.bytes * (self.messages - 1) / self.messages / self.elapsed_s / 1e6 \
            if self.elapsed_s > 0 and self.messages > 1 else 0.0

    @property
    def cpu_us(self) -> float:
        """Process CPU µs per message."""
        return self.cpu_s * 1e6 / self.messages if self.messages else 0.0


@dataclass
class BenchConfig:
    """Parsed options."""

    venue: str = "binance"
    symbols: int = 2
    messages: int = 10_000
    levels_per_message: float = 30.0
    book_depth: int = 1000
    repeat: int = 3
    seed: int = 1
    no_socket: bool = False
    corrupt: str | None = None
    timeout: float = 60.0
    contenders: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def per_symbol(self) -> int:
        """Messages per symbol (``messages`` split evenly, at least 2)."""
        return max(2, self.messages // self.symbols)


# ---------------------------------------------------------------------------- helpers


def _have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def machine_info() -> dict[str, Any]:
    """nproc, CPU model, Python, platform."""
    model = platform.processor() or ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform()}


def _median(xs: Sequence[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")


def _loop_runner() -> Callable[[Any], Any]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run
    return uvloop.run


# ---------------------------------------------------------------------------- simulator


def sim_process(cfg: BenchConfig, symbols: list[str]) -> SimProcess:
    """The simulator child for a run: burst mode, no pings, the benchmark's book shape."""
    tick, step, _ = VENUE_DEFAULTS[cfg.venue]
    spec = ",".join(f"{s}:{tick}:{step}:{mid_price(i)}" for i, s in enumerate(symbols))
    return SimProcess([f"--{cfg.venue}", spec, "--seed", str(cfg.seed),
                       "--burst", str(cfg.per_symbol),
                       "--levels", str(model_levels_for(cfg.levels_per_message)),
                       "--depth", str(cfg.book_depth), "--ping-interval", "0"])


def connection_plan(venue: str, symbols: list[str]) -> list[list[str]]:
    """Symbols per connection: one connection carrying every stream, on every venue."""
    return [list(symbols)]


def expected_frames(venue: str, symbols: list[str], per_symbol: int) -> int:
    """Frames one connection carrying ``symbols`` receives during the burst."""
    if venue.startswith("binance"):
        return per_symbol * len(symbols)
    # subscriptions ack + per product: in-band snapshot + the burst
    return 1 + len(symbols) * (1 + per_symbol)


def ack_frames(venue: str) -> int:
    """Leading frames per connection left out of the timed window: Coinbase's
    ``subscriptions`` ack arrives at once, the burst only after the simulator rendered it."""
    return 0 if venue.startswith("binance") else 1


def ws_url(venue: str, ws_base: str, symbols: list[str]) -> str:
    """The URL a connection opens (Binance combined streams; Coinbase base URL)."""
    from fastfeed.venues import get_venue

    return get_venue(venue).connection_url(ws_base, symbols)


def subscribe_messages(venue: str, symbols: list[str]) -> list[bytes]:
    """Subscribe requests for the L2 channel only (no heartbeats: they would add frames)."""
    if venue == "coinbase":
        return [json.dumps({"type": "subscribe", "product_ids": symbols,
                            "channel": "level2"}).encode()]
    if venue == "coinbase-exchange":
        return [json.dumps({"type": "subscribe", "product_ids": symbols,
                            "channels": ["level2_batch"]}).encode()]
    return []


# ---------------------------------------------------------------------------- contenders


class _FeedOwner:
    """Cold-path owner of a ``FeedListener`` during a benchmark run."""

    def __init__(self, venue: str, cores: list[Any], expected: int,
                 done: asyncio.Future[None]) -> None:
        from fastfeed._listener import FeedListener

        self.subs = subscribe_messages(venue, [c.symbol for c in cores])
        self.expected = expected
        self.done = done
        self.first_ns = 0
        self.last_ns = 0
        self.problems: list[str] = []
        self.skip = ack_frames(venue)
        self.listener = FeedListener(venue, self, cores)
        self.listener.frame_target = self.skip + 1     # first timed frame: note the time

    def on_listener_connected(self, transport: Any) -> None:
        from picows import WSMsgType

        for m in self.subs:
            transport.send(WSMsgType.TEXT, m)

    def on_listener_disconnected(self, transport: Any) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError("disconnected before the burst ended"))

    def on_listener_close_frame(self, code: Any, reason: str) -> None:
        self.problems.append(f"server closed: {code} {reason}")

    def on_listener_control(self, payload: bytes, is_error: bool) -> None:
        if is_error:
            self.problems.append(f"venue error: {payload[:200]!r}")

    def on_listener_connection_gap(self, reason: str) -> None:
        self.problems.append(f"connection gap: {reason}")

    def on_listener_target(self) -> None:
        listener = self.listener
        if listener.frames == self.skip + 1:
            self.first_ns = listener.last_frame_ns
            if self.expected > self.skip + 1:
                listener.frame_target = self.expected
                return
        self.last_ns = listener.last_frame_ns
        if not self.done.done():
            self.done.set_result(None)


def _make_orjson_listener(venue: str, router: Any, expected: int, done: asyncio.Future[None],
                          hist: LatencyHistogram) -> Any:
    import orjson
    from picows import WSListener, WSMsgType

    subs = subscribe_messages(venue, list(router.books))
    skip = ack_frames(venue)
    loads = orjson.loads
    on_message = router.on_message
    record = hist.record_value
    clock = time.monotonic_ns
    text = WSMsgType.TEXT
    close = WSMsgType.CLOSE

    class OrjsonListener(WSListener):  # type: ignore[misc]
        """A plain Python picows listener: orjson + dict book."""

        def __init__(self) -> None:
            super().__init__()
            self.frames = 0
            self.nbytes = 0
            self.first_ns = 0
            self.last_ns = 0

        def on_ws_connected(self, transport: Any) -> None:
            for m in subs:
                transport.send(text, m)

        def on_ws_disconnected(self, transport: Any) -> None:
            if not done.done():
                done.set_exception(ConnectionError("disconnected before the burst ended"))

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            t = clock()
            kind = frame.msg_type
            if kind != text:
                if kind == close:
                    transport.disconnect()
                return
            self.frames += 1
            self.nbytes += frame.payload_size
            if self.frames == skip + 1:
                self.first_ns = t
            on_message(loads(frame.get_payload_as_memoryview()))
            record(clock() - t)
            if self.frames == expected:
                self.last_ns = t
                if not done.done():
                    done.set_result(None)

    return OrjsonListener()


async def _fetch(session: Any, url: str) -> bytes:
    async with session.get(url) as resp:
        body: bytes = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {url}: HTTP {resp.status}: {body[:200]!r}")
        return body


class SocketBench:
    """Runs the socket-mode contenders against one simulator child."""

    def __init__(self, cfg: BenchConfig, ready: dict[str, Any], symbols: list[str]) -> None:
        """``ready`` is the simulator's ready line (ports and URLs)."""
        self.cfg = cfg
        self.symbols = symbols
        urls = ready["urls"][cfg.venue]
        self.ws_base = urls["ws"]
        self.rest_base = urls["rest"]
        self.plan = connection_plan(cfg.venue, symbols)
        self.snapshots: dict[str, bytes] = {}
        self.truth: dict[str, tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]] = {}
        self.tick, self.step, _ = VENUE_DEFAULTS[cfg.venue]

    async def prepare(self) -> None:
        """Fetch the REST snapshots (Binance) and the final truth of every symbol."""
        import aiohttp

        async with aiohttp.ClientSession() as session:
            for s in self.symbols:
                if self.cfg.venue.startswith("binance"):
                    path = "/api/v3/depth" if self.cfg.venue == "binance" else "/fapi/v1/depth"
                    limit = 5000 if self.cfg.venue == "binance" else 1000
                    self.snapshots[s] = await _fetch(
                        session, f"{self.rest_base}{path}?symbol={s}&limit={limit}")
                body = await _fetch(session, f"{self.rest_base}/debug/truth?venue="
                                             f"{self.cfg.venue}&symbol={s}")
                t = json.loads(body)
                self.truth[s] = ([(Decimal(p), Decimal(q)) for p, q in t["bids"]],
                                 [(Decimal(p), Decimal(q)) for p, q in t["asks"]])

    def _timeout(self) -> float:
        return self.cfg.timeout + self.cfg.messages * 2e-4

    async def run(self, name: str) -> RunResult:
        """One run of contender ``name``."""
        fn = {"ceiling": self._ceiling, "fastfeed": self._fastfeed,
              "picows-orjson": self._picows_orjson, "websockets-json": self._websockets}[name]
        res = RunResult(name)
        res.wall_start = time.time()
        try:
            await asyncio.wait_for(fn(res), self._timeout())
        except asyncio.TimeoutError:
            res.error = f"timed out after {self._timeout():.0f}s ({res.messages} frames)"
        except Exception as exc:
            res.error = f"{type(exc).__name__}: {exc}"
        res.wall_end = time.time()
        return res

    async def _ceiling(self, res: RunResult) -> None:
        from picows import WSMsgType, ws_connect

        from fastfeed._listener import CountingListener

        loop = asyncio.get_running_loop()
        skip = ack_frames(self.cfg.venue)
        for syms in self.plan:      # one connection at a time (see connection_plan)
            expected = expected_frames(self.cfg.venue, syms, self.cfg.per_symbol)
            done: asyncio.Future[int] = loop.create_future()
            lst: Any
            transport, lst = await ws_connect(
                lambda e=(skip or expected), d=done: CountingListener(e, d),  # type: ignore[misc]
                ws_url(self.cfg.venue, self.ws_base, syms), use_aiofastnet=False,
                max_frame_size=64 * 1024 * 1024)
            c0 = time.process_time()
            base_frames = base_bytes = 0
            t_start = 0
            try:
                for m in subscribe_messages(self.cfg.venue, syms):
                    transport.send(WSMsgType.TEXT, m)
                if skip:
                    # CountingListener has no per-frame hook: wait for the ack, then poll
                    # the counter until the burst starts (the poll's CPU is not counted).
                    await done
                    done = loop.create_future()
                    lst.target = expected
                    lst.done = done
                    if lst.frames >= expected:
                        done.set_result(lst.frames)
                    while lst.frames <= skip:
                        await asyncio.sleep(0)
                    t_start = time.monotonic_ns()
                    c0 = time.process_time()
                    base_frames = lst.frames - 1
                    base_bytes = lst.bytes_received
                await done
            finally:
                res.cpu_s += time.process_time() - c0
                res.messages += lst.frames - base_frames
                res.bytes += lst.bytes_received - base_bytes
                if lst.last_ns:
                    res.elapsed_s += (lst.last_ns - (t_start or lst.first_ns)) / 1e9
                transport.disconnect()

    def _cores(self, syms: list[str]) -> list[Any]:
        from fastfeed._core import BookCore
        from fastfeed.feed import instrument_scales

        cores = []
        for s in syms:
            core = BookCore(self.cfg.venue, s, *instrument_scales(self.tick, self.step),
                            strict=False)
            if self.cfg.venue.startswith("binance"):
                state = core.apply_snapshot(self.snapshots[s])
                if state != "live":
                    raise RuntimeError(f"{s}: snapshot left the book {state}")
            cores.append(core)
        return cores

    async def _fastfeed(self, res: RunResult) -> None:
        from picows import ws_connect

        loop = asyncio.get_running_loop()
        all_cores: list[Any] = []
        problems: list[str] = []
        for syms in self.plan:      # one connection at a time (see connection_plan)
            cores = self._cores(syms)
            all_cores.extend(cores)
            owner = _FeedOwner(self.cfg.venue, cores,
                               expected_frames(self.cfg.venue, syms, self.cfg.per_symbol),
                               loop.create_future())
            transport, _ = await ws_connect(
                lambda o=owner: o.listener,  # type: ignore[misc]
                ws_url(self.cfg.venue, self.ws_base, syms), use_aiofastnet=False,
                max_frame_size=64 * 1024 * 1024)
            c0 = time.process_time()
            try:
                await owner.done
            finally:
                res.cpu_s += time.process_time() - c0
                res.messages += owner.listener.frames - owner.skip
                res.bytes += owner.listener.bytes_received
                if owner.first_ns and owner.last_ns:
                    res.elapsed_s += (owner.last_ns - owner.first_ns) / 1e9
                problems.extend(owner.problems)
                transport.disconnect()
        hist = LatencyHistogram()
        for core in all_cores:
            hist.add(core.recv_to_apply)
            res.level_changes += core.level_changes
        res.hist = hist
        if self.cfg.corrupt == "fastfeed":
            _corrupt_core(all_cores[0])
        res.exact, res.mismatch = self._check_cores(all_cores, problems)

    def _check_cores(self, cores: list[Any], problems: list[str]) -> tuple[bool, str | None]:
        msgs = list(problems)
        for core in cores:
            if core.state != "live":
                msgs.append(f"{core.symbol}: book is {core.state} ({core.last_gap_reason})")
                continue
            bids, asks = self.truth[core.symbol]
            pd, sd = core.price_decimals, core.size_decimals
            for side, got, want in (("bids", core.book.bids_int(), bids),
                                    ("asks", core.book.asks_int(), asks)):
                diff = compare_levels(f"{core.symbol} {side}",
                                      book_levels_decimal(got, pd, sd), want)
                if diff:
                    msgs.append(diff)
        return (not msgs, "; ".join(msgs) or None)

    def _check_dicts(self, name: str, books: dict[str, DictBook]) -> tuple[bool, str | None]:
        if self.cfg.corrupt == name:
            _corrupt_dict(next(iter(books.values())))
        msgs = []
        for s, book in books.items():
            if book.state != "live":
                msgs.append(f"{s}: book is {book.state}")
                continue
            bids, asks = self.truth[s]
            for side, got, want in (("bids", dict_levels(book.bids, True), bids),
                                    ("asks", dict_levels(book.asks, False), asks)):
                diff = compare_levels(f"{s} {side}", got, want, float)
                if diff:
                    msgs.append(diff)
        return (not msgs, "; ".join(msgs) or None)

    def _routers(self, syms: list[str], loads: Callable[[bytes], Any]
                 ) -> tuple[Any, dict[str, DictBook]]:
        router, books = make_router(self.cfg.venue, syms)
        if self.cfg.venue.startswith("binance"):
            for s in syms:
                books[s].load_rest(loads(self.snapshots[s]))
        return router, books

    async def _picows_orjson(self, res: RunResult) -> None:
        import orjson
        from picows import ws_connect

        loop = asyncio.get_running_loop()
        hist = LatencyHistogram()
        all_books: dict[str, DictBook] = {}
        skip = ack_frames(self.cfg.venue)
        for syms in self.plan:      # one connection at a time (see connection_plan)
            router, books = self._routers(syms, orjson.loads)
            all_books.update(books)
            done: asyncio.Future[None] = loop.create_future()
            listener = _make_orjson_listener(
                self.cfg.venue, router,
                expected_frames(self.cfg.venue, syms, self.cfg.per_symbol), done, hist)
            transport, _ = await ws_connect(
                lambda lst=listener: lst,  # type: ignore[misc]
                ws_url(self.cfg.venue, self.ws_base, syms), use_aiofastnet=False,
                max_frame_size=64 * 1024 * 1024)
            c0 = time.process_time()
            try:
                await done
            finally:
                res.cpu_s += time.process_time() - c0
                res.messages += listener.frames - skip
                res.bytes += listener.nbytes
                if listener.last_ns:
                    res.elapsed_s += (listener.last_ns - listener.first_ns) / 1e9
                transport.disconnect()
        res.hist = hist
        res.exact, res.mismatch = self._check_dicts("picows-orjson", all_books)

    async def _websockets(self, res: RunResult) -> None:
        from websockets.asyncio.client import connect

        all_books: dict[str, DictBook] = {}
        loads = json.loads
        skip = ack_frames(self.cfg.venue)
        for syms in self.plan:      # one connection at a time (see connection_plan)
            router, books = self._routers(syms, loads)
            all_books.update(books)
            expected = expected_frames(self.cfg.venue, syms, self.cfg.per_symbol)
            on_message = router.on_message
            frames = nbytes = first = last = 0
            async with connect(ws_url(self.cfg.venue, self.ws_base, syms), compression=None,
                               max_size=64 * 1024 * 1024, ping_interval=None,
                               open_timeout=30) as ws:
                c0 = time.process_time()
                try:
                    for m in subscribe_messages(self.cfg.venue, syms):
                        await ws.send(m.decode())
                    async for raw in ws:
                        t = time.monotonic_ns()
                        if frames == skip:
                            first = t
                        frames += 1
                        nbytes += len(raw)      # ASCII payloads: characters == bytes
                        on_message(loads(raw))
                        if frames == expected:
                            last = t
                            break
                finally:
                    res.cpu_s += time.process_time() - c0
                    res.messages += frames - skip
                    res.bytes += nbytes
                    if last:
                        res.elapsed_s += (last - first) / 1e9
        res.exact, res.mismatch = self._check_dicts("websockets-json", all_books)


def _corrupt_core(core: Any) -> None:
    """Test aid: bump the size of the best bid by one lot."""
    from fastfeed._book import BID

    best = core.book.best_bid_int()
    if best is not None:
        core.book.apply(BID, best[0], best[1] + core.size_step)


def _corrupt_dict(book: DictBook) -> None:
    """Test aid: bump the size of the best bid."""
    if book.bids:
        p = max(book.bids)
        book.bids[p] += 1.0


# ---------------------------------------------------------------------------- in-process


def _inproc_runs(cfg: BenchConfig, workloads: list[Workload], name: str) -> RunResult:
    """One in-process run of ``name`` over every workload (fresh books each time)."""
    res = RunResult(name)
    res.wall_start = time.time()
    if name == "fastfeed":
        from fastfeed.feed import BookFeed

        feeds = []
        for w in workloads:
            feed = BookFeed(w.venue, w.symbol, w.tick_size, w.step_size)
            if w.snapshot is not None:
                feed.apply_snapshot(w.snapshot)
            for m in w.prelude:
                feed.apply_message(m)
            feeds.append(feed)
        c0 = time.process_time()
        t0 = time.perf_counter_ns()
        for w, feed in zip(workloads, feeds, strict=True):
            apply = feed.apply_message
            for m in w.messages:
                apply(m)
        res.elapsed_s = (time.perf_counter_ns() - t0) / 1e9
        res.cpu_s = time.process_time() - c0
        hist = LatencyHistogram()
        msgs = []
        for w, feed in zip(workloads, feeds, strict=True):
            hist.add(feed.recv_to_apply)
            res.level_changes += feed.level_changes
            if cfg.corrupt == "fastfeed" and feed is feeds[0]:
                _corrupt_core(feed)
            if feed.state != "live":
                msgs.append(f"{w.symbol}: book is {feed.state}")
                continue
            for side, got, want in (("bids", feed.book.bids_int(), w.final_bids),
                                    ("asks", feed.book.asks_int(), w.final_asks)):
                diff = compare_levels(f"{w.symbol} {side}", book_levels_decimal(
                    got, feed.price_decimals, feed.size_decimals), want)
                if diff:
                    msgs.append(diff)
        res.hist = hist
    else:
        if name == "orjson-dict":
            import orjson
            loads: Callable[[bytes], Any] = orjson.loads
        else:
            loads = json.loads
        routed = []
        for w in workloads:
            router, books = make_router(w.venue, [w.symbol])
            if w.snapshot is not None:
                books[w.symbol].load_rest(loads(w.snapshot))
            for m in w.prelude:
                router.on_message(loads(m))
            routed.append((router, books[w.symbol]))
        c0 = time.process_time()
        t0 = time.perf_counter_ns()
        for w, (router, _) in zip(workloads, routed, strict=True):
            on_message = router.on_message
            for m in w.messages:
                on_message(loads(m))
        res.elapsed_s = (time.perf_counter_ns() - t0) / 1e9
        res.cpu_s = time.process_time() - c0
        msgs = []
        for w, (_, book) in zip(workloads, routed, strict=True):
            if cfg.corrupt == name and book is routed[0][1]:
                _corrupt_dict(book)
            if book.state != "live":
                msgs.append(f"{w.symbol}: book is {book.state}")
                continue
            for side, dgot, want in (("bids", dict_levels(book.bids, True), w.final_bids),
                                     ("asks", dict_levels(book.asks, False), w.final_asks)):
                diff = compare_levels(f"{w.symbol} {side}", dgot, want, float)
                if diff:
                    msgs.append(diff)
    res.messages = sum(len(w.messages) for w in workloads) + 1   # rate uses messages - 1
    res.bytes = sum(w.bytes for w in workloads)
    res.exact, res.mismatch = (not msgs, "; ".join(msgs) or None)
    res.wall_end = time.time()
    return res


# ---------------------------------------------------------------------------- report


def _summarize(cfg: BenchConfig, mode: str, runs: dict[str, list[RunResult]],
               extra: dict[str, Any]) -> dict[str, Any]:
    contenders: dict[str, Any] = {}
    ceiling_runs = runs.get("ceiling", [])
    for name, rs in runs.items():
        ok = [r for r in rs if r.error is None]
        hist = LatencyHistogram()
        have_hist = False
        for r in ok:
            if r.hist is not None and r.hist.total_count:
                hist.add(r.hist)
                have_hist = True
        lat: dict[str, Any] | None = None
        if have_hist:
            s = summary(hist)
            lat = {k: int(s[k]) for k in ("count", *PERCENTILES)}
            lat["mean"] = round(float(s["mean"]), 1)
        entry: dict[str, Any] = {
            "label": ("fastfeed (BookFeed.apply_message)" if mode == "no-socket"
                      and name == "fastfeed" else LABELS[name]),
            "runs": [{"messages": r.messages - (1 if mode == "no-socket" else 0),
                      "bytes": r.bytes, "elapsed_s": round(r.elapsed_s, 6),
                      "cpu_s": round(r.cpu_s, 6), "messages_per_s": round(r.rate, 1),
                      "mb_per_s": round(r.mb_s, 3), "cpu_us_per_msg": round(r.cpu_us, 4),
                      "ns_per_msg": round(1e9 / r.rate, 1) if r.rate else None,
                      "exact": r.exact, "error": r.error} for r in rs],
            "messages_per_s": round(_median([r.rate for r in ok]), 1) if ok else None,
            "mb_per_s": round(_median([r.mb_s for r in ok]), 3) if ok else None,
            "cpu_us_per_msg": round(_median([r.cpu_us for r in ok]), 4) if ok else None,
            "ns_per_msg": round(1e9 / _median([r.rate for r in ok]), 1) if ok else None,
            "latency_ns": lat,
            "exact": None if name == "ceiling" else (
                all(r.exact for r in rs) if rs and all(r.error is None for r in rs) else False),
            "mismatch": next((r.mismatch for r in rs if r.mismatch), None),
            "error": next((r.error for r in rs if r.error), None),
        }
        if ok and ok[0].level_changes:
            entry["level_changes_per_message"] = round(
                ok[0].level_changes / max(1, ok[0].messages), 2)
        if ceiling_runs and name != "ceiling":
            to_ceiling = [r.rate / c.rate for r, c in zip(rs, ceiling_runs, strict=False)
                          if r.error is None and c.error is None and c.rate]
            entry["ratio_to_ceiling"] = round(_median(to_ceiling), 4) if to_ceiling else None
        elif name == "ceiling":
            entry["ratio_to_ceiling"] = 1.0
        else:
            entry["ratio_to_ceiling"] = None
        contenders[name] = entry
    ratios: dict[str, Any] = {}
    ff = runs.get("fastfeed", [])
    for base in BASELINES[mode]:
        if base not in runs:
            continue
        pairs = [(f, b) for f, b in zip(ff, runs[base], strict=False) if f.error is None and b.error is None]
        if pairs:
            ratios[f"fastfeed_vs_{base}"] = round(_median([f.rate / b.rate for f, b in pairs
                                                           if b.rate]), 2)
            ratios[f"fastfeed_vs_{base}_cpu"] = round(_median(
                [b.cpu_us / f.cpu_us for f, b in pairs if f.cpu_us]), 2)
    if "ratio_to_ceiling" in contenders.get("fastfeed", {}) and ceiling_runs:
        ratios["fastfeed_vs_ceiling"] = contenders["fastfeed"]["ratio_to_ceiling"]
    exact = all(c["exact"] is not False for n, c in contenders.items() if n != "ceiling")
    failed = any(c["error"] for c in contenders.values())
    return {
        "bench": "fastfeed",
        "mode": mode,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine_info(),
        "config": {"venue": cfg.venue, "symbols": cfg.symbols, "messages": cfg.messages,
                   "messages_per_symbol": cfg.per_symbol,
                   "levels_per_message": cfg.levels_per_message,
                   "model_levels_per_message": model_levels_for(cfg.levels_per_message),
                   "book_depth": cfg.book_depth, "repeat": cfg.repeat, "seed": cfg.seed,
                   "corrupt": cfg.corrupt},
        **extra,
        "contenders": contenders,
        "ratios": ratios,
        "exact": exact,
        "ok": exact and not failed,
        "notes": cfg.notes,
    }


def _fmt_rate(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def print_report(result: dict[str, Any], console: Any) -> None:
    """The human-readable table."""
    from rich.table import Table

    cfg = result["config"]
    mode = result["mode"]
    title = (f"fastfeed bench — {cfg['venue']}, {cfg['symbols']} symbol(s), "
             f"{cfg['messages_per_symbol']} msgs/symbol, ~{cfg['levels_per_message']:g} "
             f"levels/msg, {cfg['book_depth']}-level book, median of {cfg['repeat']}"
             f"{' (in-process, --no-socket)' if mode == 'no-socket' else ''}")
    t = Table(title=title, title_justify="left")
    t.add_column("contender")
    t.add_column("msgs/s", justify="right")
    t.add_column("MB/s", justify="right")
    t.add_column("CPU µs/msg", justify="right")
    if mode == "socket":
        t.add_column("vs ceiling", justify="right")
    t.add_column("fastfeed ×", justify="right")
    for p in PERCENTILES:
        t.add_column(p, justify="right")
    t.add_column("exact")
    ratios = result["ratios"]
    for name, c in result["contenders"].items():
        speed = "-"
        if name == "ceiling":
            speed = "-"
        elif f"fastfeed_vs_{name}" in ratios:
            speed = f"{ratios[f'fastfeed_vs_{name}']:.1f}×"
        elif name == "fastfeed":
            speed = "1.0×"
        lat = c.get("latency_ns") or {}
        exact = "n/a" if c["exact"] is None else ("[green]yes[/]" if c["exact"] else "[red]NO[/]")
        if c["error"]:
            exact = "[red]failed[/]"
        row = [c["label"], _fmt_rate(c["messages_per_s"]),
               "-" if c["mb_per_s"] is None else f"{c['mb_per_s']:.1f}",
               "-" if c["cpu_us_per_msg"] is None else f"{c['cpu_us_per_msg']:.2f}"]
        if mode == "socket":
            r = c.get("ratio_to_ceiling")
            row.append("-" if r is None else f"{r * 100:.0f}%")
        row.append(speed)
        row += [format_ns(lat[p]) if p in lat else "-" for p in PERCENTILES]
        row.append(exact)
        t.add_row(*row)
    console.print(t)
    w = result.get("workload", {})
    if w:
        console.print(f"workload: {w.get('messages')} messages, "
                      f"{w.get('avg_message_bytes', 0):.0f} bytes/msg average, "
                      f"{w.get('level_changes_per_message', 0):.1f} level changes/msg")
    for name, c in result["contenders"].items():
        if c["error"]:
            console.print(f"[red]{name} failed:[/] {c['error']}")
        elif c["exact"] is False:
            console.print(f"[red]{name}: book differs from the simulator's truth:[/] "
                          f"{c['mismatch']}")
    for n in result["notes"]:
        console.print(f"note: {n}")


def write_plot(path: str, runs: dict[str, list[RunResult]], title: str) -> None:
    """Latency by percentile (HdrHistogram style: x = 1/(1-p), log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ps = [0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999]
    for name, rs in runs.items():
        hist = LatencyHistogram()
        for r in rs:
            if r.error is None and r.hist is not None:
                hist.add(r.hist)
        if not hist.total_count:
            continue
        vals = hist.percentiles(ps)
        xs = [1.0 / (1.0 - p / 100.0) for p in ps]
        ax.plot(xs, [vals[p] / 1e3 for p in ps], marker="o", label=LABELS[name])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1.0 / (1.0 - p / 100.0) for p in ps])
    ax.set_xticklabels([f"{p:g}%" for p in ps], rotation=45)
    ax.set_ylabel("receive → applied (µs)")
    ax.set_xlabel("percentile")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------- driver


def build_parser() -> argparse.ArgumentParser:
    """The ``fastfeed bench`` argument parser."""
    p = argparse.ArgumentParser(
        prog="fastfeed bench",
        description="Throughput and latency of fastfeed's hot path next to the raw picows "
                    "ceiling and the usual Python alternatives, against the local simulator "
                    "(no network). Exit status 3 if any book differs from the truth.")
    p.add_argument("--venue", choices=VENUES, default="binance", help="venue (default binance)")
    p.add_argument("--symbols", type=int, default=2, help="symbols (default 2)")
    p.add_argument("--messages", type=int, default=10_000,
                   help="messages per run, split over the symbols (default 10000)")
    p.add_argument("--levels-per-message", type=float, default=30.0,
                   help="mean distinct level changes per message (default 30)")
    p.add_argument("--book-depth", type=int, default=1000, help="levels per side (default 1000)")
    p.add_argument("--repeat", type=int, default=3, help="runs; rates are medians (default 3)")
    p.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    p.add_argument("--no-socket", action="store_true",
                   help="in-process decode+apply: BookFeed.apply_message vs json/orjson + dict")
    p.add_argument("--contenders", default=None,
                   help="comma-separated subset (default: all available)")
    p.add_argument("--json", action="store_true", help="print every field as JSON on stdout")
    p.add_argument("--hlog", metavar="PATH", help="write latency intervals (.hlog) here")
    p.add_argument("--plot", metavar="PATH.png", help="latency-by-percentile plot (matplotlib)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds per contender run before giving up (default 60, plus "
                        "0.2 ms per message)")
    p.add_argument("--corrupt", metavar="CONTENDER", default=None,
                   help="test aid: corrupt this contender's book after the burst, to show "
                        "the exactness check failing (exit 3)")
    return p


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> BenchConfig:
    cfg = BenchConfig(venue=args.venue, symbols=args.symbols, messages=args.messages,
                      levels_per_message=args.levels_per_message, book_depth=args.book_depth,
                      repeat=args.repeat, seed=args.seed, no_socket=args.no_socket,
                      corrupt=args.corrupt, timeout=args.timeout)
    if cfg.symbols < 1 or cfg.messages < 2 or cfg.repeat < 1 or cfg.book_depth < 2:
        parser.error("--symbols, --repeat must be >= 1; --messages, --book-depth >= 2")
    if not 1 <= cfg.levels_per_message <= 200:
        parser.error("--levels-per-message must be in 1..200")
    if cfg.venue == "binance-usdm" and cfg.book_depth > 1000:
        parser.error("binance-usdm REST snapshots hold at most 1000 levels: --book-depth <= 1000")
    if cfg.venue == "binance" and cfg.book_depth > 5000:
        parser.error("binance REST snapshots hold at most 5000 levels: --book-depth <= 5000")
    names = INPROC_CONTENDERS if cfg.no_socket else CONTENDERS
    wanted = names if args.contenders is None else tuple(
        x.strip() for x in args.contenders.split(",") if x.strip())
    for n in wanted:
        if n not in names:
            parser.error(f"unknown contender {n!r}; choose from {', '.join(names)}")
    if cfg.corrupt is not None and cfg.corrupt not in wanted:
        parser.error(f"--corrupt {cfg.corrupt!r}: not a contender of this run")
    if cfg.corrupt == "ceiling":
        parser.error("--corrupt: the ceiling keeps no book")
    available = []
    for n in wanted:
        need = {"picows-orjson": "orjson", "orjson-dict": "orjson",
                "websockets-json": "websockets"}.get(n)
        if need and not _have(need):
            cfg.notes.append(f"{n} skipped: {need} is not installed "
                             f"(pip install 'fastfeed[bench]')")
            continue
        available.append(n)
    cfg.contenders = tuple(available)
    return cfg


def run_bench(cfg: BenchConfig, progress: Any = None) -> tuple[dict[str, Any],
                                                                dict[str, list[RunResult]]]:
    """Run the benchmark described by ``cfg``; returns (result dict, raw runs)."""
    t_start = time.monotonic()
    symbols = symbol_names(cfg.venue, cfg.symbols)
    runs: dict[str, list[RunResult]] = {n: [] for n in cfg.contenders}
    order = list(cfg.contenders)

    def step(desc: str) -> None:
        if progress is not None:
            progress(desc)

    if cfg.no_socket:
        step("generating messages")
        workloads = [make_workload(cfg.venue, s, messages=cfg.per_symbol,
                                   levels_per_message=cfg.levels_per_message,
                                   depth=cfg.book_depth, seed=cfg.seed, index=i)
                     for i, s in enumerate(symbols)]
        n_msgs = sum(len(w.messages) for w in workloads)
        inproc_extra: dict[str, Any] = {"workload": {
            "messages": n_msgs, "bytes": sum(w.bytes for w in workloads),
            "avg_message_bytes": round(sum(w.bytes for w in workloads) / n_msgs, 1),
            "level_changes_per_message": round(sum(w.level_changes for w in workloads)
                                               / n_msgs, 2)}}
        for r in range(cfg.repeat):
            k = r % len(order)
            for name in order[k:] + order[:k]:
                step(f"run {r + 1}/{cfg.repeat}: {name}")
                runs[name].append(_inproc_runs(cfg, workloads, name))
        result = _summarize(cfg, "no-socket", runs, inproc_extra)
        result["elapsed_s"] = round(time.monotonic() - t_start, 2)
        return result, runs

    sim = sim_process(cfg, symbols)
    try:
        step("starting the simulator (generating the burst)")
        ready = sim.start(timeout=120 + cfg.messages * 1e-3)
        bench = SocketBench(cfg, ready, symbols)

        async def go() -> None:
            await bench.prepare()
            for r in range(cfg.repeat):
                k = r % len(order)
                for name in order[k:] + order[:k]:
                    step(f"run {r + 1}/{cfg.repeat}: {name}")
                    runs[name].append(await bench.run(name))

        _loop_runner()(go())
    finally:
        sim.stop()
    total = next((r for n in ("fastfeed", "ceiling") for r in runs.get(n, []) if r.messages),
                 None)
    extra: dict[str, Any] = {"simulator": {"cmd": " ".join(sim.cmd[1:])}}
    if total is not None:
        lc = next((r.level_changes for r in runs.get("fastfeed", []) if r.level_changes), 0)
        extra["workload"] = {
            "messages": total.messages, "bytes": total.bytes,
            "avg_message_bytes": round(total.bytes / max(1, total.messages), 1),
            "level_changes_per_message": round(lc / max(1, total.messages), 2)}
    result = _summarize(cfg, "socket", runs, extra)
    result["elapsed_s"] = round(time.monotonic() - t_start, 2)
    return result, runs


def main(argv: list[str] | None = None) -> int:
    """``fastfeed bench ARGS...``; returns the exit status (see the module docstring)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    cfg = _config(args, parser)
    err = Console(stderr=True)
    if args.plot and not _have("matplotlib"):
        err.print("[yellow]--plot: matplotlib is not installed "
                  "(pip install 'fastfeed[bench]'); no plot will be written[/]")
        cfg.notes.append("plot skipped: matplotlib is not installed")
        args.plot = None
    if not cfg.contenders:
        err.print("[red]no contender to run[/]")
        return EXIT_FAILED
    total_steps = 1 + cfg.repeat * len(cfg.contenders)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, transient=True,
                  disable=not err.is_terminal) as prog:
        task = prog.add_task("fastfeed bench", total=total_steps)
        started = [False]

        def progress(desc: str) -> None:
            if started[0]:
                prog.advance(task)
            started[0] = True
            prog.update(task, description=desc)

        try:
            result, runs = run_bench(cfg, progress)
        except (RuntimeError, OSError) as exc:
            err.print(f"[red]fastfeed bench failed:[/] {exc}")
            return EXIT_FAILED
        prog.update(task, completed=total_steps)
    if args.hlog:
        t0 = min((r.wall_start for rs in runs.values() for r in rs), default=None)
        with HlogWriter(args.hlog, start_time=t0,
                        comment=f"fastfeed bench {' '.join(argv)}") as w:
            for name, rs in runs.items():
                for r in rs:
                    if r.hist is not None and r.hist.total_count:
                        w.write_interval(r.hist, start=r.wall_start, end=max(r.wall_end, r.wall_start),
                                         tag=name)
        result["hlog"] = args.hlog
    if args.plot:
        write_plot(args.plot, {n: rs for n, rs in runs.items() if n != "ceiling"},
                   f"fastfeed bench: {cfg.venue}, receive → applied")
        result["plot"] = args.plot
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        out = Console()
        if not out.is_terminal:
            out = Console(width=200)     # a pipe or file: keep the table on one line per row
        print_report(result, out)
    if not result["exact"]:
        return EXIT_MISMATCH
    if not result["ok"]:
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
