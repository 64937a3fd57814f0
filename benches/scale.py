"""Many books at low rates: ``python -m benches.scale [--books N --rate R --seconds S] [--json]``.

Issue #10, item 3 ("cheap at low rates"). One simulator child process
(``python -m fastfeed.sim``, Binance spot, ``--books`` symbols at ``--rate`` messages/s
each, ``--levels`` level changes a message, ``--depth`` levels a side) serves one client
child process per contender, all doing the same subscriptions:

``fastfeed``
    one ``fastfeed.Engine()`` with default settings: ``subscribe_many(..., wait=False)``
    for every symbol, then ``wait_live``. One connection per 1,024 streams (a short URL
    naming the first streams, paced ``SUBSCRIBE`` batches for the rest), REST snapshots
    through its snapshot queue within the weight budget (docs/states.md, "Syncing at
    scale").
``websockets``
    the usual Python way: ``websockets`` (asyncio client) + ``json.loads`` + a dict book
    per symbol (:class:`fastfeed.bench.baselines.DictBook`: ``float`` keys and sizes, the
    venue's id rule from the reference sequencer). The same subscriptions (one
    connection per ``max_streams_per_connection`` streams, the same short URL and
    ``SUBSCRIBE`` batches from the venue description, paced under its control-message
    limit) and the venue's recipe through ``aiohttp``: buffer the stream (the newest
    :data:`BASELINE_BUFFER` events a book), fetch the snapshot, drop what it covers,
    replay, fetch again if it is older than the buffer, resync on a gap; the engine's
    default weight budget, snapshot depth and requests in flight.
``fastfeed-batched`` (opt-in)
    ``fastfeed`` with ``Engine(read_interval=--batch-ms)``: each socket is read at most
    once per interval instead of whenever a frame arrives (fewer wake-ups, up to that
    much added latency).

Every client runs on uvloop. The contenders sync one after the other (each from the top
of a minute when their REST weight together could exceed the venue's per-minute limit,
which the simulator counts like Binance), then all measure **one common window**: the
same messages at the same time from the same simulator, so a noisy machine moves them
together. Per contender: books live, time to all-live (first subscribe to the last book
live), RSS per book (RSS once all are live minus RSS just before subscribing, both after
``gc.collect`` and ``malloc_trim``, divided by books), and over ``--seconds`` (after
``--warmup``): messages/s delivered, CPU % of one core used by the client process
(``getrusage``: user + system, every thread; the simulator's own process is not
counted), µs CPU per message, and where that CPU goes: loop wake-ups (voluntary context
switches: each is one ``epoll_wait`` that blocked), read syscalls (``/proc/self/io``),
messages and CPU per wake-up, user vs kernel time (the kernel's split is sampled at
ticks: coarse in short windows). The run also measures what one bare event-loop wake-up
costs on the machine (``machine.wakeup_cpu_us``), the floor under any client's CPU per
wake-up. After the window a sample of books is checked level by level against the
simulator's ground truth (``GET /debug/truth`` at the book's update id).

``--burst N`` measures throughput instead: the simulator pre-renders N messages per book
and writes them as fast as the socket takes them, ``--burst-delay`` seconds after each
subscription (after all books are live); each contender's window runs from its first
burst message to its last.

``--profile cprofile,perf,strace`` adds, after the measured window, one more window per
tool (``--profile-seconds``): cProfile (the Python functions that ran, outside the
compiled hot path), ``perf record`` (CPU samples by shared object and symbol; the child
runs under ``perf record -D -1 --control`` and enables sampling only for its window; in
burst mode for the burst itself) and ``strace -c -f`` (syscall counts; it slows
syscalls, so its window's CPU is used for nothing else). A missing tool is reported.

Output: a text table and notes (default) or one JSON object (``--json``). The target
(issue #10): at 1,000 books x 10 msg/s, fastfeed's CPU per message <= 1/5 of the
websockets baseline's in the same run (``ratio.met``). Timings are never asserted by tests
(``tests/test_bench_scale.py`` only checks the fields); results are in README.md,
"Performance".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import inspect
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastfeed.bench.baselines import DictBook
from fastfeed.bench.config import loop_runner, machine_info
from fastfeed.reference.sync import ReferenceSequencer
from fastfeed.venues import get_venue

VENUE = "binance"
CONTENDERS = ("fastfeed", "websockets", "fastfeed-batched")
#: what runs unless --contenders says otherwise
DEFAULT_CONTENDERS = ("fastfeed", "websockets")
LABELS = {
    "fastfeed": "fastfeed Engine (picows + compiled core)",
    "websockets": "websockets + json + dict book",
    "fastfeed-batched": "fastfeed, Engine(read_interval=--batch-ms)",
}
PROFILERS = ("cprofile", "perf", "strace")
#: the issue's target: fastfeed's CPU per message at most this share of the baseline's
TARGET_RATIO = 0.2
ROOT = Path(__file__).resolve().parent.parent

#: Fields every contender result has (tests/test_bench_scale.py checks them).
RESULT_FIELDS = ("label", "books", "books_live", "time_to_all_live_s", "snapshot_depths",
                 "rss_before_mib", "rss_live_mib", "rss_per_book_kib", "window", "rest",
                 "gaps", "resyncs", "exact", "error", "profile")
WINDOW_FIELDS = ("wall_s", "messages", "messages_per_s", "cpu_s", "user_s", "sys_s",
                 "cpu_pct", "cpu_us_per_msg", "wakeups", "wakeups_per_s",
                 "messages_per_wakeup", "cpu_us_per_wakeup", "involuntary_switches",
                 "read_syscalls", "reads_per_s", "messages_per_read")


def symbol_names(n: int) -> list[str]:
    """The benchmark's symbols (the simulator and both clients derive the same list)."""
    return [f"S{i:04d}USDT" for i in range(n)]


def engine_default(name: str) -> Any:
    """A default of ``fastfeed.Engine(...)`` (the baseline copies the engine's budget)."""
    from fastfeed import Engine

    return inspect.signature(Engine.__init__).parameters[name].default


# ---------------------------------------------------------------------------- measuring

