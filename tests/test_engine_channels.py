"""Live best bid/offer, ticker and candle streams through the Engine (docs/venues.md,
"Live channel streams"): each venue's subscription, sharing connections (and USD-M's two
routes), the router's dispatch, and the values against the simulator. Real sockets."""

from __future__ import annotations

import pytest

from e2e import run, sim_config, wait_for
from fastfeed import Engine
from fastfeed.engine import SubscribeError
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


CASES = [("binance", "BTCUSDT"), ("binance-usdm", "BTCUSDT"), ("coinbase", "BTC-USD"),
         ("coinbase-exchange", "BTC-USD")]


@pytest.mark.parametrize("venue,symbol", CASES)
def test_bbo_and_ticker_streams_go_live_and_record(venue, symbol):
    async def body():
        async with Simulator(sim_config({venue: [symbol]}, rate=40, trade_rate=20)) as sim:
            async with Engine() as engine:
                book = await engine.subscribe(venue, symbol, **urls(sim, venue))
                bbo = await engine.subscribe_bbo(venue, symbol, **urls(sim, venue))
                ticker = await engine.subscribe_ticker(venue, symbol, **urls(sim, venue))
                await wait_for(lambda: bbo.recorded >= 5 and ticker.recorded >= 1,
                               timeout=30, what="BBO and ticker records")
                assert bbo.state == "live" and ticker.state == "live"
                latest = bbo.bbo()
                assert latest.bid_price < latest.ask_price
                # the venue's BBO and the book agree on the side of the market
                top_bid = book.book.best_bid_int()
                assert top_bid is not None
                assert abs(latest.bid_price - top_bid[0]) < 100 * book.price_tick * 100
                t = ticker.ticker()
                assert t.last_price > 0 and t.high >= t.low
                if venue == "binance-usdm":     # bookTicker on /public, ticker on /market
                    assert bbo.connection is book.connection
                    assert ticker.connection is not book.connection
                else:
                    assert bbo.connection is book.connection is ticker.connection
                counters = book.connection.listener.counters()
                assert counters["decode_errors"] == 0, counters
    run(body, timeout=60)


@pytest.mark.parametrize("venue,symbol,interval", [("binance", "BTCUSDT", "1s"),
                                                   ("binance-usdm", "BTCUSDT", "1m"),
                                                   ("coinbase", "BTC-USD", None)])
def test_venue_candles_stream_live(venue, symbol, interval):
    async def body():
        async with Simulator(sim_config({venue: [symbol]}, rate=40, trade_rate=20)) as sim:
            async with Engine() as engine:
                candles = await engine.subscribe_candles(venue, symbol, interval,
                                                         **urls(sim, venue))
                await wait_for(lambda: candles.updates >= 2, timeout=30,
                               what="candle updates")
                cur = candles.current()
                assert cur is not None and len(cur) == 1
                assert cur["high"][0] >= cur["low"][0]
                assert candles.state == "live"
                assert candles.connection.listener.counters()["decode_errors"] == 0
    run(body, timeout=60)


def test_channel_subscribe_errors_are_clear():
    async def body():
        async with Engine() as engine:
            with pytest.raises(SubscribeError, match="no candles stream"):
                await engine.subscribe_candles("coinbase-exchange", "BTC-USD",
                                               tick_size="0.01", step_size="0.1")
            with pytest.raises(SubscribeError, match="no '7m' candles"):
                await engine.subscribe_candles("binance", "BTCUSDT", "7m",
                                               tick_size="0.01", step_size="0.1")
            bbo = await engine.subscribe_bbo("binance", "BTCUSDT", tick_size="0.01",
                                             step_size="0.1", ws_url="ws://127.0.0.1:9")
            assert bbo.state == "syncing" and bbo.channel == "bookTicker"
            with pytest.raises(SubscribeError, match="already subscribed"):
                await engine.subscribe_bbo("binance", "BTCUSDT", tick_size="0.01",
                                           step_size="0.1", ws_url="ws://127.0.0.1:9")
    run(body)


def test_engine_publishes_bbo_streams_into_shared_memory(name):
    from fastfeed.shm import Reader

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=40,
                                        trade_rate=20)) as sim:
            async with Engine(shm=name, shm_books=2) as engine:
                bbo = await engine.subscribe_bbo("binance", "BTCUSDT", **urls(sim, "binance"))
                await wait_for(lambda: bbo.recorded >= 3, timeout=30, what="BBOs")
                with Reader(name) as r:
                    m = r.market("binance", "BTCUSDT")
                    assert m.bbo_updates == bbo.recorded
                    latest = bbo.bbo()
                    assert r.bbo("binance", "BTCUSDT") == (latest.bid_price, latest.bid_size,
                                                           latest.ask_price, latest.ask_size)
    run(body, timeout=60)


