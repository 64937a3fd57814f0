"""Socket mode: the simulator child and the over-the-socket contenders (``SocketBench``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastfeed.bench.baselines import DictBook, corrupt_dict, dict_levels, make_router
from fastfeed.bench.config import BenchConfig, RunResult
from fastfeed.bench.workload import (
    SNAPSHOT_MAX_LEVELS,
    VENUE_DEFAULTS,
    book_levels_decimal,
    compare_levels,
    corrupt_core,
    mid_price,
    model_levels_for,
)
from fastfeed.latency import LatencyHistogram
from fastfeed.sim.process import SimProcess
from fastfeed.venues import get_venue

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
    """Frames one connection carrying ``symbols`` receives during the burst.

    Venues with REST snapshots (Binance) name their streams in the URL: only the burst.
    In-band venues are subscribed: the acks (:func:`ack_frames`), then per book its
    in-band snapshot and the burst.
    """
    if get_venue(venue).uses_rest_snapshots:
        return per_symbol * len(symbols)
    return ack_frames(venue, symbols) + len(symbols) * (1 + per_symbol)


def ack_frames(venue: str, symbols: list[str]) -> int:
    """Leading frames per connection left out of the timed window: the subscription acks,
    which arrive at once, before the burst the simulator rendered beforehand (Coinbase one
    ``subscriptions``; Bybit one per request; OKX one per ``args`` entry; Kraken its
    ``status`` and one per symbol)."""
    v = get_venue(venue)
    if v.uses_rest_snapshots:
        return 0
    if v.decoder == "bybit":
        return len(v.subscribe_messages(symbols))
    if v.decoder == "okx":
        return len(symbols)
    if v.decoder == "kraken":
        return 1 + len(symbols)     # the ``status`` frame on open, one ack per symbol
    return 1


def ws_url(venue: str, ws_base: str, symbols: list[str]) -> str:
    """The URL a connection opens (Binance combined streams; Coinbase base URL)."""
    return get_venue(venue).connection_url(ws_base, symbols)


def subscribe_messages(venue: str, symbols: list[str]) -> list[bytes]:
    """Subscribe requests for the L2 channel only (no heartbeats: they would add frames).

    On Coinbase ``Venue.subscribe_messages`` also subscribes heartbeats (and on Binance it
    adds streams to a running connection), hence these, keyed by the venue's message
    dialect; Bybit and OKX subscribe the book alone, so theirs are the venue's own.
    """
    v = get_venue(venue)
    decoder = v.decoder
    if decoder == "coinbase-at":
        return [json.dumps({"type": "subscribe", "product_ids": symbols,
                            "channel": "level2"}).encode()]
    if decoder == "coinbase-exchange":
        return [json.dumps({"type": "subscribe", "product_ids": symbols,
                            "channels": ["level2_batch"]}).encode()]
    if v.uses_rest_snapshots:
        return []
    return v.subscribe_messages(symbols)


# ---------------------------------------------------------------------------- contenders


class _FeedOwner:
    """Cold-path owner of a ``FeedListener`` during a benchmark run.

    The listener is ``fastfeed._benchkit.TimedFeedListener``: the production
    ``FeedListener`` plus a frame-count hook that stamps the first and the last timed frame.
    """

    def __init__(self, venue: str, cores: list[Any], expected: int,
                 done: asyncio.Future[None]) -> None:
        from fastfeed._benchkit import TimedFeedListener

        self.subs = subscribe_messages(venue, [c.symbol for c in cores])
        self.expected = expected
        self.done = done
        self.first_ns = 0
        self.last_ns = 0
        self.problems: list[str] = []
        self.skip = ack_frames(venue, [c.symbol for c in cores])
        # first timed frame: note the time
        self.listener = TimedFeedListener(venue, self, cores, frame_target=self.skip + 1)

    def on_listener_connected(self, transport: Any) -> None:
        from picows import WSMsgType

        for m in self.subs:
            transport.send(WSMsgType.TEXT, m)

    def on_listener_disconnected(self, transport: Any) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError("disconnected before the burst ended"))

    def on_listener_protocol_error(self, reason: str) -> None:
        self.problems.append(f"protocol violation: {reason}")

    def on_listener_close_frame(self, code: Any, reason: str) -> None:
        self.problems.append(f"server closed: {code} {reason}")

    def on_router_reject(self, text: str, head: bytes) -> None:
        self.problems.append(f"rejected frame: {text}")

    def on_router_control(self, payload: bytes, is_error: bool) -> None:
        if is_error:
            self.problems.append(f"venue error: {payload[:200]!r}")

    def on_router_connection_gap(self, reason: str) -> None:
        self.problems.append(f"connection gap: {reason}")

    def on_listener_target(self) -> None:
        listener = self.listener
        if listener.frames == self.skip + 1:
            self.first_ns = listener.target_ns
            if self.expected > self.skip + 1:
                listener.frame_target = self.expected
                return
        self.last_ns = listener.target_ns
        if not self.done.done():
            self.done.set_result(None)


def _make_orjson_listener(venue: str, router: Any, expected: int, done: asyncio.Future[None],
                          hist: LatencyHistogram) -> Any:
    import orjson
    from picows import WSListener, WSMsgType

    subs = subscribe_messages(venue, list(router.books))
    skip = ack_frames(venue, list(router.books))
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
            self.read_ns = 0
            self.mid_read = False

        def on_ws_connected(self, transport: Any) -> None:
            for m in subs:
                transport.send(text, m)

        def on_ws_disconnected(self, transport: Any) -> None:
            if not done.done():
                done.set_exception(ConnectionError("disconnected before the burst ended"))

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            # stamped once per socket read, as fastfeed's listener does
            if not self.mid_read:
                self.read_ns = clock()
            self.mid_read = not frame.last_in_buffer
            t = self.read_ns
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
        self.venue = get_venue(cfg.venue)

    async def prepare(self) -> None:
        """Fetch the REST snapshots (Binance) and the final truth of every symbol."""
        import aiohttp

        async with aiohttp.ClientSession() as session:
            for s in self.symbols:
                if self.venue.uses_rest_snapshots:
                    path = getattr(self.venue, "depth_path", None)
                    limit = SNAPSHOT_MAX_LEVELS[self.cfg.venue]
                    self.snapshots[s] = await _fetch(
                        session, f"{self.rest_base}{path}?symbol={s}&limit={limit}")
                body = await _fetch(session, f"{self.rest_base}/debug/truth?venue="
                                             f"{self.cfg.venue}&symbol={s}")
                t = json.loads(body)
                cut = getattr(self.venue, "book_depth", None)   # Kraken: the book a client holds
                self.truth[s] = ([(Decimal(p), Decimal(q)) for p, q in t["bids"][:cut]],
                                 [(Decimal(p), Decimal(q)) for p, q in t["asks"][:cut]])

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

        from fastfeed._benchkit import CountingListener

        loop = asyncio.get_running_loop()
        for syms in self.plan:      # one connection at a time (see connection_plan)
            skip = ack_frames(self.cfg.venue, syms)
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
            # full precision: the table's percentiles come from these histograms
            core = BookCore(self.cfg.venue, s,
                            *instrument_scales(self.cfg.venue, self.tick, self.step),
                            strict=False, book_latency="full")
            if self.venue.uses_rest_snapshots:
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
            corrupt_core(all_cores[0])
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
            corrupt_dict(next(iter(books.values())))
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
        if self.venue.uses_rest_snapshots:
            for s in syms:
                books[s].load_rest(loads(self.snapshots[s]))
        return router, books

    async def _picows_orjson(self, res: RunResult) -> None:
        import orjson
        from picows import ws_connect

        loop = asyncio.get_running_loop()
        hist = LatencyHistogram()
        all_books: dict[str, DictBook] = {}
        for syms in self.plan:      # one connection at a time (see connection_plan)
            skip = ack_frames(self.cfg.venue, syms)
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
        for syms in self.plan:      # one connection at a time (see connection_plan)
            skip = ack_frames(self.cfg.venue, syms)
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
