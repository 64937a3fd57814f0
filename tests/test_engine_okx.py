"""End to end over loopback: Engine ↔ simulator for OKX books (docs/venues.md, "OKX"):
spot and swap instruments sync exact against the simulator's truth (scales from the
instruments endpoint), a broken prevSeqId chain on one instrument resubscribes that one
only, a maintenance seqId reset and idle keep-alive updates are not gaps, a lost message
is, reconnects, and the text ping / pong keep-alive."""

from __future__ import annotations

import asyncio

from e2e import (
    SIM_STEP,
    SIM_TICK,
    bar_values,
    book_levels,
    candle_values,
    run,
    sim_config,
    truth_levels,
    wait_for,
)
from fastfeed import Engine
from fastfeed._quotes import QUOTE_MISSING
from fastfeed.sim import Simulator

SYMBOLS = ["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"]


def urls(sim):
    return {"ws_url": sim.ws_url("okx"), "rest_url": sim.rest_url("okx")}


async def settle_now(sim, books, timeout=10.0):
    """Pause the market and wait until every book is live and equals the current truth
    (OKX's seqId is the venue's own chain, not the simulator's update id)."""
    sim.pause()
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if all(b.state == "live" and book_levels(b) == truth_levels(sim, b, None) for b in books):
            return
        await asyncio.sleep(0.02)
    for b in books:
        assert b.state == "live", (b, b.last_gap_reason, b.last_error)
        assert book_levels(b) == truth_levels(sim, b, None), b


def test_spot_and_swap_sync_exact():
    async def body():
        async with Simulator(sim_config({"okx": SYMBOLS})) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many([("okx", s) for s in SYMBOLS], **urls(sim))
                assert books[0].instrument.tick_size == "0.01"     # tickSz from the instruments endpoint
                assert len(engine.connections) == 1
                await wait_for(lambda: all(b.messages > 20 for b in books), what="traffic")
                assert all(b.last_update_id > 10_000_000 for b in books)   # the venue's seqId
                await settle_now(sim, books)
                assert all(b.gaps == 0 and b.unchained_messages == 0 and b.rejected == 0 for b in books)
    run(body)


def test_chain_break_resubscribes_that_instrument_only_and_venue_faults_are_not_gaps():
    async def body():
        async with Simulator(sim_config({"okx": SYMBOLS})) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many([("okx", s) for s in SYMBOLS], tick_size="0.01",
                                                    step_size="0.00001", **urls(sim))
                hit, spared = books[0], books[1:]
                await wait_for(lambda: all(b.messages > 10 for b in books), what="traffic")
                sim.inject("okx", "BTC-USDT", "chain_break")
                await wait_for(lambda: hit.gaps == 1 and hit.is_live, what="resubscribe")
                assert "sequence gap" in hit.last_gap_reason
                assert all(b.gaps == 0 and b.is_live for b in spared)
                # maintenance: seqId jumps backwards, prevSeqId still chains
                sim.inject("okx", "ETH-USDT", "seq_reset")
                await wait_for(lambda: 0 < books[1].last_update_id < 10_000_000, what="seqId reset")
                m1 = books[1].messages
                await wait_for(lambda: books[1].messages > m1 + 5, what="updates after the reset")
                assert books[1].gaps == 0 and books[1].is_live
                # idle keep-alive updates: empty sides, seqId == prevSeqId
                sim.pause()
                await asyncio.sleep(0.2)
                last = books[2].last_update_id
                m2 = books[2].messages
                sim.inject("okx", "BTC-USDT-SWAP", "keepalive", count=3)
                await wait_for(lambda: books[2].messages >= m2 + 3, what="keep-alives")
                assert books[2].gaps == 0 and books[2].is_live and books[2].last_update_id == last
                sim.resume()
                # a lost message breaks the chain of that instrument only
                sim.inject("okx", "BTC-USDT-SWAP", "drop")
                await wait_for(lambda: books[2].gaps == 1 and books[2].is_live, what="drop resync")
                await settle_now(sim, books)
                assert [b.gaps for b in books] == [1, 0, 1]
    run(body)


def test_reconnect_and_malformed():
    async def body():
        async with Simulator(sim_config({"okx": SYMBOLS[:2]}, rate=20)) as sim:
            async with Engine() as engine:
                books = await engine.subscribe_many([("okx", s) for s in SYMBOLS[:2]], tick_size="0.01",
                                                    step_size="0.00001", **urls(sim))
                conn = books[0].connection
                await wait_for(lambda: all(b.is_live for b in books), what="live")
                # the message it replaced is lost: the next prevSeqId does not chain
                sim.inject("okx", "BTC-USDT", "malformed", replace=True)
                await wait_for(lambda: books[0].gaps == 1 and books[0].is_live, what="resubscribe")
                assert books[1].gaps == 0
                sim.inject("okx", "*", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and all(b.is_live for b in books),
                               what="reconnect")
                await settle_now(sim, books)
    run(body)


