"""The ``fastfeed`` command line: demo, run, top, record, replay, export, consume, simulate,
bench."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from fastfeed import __version__

log = logging.getLogger("fastfeed.cli")


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or positive")
    return value


def parse_book_spec(text: str) -> tuple[str, str]:
    """``venue:SYMBOL`` → (venue, symbol), with a clear error for anything else."""
    from fastfeed.venues import VENUES

    venue, sep, symbol = text.partition(":")
    if not sep or not symbol:
        raise argparse.ArgumentTypeError(f"expected venue:SYMBOL, got {text!r}")
    if venue not in VENUES:
        raise argparse.ArgumentTypeError(f"unknown venue {venue!r}; expected one of "
                                         f"{', '.join(sorted(VENUES))}")
    return venue, symbol


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="fastfeed",
        description="Exact L2 order books from exchange WebSocket feeds at C speed.",
    )
    parser.add_argument("--version", action="version", version=f"fastfeed {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the engine against the built-in simulator",
                          description="Start the exchange simulator in a child process, keep "
                          "Binance spot, USD-M and Coinbase books from it, inject a gap and a "
                          "disconnect midway, and show the books live.")
    demo.add_argument("--duration", type=_positive_float, default=10.0,
                      help="seconds to run (default 10)")
    demo.add_argument("--rate", type=_positive_float, default=50.0,
                      help="simulated messages per second per symbol (default 50)")
    demo.add_argument("--seed", type=int, default=7, help="market model seed (default 7)")
    demo.add_argument("--plain", action="store_true",
                      help="plain periodic lines instead of the live table (default without a TTY)")

    run = sub.add_parser("run", help="keep live books from real venues (or --ws-url)",
                         description="Keep live L2 books and show them until Ctrl-C.")
    run.add_argument("books", nargs="+", type=parse_book_spec, metavar="VENUE:SYMBOL",
                     help="e.g. binance:BTCUSDT binance-usdm:ETHUSDT coinbase:BTC-USD")
    run.add_argument("--ws-url", help="WebSocket base URL override (all books)")
    run.add_argument("--rest-url", help="REST base URL override (all books)")
    run.add_argument("--tick-size", help="price increment, skips the instrument lookup")
    run.add_argument("--step-size", help="size increment, skips the instrument lookup")
    run.add_argument("--duration", type=_positive_float,
                     help="stop after this many seconds (default: until Ctrl-C)")
    run.add_argument("--timeout", type=_positive_float, default=30.0,
                     help="seconds to wait for books to go live before giving up (default 30)")
    run.add_argument("--plain", action="store_true", help="plain periodic lines")
    run.add_argument("--shm", metavar="NAME",
                     help="also publish the books into shared memory /dev/shm/NAME "
                     "(read them with `fastfeed top NAME` or fastfeed.shm.Reader)")
    run.add_argument("--shm-books", type=int, default=1024, metavar="N",
                     help="books the shared-memory segment holds (default 1024)")
    run.add_argument("--nats", metavar="URL",
                     help="also publish the books to NATS JetStream at URL (nats://host:port; "
                     "read them with `fastfeed consume URL VENUE:SYMBOL` or "
                     "fastfeed.fanout.BookConsumer; docs/fanout.md)")
    run.add_argument("--nats-prefix", default="ff", metavar="P",
                     help="subject prefix for --nats (default ff: ff.book.VENUE.SYMBOL)")
    run.add_argument("--workers", type=int, default=0, metavar="N",
                     help="run the books in N engine processes (a stable shard each, "
                     "restarted if they exit; one merged view; docs/fanout.md \"Workers\")")
    run.add_argument("--status-lines", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("--bbo", action="store_true",
                     help="also stream each symbol's best bid/offer (Binance bookTicker, "
                     "Coinbase ticker) and show it")
    run.add_argument("--trades", action="store_true",
                     help="also stream each symbol's trades (the venue's default trade "
                     "stream: Binance aggTrade, Coinbase market_trades / matches) and show "
                     "them with a tape")

    top = sub.add_parser("top", help="live view of a running engine's shared-memory books",
                         description="Read the books another process publishes with "
                         "`fastfeed run --shm NAME` / Engine(shm=NAME), without touching it: "
                         "best bid/ask, spread, state, update rate, age of the last update "
                         "and the publisher's health.")
    top.add_argument("name", metavar="NAME", help="segment name (/dev/shm/NAME)")
    top.add_argument("--once", action="store_true", help="print one snapshot and exit")
    top.add_argument("--json", action="store_true", help="JSON output (with --once: one "
                     "object; otherwise one object per line)")
    top.add_argument("--interval", type=_positive_float, default=0.5,
                     help="seconds between refreshes (default 0.5)")
    top.add_argument("--duration", type=_positive_float,
                     help="stop after this many seconds (default: until Ctrl-C)")
    top.add_argument("--plain", action="store_true", help="plain periodic lines")

    record = sub.add_parser("record", help="record raw feeds into a crash-safe file",
                            description="Keep live books (and optionally trades / BBO) and "
                            "record every message received, every REST body used and every "
                            "book operation into FILE (docs/recording.md); replay it with "
                            "`fastfeed replay FILE`.")
    record.add_argument("books", nargs="+", type=parse_book_spec, metavar="VENUE:SYMBOL")
    record.add_argument("--out", required=True, metavar="FILE", help="the recording to write")
    record.add_argument("--duration", type=_positive_float,
                        help="stop after this many seconds (default: until Ctrl-C)")
    record.add_argument("--ws-url", help="WebSocket base URL override (all books)")
    record.add_argument("--rest-url", help="REST base URL override (all books)")
    record.add_argument("--tick-size", help="price increment, skips the instrument lookup")
    record.add_argument("--step-size", help="size increment, skips the instrument lookup")
    record.add_argument("--timeout", type=_positive_float, default=30.0,
                        help="seconds to wait for books to go live (default 30)")
    record.add_argument("--trades", action="store_true", help="also record trade streams")
    record.add_argument("--bbo", action="store_true", help="also record BBO streams")

    replay = sub.add_parser("replay", help="replay a recording through the compiled path",
                            description="Push a recording's messages through the same "
                            "decode -> sequence -> apply path (no sockets) and report "
                            "throughput and the decode->apply latency histogram.")
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--json", action="store_true",
                        help="print every book at the end as one JSON line (exact decimal "
                        "strings, all levels); the report goes to stderr")
    replay.add_argument("--speed", type=_non_negative_float,
                        help="follow the recorded pace, this many times faster "
                        "(default: as fast as possible; with --serve: 1, and 0 means as "
                        "fast as the socket takes them)")
    replay.add_argument("--serve", action="store_true",
                        help="serve the file over real sockets instead (WebSocket messages "
                        "and REST bodies per venue) for a live engine pointed at the URLs "
                        "printed (docs/recording.md, \"Playback over sockets\")")
    replay.add_argument("--host", default="127.0.0.1", help="--serve: address to listen on")
    replay.add_argument("--port", type=int, default=0,
                        help="--serve: WebSocket port (default: any free one)")
    replay.add_argument("--rest-port", type=int, default=0,
                        help="--serve: REST port (default: any free one)")
    replay.add_argument("--exit-when-done", action="store_true",
                        help="--serve: exit once every venue was played to its end "
                        "and no request came for a second (default: keep serving until "
                        "Ctrl-C)")

    consume = sub.add_parser("consume", help="rebuild books published over NATS JetStream",
                             description="Rebuild exact books from a fastfeed fan-out over "
                             "NATS JetStream (docs/fanout.md, \"Consumer\") and show them; "
                             "--json prints each book once at the end.")
    consume.add_argument("url", metavar="NATS_URL", help="e.g. nats://127.0.0.1:4222")
    consume.add_argument("books", nargs="+", type=parse_book_spec, metavar="VENUE:SYMBOL")
    consume.add_argument("--duration", type=_positive_float,
                         help="stop after this many seconds (default: until Ctrl-C)")
    consume.add_argument("--json", action="store_true",
                         help="at the end, one line of Book JSON per book on stdout "
                         "(exact decimal strings, every level best first)")
    consume.add_argument("--prefix", default="ff", help="subject prefix (default ff)")
    consume.add_argument("--plain", action="store_true", help="plain periodic lines")
    export = sub.add_parser("export", help="export a recording as Parquet (books, trades)",
                            description="Replay a recording and write the top-N levels of "
                            "every book every T seconds of recorded time (OUT/books.parquet) "
                            "and every trade of every trade stream (OUT/trades.parquet): "
                            "int64 mantissas with their decimals, exact (docs/recording.md, "
                            "\"Export\"). Needs pyarrow: pip install 'fastfeed[parquet]'.")
    export.add_argument("file", metavar="FILE")
    export.add_argument("--parquet", required=True, metavar="OUT",
                        help="output directory (created; books.parquet, trades.parquet)")
    export.add_argument("--depth", type=_positive_int, default=10,
                        help="levels per side in each snapshot (default 10)")
    export.add_argument("--every", type=_positive_float, default=1.0,
                        help="seconds of recorded time between snapshots (default 1.0)")

    # Listed for --help; main() hands their arguments to their own parsers.
    sub.add_parser("simulate", help="run the local exchange simulator standalone "
                   "(see `fastfeed simulate --help`)", add_help=False)
    sub.add_parser("bench", help="measure throughput and latency side by side "
                   "(see `fastfeed bench --help`)", add_help=False)
    return parser


def run_async(main: Callable[[], Awaitable[int]]) -> int:
    """Run ``main`` on uvloop (if available) with a clean Ctrl-C: exit 130, no traceback."""
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        runner = asyncio.run

    async def guarded() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        stop = False

        def on_signal() -> None:
            nonlocal stop
            stop = True
            if task is not None:
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, on_signal)
        try:
            return await main()
        except asyncio.CancelledError:
            if stop:
                return 130
            raise

    return int(runner(guarded()))


async def _subscribe_all(engine: Any, args: argparse.Namespace) -> tuple[list[Any], ...]:
    """The books of ``args.books`` (and their trade / BBO streams with --trades/--bbo)."""
    books = await engine.subscribe_many(
        args.books, ws_url=args.ws_url, rest_url=args.rest_url,
        tick_size=args.tick_size, step_size=args.step_size, timeout=args.timeout)
    trades = [await engine.subscribe_trades(
        venue, symbol, ws_url=args.ws_url, rest_url=args.rest_url,
        tick_size=args.tick_size, step_size=args.step_size)
        for venue, symbol in (args.books if args.trades else [])]
    bbos = [await engine.subscribe_bbo(
        venue, symbol, ws_url=args.ws_url, rest_url=args.rest_url,
        tick_size=args.tick_size, step_size=args.step_size)
        for venue, symbol in (args.books if args.bbo else [])]
    return books, trades, bbos


def _worker_args(args: argparse.Namespace) -> list[str]:
    """The ``fastfeed run`` options a worker of ``--workers`` inherits."""
    out: list[str] = []
    for opt in ("ws_url", "rest_url", "tick_size", "step_size", "nats"):
        value = getattr(args, opt)
        if value is not None:
            out += [f"--{opt.replace('_', '-')}", str(value)]
    out += ["--timeout", str(args.timeout), "--nats-prefix", args.nats_prefix,
            "--shm-books", str(args.shm_books)]
    out += [f"--{flag}" for flag in ("trades", "bbo") if getattr(args, flag)]
    return out


async def _run_workers(args: argparse.Namespace) -> int:
    """``fastfeed run --workers N``: the supervisor (no engine of its own)."""
    from fastfeed.workers import Supervisor

    try:
        sup = Supervisor(args.books, args.workers, worker_args=_worker_args(args),
                         shm=args.shm)
    except ValueError as exc:
        print(f"fastfeed run: {exc}", file=sys.stderr)
        return 1
    loop = asyncio.get_running_loop()
    end = None if args.duration is None else loop.time() + args.duration
    try:
        await sup.start()
    except OSError as exc:              # the --shm directory's name is taken
        print(f"fastfeed run: {exc}", file=sys.stderr)
        return 1
    try:
        while end is None or loop.time() < end:
            await asyncio.sleep(1.0 if end is None else max(0.0, min(1.0, end - loop.time())))
            print(sup.render() + "\n", flush=True)
    finally:
        await sup.close()
    print(json.dumps(sup.summary()), flush=True)
    return 0


async def _status_lines(engine: Any, books: list[Any], end: float | None) -> None:
    """A worker's report: one JSON line a second on stdout; ends when stdin closes (the
    supervisor is gone) or at ``end``."""
    from fastfeed.workers import book_status

    loop = asyncio.get_running_loop()
    gone = loop.create_future()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def watch_stdin() -> None:
        await reader.read()             # EOF: the supervisor closed our stdin or died
        if not gone.done():
            gone.set_result(None)

    watcher = loop.create_task(watch_stdin())
    try:
        while not gone.done() and (end is None or loop.time() < end):
            print(json.dumps({"pid": os.getpid(), "books": [book_status(b) for b in books],
                              "nats": engine.stats()["nats"]}), flush=True)
            await asyncio.wait([gone], timeout=1.0)
    finally:
        watcher.cancel()


async def _run_books(args: argparse.Namespace) -> int:
    from fastfeed.engine import Engine, SubscribeError
    from fastfeed.view import BookView

    if args.workers:
        return await _run_workers(args)

    nats_options = {"prefix": args.nats_prefix} if args.nats else None
    try:
        engine = Engine(shm=args.shm, shm_books=args.shm_books, nats=args.nats,
                        nats_options=nats_options)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"fastfeed run: {exc}", file=sys.stderr)
        return 1
    async with engine:
        try:
            books, trades, bbos = await _subscribe_all(engine, args)
        except SubscribeError as exc:
            print(f"fastfeed: {exc}", file=sys.stderr)
            return 1
        loop = asyncio.get_running_loop()
        end = None if args.duration is None else loop.time() + args.duration
        if args.status_lines:
            await _status_lines(engine, books, end)
            return 0
        view = BookView(books, title="fastfeed run", force_plain=args.plain, trades=trades,
                        bbos=bbos)
        try:
            while end is None or loop.time() < end:
                await asyncio.sleep(0.5 if not view.plain else 1.0)
                view.refresh()
        finally:
            view.close()
    return 0


async def _record(args: argparse.Namespace) -> int:
    """``fastfeed record``: a live engine recording into ``--out``; one progress line a
    second on stderr."""
    from fastfeed.engine import Engine, SubscribeError

    try:
        engine = Engine(record=args.out)
    except OSError as exc:
        print(f"fastfeed record: {args.out}: {exc}", file=sys.stderr)
        return 1
    async with engine:
        try:
            await _subscribe_all(engine, args)
        except SubscribeError as exc:
            print(f"fastfeed record: {exc}", file=sys.stderr)
            return 1
        loop = asyncio.get_running_loop()
        end = None if args.duration is None else loop.time() + args.duration
        while end is None or loop.time() < end:
            await asyncio.sleep(1.0 if end is None else max(0.0, min(1.0, end - loop.time())))
            st = engine.stats()["recording"]
            live = sum(b.is_live for b in engine.books)
            print(f"recording {args.out}: {st['frames']:,} messages, "
                  f"{st['record_bytes'] / 1e6:,.1f} MB, {st['chunks_sealed']} chunks, "
                  f"{st['dropped_frames']:,} dropped; {live}/{len(engine.books)} books live",
                  file=sys.stderr, flush=True)
    st = engine.recorder.stats() if engine.recorder is not None else {}
    print(f"wrote {args.out}: {st.get('frames', 0):,} messages, "
          f"{st.get('writer', {}).get('bytes_written', 0) / 1e6:,.2f} MB on disk"
          + (f", {st['dropped_frames']:,} DROPPED" if st.get("dropped_frames") else ""),
          file=sys.stderr)
    return 0


async def _consume(args: argparse.Namespace) -> int:
    """``fastfeed consume``: the live view (not with --json), then with --json the books
    as Book JSON on stdout, one line each."""
    from fastfeed.fanout.consumer import BookConsumers
    from fastfeed.logsafe import describe_exc, redact_url
    from fastfeed.replay import book_json
    from fastfeed.view import BookView

    consumers = BookConsumers(args.url, dict.fromkeys(args.books), prefix=args.prefix)
    try:
        await consumers.start()
    except Exception as exc:            # unreachable, refused, not NATS: say so and stop
        print(f"fastfeed consume: {redact_url(args.url)}: {describe_exc(exc)}",
              file=sys.stderr)
        await consumers.close()
        return 1
    view = None if args.json else BookView(list(consumers), title="fastfeed consume",
                                           force_plain=args.plain)
    loop = asyncio.get_running_loop()
    end = None if args.duration is None else loop.time() + args.duration
    lines: list[str] = []
    try:
        while end is None or loop.time() < end:
            tick = 0.5 if view is None or not view.plain else 1.0
            await asyncio.sleep(tick if end is None else max(0.0, min(tick, end - loop.time())))
            if view is not None:
                view.refresh()
        lines = [json.dumps(book_json(c)) for c in consumers]   # before close: "closed"
    finally:
        if view is not None:
            view.close()
        await consumers.close()
    for line in lines if args.json else ():
        print(line)
    return 0


SERVE_QUIET_SECONDS = 1.0
"""``replay --serve --exit-when-done``: after the file was played, exit once no request or
connection came for this long."""


async def _serve(args: argparse.Namespace) -> int:
    """``fastfeed replay FILE --serve``: one line per venue with its ws/rest base URLs,
    then serve until played (``--exit-when-done``) or Ctrl-C."""
    from fastfeed.recording import RecordingError
    from fastfeed.sim.playback import PlaybackServer

    speed = 1.0 if args.speed is None else args.speed
    try:
        server = PlaybackServer(args.file, speed=speed, host=args.host, ws_port=args.port,
                                rest_port=args.rest_port)
    except (OSError, RecordingError, ValueError) as exc:
        print(f"fastfeed replay: {exc}", file=sys.stderr)
        return 1
    async with server:
        for venue, u in server.urls().items():
            print(f"{venue} ws {u['ws']} rest {u['rest']}", flush=True)
        pace = f"{speed:g}x the recorded pace" if speed else "as fast as the socket takes them"
        print(f"serving {args.file} ({pace}); each connection plays from the start",
              file=sys.stderr, flush=True)
        await server.finished.wait()
        st = server.stats()
        print(f"played: {st['frames_sent']} messages on {st['connections']} connections, "
              f"snapshots {st['snapshots_served']}, rest {st['rest_served']}, "
              f"not found {st['not_found']}", file=sys.stderr, flush=True)
        for problem in st["problems"]:
            print(f"problem: {problem}", file=sys.stderr)
        if not args.exit_when_done:
            await asyncio.Event().wait()        # until Ctrl-C
        while server.idle_seconds() < SERVE_QUIET_SECONDS:
            # a snapshot the engine asks for after the last message is still served
            await asyncio.sleep(SERVE_QUIET_SECONDS - server.idle_seconds())
    return 0


def _replay(args: argparse.Namespace) -> int:
    """``fastfeed replay``: the report on stderr; with --json the books on stdout."""
    from fastfeed.recording import RecordingError
    from fastfeed.replay import Replay

    if args.serve:
        return run_async(lambda: _serve(args))
    if args.speed == 0:
        print("fastfeed replay: --speed must be positive (0 is for --serve)", file=sys.stderr)
        return 2
    try:
        replay = Replay(args.file)
    except (OSError, RecordingError) as exc:
        print(f"fastfeed replay: {exc}", file=sys.stderr)
        return 1
    with replay.recording:
        replay.run(speed=args.speed)
    st = replay.stats()
    out = sys.stderr if args.json else sys.stdout
    rate = f"{st['msgs_per_s']:,} msg/s, {st['MB_per_s']} MB/s" if st["msgs_per_s"] else "-"
    print(f"replayed {args.file}: {st['frames']:,} messages in {st['seconds']:.3f}s "
          f"({rate}); {st['books']} books, {st['streams']} streams, "
          f"{st['connections']} connections", file=out)
    if st["apply_ns"]:
        a = st["apply_ns"]
        print(f"decode->apply ns: p50 {a['p50']}  p99 {a['p99']}  p99.9 {a['p99.9']}  "
              f"max {a['max']}  mean {a['mean']}", file=out)
    for problem in st["recording_problems"] + st["problems"]:
        print(f"problem: {problem}", file=out)
    for (venue, symbol), book in replay.books.items():
        print(f"  {venue}:{symbol} {book.state} update {book.last_update_id} "
              f"{len(book.book.bids_int())}x{len(book.book.asks_int())} levels", file=out)
    if args.json:
        for line in replay.book_lines():
            print(line)
    return 0 if not (st["recording_problems"] or st["problems"]) else 3


def _export(args: argparse.Namespace) -> int:
    """``fastfeed export``: 0 written, 3 written but the recording had problems (listed),
    1 nothing written (not a readable recording, no pyarrow)."""
    from fastfeed.export import ParquetUnavailable, export_parquet
    from fastfeed.recording import RecordingError

    try:
        st = export_parquet(args.file, args.parquet, depth=args.depth, every=args.every)
    except (OSError, RecordingError, ParquetUnavailable) as exc:
        print(f"fastfeed export: {exc}", file=sys.stderr)
        return 1
    books, trades = st["books"], st["trades"]
    print(f"exported {args.file} in {st['seconds']:.3f}s: {st['book_count']} books, "
          f"{st['snapshots']:,} snapshots every {st['every_ns'] / 1e9:g}s, depth {st['depth']}")
    print(f"  {books['path']}: {books['rows']:,} rows, {books['bytes']:,} bytes")
    print(f"  {trades['path']}: {trades['rows']:,} rows ({st['trade_streams']} trade "
          f"streams), {trades['bytes']:,} bytes")
    for problem in st["problems"]:
        print(f"problem: {problem}")
    return 3 if st["problems"] else 0


TOP_COLUMNS = ("book", "bid", "ask", "spread", "state", "upd/s", "age", "update id")


def _top_rows(summary: dict[str, Any], rates: dict[tuple[str, str], float]) -> list[list[str]]:
    rows = []
    for b in summary["books"]:
        age = b.get("age_s")
        rows.append([        # prices are summary()'s exact decimal text (docs/shm.md)
            f"{b['venue']}:{b['symbol']}",
            b.get("bid") or "-", b.get("ask") or "-", b.get("spread") or "-",
            b["state"],
            f"{rates.get((b['venue'], b['symbol']), 0.0):,.0f}",
            "-" if age is None else f"{age:.1f}s" if age >= 1 else f"{age * 1e3:.0f}ms",
            str(b.get("update_id", "-")),
        ])
    return rows


def _top_header(summary: dict[str, Any]) -> str:
    p = summary["publisher"]
    members = p.get("members")      # a segment directory (fastfeed run --workers N --shm)
    parts = "" if members is None else ", segments " + " ".join(
        f"{m['segment']}:{m['status']}" for m in members)
    return (f"{summary['segment']}: publisher pid {p['pid']} {p['status']} "
            f"(heartbeat {p['heartbeat_age_s']:.1f}s ago), {p['books']}/{p['capacity']} "
            f"books, depth {p['depth']}{parts}")


def _top(args: argparse.Namespace) -> int:
    import json
    import time

    from fastfeed.shm import Reader, summary
    from fastfeed.view import STATE_STYLE

    try:
        reader = Reader(args.name)
    except (OSError, ValueError) as exc:
        print(f"fastfeed top: {exc}", file=sys.stderr)
        return 1
    if args.once:
        snap = summary(reader)
        if args.json:
            print(json.dumps(snap))
        else:
            print(_top_header(snap))
            for row in _top_rows(snap, {}):
                print("  ".join(row))
        return 0
    live: Any = None
    if not (args.plain or args.json) and sys.stdout.isatty():
        from rich.live import Live

        live = Live(refresh_per_second=4)
        live.start()
    last: dict[tuple[str, str], tuple[float, int]] = {}
    rates: dict[tuple[str, str], float] = {}
    end = None if args.duration is None else time.monotonic() + args.duration
    try:
        while True:
            snap = summary(reader)
            now = time.monotonic()
            for b in snap["books"]:
                key = (b["venue"], b["symbol"])
                if key in last and now > last[key][0]:
                    rates[key] = (b.get("updates", 0) - last[key][1]) / (now - last[key][0])
                last[key] = (now, b.get("updates", 0))
            if args.json:
                print(json.dumps(snap), flush=True)
            elif live is not None:
                from rich.console import Group
                from rich.table import Table
                from rich.text import Text

                table = Table(expand=False)
                for col in TOP_COLUMNS:
                    table.add_column(col, justify="left" if col in ("book", "state")
                                     else "right", no_wrap=True)
                for row in _top_rows(snap, rates):
                    row[4] = f"[{STATE_STYLE.get(row[4], 'white')}]{row[4]}[/]"
                    table.add_row(*row)
                live.update(Group(Text(_top_header(snap)), table))
            else:
                print(_top_header(snap), flush=True)
                for row in _top_rows(snap, rates):
                    print("  " + "  ".join(row), flush=True)
            if snap["publisher"]["status"] == "replaced":
                reader.reopen()
                last.clear()
            if end is not None and now >= end:
                return 0
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 130
    finally:
        if live is not None:
            live.stop()
        reader.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fastfeed`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # simulate and bench own their whole command line (their --help included)
    if argv and argv[0] == "simulate":
        from fastfeed.sim.cli import run_standalone

        return run_standalone(argv[1:])
    if argv and argv[0] == "bench":
        from fastfeed.bench import main as bench_main

        return bench_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        from fastfeed.demo import run_demo

        return run_async(lambda: run_demo(args))
    if args.command == "run":
        return run_async(lambda: _run_books(args))
    if args.command == "top":
        return _top(args)
    if args.command == "record":
        return run_async(lambda: _record(args))
    if args.command == "replay":
        return _replay(args)
    if args.command == "export":
        return _export(args)
    if args.command == "consume":
        return run_async(lambda: _consume(args))
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
