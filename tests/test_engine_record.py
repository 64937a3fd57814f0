"""End to end over real loopback sockets: Engine(record=) against the simulator, then a
replay of the file (no sockets) must hold exactly the books, trades and states the live
engine held, which equal the simulator's truth at the pause (docs/recording.md)."""

from __future__ import annotations

import asyncio
import json

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import Engine
from fastfeed._record import EVENT
from fastfeed.recording import Recording, split_meta
from fastfeed.replay import Replay, book_json
from fastfeed.sim import Simulator


def urls(sim, venue):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


def trade_rows(stream):
    # recv_ns is the receive time mapped through two processes' clocks: compared apart
    t = stream.trades()
    return [(int(r["exchange_ns"]), int(r["trade_id"]), int(r["price"]), int(r["size"]),
             int(r["side"])) for r in t]


def first_time(rec, kind, key, name):
    for _info, r in rec.records():
        if r.kind == kind and split_meta(r.payload)[0].get(key) == name:
            return r.t_ns
    raise AssertionError(f"no {name} recorded")


def test_record_with_gap_and_reconnect_replays_to_the_live_books(tmp_path):
    path = str(tmp_path / "session.ffrec")
    specs = {"binance": ["BTCUSDT", "ETHUSDT"], "coinbase": ["BTC-USD"]}

    async def body():
        cfg = sim_config(specs, rate=200.0, trade_rate=20.0)
        async with Simulator(cfg) as sim:
            async with Engine(record=path) as engine:
                books = [await engine.subscribe(v, s, **urls(sim, v))
                         for v, symbols in specs.items() for s in symbols]
                trades = [await engine.subscribe_trades(v, s, **urls(sim, v))
                          for v, symbols in specs.items() for s in symbols]
                await wait_for(lambda: all(b.messages > 30 for b in books), what="traffic")
                sim.inject("binance", "BTCUSDT", "drop")            # a gap: REST resync
                sim.inject("coinbase", "BTC-USD", "drop")           # a sequence_num jump
                await wait_for(lambda: books[0].resyncs >= 1 and books[2].resyncs >= 1,
                               what="resyncs after the gaps")
                sim.inject("binance", "ETHUSDT", "disconnect")      # a reconnect
                await wait_for(lambda: any(c.connects >= 2 for c in engine.connections),
                               what="reconnect")
                await wait_for(lambda: all(b.state == "live" for b in books), what="live")
                await wait_for(lambda: all(t.recorded > 5 for t in trades), what="trades")
                await settle(sim, books)
                for book in books:
                    assert_exact(sim, book)
                await asyncio.sleep(0.2)       # trades in flight at the pause land
                live = {(b.venue, b.symbol): book_json(b) for b in books}
                live_trades = {(t.venue, t.symbol): trade_rows(t) for t in trades}
                live_states = {(t.venue, t.symbol): t.state for t in trades}
                recorded_frames = sum(c.listener.frames for c in engine.connections
                                      if c.listener is not None)
            stats = engine.stats()["recording"]
        return live, live_trades, live_states, stats, recorded_frames

    live, live_trades, live_states, stats, _frames = run(body, timeout=90)
    assert stats["dropped_frames"] == 0 and stats["frames"] > 0

    with Recording(path) as rec:
        assert rec.complete and not rec.problems
        closing = first_time(rec, EVENT, "event", "closing")
        # replay up to the engine's close(): the books as the live engine held them
        replay = Replay(rec).run(until_ns=closing - 1)
        for key, expected in live.items():
            assert book_json(replay.books[key]) == expected, key
        for key, rows in live_trades.items():
            assert trade_rows(replay.trades[key]) == rows, key
            assert replay.trades[key].state == live_states[key], key
        replay.run()            # the rest: the close operations
    assert not replay.problems, replay.problems
    assert replay.frames == stats["frames"]
    assert replay.ops["snapshot"] >= 3                   # initial + resync + after reconnect
    assert replay.ops["connect"] >= 3 and replay.events["disconnect"] >= 1
    assert all(b.state == "closed" for b in replay.books.values())
    # Book JSON lines: every book once, exact decimal strings
    lines = [json.loads(x) for x in replay.book_lines()]
    assert {(x["venue"], x["symbol"]) for x in lines} == set(live)
    assert all(isinstance(p, str) and isinstance(q, str) for x in lines for p, q in x["bids"])


def test_replay_until_a_time_stops_there_and_resumes(tmp_path):
    path = str(tmp_path / "short.ffrec")

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT"]}, rate=200.0)) as sim:
            async with Engine(record=path) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", **urls(sim, "binance"))
                await wait_for(lambda: book.messages > 100, what="traffic")
                await settle(sim, [book])
                return book_json(book)

    expected = run(body)
    with Recording(path) as rec:
        middle = (rec.chunks[0].first_ns + rec.chunks[-1].last_ns) // 2
        replay = Replay(rec).run(until_ns=middle)
        part = replay.frames
        book = replay.books[("binance", "BTCUSDT")]
        assert 0 < part and book.last_update_id < expected["update_id"]
        replay.run()        # the rest
        assert replay.frames > part
        assert book_json(book)["bids"] == expected["bids"]
