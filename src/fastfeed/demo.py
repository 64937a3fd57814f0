"""``fastfeed demo``: the engine on the built-in simulator, with faults, shown live.

Starts the simulator in a child process on free ports, keeps books of every venue from
it (Binance spot and USD-M, Coinbase Advanced Trade and Exchange, Bybit, Kraken, OKX) and
trade streams where fastfeed has them (Binance, Coinbase), injects dropped messages
(sequence gaps) and a disconnect midway, shows the books and a trade tape live, and
finally pauses the market and checks every book against the simulator's ground truth,
level by level (Kraken: the top 25 a client holds), and every trade against its tape.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from fastfeed.latency import format_ns

# (venue, symbol, tick, step, mid): what the simulator runs and the engine subscribes to
DEMO_BOOKS = [
    ("binance", "BTCUSDT", "0.01", "0.00001", "97250.01"),
    ("binance", "ETHUSDT", "0.01", "0.0001", "3500.00"),
    ("binance", "SOLUSDT", "0.01", "0.001", "180.00"),
    ("binance-usdm", "BTCUSDT", "0.10", "0.001", "97250.0"),
    ("binance-usdm", "ETHUSDT", "0.01", "0.001", "3500.00"),
    ("coinbase", "BTC-USD", "0.01", "0.00000001", "97250.01"),
    ("coinbase", "ETH-USD", "0.01", "0.00000001", "3500.00"),
    ("coinbase-exchange", "BTC-USD", "0.01", "0.00000001", "97250.01"),
    ("bybit", "BTCUSDT", "0.01", "0.00001", "97250.01"),
    ("kraken", "BTC/USD", "0.1", "0.00000001", "97250.0"),
    ("okx", "BTC-USDT", "0.01", "0.00000001", "97250.01"),
]

# (fraction of the run, venue, symbol, fault, params, what the viewer should see)
SCHEDULE: list[tuple[float, str, str, str, dict[str, Any], str]] = [
    (0.30, "binance", "BTCUSDT", "drop", {}, "dropped a binance BTCUSDT message (gap → resync)"),
    (0.45, "coinbase", "BTC-USD", "drop", {},
     "dropped a coinbase envelope (sequence_num jump → resubscribe)"),
    (0.50, "okx", "BTC-USDT", "drop", {},
     "dropped an okx BTC-USDT update (prevSeqId mismatch → resubscribe)"),
    (0.60, "binance-usdm", "*", "disconnect", {}, "cut the binance-usdm connection (reconnect)"),
]


# (venue, symbol): the demo's trade streams (each venue's default stream), shown as a tape;
# Bybit, Kraken and OKX have books only so far (docs/venues.md)
DEMO_TRADES = [("binance", "BTCUSDT"), ("binance-usdm", "BTCUSDT"), ("coinbase", "BTC-USD"),
               ("coinbase-exchange", "BTC-USD")]


def sim_args(rate: float, seed: int) -> list[str]:
    """Simulator command line for the demo books (a taker order every fourth message)."""
    by_venue: dict[str, list[str]] = {}
    for venue, symbol, tick, step, mid in DEMO_BOOKS:
        by_venue.setdefault(venue, []).append(f"{symbol}:{tick}:{step}:{mid}")
    args = ["--seed", str(seed), "--rate", str(rate), "--levels", "12", "--depth", "200",
            "--ping-interval", "5", "--trade-rate", str(rate / 4)]
    for venue, specs in by_venue.items():
        args += [f"--{venue}", ",".join(specs)]
    return args


def verify_trades(sim: Any, stream: Any) -> str | None:
    """None if every trade the stream holds is on the simulator's tape, exactly (id,
    price, size, taker side), and every one missing between its first and last is one the
    stream reported lost (``missing``: a gap it flagged, e.g. across a disconnect)."""
    got = stream.trades()
    if not len(got):
        return "no trades"
    tape = sim.debug("/debug/trades", query={"venue": stream.venue, "symbol": stream.symbol})
    agg = stream.channel == "aggTrade"
    truth: dict[int, tuple[int, int, int]] = {}
    for f in tape["trades"]:        # aggTrade: the fills of one taker order at one price
        key = f["agg_id"] if agg else f["trade_id"]
        side = 1 if f["taker_side"] == "buy" else -1
        price, size, _ = truth.get(key, (f["price_int"], 0, side))
        truth[key] = (price, size + f["size_int"], side)
    ids = [int(i) for i in got["trade_id"]]
    for row in got:
        want = truth.get(int(row["trade_id"]))
        have = (int(row["price"]) // stream.price_tick, int(row["size"]) // stream.size_step,
                int(row["side"]))
        if want is None or want != have:
            return f"trade {int(row['trade_id'])} differs from the tape"
    absent = {i for i in truth if ids[0] <= i <= ids[-1]} - set(ids)
    declared: set[int] = set()
    unknown = False
    for first, last in stream.missing:      # what the stream says it lost (not healed)
        if first < 0:
            unknown = True
        else:
            declared.update(range(first, last + 1))
    if absent - declared and not unknown:
        return f"{len(absent - declared)} trades missing that the stream did not report"
    return None


#: the local candle series the demo builds from the first trade stream, in seconds
CANDLE_SECONDS = 2


def verify_candles(sim: Any, stream: Any, local: Any) -> str | None:
    """None if every closed local candle equals the one the simulator's tape makes (the
    first, begun before the subscription, holds only the trades the stream saw)."""
    got = local.candles()
    if not len(got):
        return "no closed candle"
    truth = sim.debug("/debug/candles", query={"venue": stream.venue, "symbol": stream.symbol,
                                               "interval": CANDLE_SECONDS})
    want = {c["start_ns"]: c["int"] for c in truth["candles"]}
    first_trade_ns = int(stream.trades()["exchange_ns"][0])
    complete = [c for c in got if int(c["open_ns"]) > first_trade_ns]   # whole buckets
    if not complete:
        return "no complete candle yet"
    for c in complete:
        bar = want.get(int(c["open_ns"]))
        if bar is None:
            return f"candle at {int(c['open_ns'])} is not the tape's"
        prices = [x * stream.price_tick for x in bar[:4]]
        if ([int(c[k]) for k in ("open", "high", "low", "close")] != prices
                or int(c["volume"]) != bar[4] * stream.size_step):
            return f"candle at {int(c['open_ns'])} differs from the tape's"
    return None


def verify(sim: Any, book: Any) -> str | None:
    """None if the book equals the simulator's truth at its update id, else why not."""
    from fastfeed.venues import get_venue

    if book.state != "live":
        return f"state {book.state}"
    venue = get_venue(book.venue)
    query = {"venue": book.venue, "symbol": book.symbol}
    # Bybit ``u`` and OKX ``seqId`` are the wire's own counters, not the model ids the
    # truth is keyed by: the paused market's current truth is then the book's.
    if book.last_update_id >= 0 and venue.sequencing not in ("bybit", "okx"):
        query["last_id"] = book.last_update_id
    truth = sim.debug("/debug/truth", query=query)
    cut = getattr(venue, "book_depth", None)    # Kraken: the subscribed depth (docs/venues.md)
    want_bids = [(p * book.price_tick, q * book.size_step) for p, q in truth["bids_int"][:cut]]
    want_asks = [(p * book.price_tick, q * book.size_step) for p, q in truth["asks_int"][:cut]]
    have_bids = [(int(p), int(q)) for p, q in book.book.bids_int()]
    have_asks = [(int(p), int(q)) for p, q in book.book.asks_int()]
    if have_bids != want_bids or have_asks != want_asks:
        return f"differs from truth ({len(have_bids)}/{len(want_bids)} bids)"
    return None