def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_settled() -> int:
    """RSS once garbage is collected and freed heap memory handed back to the system
    (``malloc_trim``, glibc): the memory the books hold, not what syncing left free."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_bytes()


def read_syscalls() -> int:
    """read()/readv() calls so far (``/proc/self/io`` ``syscr``; -1 if unreadable)."""
    try:
        with open("/proc/self/io", encoding="ascii") as f:
            for line in f:
                if line.startswith("syscr:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Sample:
    """CPU, context switches and read syscalls of this process at one instant."""

    __slots__ = ("invol", "reads", "sys", "user", "vol", "wall")

    def __init__(self) -> None:
        self.wall = time.monotonic()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.user = ru.ru_utime
        self.sys = ru.ru_stime
        self.vol = ru.ru_nvcsw
        self.invol = ru.ru_nivcsw
        self.reads = read_syscalls()


def window_stats(a: Sample, b: Sample, messages: int) -> dict[str, Any]:
    """The figures of the window between samples ``a`` and ``b`` with ``messages``."""
    wall = b.wall - a.wall
    user = b.user - a.user
    sys_ = b.sys - a.sys
    cpu = user + sys_
    wake = b.vol - a.vol
    reads = b.reads - a.reads if a.reads >= 0 else -1
    per = messages or 1
    return {
        "wall_s": round(wall, 3), "messages": messages,
        "messages_per_s": round(messages / wall, 1) if wall else 0.0,
        "cpu_s": round(cpu, 4), "user_s": round(user, 4), "sys_s": round(sys_, 4),
        "cpu_pct": round(100 * cpu / wall, 2) if wall else 0.0,
        "cpu_us_per_msg": round(cpu / per * 1e6, 3),
        "wakeups": wake, "wakeups_per_s": round(wake / wall, 1) if wall else 0.0,
        "messages_per_wakeup": round(messages / wake, 2) if wake else None,
        "cpu_us_per_wakeup": round(cpu / wake * 1e6, 2) if wake else None,
        "involuntary_switches": b.invol - a.invol,
        "read_syscalls": reads,
        "reads_per_s": round(reads / wall, 1) if wall and reads >= 0 else None,
        "messages_per_read": round(messages / reads, 2) if reads > 0 else None,
    }


def wakeup_cost(seconds: float = 2.0, period: float = 0.005) -> float:
    """µs of CPU one bare event-loop wake-up costs on this machine: an otherwise idle
    uvloop loop woken by a timer every ``period`` (nothing else runs). The floor under
    any client's CPU per wake-up: the scheduler and the (virtual) CPU going idle and
    back, not Python."""
    async def chain() -> float:
        loop = asyncio.get_running_loop()
        n = 0

        def tick() -> None:
            nonlocal n
            n += 1
            loop.call_later(period, tick)
        loop.call_later(period, tick)
        await asyncio.sleep(0.2)
        c0, n0 = time.process_time(), n
        await asyncio.sleep(seconds)
        return (time.process_time() - c0) / max(1, n - n0) * 1e6
    return round(float(loop_runner()(chain())), 1)


def emit(obj: dict[str, Any]) -> None:
    """One JSON line to the orchestrator (the child's stdout carries nothing else)."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------- profiling

async def cprofile_window(seconds: float) -> list[dict[str, Any]]:
    """The Python functions that ran during ``seconds`` (top 15 by own time)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    await asyncio.sleep(seconds)
    prof.disable()
    st = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(file).name}:{line}:{func}", "calls": nc,
                     "calls_per_s": round(nc / seconds, 1), "own_ms": round(tt * 1e3, 2),
                     "cum_ms": round(ct * 1e3, 2)})
    rows.sort(key=lambda r: -r["own_ms"])
    return rows[:15]


class PerfControl:
    """The ``perf record --control fifo:CTL,ACK`` pipes: sampling on for one window."""

    def __init__(self, ctl: str, ack: str) -> None:
        self.ctl = open(ctl, "w", encoding="ascii")
        self.ack = open(ack, encoding="ascii")

    def command(self, cmd: str) -> None:
        self.ctl.write(cmd + "\n")
        self.ctl.flush()
        self.ack.readline()

    async def window(self, seconds: float) -> None:
        self.command("enable")
        await asyncio.sleep(seconds)
        self.command("disable")


async def strace_window(seconds: float) -> dict[str, Any]:
    """``strace -c -f -p <this process>`` for ``seconds``: syscalls by name."""
    exe = shutil.which("strace")
    if exe is None:
        return {"error": "strace is not installed"}
    out = tempfile.NamedTemporaryFile(prefix="scale-strace-", suffix=".txt", delete=False)
    out.close()
    proc = await asyncio.create_subprocess_exec(
        exe, "-c", "-f", "-p", str(os.getpid()), "-o", out.name,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    try:
        # "strace: Process N attached" (per thread with -f) on stderr once tracing
        line = await asyncio.wait_for(proc.stderr.readline(), 10)
        if b"attached" not in line:
            await proc.wait()
            return {"error": f"strace: {line.decode(errors='replace').strip()}"}
        await asyncio.sleep(0.2)    # the other threads' attach lines
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        wall = time.monotonic() - t0
        proc.send_signal(signal.SIGINT)
        await proc.stderr.read()
        await proc.wait()
        return {"wall_s": round(wall, 3), "syscalls": parse_strace(Path(out.name).read_text())}
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        os.unlink(out.name)


def parse_strace(text: str) -> dict[str, int]:
    """``strace -c`` summary → calls by syscall name (busiest first)."""
    calls: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            try:
                calls[parts[-1]] = int(parts[3])
            except ValueError:
                continue
    return dict(sorted(calls.items(), key=lambda kv: -kv[1]))


def perf_report(data: str) -> dict[str, Any]:
    """Shares of the CPU samples by shared object, by group and by symbol (top 20)."""
    def report(sort: str) -> list[tuple[float, str]]:
        proc = subprocess.run(["perf", "report", "-i", data, "--stdio", "-q", "--sort", sort,
                               "--percent-limit", "0.3"], capture_output=True, text=True,
                              timeout=120)
        rows = []
        for line in proc.stdout.splitlines():
            line = line.strip()
            if not line or not line[0].isdigit() or "%" not in line:
                continue
            pct, _, rest = line.partition("%")
            with contextlib.suppress(ValueError):
                rows.append((float(pct), " ".join(rest.split())))
        return rows
    by_dso = report("dso")
    groups: dict[str, float] = collections.defaultdict(float)
    for pct, dso in by_dso:
        groups[perf_group(dso)] += pct
    return {
        "by_dso": {dso: round(p, 2) for p, dso in by_dso},
        "by_group": {g: round(p, 2) for g, p in sorted(groups.items(), key=lambda kv: -kv[1])},
        "top_symbols": [{"pct": round(p, 2), "symbol": s} for p, s in report("dso,sym")[:20]],
    }


def perf_group(dso: str) -> str:
    """A coarse owner for a shared object in a perf report."""
    d = dso.lower()
    if "kernel" in d or d.startswith("[vdso"):
        return "kernel (syscalls, TCP receive, scheduler)"
    if "fastfeed" in d or d.startswith(("_listener", "_router", "_parse", "_core", "_book",
                                        "_hist", "_sync", "_shm")):
        return "fastfeed compiled hot path"
    if "picows" in d:
        return "picows (WebSocket framing)"
    if "uvloop" in d or "libuv" in d or d.startswith("loop."):
        return "uvloop/libuv (event loop)"
    if "libpython" in d or d == "python" or d.startswith("python3"):
        return "Python interpreter (asyncio, timers, cold path, baseline code)"
    if "_json" in d:
        return "json C accelerator"
    if "libc" in d or "ld-linux" in d or "libm" in d:
        return "libc"
    return "other"


# ---------------------------------------------------------------------------- children

async def extra_windows(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """The optional profiling windows, after the measured one."""
    prof: dict[str, Any] = result["profile"]
    seconds = args.profile_seconds
    wanted = profilers(args.profile)
    if args.burst:      # after the burst nothing runs: only perf, during it (measure())
        for name in wanted:
            if name != "perf":
                prof[name] = {"error": "not in burst mode (only perf, during the burst)"}
        return
    if "cprofile" in wanted:
        prof["cprofile"] = await cprofile_window(seconds)
    if "perf" in wanted:
        if args.perf_ctl:
            await PerfControl(args.perf_ctl, args.perf_ack).window(seconds)
            prof["perf"] = {"window_s": seconds}     # the orchestrator adds the report
        else:
            prof["perf"] = {"error": "perf is not installed or cannot record"}
    if "strace" in wanted:
        prof["strace"] = await strace_window(seconds)


async def wait_go(args: argparse.Namespace, res: dict[str, Any]) -> None:
    """Every book is live: tell the orchestrator, wait for its ``go`` (it starts every
    contender's window at once), then settle for ``--warmup`` seconds."""
    emit({"event": "live", "time_to_all_live_s": res["time_to_all_live_s"]})
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "go":
        raise RuntimeError(f"expected 'go' from the orchestrator, got {line!r}")
    await asyncio.sleep(args.warmup)


async def measure(args: argparse.Namespace, res: dict[str, Any], count: Any) -> None:
    """The measured window into ``res["window"]``; ``count()`` = data messages so far.

    Rate mode: ``--seconds`` of wall time. Burst mode: from the first burst message
    (noticed within 2 ms) until all ``--burst`` x books have arrived (noticed within
    50 ms).
    """
    if not args.burst:
        m0 = count()
        a = Sample()
        await asyncio.sleep(args.seconds)
        b = Sample()
        res["window"] = window_stats(a, b, count() - m0)
        return
    expected = args.burst * args.books
    base = count()
    deadline = time.monotonic() + args.live_timeout + args.seconds
    while count() == base and base < expected:
        if time.monotonic() > deadline:
            raise TimeoutError("the burst did not start")
        await asyncio.sleep(0.002)
    # perf samples the burst itself (the windows after it would see an idle process)
    perf = PerfControl(args.perf_ctl, args.perf_ack) if "perf" in profilers(args.profile) \
        and args.perf_ctl else None
    if perf is not None:
        perf.command("enable")
    a = Sample()
    m0 = count()
    res["window_started_at"] = m0       # burst messages that came before the window
    while count() < expected:
        if time.monotonic() > deadline:
            res["error"] = f"burst: {count()} of {expected} messages arrived"
            break
        # seldom: every poll is a wake-up charged to the contender (wall time is then
        # late by up to one period, ~1 % of a burst)
        await asyncio.sleep(0.05)
    b = Sample()
    if perf is not None:
        perf.command("disable")
        res["profile"]["perf"] = {"window_s": round(b.wall - a.wall, 3), "window": "the burst"}
    res["window"] = window_stats(a, b, count() - m0)


def new_result(name: str, books: int) -> dict[str, Any]:
    """A contender result with every field present."""
    return {"label": LABELS[name], "books": books, "books_live": 0, "time_to_all_live_s": None,
            "snapshot_depths": {}, "rss_before_mib": None, "rss_live_mib": None,
            "rss_per_book_kib": None, "window": None, "rest": {}, "gaps": 0, "resyncs": 0,
            "exact": None, "error": None, "profile": {}}


async def fetch_truth(session: Any, debug: str, symbol: str, last_id: int) -> dict[str, Any]:
    """The simulator's book for ``symbol`` as of ``last_id``."""
    async with session.get(f"{debug}/debug/truth",
                           params={"venue": VENUE, "symbol": symbol,
                                   "last_id": str(last_id)}) as resp:
        return dict(await resp.json())


def sample_of(items: list[Any], k: int) -> list[Any]:
    """Up to ``k`` items spread evenly over ``items``."""
    if k <= 0 or not items:
        return []
    step = max(1, len(items) // k)
    return items[::step][:k]


async def run_fastfeed(args: argparse.Namespace) -> dict[str, Any]:
    """The fastfeed contender (in its own process); ``fastfeed-batched`` reads each
    socket at most once per ``--batch-ms`` (``Engine(read_interval=)``)."""
    import aiohttp

    from fastfeed import Engine

    symbols = symbol_names(args.books)
    res = new_result(args.child, len(symbols))
    # Default settings (a market silent until the burst keeps its connection: the engine
    # pings an idle Binance connection instead of reopening it)
    options: dict[str, Any] = {}
    if args.child == "fastfeed-batched":
        options["read_interval"] = args.batch_ms / 1e3
    res["engine_options"] = options
    async with Engine(**options) as engine:
        rss0 = rss_settled()
        t0 = time.monotonic()
        books = await engine.subscribe_many([(VENUE, s) for s in symbols], wait=False,
                                            ws_url=args.ws_url, rest_url=args.rest_url)
        try:
            await engine.wait_live(books, timeout=args.live_timeout)
        except Exception as exc:    # report how far it got
            res["error"] = f"{type(exc).__name__}: {exc}"
        res["books_live"] = sum(b.is_live for b in books)
        res["rest"] = next(iter(engine.stats()["rest"].values()), {})
        if res["error"]:
            return res
        res["time_to_all_live_s"] = round(time.monotonic() - t0, 2)
        rss1 = rss_settled()
        res.update(rss_before_mib=round(rss0 / 2**20, 1), rss_live_mib=round(rss1 / 2**20, 1),
                   rss_per_book_kib=round((rss1 - rss0) / len(books) / 1024, 1))
        res["snapshot_depths"] = dict(collections.Counter(str(b.snapshot_limit) for b in books))
        res["connections"] = len(engine.connections)
        if args.child == "fastfeed-batched":
            res["batch_ms"] = args.batch_ms
        await wait_go(args, res)

        def data_frames() -> int:
            return sum(c.listener.frames - c.listener.counters()["control_messages"]
                       for c in engine.connections if c.listener is not None)

        await measure(args, res, data_frames)
        if args.child == "fastfeed-batched":
            res["read_pauses"] = sum(c.listener.read_pauses for c in engine.connections
                                     if c.listener is not None)
        await extra_windows(args, res)
        # exactness: a sample of books, each captured at its own update id
        captured = [(bk.symbol, bk.last_update_id, bk.price_tick, bk.size_step,
                     [(int(p), int(q)) for p, q in bk.book.bids_int()],
                     [(int(p), int(q)) for p, q in bk.book.asks_int()])
                    for bk in sample_of(books, args.sample_books)]
        async with aiohttp.ClientSession() as session:
            bad = []
            for sym, last_id, pt, ss, bids, asks in captured:
                t = await fetch_truth(session, args.debug_url, sym, last_id)
                if "error" in t or bids != [(p * pt, q * ss) for p, q in t["bids_int"]] \
                        or asks != [(p * pt, q * ss) for p, q in t["asks_int"]]:
                    bad.append(sym)
        res["exact"] = {"checked": len(captured), "exact": len(captured) - len(bad),
                        "mismatched": bad[:10]}
        counters = [bk.counters() for bk in books]
        res["gaps"] = sum(c["gaps"] for c in counters)
        res["resyncs"] = sum(c["resyncs"] for c in counters)
        res["books_live"] = sum(b.is_live for b in books)
        stats = engine.stats()
        res["rest"] = next(iter(stats["rest"].values()), {})
        res["connection_errors"] = {k: v for c in stats["connections"]
                                    for k, v in c["errors"].items()}
        res["server_closes"] = sum(c["server_closes"] for c in stats["connections"])
    return res


#: events the baseline keeps per syncing book (the newest; a snapshot older than the
#: oldest kept is fetched again): a bound, as any long-running script needs one
BASELINE_BUFFER = 1000


class SyncedDictBook(DictBook):
    """The baseline's book: a :class:`DictBook` that buffers events while it syncs and
    resyncs after a gap (the Binance rule, docs/venues.md#binance-spot-sync-rule, judged
    by the reference sequencer)."""

    __slots__ = ("buffer", "queued", "symbol", "too_old")

    def __init__(self, symbol: str, rule: str) -> None:
        super().__init__(rule)
        self.symbol = symbol
        self.buffer: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=BASELINE_BUFFER)
        self.queued = False
        self.too_old = 0

    def load_synced(self, snap: dict[str, Any]) -> bool:
        """Load a decoded REST snapshot and replay the buffer; False when the snapshot
        is older than the buffered stream (fetch again)."""
        last = snap["lastUpdateId"]
        buf = [ev for ev in self.buffer if ev["u"] > last]
        if not self.seq.load_snapshot(last, buf[0]["U"] if buf else None):
            self.too_old += 1
            return False
        self.load_rest(snap)
        self.buffer.clear()
        for ev in buf:
            self.binance_event(ev)
        return True

    def restart(self) -> None:
        """Forget the book's stream position: buffer again from the next event."""
        self.state = "syncing"
        self.seq = ReferenceSequencer(self.rule)
        self.buffer.clear()
        self.queued = False


class Budget:
    """A token bucket of REST weight per minute (what a careful script writes)."""

    def __init__(self, per_minute: float) -> None:
        self.capacity = per_minute
        self.rate = per_minute / 60
        self.tokens = per_minute
        self.t = time.monotonic()

    async def take(self, weight: float) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.t) * self.rate)
            self.t = now
            if self.tokens >= weight:
                self.tokens -= weight
                return
            await asyncio.sleep((weight - self.tokens) / self.rate)


