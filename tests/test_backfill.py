"""REST backfill of live trade gaps (docs/venues.md, "Backfill"): a real Engine's trade
stream against the simulator over real sockets, a dropped trade message, and
``fastfeed.backfill.Backfiller`` on the engine's own REST client (the snapshots' budget):
the gap heals with exactly the simulator's tape, at the venue's weight, across pages, a
429, and what cannot be healed is said so."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from e2e import run, sim_config, wait_for
from fastfeed import Engine, TradeFeed
from fastfeed.backfill import Backfiller
from fastfeed.rest import RestClient, WeightBudget
from fastfeed.sim import Simulator
from fastfeed.venues import get_venue
from test_engine_trades import expected_tape, urls

TICK, STEP = "0.01", "0.00001"


async def gapped_stream(engine: Engine, sim: Simulator, venue: str, symbol: str,
                        drops: int) -> Any:
    """A live trade stream that lost ``drops`` trade messages (one gap)."""
    trades = await engine.subscribe_trades(venue, symbol, **urls(sim, venue), tick_size=TICK,
                                           step_size=STEP)
    await wait_for(lambda: trades.recorded >= 5, timeout=30, what="trades")
    channel = "aggTrade" if venue.startswith("binance") else "matches"
    sim.inject(venue, symbol, "drop", count=drops, channel=channel)
    await wait_for(lambda: trades.state == "gap", timeout=30, what="the gap")
    return trades


def assert_equal_to_tape(sim: Simulator, trades: Any, rows: Any) -> None:
    truth = expected_tape(sim, trades.venue, trades.symbol, trades.channel)
    scale_p, scale_q = Decimal(10) ** -trades.price_decimals, Decimal(10) ** -trades.size_decimals
    for r in rows:
        price, size, side = truth[int(r["trade_id"])]
        assert (int(r["price"]) * scale_p, int(r["size"]) * scale_q, int(r["side"])) == (
            price, size, side)


def weight_used(sim: Simulator, venue: str) -> int:
    return int(sim.limits.view()[venue]["weight_used"])


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_a_dropped_aggtrade_is_healed_from_rest_with_the_tapes_trades(venue: str) -> None:
    async def body() -> None:
        cfg = sim_config({venue: ["BTCUSDT"]}, rate=50, trade_rate=30)
        async with Simulator(cfg) as sim:
            async with Engine(backfill=False) as engine:
                trades = await gapped_stream(engine, sim, venue, "BTCUSDT", drops=3)
                (first, last), = trades.missing
                assert last - first + 1 >= 3
                seen = trades.recorded
                spec = get_venue(venue)
                rest = engine.rest_client(spec, sim.rest_url(venue))   # the snapshots' client
                used = weight_used(sim, venue)
                bf = Backfiller(rest, venue)
                assert bf.request(trades) == 1
                assert bf.request(trades) == 0                # already queued
                await asyncio.wait_for(bf.idle(), 30)
                assert trades.missing == [] and trades.state == "live"
                new = trades.trades(since=seen)
                healed = new[new["trade_id"] <= last]
                assert healed["trade_id"].tolist() == list(range(first, last + 1))
                assert_equal_to_tape(sim, trades, healed)
                assert trades.backfilled == last - first + 1
                # one page, at the venue's weight (spot 4, USD-M 20), charged as the venue does
                s = bf.stats()
                assert (s["requests"], s["weight"], s["healed"], s["unhealable"]) == (
                    1, spec.backfill_weight, 1, 0)
                assert weight_used(sim, venue) - used == spec.backfill_weight
                await bf.close()
    run(body, timeout=90)


def test_pages_by_from_id_and_a_429_is_retried() -> None:
    async def body() -> None:
        cfg = sim_config({"binance": ["BTCUSDT"]}, rate=50, trade_rate=30)
        async with Simulator(cfg) as sim:
            async with Engine(backfill=False) as engine:
                trades = await gapped_stream(engine, sim, "binance", "BTCUSDT", drops=5)
                (first, last), = trades.missing
                n = last - first + 1
                rest = engine.rest_client(get_venue("binance"), sim.rest_url("binance"))
                sim.inject("binance", "*", "http_429", count=1, retry_after=1)
                # the whole bucket may be used here: after the 429 empties it (Retry-After),
                # the default share would wait for half of it to refill (~30 s)
                bf = Backfiller(rest, "binance", page_limit=2, budget_share=1.0)
                bf.request(trades)
                await asyncio.wait_for(bf.idle(), 30)
                assert trades.missing == [] and trades.state == "live"
                assert rest.throttled == 1                     # the 429, then served
                assert rest.budget.waited_s > 0                # its Retry-After was waited out
                assert bf.stats()["requests"] == (n + 1) // 2
                assert bf.weight == 4 * ((n + 1) // 2)
                got = trades.trades()
                assert_equal_to_tape(sim, trades, got[got["trade_id"] <= last])
                await bf.close()
    run(body, timeout=90)


def test_coinbase_exchange_pages_by_cursor() -> None:
    async def body() -> None:
        cfg = sim_config({"coinbase-exchange": ["BTC-USD"]}, rate=50, trade_rate=30)
        async with Simulator(cfg) as sim:
            async with Engine(backfill=False) as engine:
                trades = await gapped_stream(engine, sim, "coinbase-exchange", "BTC-USD",
                                             drops=5)
                (first, last), = trades.missing
                n = last - first + 1
                seen = trades.recorded
                rest = engine.rest_client(get_venue("coinbase-exchange"),
                                          sim.rest_url("coinbase-exchange"))
                bf = Backfiller(rest, "coinbase-exchange", page_limit=2)
                bf.request(trades)
                await asyncio.wait_for(bf.idle(), 30)
                assert trades.missing == [] and trades.state == "live"
                assert bf.requests == (n + 1) // 2             # pages of 2, newest first
                new = trades.trades(since=seen)
                healed = new[new["trade_id"] <= last]
                # each page is recorded in id order; the pages come newest first
                assert sorted(healed["trade_id"].tolist()) == list(range(first, last + 1))
                assert_equal_to_tape(sim, trades, healed)
                await bf.close()
    run(body, timeout=90)


def test_a_range_older_than_the_venue_keeps_is_reported_unhealable() -> None:
    async def body() -> None:
        cfg = sim_config({"binance": ["BTCUSDT"]}, rate=50, trade_rate=40, trade_history=30)
        async with Simulator(cfg) as sim:
            async with Engine(backfill=False) as engine:
                trades = await gapped_stream(engine, sim, "binance", "BTCUSDT", drops=2)
                (first, last), = trades.missing
                # wait until the retained tape (SimConfig.trade_history) has moved past them
                aggs = sim.market("binance", "BTCUSDT").model.aggs
                await wait_for(lambda: aggs[0].agg_id > last, timeout=30,
                               what="the tape moved on")
                rest = engine.rest_client(get_venue("binance"), sim.rest_url("binance"))
                bf = Backfiller(rest, "binance")
                bf.request(trades)
                await asyncio.wait_for(bf.idle(), 30)
                assert trades.missing == [(first, last)] and trades.state == "gap"
                assert bf.unhealable == 1 and bf.trades == 0
                assert "cannot be healed" in trades.last_error
                assert f"{first}..{last}" in trades.last_error
                assert bf.request(trades) == 0 and bf.unhealable == 1   # reported once
                await bf.close()
    run(body, timeout=90)


def test_streams_without_backfill_are_reported_without_a_request() -> None:
    # Advanced Trade: a sequence_num break, range unknown, and no REST backfill at all;
    # Binance spot @trade: a rejected trade's id is known, but aggTrades does not serve it
    at = TradeFeed("coinbase", "BTC-USD", TICK, "0.00000001", strict=False)
    for seq in (1, 3):
        at.apply_message(json.dumps({
            "channel": "market_trades", "client_id": "", "timestamp": "2026-01-01T00:00:00Z",
            "sequence_num": seq, "events": []}).encode())
    bn = TradeFeed("binance", "BTCUSDT", TICK, STEP, stream="trade", strict=False)
    bn.apply_message(b'{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.000000001","q":"1",'
                     b'"T":1,"m":true}')
    assert (at.missing, bn.missing) == ([(-1, -1)], [(7, 7)])

    async def body() -> None:
        rest = RestClient("http://127.0.0.1:9", WeightBudget(600))   # never reached
        for feed, why in [(at, "coinbase has no REST trade backfill"),
                          (bn, "binance trade trades have no REST backfill")]:
            bf = Backfiller(rest, feed.venue)
            assert bf.request(feed) == 0
            assert bf.unhealable == 1 and bf.requests == 0 and rest.requests == 0
            assert "cannot be healed: " + why in str(bf.last_error)
            assert bf.request(feed) == 0 and bf.unhealable == 1
            await bf.close()
        await rest.close()
    run(body, timeout=30)


def test_backfill_waits_while_more_than_its_share_of_the_budget_is_spent() -> None:
    # bucket of 100 refilling at 100/s: with half of it spent, a request of weight 4 waits
    # until 54 are there (half left for snapshots after it); with 60 there it goes at once
    async def body() -> None:
        budget = WeightBudget(6100, burst=100)
        rest = RestClient("http://127.0.0.1:9", budget)
        bf = Backfiller(rest, "binance")
        budget.tokens = 60
        await bf._budget_share(4)
        assert bf.waited_s == 0
        budget.tokens = 40
        await bf._budget_share(4)
        assert bf.waited_s > 0 and budget.available() >= 54
        await rest.close()
    run(body, timeout=30)
