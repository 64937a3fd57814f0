"""``fastfeed simulate`` / ``python -m fastfeed.sim``: run the simulator in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

from fastfeed.sim.config import BINANCE, VENUES, FaultSpec, SimConfig, SymbolConfig
from fastfeed.sim.faults import describe, fault_params
from fastfeed.sim.model import Scale
from fastfeed.sim.server import Simulator

#: One ``--VENUE SYMBOLS`` flag per venue the simulator speaks (``--bybit-linear``, ``--okx``, ...).
_VENUE_FLAGS = {venue: "--" + venue for venue in VENUES}


def build_arg_parser(prog: str = "fastfeed simulate") -> argparse.ArgumentParser:
    """The argument parser of ``fastfeed simulate`` (also used by ``python -m fastfeed.sim``)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Local exchange simulator speaking the Binance spot/USD-M, Coinbase "
                    "Advanced Trade/Exchange, Bybit spot/linear, Kraken v2 and OKX v5 "
                    "protocols, with fault injection and ground truth.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="symbols: SYMBOL[:TICK[:STEP[:MID]]], comma separated, e.g. "
               "--binance BTCUSDT:0.01:0.00001:97250,ETHUSDT\n"
               "faults: --fault VENUE:SYMBOL|*:NAME[:k=v,k=v] (repeatable), e.g. "
               "--fault binance:BTCUSDT:drop:count=1,every=10\n\nfault names:\n" + describe(),
    )
    for venue, flag in _VENUE_FLAGS.items():
        p.add_argument(flag, metavar="SYMBOLS", default=None,
                       help=f"{venue} symbols (default: built-in set when no venue flag is given)")
    p.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    p.add_argument("--rate", type=float, default=None, help="messages per second per symbol (default 10)")
    p.add_argument("--trade-rate", type=float, default=None,
                   help="taker orders per second per symbol (default 0: no trades; try rate/4)")
    p.add_argument("--levels", type=int, default=None, help="mean level changes per message (default 10)")
    p.add_argument("--depth", type=int, default=None, help="levels per side (default 200)")
    p.add_argument("--burst", type=int, default=0,
                   help="burst mode: pre-generate N messages per symbol, written as fast as possible on subscribe")
    p.add_argument("--burst-delay", type=float, default=0.0, help="seconds between subscribe and burst")
    p.add_argument("--burst-gate", action="store_true",
                   help="bursts wait (after --burst-delay) for POST /debug/burst, which starts "
                        "every waiting connection's burst at one instant")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--ws-port", type=int, default=0, help="WebSocket port (0 = any free port)")
    p.add_argument("--rest-port", type=int, default=0, help="REST port (0 = any free port)")
    p.add_argument("--ping-interval", type=float, default=20.0, help="server PING period, s (0 = off)")
    p.add_argument("--history", type=int, default=10_000, help="messages of truth history per symbol")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC", help="inject a fault at start")
    lim = p.add_argument_group(
        "venue limits", "On by default with the venues' values (docs/simulator.md). LIMIT is N for "
                        "every venue or VENUE=N[,VENUE=N]; 0 turns the limit off.")
    lim.add_argument("--no-limits", action="store_true",
                     help="turn every venue limit off (benchmarks, stress runs)")
    lim.add_argument("--weight-limit", metavar="LIMIT", help="REST request weight per minute")
    lim.add_argument("--max-streams", metavar="LIMIT", help="streams per connection")
    lim.add_argument("--incoming-limit", metavar="LIMIT",
                     help="incoming WebSocket messages per connection per second")
    lim.add_argument("--connection-limit", metavar="LIMIT", help="new connections per 5 minutes")
    lim.add_argument("--ban-seconds", type=float, default=None,
                     help="first HTTP 418 ban of a client ignoring a 429 (doubles each time; 0 = no bans)")
    p.add_argument("--json-ready", action="store_true",
                   help='print one JSON line {"ws_port":..,"rest_port":..,"urls":{..}} to stdout when ready '
                        "(human text then goes to stderr)")
    p.add_argument("--quiet", action="store_true", help="no human-readable banner")
    return p


def _parse_symbols(text: str, args: argparse.Namespace) -> list[SymbolConfig]:
    out = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        parts = item.split(":")
        kw: dict[str, Any] = {}
        if len(parts) > 1 and parts[1]:
            kw["tick_size"] = parts[1]
        if len(parts) > 2 and parts[2]:
            kw["step_size"] = parts[2]
        if len(parts) > 3 and parts[3]:
            kw["mid_price"] = parts[3]
        out.append(SymbolConfig(parts[0].upper(), **kw))
    return out