async def run_websockets(args: argparse.Namespace) -> dict[str, Any]:
    """The websockets + json + dict book contender (in its own process)."""
    import aiohttp
    from websockets.asyncio.client import connect

    from fastfeed.snapshots import choose_depth

    venue = get_venue(VENUE)
    symbols = symbol_names(args.books)
    res = new_result("websockets", len(symbols))
    loads = json.loads
    books = {s: SyncedDictBook(s, venue.sequencing) for s in symbols}
    per_minute = venue.weight_per_minute * engine_default("rest_weight_share")
    depth = choose_depth(venue.snapshot_depths, venue.snapshot_weight, len(symbols),
                         per_minute, per_minute / 60, engine_default("snapshot_horizon"))
    weight = venue.snapshot_weight(depth)
    budget = Budget(per_minute)
    queue: asyncio.Queue[SyncedDictBook] = asyncio.Queue()
    rest = {"requests": 0, "throttled": 0, "failures": 0, "too_old": 0, "limit": depth}
    live = 0
    all_live = asyncio.Event()
    counts = {"messages": 0, "controls": 0, "unknown": 0, "closes": 0}
    tasks: list[asyncio.Task[None]] = []

    def went_live() -> None:
        nonlocal live
        live += 1
        if live == len(books):
            all_live.set()

    def gapped(book: SyncedDictBook) -> None:
        nonlocal live
        live -= 1
        book.restart()

    async def snapshot_worker(session: aiohttp.ClientSession) -> None:
        url = args.rest_url.rstrip("/") + venue.depth_path
        while True:
            book = await queue.get()
            while True:
                await budget.take(weight)
                rest["requests"] += 1
                try:
                    async with session.get(url, params={"symbol": book.symbol,
                                                        "limit": str(depth)}) as resp:
                        body = await resp.read()
                        if resp.status in (429, 418):
                            rest["throttled"] += 1
                            await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                            continue
                        if resp.status != 200:
                            rest["failures"] += 1
                            await asyncio.sleep(1.0)
                            continue
                except aiohttp.ClientError:
                    rest["failures"] += 1
                    await asyncio.sleep(1.0)
                    continue
                if book.state == "live":
                    break
                if book.load_synced(loads(body)):
                    book.queued = False
                    if book.state == "live":
                        went_live()
                    else:       # the replay found a gap
                        book.restart()
                    break
                rest["too_old"] += 1

    def want_snapshot(book: SyncedDictBook) -> None:
        if not book.queued:
            book.queued = True
            queue.put_nowait(book)

    async def subscribe_rest(ws: Any, syms: list[str]) -> None:
        # the streams the short URL did not name, paced under the control-message limit;
        # then (the venue's recipe) buffer the stream and ask for the snapshot
        step = venue.max_streams_per_message
        for i, m in enumerate(venue.subscribe_messages(syms)):
            await ws.send(m.decode())
            for s in syms[i * step:(i + 1) * step]:
                want_snapshot(books[s])
            await asyncio.sleep(1.0 / venue.max_control_per_second)

    async def connection(syms: list[str]) -> None:
        in_url = syms[:venue.max_url_streams] if venue.max_url_streams else syms
        url = venue.connection_url(args.ws_url, in_url)
        by_symbol = books
        while True:
            try:
                async with connect(url, compression=None) as ws:
                    for b in (by_symbol[s] for s in syms):
                        if b.state == "live":
                            gapped(b)
                        else:
                            b.restart()
                    for s in in_url:
                        want_snapshot(by_symbol[s])
                    sub = asyncio.create_task(subscribe_rest(ws, syms[len(in_url):]))
                    try:
                        async for raw in ws:
                            msg = loads(raw)
                            data = msg.get("data")
                            if data is None:
                                counts["controls"] += 1
                                continue
                            counts["messages"] += 1
                            book = by_symbol.get(data["s"])
                            if book is None:
                                counts["unknown"] += 1
                            elif book.state == "live":
                                book.binance_event(data)
                                if book.state == "gap":
                                    gapped(book)
                            else:
                                book.buffer.append(data)
                                if not book.queued:     # after a gap
                                    want_snapshot(book)
                    finally:
                        sub.cancel()
            except Exception as exc:    # reconnect, like a careful script
                res["last_connection_error"] = f"{type(exc).__name__}: {exc}"
            counts["closes"] += 1
            await asyncio.sleep(0.5)

    async with aiohttp.ClientSession() as session:
        rss0 = rss_settled()
        t0 = time.monotonic()
        tasks += [asyncio.create_task(snapshot_worker(session))
                  for _ in range(engine_default("snapshot_concurrency"))]
        per_conn = venue.max_streams_per_connection
        tasks += [asyncio.create_task(connection(symbols[i:i + per_conn]))
                  for i in range(0, len(symbols), per_conn)]
        try:
            try:
                await asyncio.wait_for(all_live.wait(), args.live_timeout)
            except asyncio.TimeoutError:
                res["error"] = f"{len(books) - live} of {len(books)} books not live after " \
                               f"{args.live_timeout:.0f}s"
                res["books_live"] = live
                res["rest"] = dict(rest)
                return res
            res["time_to_all_live_s"] = round(time.monotonic() - t0, 2)
            rss1 = rss_settled()
            res.update(rss_before_mib=round(rss0 / 2**20, 1),
                       rss_live_mib=round(rss1 / 2**20, 1),
                       rss_per_book_kib=round((rss1 - rss0) / len(books) / 1024, 1))
            res["snapshot_depths"] = {str(depth): len(books)}
            res["connections"] = (len(symbols) + per_conn - 1) // per_conn
            await wait_go(args, res)
            await measure(args, res, lambda: counts["messages"])
            await extra_windows(args, res)
            captured = [(bk.symbol, bk.last_id, sorted(bk.bids.items(), reverse=True),
                         sorted(bk.asks.items())) for bk in sample_of(list(books.values()),
                                                                       args.sample_books)
                        if bk.state == "live"]
            bad = []
            for sym, last_id, bids, asks in captured:
                t = await fetch_truth(session, args.debug_url, sym, last_id)
                if "error" in t or bids != [(float(p), float(q)) for p, q in t["bids"]] \
                        or asks != [(float(p), float(q)) for p, q in t["asks"]]:
                    bad.append(sym)
            res["exact"] = {"checked": len(captured), "exact": len(captured) - len(bad),
                            "mismatched": bad[:10]}
            res["books_live"] = live
            res["gaps"] = sum(bk.gaps for bk in books.values())
            res["resyncs"] = res["gaps"] + rest["too_old"]
            res["rest"] = dict(rest)
            res["server_closes"] = counts["closes"]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return res


