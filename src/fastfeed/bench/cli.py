"""``fastfeed bench`` command line: argument parsing, the table, JSON, .hlog and plot output."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from fastfeed.bench.config import (
    CONTENDERS,
    EXIT_FAILED,
    EXIT_MISMATCH,
    INPROC_CONTENDERS,
    LABELS,
    PERCENTILES,
    VENUES,
    BenchConfig,
    RunResult,
    have,
)
from fastfeed.bench.runner import run_bench
from fastfeed.bench.workload import SNAPSHOT_MAX_LEVELS
from fastfeed.latency import HlogWriter, LatencyHistogram, format_ns


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


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> BenchConfig:
    cfg = BenchConfig(venue=args.venue, symbols=args.symbols, messages=args.messages,
                      levels_per_message=args.levels_per_message, book_depth=args.book_depth,
                      repeat=args.repeat, seed=args.seed, no_socket=args.no_socket,
                      corrupt=args.corrupt, timeout=args.timeout)
    if cfg.symbols < 1 or cfg.messages < 2 or cfg.repeat < 1 or cfg.book_depth < 2:
        parser.error("--symbols, --repeat must be >= 1; --messages, --book-depth >= 2")
    if not 1 <= cfg.levels_per_message <= 200:
        parser.error("--levels-per-message must be in 1..200")
    most = SNAPSHOT_MAX_LEVELS.get(cfg.venue)
    if most is not None and cfg.book_depth > most:
        parser.error(f"{cfg.venue} REST snapshots hold at most {most} levels: "
                     f"--book-depth <= {most}")
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
        if need and not have(need):
            cfg.notes.append(f"{n} skipped: {need} is not installed "
                             f"(pip install 'fastfeed[bench]')")
            continue
        available.append(n)
    cfg.contenders = tuple(available)
    return cfg


def main(argv: list[str] | None = None) -> int:
    """``fastfeed bench ARGS...``; returns the exit status (see the module docstring)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    cfg = config_from_args(args, parser)
    err = Console(stderr=True)
    if args.plot and not have("matplotlib"):
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