def _parse_fault(text: str) -> FaultSpec:
    parts = text.split(":", 3)
    if len(parts) < 3:
        raise ValueError(f"fault spec {text!r}: want VENUE:SYMBOL:NAME[:k=v,...]")
    params: dict[str, Any] = {}
    if len(parts) == 4 and parts[3]:
        for kv in parts[3].split(","):
            k, _, v = kv.partition("=")
            params[k.strip()] = v.strip()
    every = params.pop("every", None)
    checked = fault_params(parts[2], params)  # validates name and parameters early
    checked = {k: v for k, v in checked.items() if k in params}
    if every is not None:
        checked["every"] = float(every)
    return FaultSpec(parts[0], parts[1], parts[2], checked)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """A :class:`SimConfig` from parsed arguments."""
    cfg = SimConfig(seed=args.seed, host=args.host, ws_port=args.ws_port, rest_port=args.rest_port,
                    ping_interval=args.ping_interval, history=args.history,
                    burst_gate=args.burst_gate)
    given = {v: getattr(args, flag[2:].replace("-", "_")) for v, flag in _VENUE_FLAGS.items()}
    if any(x is not None for x in given.values()):
        cfg.venues = {v: _parse_symbols(t, args) for v, t in given.items() if t is not None}
    for symbols in cfg.venues.values():
        for s in symbols:
            if args.rate is not None:
                s.rate = args.rate
            if args.trade_rate is not None:
                s.trade_rate = args.trade_rate
            if args.levels is not None:
                s.levels_per_message = args.levels
            if args.depth is not None:
                s.depth = args.depth
            if args.burst:
                s.burst = args.burst
                s.burst_delay = args.burst_delay
    cfg.faults = [_parse_fault(f) for f in args.fault]
    if args.no_limits:
        cfg.disable_limits()
    for flag, limits in (("weight_limit", cfg.weight_limit), ("max_streams", cfg.max_streams),
                         ("incoming_limit", cfg.incoming_limit),
                         ("connection_limit", cfg.connection_limit)):
        text = getattr(args, flag)
        if text is not None:
            limits.update(_parse_limit(text, "--" + flag.replace("_", "-")))
    if args.ban_seconds is not None:
        cfg.ban_seconds = args.ban_seconds
    return cfg


def _parse_limit(text: str, flag: str) -> dict[str, int]:
    """``N`` (every venue) or ``VENUE=N[,VENUE=N]`` -> {venue: N}."""
    out: dict[str, int] = {}
    try:
        items = text.split(",") if "=" in text else [f"{v}={text}" for v in VENUES]
        for item in items:
            venue, _, value = item.partition("=")
            venue = venue.strip()
            if venue not in VENUES:
                raise ValueError(f"unknown venue {venue!r}")
            out[venue] = int(value)
    except ValueError as exc:
        raise ValueError(f"{flag} {text!r}: want N or VENUE=N[,VENUE=N] ({exc})") from None
    if any(v < 0 for v in out.values()):
        raise ValueError(f"{flag} {text!r}: limits are >= 0")
    return out


def _banner(sim: Simulator) -> str:
    lines = [f"fastfeed simulator: ws port {sim.ws_port}, rest port {sim.rest_port}"]
    for venue in VENUES:
        syms = sim.symbols(venue)
        if not syms:
            continue
        lines.append(f"  {venue:<18} ws {sim.ws_url(venue):<48} rest {sim.rest_url(venue)}  [{', '.join(syms)}]")
    host = f"ws://{sim.config.host}:{sim.ws_port}"
    lines.append(f"  e.g. {host}/ws/btcusdt@depth@100ms   {host}/stream?streams=btcusdt@depth@100ms")
    lines.append(f"       {host}/public/ws/btcusdt@depth@100ms   (USD-M)")
    lines.append(f"  debug: {sim.rest_url(BINANCE)}/debug/stats  /debug/limits  /debug/truth?venue=&symbol=  "
                 "/debug/trades?venue=&symbol=  /debug/candles?venue=&symbol=&interval=  "
                 "POST /debug/fault /debug/pause /debug/resume")
    lines.append("  Ctrl-C to stop")
    return "\n".join(lines)


async def _serve(cfg: SimConfig, json_ready: bool, quiet: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with Simulator(cfg) as sim:
        if json_ready:
            print(json.dumps({"ws_port": sim.ws_port, "rest_port": sim.rest_port, "urls": sim.urls()}),
                  flush=True)
        if not quiet:
            print(_banner(sim), file=sys.stderr if json_ready else sys.stdout, flush=True)
        await stop.wait()


def run_standalone(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; returns the exit code (0 on a clean stop)."""
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args)
        for venue_symbols in cfg.venues.values():
            for sc in venue_symbols:  # validate increments before the servers start
                Scale(sc.tick_size)
                Scale(sc.step_size)
    except (ValueError, KeyError) as exc:
        parser.error(str(exc))
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(_serve(cfg, args.json_ready, args.quiet))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 0
    return 0