def child_main(args: argparse.Namespace) -> int:
    """Run one contender and print its result as the last JSON line."""
    fn = {"fastfeed": run_fastfeed, "fastfeed-batched": run_fastfeed,
          "websockets": run_websockets}[args.child]
    try:
        res = loop_runner()(fn(args))
    except Exception as exc:    # the orchestrator reports it
        res = new_result(args.child, args.books)
        res["error"] = f"{type(exc).__name__}: {exc}"
    emit({"event": "result", "result": res})
    return 0


# ---------------------------------------------------------------------------- orchestrator

def profilers(text: str) -> list[str]:
    """``--profile`` list → names (validated)."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    for p in names:
        if p not in PROFILERS:
            raise ValueError(f"unknown profiler {p!r} (choose from {', '.join(PROFILERS)})")
    return names


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (from ``/proc``; nan if gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def git_commit() -> str | None:
    """The worktree's commit (short), if this is a git checkout."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def perf_usable() -> bool:
    """``perf`` is installed (recording is tried; failures are reported)."""
    return shutil.which("perf") is not None


class Child:
    """One contender's process (under ``perf record`` with ``--profile perf``)."""

    def __init__(self, name: str, args: argparse.Namespace, sim: Any) -> None:
        self.name = name
        self.args = args
        self.result: dict[str, Any] | None = None
        self.live = False
        cmd = [sys.executable, "-m", "benches.scale", "--child", name,
               "--ws-url", sim.ws_url(VENUE), "--rest-url", sim.rest_url(VENUE),
               "--debug-url", f"http://127.0.0.1:{sim.ready['rest_port']}",
               "--books", str(args.books), "--seconds", str(args.seconds),
               "--warmup", str(args.warmup), "--live-timeout", str(args.live_timeout),
               "--sample-books", str(args.sample_books), "--profile", args.profile,
               "--profile-seconds", str(args.profile_seconds), "--burst", str(args.burst),
               "--batch-ms", str(args.batch_ms), "--burst-delay", str(args.burst_delay)]
        self.tmp = tempfile.mkdtemp(prefix="scale-")
        self.perf_data: str | None = None
        if "perf" in profilers(args.profile) and perf_usable():
            ctl, ack = os.path.join(self.tmp, "ctl"), os.path.join(self.tmp, "ack")
            os.mkfifo(ctl)
            os.mkfifo(ack)
            self.perf_data = os.path.join(self.tmp, "perf.data")
            cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-D", "-1",
                   "--control", f"fifo:{ctl},{ack}", "-o", self.perf_data, "--", *cmd,
                   "--perf-ctl", ctl, "--perf-ack", ack]
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"),
                                                            os.environ.get("PYTHONPATH")])))
        self.err = tempfile.TemporaryFile()
        # unbuffered: select() then readline() must not leave a line in a buffer
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err,
                                     stdin=subprocess.PIPE, cwd=ROOT, env=env, bufsize=0)

    def wait_for(self, event: str, timeout: float) -> None:
        """Read the child's lines until ``event`` (or its result, or its end)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while self.result is None and not (event == "live" and self.live):
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no {event!r} from the child within {timeout:.0f}s")
                return
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                self.fail(f"child exited ({self.proc.returncode})")
                return
            ev = json.loads(line)
            if ev["event"] == "live":
                self.live = True
            elif ev["event"] == "result":
                self.result = ev["result"]

    def go(self) -> None:
        """Start the measured window."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.flush()

    def fail(self, why: str) -> None:
        """Record a failure (with the child's stderr tail) and stop the child."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        self.err.seek(0)
        tail = self.err.read()[-1500:].decode(errors="replace").strip()
        self.result = new_result(self.name, self.args.books)
        self.result["error"] = f"{why}: {tail}" if tail else why

    def finish(self) -> dict[str, Any]:
        """Wait for the result, add the perf report; the contender's result."""
        a = self.args
        self.wait_for("result", 120 + 4 * a.profile_seconds + a.seconds
                      + (a.burst_delay + a.live_timeout if a.burst else 0))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=60)
        assert self.result is not None
        if "perf" in profilers(self.args.profile):
            prof = self.result.setdefault("profile", {})
            if self.perf_data and os.path.exists(self.perf_data):
                try:
                    prof.setdefault("perf", {}).update(perf_report(self.perf_data))
                except (OSError, subprocess.SubprocessError) as exc:
                    prof["perf"] = {"error": f"perf report: {exc}"}
            elif not perf_usable():
                prof["perf"] = {"error": "perf is not installed"}
        self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.result


