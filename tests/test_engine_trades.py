"""Live trade streams through the Engine (docs/venues.md, "Live trade streams"): they
share connections with books within the venue's stream limit, subscribe in the venue's
own way, and mark their state honestly across disconnects. Real sockets against the
simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from e2e import run, sim_config, wait_for
from fastfeed import Engine
from fastfeed.engine import SubscribeError
from fastfeed.sim import Simulator
from fastfeed.sim.tape import aggregate

TICK, STEP = Decimal("0.01"), Decimal("0.00001")    # SymbolConfig's defaults


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def test_trades_share_the_book_connection_and_follow_it_through_a_reconnect():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                trades = await engine.subscribe_trades("binance", "BTCUSDT",
                                                       **urls(sim, "binance"))
                assert trades.channel == "aggTrade"
                assert trades.connection is book.connection and len(engine.connections) == 1
                await wait_for(lambda: trades.state == "live", what="trades subscribed")
                conn = book.connection
                assert conn.stats()["channel_streams"] == 1
                sim.inject("binance", "BTCUSDT", "disconnect")
                await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=20,
                               what="reconnected")
                # aggTrade ids are contiguous: the reconnect alone is no loss
                await wait_for(lambda: trades.state == "live", what="trades resubscribed")
                assert trades.gaps == 0
                await engine.unsubscribe_trades(trades)
                assert trades.state == "closed" and conn.trades == []
    run(body)


def test_usdm_trades_use_their_own_route():
    # USD-M serves depth on /public and aggTrade on /market: different connections
    async def body():
        async with Simulator(sim_config({"binance-usdm": ["BTCUSDT"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("binance-usdm", "BTCUSDT",
                                              **urls(sim, "binance-usdm"))
                trades = await engine.subscribe_trades("binance-usdm", "BTCUSDT",
                                                       **urls(sim, "binance-usdm"))
                assert trades.connection is not book.connection
                assert (book.connection.route, trades.connection.route) == ("/public", "/market")
                await wait_for(lambda: trades.state == "live", what="trades connected")
    run(body)


def test_coinbase_trades_subscribe_their_channel_beside_level2():
    async def body():
        async with Simulator(sim_config({"coinbase-exchange": ["BTC-USD"]})) as sim:
            async with Engine() as engine:
                book = await engine.subscribe("coinbase-exchange", "BTC-USD",
                                              **urls(sim, "coinbase-exchange"))
                trades = await engine.subscribe_trades("coinbase-exchange", "BTC-USD",
                                                       **urls(sim, "coinbase-exchange"))
                assert trades.channel == "matches" and trades.connection is book.connection
                await wait_for(lambda: trades.state == "live", what="matches subscribed")
                assert book.connection.control_sent >= 2      # level2_batch, then matches
    run(body)


def test_subscribe_trades_errors_are_clear():
    async def body():
        async with Engine() as engine:
            with pytest.raises(SubscribeError, match="no trade stream 'bookTicker'"):
                await engine.subscribe_trades("binance", "BTCUSDT", stream="bookTicker",
                                              tick_size="0.01", step_size="0.001")
            with pytest.raises(ValueError, match="unknown venue"):
                await engine.subscribe_trades("nowhere", "XBT/USD")
            first = await engine.subscribe_trades("binance", "BTCUSDT", tick_size="0.01",
                                                  step_size="0.001", ws_url="ws://127.0.0.1:9")
            assert first.state == "syncing"     # nothing was subscribed: not live
            with pytest.raises(SubscribeError, match="already subscribed"):
                await engine.subscribe_trades("binance", "BTCUSDT", tick_size="0.01",
                                              step_size="0.001", ws_url="ws://127.0.0.1:9")
    run(body)


def expected_tape(sim, venue: str, symbol: str, stream: str) -> dict[int, tuple]:
    """The simulator's tape as the stream reports it: id -> (price, size, taker side),
    exact decimals (aggTrade: the fills of one taker order at one price, summed)."""
    fills = sim.trades(venue, symbol)
    rows = ([(a.agg_id, a.price, a.size, a.taker) for a in aggregate(fills)]
            if stream == "aggTrade" else
            [(f.trade_id, f.price, f.size, f.taker) for f in fills])
    return {i: (p * TICK, q * STEP, side) for i, p, q, side in rows}


@pytest.mark.parametrize("venue,symbol,stream", [
    ("binance", "BTCUSDT", "aggTrade"), ("binance", "BTCUSDT", "trade"),
    ("binance-usdm", "BTCUSDT", "aggTrade"), ("coinbase", "BTC-USD", "market_trades"),
    ("coinbase-exchange", "BTC-USD", "matches")])
def test_live_trades_equal_the_simulators_tape(venue, symbol, stream):
    # every trade recorded is on the tape with the same id, price, size and taker side,
    # and none is missing between the first and the last recorded
    async def body():
        async with Simulator(sim_config({venue: [symbol]}, rate=50, trade_rate=30)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe(venue, symbol, **urls(sim, venue))
                trades = await engine.subscribe_trades(venue, symbol, stream=stream,
                                                       **urls(sim, venue))
                await wait_for(lambda: trades.recorded >= 40, timeout=30, what="40 trades")
                got = trades.trades()
                truth = expected_tape(sim, venue, symbol, stream)
                pd, sd = trades.price_decimals, trades.size_decimals
                ids = [int(i) for i in got["trade_id"]]
                assert ids == sorted(ids) and len(set(ids)) == len(ids)
                for row in got:
                    tid = int(row["trade_id"])
                    assert tid in truth, f"trade {tid} is not on the tape"
                    price = Decimal(int(row["price"])).scaleb(-pd)
                    size = Decimal(int(row["size"])).scaleb(-sd)
                    assert (price, size, int(row["side"])) == truth[tid], tid
                # nothing lost in between (USD-M skips ids on its own tape: compare to it)
                assert ids == [i for i in sorted(truth) if ids[0] <= i <= ids[-1]]
                assert trades.gaps == 0 and trades.state == "live"
                assert book.is_live
    run(body, timeout=60)


def test_a_dropped_aggtrade_is_a_gap_with_its_id_range():
    async def body():
        cfg = sim_config({"binance": ["BTCUSDT"]}, rate=50, trade_rate=30)
        async with Simulator(cfg) as sim:
            async with Engine(backfill=False) as engine:
                trades = await engine.subscribe_trades("binance", "BTCUSDT",
                                                       **urls(sim, "binance"), tick_size="0.01",
                                                       step_size="0.00001")
                await wait_for(lambda: trades.recorded >= 5, timeout=30, what="trades")
                sim.inject("binance", "BTCUSDT", "drop", channel="aggTrade")
                await wait_for(lambda: trades.state == "gap", timeout=30, what="the gap")
                (first, last), = trades.missing
                truth = expected_tape(sim, "binance", "BTCUSDT", "aggTrade")
                held = {int(i) for i in trades.trades()["trade_id"]}
                assert first <= last and all(i in truth for i in range(first, last + 1))
                assert not held & set(range(first, last + 1))
                assert trades.clear_gaps() == [(first, last)] and trades.state == "live"
    run(body, timeout=60)


def test_engine_publishes_trades_into_shared_memory(name):
    from fastfeed.shm import Reader

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=50,
                                        trade_rate=30)) as sim:
            async with Engine(shm=name, shm_books=4) as engine:
                await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                trades = await engine.subscribe_trades("binance", "BTCUSDT",
                                                       **urls(sim, "binance"))
                await wait_for(lambda: trades.recorded >= 10, timeout=30, what="trades")
                with Reader(name) as r:
                    m = r.market("binance", "BTCUSDT")
                    assert m.trades_total == trades.recorded and m.trade_state == "live"
                    got = m.trades
                    held = trades.trades()[-len(got):]
                    assert got["trade_id"].tolist() == held["trade_id"].tolist()
                    assert got["price"].tolist() == held["price"].tolist()
                    bbo = r.bbo("binance", "BTCUSDT")
                    assert bbo is not None and bbo[0] < bbo[2]
    run(body, timeout=60)


@pytest.mark.parametrize("per_read", [True, False])
def test_per_read_callback_runs_once_for_frames_read_together(per_read):
    # 50 matches written in one go arrive in one or a few socket reads: a per-read
    # callback runs once per read (picows' last_in_buffer), a per-message one 50 times
    import json

    from hostile_ws import HostileServer, frame
    calls: list[int] = []

    def match(i: int) -> bytes:
        return frame(0x1, json.dumps({
            "type": "match", "trade_id": 1000 + i, "sequence": 5000 + i,
            "maker_order_id": "a", "taker_order_id": "b", "time": "2024-12-07T18:00:00.0Z",
            "product_id": "BTC-USD", "size": "0.1", "price": "100.25", "side": "buy"}).encode())

    async def body():
        async with HostileServer() as srv, Engine() as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            trades = await engine.subscribe_trades(
                "coinbase-exchange", "BTC-USD", ws_url=srv.url, tick_size="0.01",
                step_size="0.1", callback=lambda t: calls.append(t.recorded),
                callback_per_read=per_read)
            assert trades.connection is book.connection
            await wait_for(lambda: trades.state == "live", what="subscribed")
            await srv.attack(b"".join(match(i) for i in range(50)))
            await wait_for(lambda: trades.recorded == 50, what="50 trades")
            if per_read:
                assert 1 <= len(calls) < 50, calls
                assert calls[-1] == 50      # the last call saw every trade
            else:
                assert calls == list(range(1, 51))
    run(body, timeout=20)


def test_a_dropped_aggtrade_is_healed_from_rest_by_default():
    async def body():
        cfg = sim_config({"binance": ["BTCUSDT"]}, rate=50, trade_rate=30)
        async with Simulator(cfg) as sim:
            async with Engine() as engine:
                trades = await engine.subscribe_trades("binance", "BTCUSDT",
                                                       **urls(sim, "binance"), tick_size="0.01",
                                                       step_size="0.00001")
                await wait_for(lambda: trades.recorded >= 5, timeout=30, what="trades")
                sim.inject("binance", "BTCUSDT", "drop", channel="aggTrade")
                await wait_for(lambda: trades.gaps >= 1, timeout=30, what="the gap")
                await wait_for(lambda: trades.backfilled >= 1 and not trades.missing,
                               timeout=30, what="the backfill")
                assert trades.state == "live"
                truth = expected_tape(sim, "binance", "BTCUSDT", "aggTrade")
                got = trades.trades()
                ids = sorted(int(i) for i in got["trade_id"])
                assert ids == [i for i in sorted(truth) if ids[0] <= i <= ids[-1]]
                for row in got:
                    tid = int(row["trade_id"])
                    price = Decimal(int(row["price"])).scaleb(-trades.price_decimals)
                    size = Decimal(int(row["size"])).scaleb(-trades.size_decimals)
                    assert (price, size, int(row["side"])) == truth[tid]
                stats = engine.stats()["backfill"]
                assert stats and next(iter(stats.values()))["requests"] >= 1, stats
    run(body, timeout=60)