def test_bbo_from_a_books_top_offline():
    import json

    from fastfeed import BboFeed, BookFeed
    book = BookFeed("binance", "BTCUSDT", "0.01", "0.001")
    bbo = BboFeed("binance", "BTCUSDT", "0.01", "0.001")
    bbo.follow_book(book)
    book.start_sync()
    book.apply_snapshot(json.dumps({"lastUpdateId": 10, "bids": [["100.00", "1.0"]],
                                    "asks": [["100.50", "2.0"]]}).encode())

    def depth(u, bids, asks):
        return json.dumps({"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": u, "u": u,
                           "b": bids, "a": asks}).encode()
    book.apply_message(depth(11, [["100.10", "3.0"]], []))      # new best bid
    book.apply_message(depth(12, [["99.00", "1.0"]], []))       # deeper: top unchanged
    book.apply_message(depth(13, [], [["100.50", "0"]]))        # best ask gone: side empty
    got = bbo.updates()
    assert got["update_id"].tolist() == [11, 13]
    top = book.book.best_bid_int()
    assert (int(got["bid_price"][-1]), int(got["bid_size"][-1])) == (int(top[0]), int(top[1]))
    assert (int(got["ask_price"][-1]), int(got["ask_size"][-1])) == (0, 0)
    bbo.unfollow_book(book)
    book.apply_message(depth(14, [["100.20", "1.0"]], []))
    assert bbo.recorded == 2


def test_engine_bbo_from_the_book_on_any_venue():
    async def body():
        async with Simulator(sim_config({"coinbase-exchange": ["BTC-USD"]}, rate=40)) as sim:
            async with Engine() as engine:
                with pytest.raises(SubscribeError, match="subscribe the book first"):
                    await engine.subscribe_bbo("coinbase-exchange", "BTC-USD", source="book")
                book = await engine.subscribe("coinbase-exchange", "BTC-USD",
                                              **urls(sim, "coinbase-exchange"))
                bbo = await engine.subscribe_bbo("coinbase-exchange", "BTC-USD",
                                                 source="book")
                assert bbo.channel == "book" and bbo.state == "live"
                await wait_for(lambda: bbo.recorded >= 3, timeout=30, what="BBOs from book")
                latest = bbo.bbo()
                assert latest.bid_price < latest.ask_price
                await engine.unsubscribe_channel(bbo)
                n = bbo.recorded
                await wait_for(lambda: book.messages > 50, timeout=30, what="more messages")
                assert bbo.recorded == n and bbo.state == "closed"
    run(body, timeout=60)


def test_per_read_bbo_and_ticker_callbacks_run_once_for_frames_read_together():
    # 50 tickers written in one go: per-read callbacks run once per socket read; the BBO
    # and ticker streams read the same messages (Coinbase: the BBO is in the ticker)
    import json

    from hostile_ws import HostileServer, frame
    calls: dict[str, list[int]] = {"bbo": [], "ticker": []}

    def ticker(i: int) -> bytes:
        return frame(0x1, json.dumps({
            "type": "ticker", "sequence": 29912240 + i, "product_id": "BTC-USD",
            "price": "40552.26", "open_24h": "40552.26", "volume_24h": "0.43526841",
            "low_24h": "40552.26", "high_24h": "40662.06", "volume_30d": "160.65999711",
            "best_bid": f"{40552 + i}.26", "best_ask": f"{40553 + i}.84", "side": "sell",
            "time": "2022-03-16T18:42:08.145773Z", "trade_id": 131414 + i,
            "last_size": "0.00002465"}).encode())

    async def body():
        async with HostileServer() as srv, Engine() as engine:
            await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                   tick_size="0.01", step_size="0.00000001", timeout=5)
            args = {"ws_url": srv.url, "tick_size": "0.01", "step_size": "0.00000001",
                    "callback_per_read": True}
            bbo = await engine.subscribe_bbo(
                "coinbase-exchange", "BTC-USD",
                callback=lambda s: calls["bbo"].append(s.recorded), **args)
            tick = await engine.subscribe_ticker(
                "coinbase-exchange", "BTC-USD",
                callback=lambda s: calls["ticker"].append(s.recorded), **args)
            await wait_for(lambda: bbo.state == "live" and tick.state == "live",
                           what="subscribed")
            await srv.attack(b"".join(ticker(i) for i in range(50)))
            await wait_for(lambda: bbo.recorded == 50 and tick.recorded == 50,
                           what="50 BBOs and tickers")
            for name in ("bbo", "ticker"):
                assert 1 <= len(calls[name]) < 50, calls
                assert calls[name][-1] == 50
            assert bbo.bbo().bid_price == (40552 + 49) * 100 + 26
    run(body, timeout=20)