def sync_weight(books: int) -> int:
    """REST weight one contender spends bringing ``books`` live (snapshots at the depth
    the engine's default budget picks, plus one ``exchangeInfo`` per ``info_batch``)."""
    from fastfeed.snapshots import choose_depth

    venue = get_venue(VENUE)
    per_minute = venue.weight_per_minute * engine_default("rest_weight_share")
    depth = choose_depth(venue.snapshot_depths, venue.snapshot_weight, books, per_minute,
                         per_minute / 60, engine_default("snapshot_horizon"))
    lookups = -(-books // venue.info_batch) * venue.info_weight
    return books * venue.snapshot_weight(depth) + lookups


def next_minute(books: int) -> bool:
    """When two contenders' syncing could exceed the venue's weight per minute, sleep to
    the start of the next wall-clock minute (the simulator counts REST weight per minute
    like Binance), so a contender never inherits the previous one's usage. True if it
    slept."""
    if 2 * sync_weight(books) <= get_venue(VENUE).weight_per_minute:
        return False
    time.sleep(60 - time.time() % 60 + 0.2)
    return True


def run(args: argparse.Namespace, progress: Any = None) -> dict[str, Any]:
    """The whole benchmark; returns the result dict (``--json``).

    Contenders sync one after the other (each from the top of a minute), then measure
    one common window: the same messages, at the same time, from the same simulator.
    """
    from fastfeed.sim.process import SimProcess

    progress = progress or (lambda _msg: None)
    t_start = time.monotonic()
    progress("measuring the cost of a bare loop wake-up on this machine")
    args.wakeup_cpu_us = wakeup_cost()
    symbols = symbol_names(args.books)
    history = max(100, int(args.rate * 10))     # truth history per symbol: ~10 s
    sim_args = ["--binance", ",".join(symbols), "--rate", str(args.rate),
                "--levels", str(args.levels), "--depth", str(args.depth),
                "--history", str(history), "--seed", str(args.seed)]
    if args.burst:
        sim_args += ["--burst", str(args.burst), "--burst-delay", str(args.burst_delay)]
    sim = SimProcess(sim_args)
    children: list[Child] = []
    simfig: dict[str, Any] = {}
    progress(f"starting the simulator ({args.books} symbols)")
    sim.start(timeout=120 + args.books * (0.05 + args.burst * 2e-4))
    try:
        if args.burst:
            # each contender's burst comes --burst-delay after its own subscriptions
            results = {}
            for i, name in enumerate(args.contenders):
                if i and next_minute(args.books):
                    progress("waited for the next minute (the simulator's REST weight "
                             "window)")
                progress(f"{name}: subscribing {args.books} books")
                child = Child(name, args, sim)
                children.append(child)
                child.wait_for("live", args.live_timeout + 60)
                progress(f"{name}: " + ("all live; waiting for the burst" if child.live
                                        else "failed"))
                child.go()
                results[name] = child.finish()
            stats = sim.debug("/debug/stats")
            simfig["stats"] = {k: v for k, v in stats.items() if k != "markets"}
            return summarize(args, results, simfig, time.monotonic() - t_start)
        for i, name in enumerate(args.contenders):
            if i and next_minute(args.books):
                progress("waited for the next minute (the simulator's REST weight window)")
            progress(f"{name}: subscribing {args.books} books")
            child = Child(name, args, sim)
            children.append(child)
            child.wait_for("live", args.live_timeout + 60)
            progress(f"{name}: " + ("all live" if child.live else "failed"))
        running = [c for c in children if c.live and c.result is None]
        progress(f"window: {args.warmup:g} s warm-up, then {args.seconds:g} s")
        for c in running:
            c.go()
        assert sim.proc is not None
        time.sleep(args.warmup)
        s0 = (time.monotonic(), proc_cpu_s(sim.proc.pid), sim.debug("/debug/stats"))
        time.sleep(args.seconds)
        s1 = (time.monotonic(), proc_cpu_s(sim.proc.pid), sim.debug("/debug/stats"))
        wall = s1[0] - s0[0]
        simfig = {"cpu_pct": round(100 * (s1[1] - s0[1]) / wall, 1),
                  "messages_sent_per_s": round((s1[2]["messages_sent"]
                                                - s0[2]["messages_sent"]) / wall, 1),
                  "connections": s1[2]["connections_open"]}
        if args.profile:
            progress(f"profiling windows: {args.profile}")
        results = {c.name: c.finish() for c in children}
        stats = sim.debug("/debug/stats")
        simfig["stats"] = {k: v for k, v in stats.items() if k != "markets"}
    finally:
        for c in children:
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait()
        sim.stop()
    return summarize(args, results, simfig, time.monotonic() - t_start)


def summarize(args: argparse.Namespace, contenders: dict[str, dict[str, Any]],
              simfig: dict[str, Any], elapsed: float) -> dict[str, Any]:
    """The result dict: config, machine, every contender, ratios and notes."""
    ratio: dict[str, Any] = {"target": TARGET_RATIO, "cpu_us_per_msg": None, "met": None,
                             "cpu_pct": None, "rss_per_book": None}
    ff, ws = contenders.get("fastfeed"), contenders.get("websockets")
    if ff and ws and ff.get("window") and ws.get("window"):
        a, b = ff["window"], ws["window"]
        if b["cpu_us_per_msg"]:
            ratio["cpu_us_per_msg"] = round(a["cpu_us_per_msg"] / b["cpu_us_per_msg"], 3)
            ratio["met"] = ratio["cpu_us_per_msg"] <= TARGET_RATIO
        if b["cpu_pct"]:
            ratio["cpu_pct"] = round(a["cpu_pct"] / b["cpu_pct"], 3)
        if ws["rss_per_book_kib"]:
            ratio["rss_per_book"] = round(ff["rss_per_book_kib"] / ws["rss_per_book_kib"], 2)
    fb = contenders.get("fastfeed-batched")
    if fb and ws and fb.get("window") and ws.get("window") and ws["window"]["cpu_us_per_msg"]:
        ratio["batched_cpu_us_per_msg"] = round(
            fb["window"]["cpu_us_per_msg"] / ws["window"]["cpu_us_per_msg"], 3)
    return {
        "bench": "scale",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": git_commit(),
        "machine": {**machine_info(), "wakeup_cpu_us": getattr(args, "wakeup_cpu_us", None),
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "config": {"venue": VENUE, "books": args.books,
                   "rate": None if args.burst else args.rate,
                   "requested_messages_per_s": None if args.burst else args.books * args.rate,
                   "burst": args.burst or None,
                   "burst_delay": args.burst_delay if args.burst else None,
                   "seconds": args.seconds, "warmup": args.warmup, "levels": args.levels,
                   "depth": args.depth, "profile": args.profile,
                   "profile_seconds": args.profile_seconds,
                   "contenders": list(args.contenders)},
        "contenders": contenders,
        "ratio": ratio,
        "simulator": simfig,
        "notes": notes(contenders, ratio, simfig, getattr(args, "wakeup_cpu_us", None)),
        "ok": all(c["error"] is None for c in contenders.values()),
        "elapsed_s": round(elapsed, 1),
    }


def notes(contenders: dict[str, dict[str, Any]], ratio: dict[str, Any],
          simfig: dict[str, Any], floor: float | None) -> list[str]:
    """Plain-language reading of the figures (where the CPU goes)."""
    out = []
    if simfig.get("cpu_pct") is not None:
        out.append(f"simulator: {simfig['messages_sent_per_s']:.0f} messages/s sent over "
                   f"{simfig['connections']} connection(s) in the window, at "
                   f"{simfig['cpu_pct']:.0f}% of a core (its own process, not counted).")
    for name, c in contenders.items():
        w = c.get("window")
        if c["error"]:
            out.append(f"{name}: {c['error']}")
        if not w:
            continue
        kernel = 100 * w["sys_s"] / w["cpu_s"] if w["cpu_s"] else 0.0
        line = (f"{name}: {w['cpu_us_per_msg']:.2f} µs CPU/msg, {kernel:.0f}% of it in the "
                f"kernel; {w['wakeups_per_s']:.0f} loop wake-ups/s")
        if w["messages_per_wakeup"]:
            line += (f" ({w['messages_per_wakeup']:.1f} msgs and "
                     f"{w['cpu_us_per_wakeup']:.0f} µs CPU per wake-up)")
        if w["messages_per_read"]:
            line += f", {w['messages_per_read']:.1f} msgs per read()"
        out.append(line + ".")
        perf = (c.get("profile") or {}).get("perf") or {}
        if perf.get("by_group"):
            shares = ", ".join(f"{g} {p:.0f}%" for g, p in list(perf["by_group"].items())[:5])
            out.append(f"{name} perf samples: {shares}.")
        st = (c.get("profile") or {}).get("strace") or {}
        if st.get("syscalls") and st.get("wall_s"):
            top = ", ".join(f"{k} {v / st['wall_s']:.0f}/s"
                            for k, v in list(st["syscalls"].items())[:5])
            out.append(f"{name} syscalls (strace window, slowed): {top}.")
    if ratio["cpu_us_per_msg"] is not None:
        out.append(f"fastfeed CPU per message = {ratio['cpu_us_per_msg']:.3f} x websockets' "
                   f"(target <= {TARGET_RATIO}: {'met' if ratio['met'] else 'NOT met'}).")
    if ratio.get("batched_cpu_us_per_msg") is not None:
        out.append(f"fastfeed-batched (read_interval) = {ratio['batched_cpu_us_per_msg']:.3f} "
                   f"x websockets'.")
    out.append("A wake-up costs the same whatever it carries (the scheduler switching the "
               "process in and out, epoll_wait, the read, one uvloop iteration); at low "
               "rates few messages share one, so that fixed cost, not decoding, sets the "
               "CPU per message" + (f" (a bare loop wake-up costs {floor:.0f} µs of CPU on "
                                    "this machine)." if floor else "."))
    return out


def fmt_table(res: dict[str, Any]) -> str:
    """The human-readable report."""
    cfg = res["config"]
    shape = (f"burst of {cfg['burst']} msgs per book" if cfg["burst"] else
             f"{cfg['rate']:g} msg/s ({cfg['requested_messages_per_s']:g} msg/s asked), "
             f"{cfg['seconds']:g} s window")
    lines = [f"benches.scale — {cfg['books']} books x {shape}, {res['date']}, "
             f"commit {res['commit']}",
             f"{'contender':<42} {'live':>9} {'msg/s':>9} {'CPU %':>7} {'µs/msg':>8} "
             f"{'KiB/book':>9} {'all-live s':>10} {'wake/s':>8} {'exact':>7}"]
    for c in res["contenders"].values():
        w = c.get("window") or {}
        ex = c.get("exact") or {}
        lines.append(
            f"{c['label']:<42} {c['books_live']:>4}/{c['books']:<4} "
            f"{w.get('messages_per_s', 0):>9.0f} {w.get('cpu_pct', 0):>7.1f} "
            f"{w.get('cpu_us_per_msg', 0):>8.2f} {c['rss_per_book_kib'] or 0:>9.1f} "
            f"{c['time_to_all_live_s'] or 0:>10.1f} {w.get('wakeups_per_s', 0):>8.0f} "
            f"{ex.get('exact', 0):>3}/{ex.get('checked', 0):<3}")
    lines += ["", *(f"- {n}" for n in res["notes"])]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m benches.scale``."""
    ap = argparse.ArgumentParser(prog="python -m benches.scale",
                                 description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--books", type=int, default=1000, help="books (symbols), default 1000")
    ap.add_argument("--rate", type=float, default=10.0,
                    help="messages per second per book (default 10)")
    ap.add_argument("--seconds", type=float, default=30.0,
                    help="measured window once all books are live (default 30)")
    ap.add_argument("--warmup", type=float, default=3.0,
                    help="seconds between all-live and the window (default 3)")
    ap.add_argument("--levels", type=int, default=10, help="level changes per message (default 10)")
    ap.add_argument("--depth", type=int, default=100,
                    help="levels per side in the simulator (default 100: within the shallowest "
                         "snapshot, so every book is exact from its snapshot)")
    ap.add_argument("--seed", type=int, default=1, help="simulator seed")
    ap.add_argument("--burst", type=int, default=0,
                    help="burst mode: the simulator pre-renders N messages per book and "
                         "writes them as fast as the socket takes them, --burst-delay "
                         "seconds after each subscription; the window runs from the first "
                         "to the last (--rate and --seconds are then unused)")
    ap.add_argument("--burst-delay", type=float, default=None,
                    help="seconds from a subscription to its burst (default 30 + books/8: "
                         "after every book is live)")
    ap.add_argument("--contenders", default=",".join(DEFAULT_CONTENDERS),
                    help=f"comma separated, of {', '.join(CONTENDERS)} (default "
                         f"{','.join(DEFAULT_CONTENDERS)})")
    ap.add_argument("--batch-ms", type=float, default=5.0,
                    help="fastfeed-batched: Engine(read_interval=) in milliseconds (default 5)")
    ap.add_argument("--live-timeout", type=float, default=None,
                    help="seconds allowed to bring every book live (default 120 + books x 0.4)")
    ap.add_argument("--sample-books", type=int, default=20,
                    help="books checked against the simulator's truth after the window")
    ap.add_argument("--profile", default="",
                    help=f"extra windows after the measured one: comma separated, of "
                         f"{', '.join(PROFILERS)}")
    ap.add_argument("--profile-seconds", type=float, default=10.0,
                    help="length of each profiling window (default 10)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    # internal: one contender in this process
    ap.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    ap.add_argument("--ws-url", help=argparse.SUPPRESS)
    ap.add_argument("--rest-url", help=argparse.SUPPRESS)
    ap.add_argument("--debug-url", help=argparse.SUPPRESS)
    ap.add_argument("--perf-ctl", help=argparse.SUPPRESS)
    ap.add_argument("--perf-ack", help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.live_timeout is None:
        args.live_timeout = 120 + args.books * 0.4
    if args.burst_delay is None:
        args.burst_delay = 30 + args.books / 8
    try:
        profilers(args.profile)
    except ValueError as exc:
        ap.error(str(exc))
    if args.books < 1 or args.rate <= 0 or args.seconds <= 0:
        ap.error("--books, --rate and --seconds must be positive")
    if args.child:
        return child_main(args)
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(args.contenders) - set(CONTENDERS)
    if unknown or not args.contenders:
        ap.error(f"--contenders: choose from {', '.join(CONTENDERS)}")

    def progress(msg: str) -> None:
        print(f"[scale] {msg}", file=sys.stderr, flush=True)

    res = run(args, progress)
    print(json.dumps(res, indent=1) if args.json else fmt_table(res))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