async def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every book ends live and exact and the faults were recovered."""
    from fastfeed.candles import LocalCandles
    from fastfeed.engine import Engine, SubscribeError
    from fastfeed.sim.process import SimProcess
    from fastfeed.view import BookView

    sim = SimProcess(sim_args(args.rate, args.seed))
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, sim.start)
    except RuntimeError as exc:
        print(f"fastfeed demo: cannot start the simulator: {exc}", file=sys.stderr)
        return 1
    try:
        async with Engine() as engine:
            try:
                books = [await engine.subscribe(venue, symbol, ws_url=sim.ws_url(venue),
                                                rest_url=sim.rest_url(venue), tick_size=tick,
                                                step_size=step, wait=False)
                         for venue, symbol, tick, step, _ in DEMO_BOOKS]
                await engine.wait_live(books, timeout=20)
                ticks = {(v, s): (t, q) for v, s, t, q, _ in DEMO_BOOKS}
                trades = [await engine.subscribe_trades(
                    venue, symbol, ws_url=sim.ws_url(venue), rest_url=sim.rest_url(venue),
                    tick_size=ticks[venue, symbol][0], step_size=ticks[venue, symbol][1])
                    for venue, symbol in DEMO_TRADES]
                # one candle series, built from the first trade stream by exchange time
                candles = LocalCandles(f"{CANDLE_SECONDS}s", trades[0].price_decimals,
                                       trades[0].size_decimals)
                candles.attach(trades[0])
            except SubscribeError as exc:
                print(f"fastfeed demo: {exc}", file=sys.stderr)
                return 1
            view = BookView(books, title="fastfeed demo — built-in simulator",
                            force_plain=args.plain, trades=trades)
            view.add_event(f"simulator on ws port {sim.ready['ws_port']}, rest port "
                           f"{sim.ready['rest_port']}; {len(books)} books live")
            start = loop.time()
            pending = list(SCHEDULE)
            try:
                while (elapsed := loop.time() - start) < args.duration:
                    while pending and elapsed >= pending[0][0] * args.duration:
                        _, venue, symbol, fault, params, text = pending.pop(0)
                        await loop.run_in_executor(None, sim.debug, "/debug/fault", {
                            "venue": venue, "symbol": symbol, "fault": fault,
                            "params": params})
                        view.add_event("injected: " + text)
                    await asyncio.sleep(0.25 if not view.plain else 1.0)
                    view.refresh()
                await loop.run_in_executor(None, sim.debug, "/debug/pause", {})
                view.add_event("market paused: checking every book against the truth")
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    if all(b.is_live for b in books):
                        break
                await asyncio.sleep(0.3)     # let the last in-flight frames land
                view.refresh()
            finally:
                view.close()
            results = {b: await loop.run_in_executor(None, verify, sim, b) for b in books}
            trade_results = {t: await loop.run_in_executor(None, verify_trades, sim, t)
                             for t in trades}
            candle_result = await loop.run_in_executor(None, verify_candles, sim, trades[0],
                                                       candles)
            print(f"\nlocal {CANDLE_SECONDS}s candles of {trades[0].venue}:{trades[0].symbol} "
                  f"from its trades:")
            for c in candles.candles()[-5:]:
                print(f"  {int(c['open_ns']) // 10**9}  o {_dec(int(c['open']), candles)} "
                      f"h {_dec(int(c['high']), candles)} l {_dec(int(c['low']), candles)} "
                      f"c {_dec(int(c['close']), candles)}  "
                      f"v {_dec(int(c['volume']), candles, size=True)}  n {int(c['trades'])}")
            print(f"  {candles.closed_count} closed, "
                  f"{'equal to the tape' if candle_result is None else 'NO: ' + candle_result}")
            return _summary(books, results, trade_results, candle_result)
    finally:
        sim.stop()


def _dec(value: int, series: Any, size: bool = False) -> str:
    from fastfeed._parse import format_decimal_py
    return format_decimal_py(value, series.size_decimals if size else series.price_decimals)


def _summary(books: list[Any], results: dict[Any, str | None],
             trade_results: dict[Any, str | None], candle_result: str | None) -> int:
    recovered = sum(b.resyncs for b in books)
    gaps = sum(b.gaps for b in books)
    print()
    print(f"{'book':<28} {'state':<7} {'msgs':>7} {'gaps':>4} {'resyncs':>7} "
          f"{'p50':>9} {'p99':>9} {'p99.9':>9}  exact")
    for b in books:
        # (per-book precision: the engine's book_latency, docs/memory.md)
        p = b.latency.cumulative("recv_to_apply").percentiles((50, 99, 99.9))
        verdict = results[b]
        print(f"{b.venue + ':' + b.symbol:<28} {b.state:<7} {b.messages:>7} {b.gaps:>4} "
              f"{b.resyncs:>7} {format_ns(p[50.0]):>9} {format_ns(p[99.0]):>9} "
              f"{format_ns(p[99.9]):>9}  {'yes' if verdict is None else 'NO: ' + verdict}")
    print(f"\n{'trade stream':<38} {'state':<7} {'trades':>7} {'gaps':>4}  exact")
    for t, verdict in trade_results.items():
        print(f"{t.venue + ':' + t.symbol + ' ' + t.channel:<38} {t.state:<7} "
              f"{t.recorded:>7} {t.gaps:>4}  {'yes' if verdict is None else 'NO: ' + verdict}")
    exact = all(r is None for r in results.values())
    trades_exact = all(r is None for r in trade_results.values())
    print(f"\n{len(books)} books, {gaps} gaps detected, {recovered} resyncs completed, "
          f"{'all books exact' if exact else 'SOME BOOKS WRONG'}; {len(trade_results)} trade "
          f"streams, {'every trade on the tape' if trades_exact else 'SOME TRADES WRONG'}")
    return 0 if (exact and trades_exact and candle_result is None and gaps >= 1
                 and recovered >= 1) else 1
