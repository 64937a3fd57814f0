"""Engine lifecycle and monitoring: callbacks, latency intervals and .hlog files,
counters, clean shutdown."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest
from hdrh.log import HistogramLogReader

from e2e import run, sim_config, wait_for
from fastfeed import Engine
from fastfeed._core import BOOK_MEMORY_BOUND
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def test_callback_runs_after_each_applied_message_and_is_timed():
    seen = []

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim, Engine() as engine:
            book = await engine.subscribe("binance", "BTCUSDT",
                                          callback=lambda b: seen.append(b.last_update_id),
                                          **urls(sim, "binance"))
            await wait_for(lambda: len(seen) > 30, what="callbacks")
            assert seen == sorted(seen)                  # in order, after each apply
            assert book.recv_to_publish.total_count == len(seen)
            p = book.recv_to_apply.percentiles((50, 99))
            assert 0 < p[50.0] <= p[99.0]
            assert book.exchange_to_recv.total_count > 0
            # the simulator stamps E from the same wall clock: skew is tiny, not seconds
            assert book.exchange_to_recv.percentiles((50,))[50.0] < 1_000_000_000
    run(body)


def test_latency_intervals_rotate_into_hlog_and_callback(tmp_path):
    hlog = tmp_path / "lat.hlog"
    got = []

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine(latency_interval=0.2, hlog_path=str(hlog),
                              on_latency=lambda b, iv: got.append(iv)) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                await wait_for(lambda: len(got) >= 3, what="intervals")
                total = book.latency.cumulative("recv_to_apply").total_count
                assert total == book.messages - book.old_messages - book.buffered
                assert set(book.last_intervals) == {"recv_to_apply", "recv_to_publish",
                                                    "exchange_to_recv", "resync_duration"}
                # the connection holds the same samples at full precision
                conn = book.connection.latency.cumulative("recv_to_apply")
                assert conn.total_count == total
                assert conn.significant_figures == 3
                assert book.recv_to_apply.significant_figures == 1    # coarse default
    run(body)
    reader = HistogramLogReader(str(hlog), None)
    tags = set()
    count = 0
    while (hist := reader.get_next_interval_histogram()) is not None:
        tags.add(hist.get_tag())
        count += hist.get_total_count()
    assert "binance:BTCUSDT:recv_to_apply" in tags
    assert "binance:connection-0:recv_to_apply" in tags
    assert count > 0


def test_book_latency_off_keeps_connection_latency(tmp_path):
    hlog = tmp_path / "lat.hlog"
    got = []

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine(latency_interval=0.2, hlog_path=str(hlog), book_latency="off",
                              on_latency=lambda b, iv: got.append(iv)) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                conn = book.connection
                await wait_for(lambda: len(conn.last_intervals) == 4
                               and conn.latency.cumulative("recv_to_apply").total_count > 5,
                               what="connection intervals")
                assert book.latency is None and book.recv_to_apply is None
                assert engine.stats()["books"]["binance:BTCUSDT"]["memory"]["latency"] < 100
    run(body)
    assert got == []                    # no per-book intervals to report
    reader = HistogramLogReader(str(hlog), None)
    tags = set()
    while (hist := reader.get_next_interval_histogram()) is not None:
        tags.add(hist.get_tag())
    assert tags and all(t.startswith("binance:connection-0:") for t in tags)


def test_close_leaves_no_tasks_sockets_or_warnings():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"],
                                         "coinbase": ["BTC-USD"]})) as sim:
            engine = Engine(latency_interval=0.1)
            await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
            await engine.subscribe("coinbase", "BTC-USD", **urls(sim, "coinbase"))
            before = {t for t in asyncio.all_tasks() if "fastfeed" in t.get_name()}
            assert before
            await engine.close()
            await asyncio.sleep(0.05)
            left = [t for t in asyncio.all_tasks()
                    if "fastfeed" in t.get_name() and not t.done()]
            assert left == []
            assert all(not c.connected for c in engine.connections)
            assert all(b.state == "closed" for b in engine.books)
            await engine.close()                          # idempotent

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(body)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_stats_report_connections_books_and_rest():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim, Engine() as engine:
            await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
            stats = engine.stats()
            assert stats["connections"][0]["connected"] is True
            assert stats["connections"][0]["frames"] >= 1
            assert stats["books"]["binance:BTCUSDT"]["state"] == "live"
            rest = next(iter(stats["rest"].values()))
            assert rest["requests"] >= 2                  # exchangeInfo + depth
            # memory: the totals are the sums of what each book and connection reports
            mem = stats["memory"]
            book_mem = stats["books"]["binance:BTCUSDT"]["memory"]
            conn_mem = stats["connections"][0]["memory"]
            assert mem["books"]["count"] == 1 and mem["connections"]["count"] == 1
            for part in ("levels", "latency", "scratch", "buffer", "objects", "total"):
                assert mem["books"][part] == book_mem[part], part
            assert mem["connections"]["total"] == conn_mem["total"] == sum(
                conn_mem[p] for p in ("latency", "scratch", "objects"))
            assert conn_mem["latency"] > 0 and conn_mem["scratch"] > 0
            assert mem["shm"] == 0
            assert mem["total"] == book_mem["total"] + conn_mem["total"]
            assert mem["books"]["max_beyond_levels"] == book_mem["beyond_levels"]
            assert book_mem["beyond_levels"] <= BOOK_MEMORY_BOUND
    run(body)


def test_silent_connection_is_detected_and_reopened():
    # a hung server: no data, no pings, no pong to the engine's keep-alive PING
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim:
            async with Engine(stale_after=0.5) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                conn = book.connection
                sim.inject("binance", "BTCUSDT", "stall", seconds=2.0, frozen=True)
                await wait_for(lambda: conn.stale_disconnects >= 1, what="stale detection")
                assert conn.keepalive_pings >= 1, "the engine asked before giving up"
                assert "not even a pong" in conn.last_error
                await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=15,
                               what="reconnect")
    run(body)


def test_quiet_market_keeps_its_connection():
    # Binance sends nothing for a symbol whose book does not change: the engine's PINGs
    # (answered) keep such a connection open instead of reopening it every stale_after
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=0)) as sim:
            async with Engine(stale_after=0.4, first_event_timeout=0.05) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                conn = book.connection
                await wait_for(lambda: conn.keepalive_pings >= 4, timeout=15,
                               what="keep-alive pings over several stale_after periods")
                assert conn.stale_disconnects == 0 and conn.connects == 1
                assert book.is_live and book.resyncs == 0
                # pings share the control budget: never over the venue's limit
                assert sim.limit_trips() == {}
    run(body)


def test_stalled_feed_behind_a_live_socket():
    # Binance: the socket answers pings, the data stopped. The connection is kept (this
    # is what a quiet market looks like too); book_stale_after is what resyncs the book.
    # Coinbase promises heartbeats: the same stall there reopens the connection.
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"],
                                         "coinbase": ["BTC-USD"]})) as sim:
            async with Engine(stale_after=0.5, book_stale_after=0.5) as engine:
                bn = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                cb = await engine.subscribe("coinbase", "BTC-USD", **urls(sim, "coinbase"))
                sim.inject("binance", "BTCUSDT", "stall", seconds=2.0)
                sim.inject("coinbase", "BTC-USD", "stall", seconds=2.0)
                await wait_for(lambda: cb.connection.stale_disconnects >= 1,
                               what="coinbase: heartbeats stopped")
                assert "heartbeats stopped" in cb.connection.last_error
                await wait_for(lambda: bn.connection.stats()["stale_books"] >= 1,
                               what="binance: the silent book resynced")
                assert bn.connection.stale_disconnects == 0
                assert bn.connection.connects == 1
                await bn.wait_live(15)
                await cb.wait_live(15)
    run(body)


def test_failing_callback_is_counted_not_fatal():
    def boom(book):
        raise RuntimeError("user bug")

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]})) as sim, Engine() as engine:
            book = await engine.subscribe("binance", "BTCUSDT", callback=boom,
                                          **urls(sim, "binance"))
            await wait_for(lambda: book.callback_errors > 20, what="callbacks")
            assert book.connection.connects == 1         # the connection survived
            assert book.is_live
    run(body)


def test_unsubscribe_closes_one_book_and_keeps_the_other():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT", "ETHUSDT"]})) as sim:
            async with Engine() as engine:
                btc, eth = await engine.subscribe_many(
                    [("binance", "BTCUSDT"), ("binance", "ETHUSDT")], **urls(sim, "binance"))
                conn = btc.connection
                sent = conn.control_sent
                await engine.unsubscribe(btc)
                assert btc.state == "closed" and btc not in engine.books
                frozen = btc.messages
                await wait_for(lambda: conn.control_sent == sent + 1, what="UNSUBSCRIBE sent")
                before = eth.messages
                await wait_for(lambda: eth.messages > before + 10, what="traffic")
                assert btc.messages == frozen and eth.is_live
                with pytest.raises(KeyError):
                    engine.book("binance", "BTCUSDT")
                assert engine.book("binance", "ethusdt") is eth
    run(body)