def test_text_ping_keepalive_is_sent_and_pong_is_control(monkeypatch):
    from fastfeed.venues import get_venue

    # the real interval is 20 s; the same code path on a shorter one
    monkeypatch.setattr(get_venue("okx"), "keepalive_every", 0.4)

    async def body():
        async with Simulator(sim_config({"okx": ["BTC-USDT"]}, rate=5)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("okx", "BTC-USDT", tick_size="0.01",
                                              step_size="0.00001", **urls(sim))
                conn = book.connection
                await wait_for(lambda: book.is_live, what="live")
                sim.pause()     # from now on only the pongs arrive
                router = conn.listener.router
                c0, pings0 = router.control_messages, conn.keepalive_pings
                await wait_for(lambda: router.control_messages >= c0 + 3, what="pongs")
                assert conn.keepalive_pings >= pings0 + 3
                assert router.decode_errors == 0
                assert book.is_live and book.gaps == 0 and book.rejected == 0
    run(body)


def test_trades_share_the_book_connection_and_equal_the_simulators_tape():
    # docs/venues.md, "OKX": `trades` beside `books` on one connection; every trade
    # recorded is an aggregate of the simulator's tape (tradeId: its last fill's id,
    # exact price, summed size, taker side), none missing between the first and the last
    from decimal import Decimal

    from fastfeed.sim.tape import aggregate

    async def body():
        async with Simulator(sim_config({"okx": ["BTC-USDT"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("okx", "BTC-USDT", **urls(sim))
                trades = await engine.subscribe_trades("okx", "BTC-USDT", **urls(sim))
                assert trades.stream == "trades"
                await wait_for(lambda: trades.recorded >= 40, timeout=30, what="40 trades")
                got = trades.trades()
                tick, step = SIM_TICK, SIM_STEP
                truth = {a.last_id: (a.price * tick, a.size * step, a.taker)
                         for a in aggregate(sim.trades("okx", "BTC-USDT"))}
                pd, sd = trades.price_decimals, trades.size_decimals
                ids = [int(i) for i in got["trade_id"]]
                assert ids == sorted(ids) and len(set(ids)) == len(ids)
                for row in got:
                    tid = int(row["trade_id"])
                    assert tid in truth, f"trade {tid} is not on the tape"
                    price = Decimal(int(row["price"])).scaleb(-pd)
                    size = Decimal(int(row["size"])).scaleb(-sd)
                    assert (price, size, int(row["side"])) == truth[tid], tid
                assert ids == [i for i in sorted(truth) if ids[0] <= i <= ids[-1]]
                assert trades.gaps == 0 and trades.state == "live"
                assert book.is_live
                # one connection carries both channels
                assert len(engine.connections) == 1
    run(body, timeout=60)


def test_a_book_resubscribe_leaves_the_trade_stream_running():
    # a broken chain unsubscribes and resubscribes `books` of that instrument only: the
    # trades of the same instrument on the same connection go on without a gap
    async def body():
        async with Simulator(sim_config({"okx": ["BTC-USDT"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("okx", "BTC-USDT", **urls(sim))
                trades = await engine.subscribe_trades("okx", "BTC-USDT", **urls(sim))
                await wait_for(lambda: trades.recorded >= 5 and book.is_live, what="traffic")
                sim.inject("okx", "BTC-USDT", "chain_break")
                await wait_for(lambda: book.gaps == 1 and book.is_live, what="resubscribe")
                before = trades.recorded
                await wait_for(lambda: trades.recorded >= before + 10, what="trades after it")
                assert trades.gaps == 0 and trades.state == "live"
    run(body, timeout=60)


def test_tickers_share_the_book_connection_and_equal_the_simulators_tape():
    # docs/venues.md, "OKX": `tickers` beside `books` and `trades` on one connection; with
    # the market paused, the last ticker is the tape's exactly up to its push time (last
    # price and size, the window's open/high/low, base volume and quote volume; a change
    # the 100 ms limit held back is not pushed while the market is paused)
    from decimal import Decimal

    async def body():
        async with Simulator(sim_config({"okx": ["BTC-USDT", "BTC-USDT-SWAP"]}, rate=50,
                                        trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("okx", "BTC-USDT", **urls(sim))
                trades = await engine.subscribe_trades("okx", "BTC-USDT", **urls(sim))
                ticker = await engine.subscribe_ticker("okx", "BTC-USDT", **urls(sim))
                swap = await engine.subscribe_ticker("okx", "BTC-USDT-SWAP", **urls(sim))
                assert ticker.channel == "tickers"
                await wait_for(lambda: ticker.recorded >= 5 and swap.recorded >= 5
                               and trades.recorded >= 5, timeout=30, what="tickers")
                sim.pause()
                await asyncio.sleep(0.3)        # what is in flight arrives
                tick, step = SIM_TICK, SIM_STEP
                for stream, sym in ((ticker, "BTC-USDT"), (swap, "BTC-USDT-SWAP")):
                    t = stream.ticker()
                    cut = t.exchange_ns + 999_999       # `ts` is whole milliseconds
                    fills = [f for f in sim.trades("okx", sym) if f.t_ns <= cut]
                    pd, sd = stream.price_decimals, stream.size_decimals

                    def price(v, pd=pd):
                        return Decimal(int(v)).scaleb(-pd)
                    assert price(t.last_price) == fills[-1].price * tick
                    assert Decimal(int(t.last_size)).scaleb(-sd) == fills[-1].size * step
                    assert price(t.open) == fills[0].price * tick
                    assert price(t.high) == max(f.price for f in fills) * tick
                    assert price(t.low) == min(f.price for f in fills) * tick
                    volume = Decimal(int(t.volume)).scaleb(-int(t.volume_decimals))
                    assert volume == sum(f.size for f in fills) * step
                    if sym == "BTC-USDT":
                        quote = Decimal(int(t.quote_volume)).scaleb(
                            -int(t.quote_volume_decimals))
                        assert quote == sum(f.price * f.size for f in fills) * tick * step
                    else:       # SWAP: volCcy24h is base, no quote volume
                        assert t.quote_volume == QUOTE_MISSING
                    assert stream.rejected == 0 and stream.state == "live"
                assert ticker.connection is book.connection is trades.connection
                counters = book.connection.listener.counters()
                assert counters["decode_errors"] == 0, counters
    run(body, timeout=60)


def test_bbo_tbt_shares_the_book_connection_and_equals_the_book_top():
    # docs/venues.md, "OKX": `bbo-tbt` beside `books` on one connection; with the market
    # paused, the last BBO is the book's top exactly, and its seqId only grows
    async def body():
        async with Simulator(sim_config({"okx": ["BTC-USDT", "BTC-USDT-SWAP"]}, rate=50)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("okx", "BTC-USDT", **urls(sim))
                bbo = await engine.subscribe_bbo("okx", "BTC-USDT", **urls(sim))
                swap = await engine.subscribe_bbo("okx", "BTC-USDT-SWAP", **urls(sim))
                assert bbo.channel == "bbo-tbt"
                await wait_for(lambda: bbo.recorded >= 20 and swap.recorded >= 20
                               and book.is_live, timeout=30, what="BBOs")
                await settle_now(sim, [book])
                (bp, bq), (ap, aq) = book.book.best_bid_int(), book.book.best_ask_int()

                def top():
                    b = bbo.bbo()
                    return (b.bid_price, b.bid_size, b.ask_price, b.ask_size)
                await wait_for(lambda: top() == (bp, bq, ap, aq), timeout=10,
                               what="the last BBO equals the book's top")
                for stream in (bbo, swap):
                    ids = [int(u) for u in stream.updates()["update_id"]]
                    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > 0
                    assert stream.stale == 0 and stream.rejected == 0
                assert bbo.connection is book.connection is swap.connection
                counters = book.connection.listener.counters()
                assert counters["decode_errors"] == 0, counters
    run(body, timeout=60)


def test_candles_are_served_on_business_and_equal_the_simulators_tape():
    # docs/venues.md, "OKX": `candle<bar>` lives on /business, a connection of its own
    # (the Binance USD-M route mechanism); every closed candle is the tape's bar exactly

    async def body():
        async with Simulator(sim_config({"okx": ["BTC-USDT"]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("okx", "BTC-USDT", **urls(sim))
                candles = await engine.subscribe_candles("okx", "BTC-USDT", "1s", **urls(sim))
                assert candles.channel == "candle1s"
                await wait_for(lambda: len(candles.candles()) >= 3, timeout=30,
                               what="3 closed candles")
                assert candles.connection is not book.connection
                assert candles.connection.route == "/business"
                fills = sim.trades("okx", "BTC-USDT")
                pd, sd = candles.price_decimals, candles.size_decimals
                for row in candles.candles():
                    lo, hi = int(row["open_ns"]), int(row["close_ns"])
                    assert hi - lo == 10**9
                    bar = [f for f in fills if lo <= f.t_ns < hi]
                    if not bar:
                        continue
                    assert candle_values(row, pd, sd) == bar_values(bar)
                    assert int(row["closed"]) == 1
                assert candles.rejected == 0 and candles.state == "live"
                assert candles.connection.listener.counters()["decode_errors"] == 0
    run(body, timeout=60)
