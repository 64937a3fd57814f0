"""Simulator, the Binance venue limits (docs/simulator.md#venue-limits) and the
``corrupt_level`` fault.

Real clients (aiohttp, websockets; tests/sim_client.py) over real sockets against a real
simulator. Every window is timed by ``sim.limits.clock``; the tests that depend on where
in a window a request lands replace it with a :class:`ManualClock` and step time by hand,
so a slow machine cannot move a request into or out of a window. Timeouts are hang
protection only.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets

from fastfeed.sim import SimConfig, Simulator, SymbolConfig
from fastfeed.sim.limits import TRIPS, RollingWindow
from sim_client import (
    DictBook,
    apply_live_binance,
    binance_sync,
    connect,
    get_json,
    recv_json,
    run,
    unwrap,
)

SPOT = SymbolConfig("BTCUSDT", "0.01", "0.00001", "97250.01", depth=40, levels_per_message=6, rate=50)
SPOT2 = SymbolConfig("ETHUSDT", "0.01", "0.0001", "3500", depth=30, levels_per_message=4, rate=50)
USDM = SymbolConfig("BTCUSDT", "0.10", "0.001", "97250.0", depth=40, levels_per_message=6, rate=50,
                    size_scale=1000)


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_config(**kw: Any) -> SimConfig:
    cfg = SimConfig(venues={"binance": [SPOT, SPOT2], "binance-usdm": [USDM]}, seed=11)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


async def _limits(s: aiohttp.ClientSession, sim: Simulator) -> dict[str, Any]:
    _, _, view = await get_json(s, f"{sim.rest_url('binance')}/debug/limits")
    return dict(view)


# -- the rolling window ---------------------------------------------------------------------


def test_rolling_window() -> None:
    w = RollingWindow(60.0)
    w.add(0.0, 30)
    w.add(10.0, 20)
    assert w.used(10.0) == 50 and w.wait(10.0, 10, 60) == 0.0
    assert w.wait(10.0, 20, 60) == 50.0        # the 30 spent at 0 leave at 60
    assert w.wait(10.0, 50, 60) == 60.0        # both must leave: the 20 spent at 10, at 70
    assert w.wait(10.0, 61, 60) == 60.0        # never fits: a whole window
    assert w.used(59.999) == 50 and w.used(60.0) == 20 and w.used(70.0) == 0


# -- REST weight, 429, 418 --------------------------------------------------------------------


def test_rest_weight_is_a_rolling_minute_with_binance_headers() -> None:
    async def body() -> None:
        cfg = make_config(weight_limit={"binance": 20, "binance-usdm": 6})
        async with Simulator(cfg) as sim, aiohttp.ClientSession() as s:
            clock = ManualClock()
            sim.limits.clock = clock
            rest = sim.rest_url("binance")
            spot = f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=100"    # weight 5
            for used in (5, 10, 15):
                st, h, _ = await get_json(s, spot)
                assert st == 200 and h["X-MBX-USED-WEIGHT-1M"] == str(used)
                clock.advance(20)
            st, h, _ = await get_json(s, spot)                         # t = 60: the first 5 left
            assert st == 200 and h["X-MBX-USED-WEIGHT-1M"] == "15"
            st, h, err = await get_json(s, f"{rest}/api/v3/exchangeInfo?symbol=BTCUSDT")   # weight 20
            assert st == 429 and err["code"] == -1003 and "20" in err["msg"]
            # all 15 must leave: the last 5, spent at t = 60, leave at t = 120
            assert h["Retry-After"] == "60" and h["X-MBX-USED-WEIGHT-1M"] == "15"
            # USD-M has its own budget (weight 2 for limit 50)
            for used in (2, 4, 6):
                st, h, _ = await get_json(s, f"{rest}/fapi/v1/depth?symbol=BTCUSDT&limit=50")
                assert st == 200 and h["X-MBX-USED-WEIGHT-1M"] == str(used)
            st, _, _ = await get_json(s, f"{rest}/fapi/v1/depth?symbol=BTCUSDT&limit=50")
            assert st == 429
            clock.advance(121)                                         # past every window
            st, h, _ = await get_json(s, f"{rest}/api/v3/exchangeInfo?symbol=BTCUSDT")
            assert st == 200 and h["X-MBX-USED-WEIGHT-1M"] == "20"
            view = await _limits(s, sim)
            assert view["binance"]["weight_used"] == 20 and view["binance"]["weight_limit"] == 20
            assert sim.limit_trips() == {"binance": {"rest_429": 1}, "binance-usdm": {"rest_429": 1}}

    run(body)


def test_rest_client_ignoring_429_is_banned_418_escalating() -> None:
    async def body() -> None:
        cfg = make_config(weight_limit={"binance": 10}, ban_seconds=120.0, ban_max_seconds=200.0,
                          ban_grace=1.0)
        async with Simulator(cfg) as sim, aiohttp.ClientSession() as s:
            clock = ManualClock()
            sim.limits.clock = clock
            depth = f"{sim.rest_url('binance')}/api/v3/depth?symbol=BTCUSDT&limit=100"

            async def over_budget() -> None:
                for _ in range(2):
                    assert (await get_json(s, depth))[0] == 200
                st, h, _ = await get_json(s, depth)
                assert st == 429 and h["Retry-After"] == "60"

            await over_budget()
            st, h, _ = await get_json(s, depth)          # in flight when the 429 left: 429 again
            assert st == 429 and h["Retry-After"] == "60"
            clock.advance(2)                             # not in flight: it ignored Retry-After
            st, h, err = await get_json(s, depth)
            assert st == 418 and h["Retry-After"] == "120" and err["code"] == -1003
            assert "banned until" in err["msg"]
            clock.advance(100)                           # still banned: the time left
            st, h, _ = await get_json(s, depth)
            assert st == 418 and h["Retry-After"] == "20"
            clock.advance(21)                            # ban over, and the window empty again
            await over_budget()
            clock.advance(2)
            st, h, _ = await get_json(s, depth)          # a repeat offender: twice as long, capped
            assert st == 418 and h["Retry-After"] == "200"
            view = (await _limits(s, sim))["binance"]
            assert view["bans"] == [120.0, 200.0] and view["banned_for"] == 200.0
            assert view["trips"] == {**dict.fromkeys(TRIPS, 0), "rest_429": 3, "rest_418": 3, "bans": 2}

            # bans off (ban_seconds=0): ignoring the wait earns more 429s, never a 418
            sim.config.ban_seconds = 0.0
            clock.advance(400)
            await over_budget()
            clock.advance(30)
            st, h, _ = await get_json(s, depth)
            assert st == 429 and h["Retry-After"] == "30"

    run(body)


def test_limits_off_serve_everything() -> None:
    async def body() -> None:
        cfg = make_config(weight_limit={"binance": 10}).disable_limits()
        async with Simulator(cfg) as sim, aiohttp.ClientSession() as s:
            for i in range(6):
                st, h, _ = await get_json(s, f"{sim.rest_url('binance')}/api/v3/depth?symbol=BTCUSDT&limit=100")
                assert st == 200 and h["X-MBX-USED-WEIGHT-1M"] == str(5 * (i + 1))
            url = sim.ws_url("binance") + "/ws"
            async with await connect(url) as ws:
                for i in range(12):
                    await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
                for i in range(12):
                    assert (await recv_json(ws))["id"] == i
            assert sim.limit_trips() == {}

    run(body)


# -- incoming messages per second --------------------------------------------------------------


async def _list(ws: Any, n: int, first_id: int = 0) -> None:
    """Send ``n`` LIST_SUBSCRIPTIONS and read their answers."""
    for i in range(n):
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": first_id + i}))
    for i in range(n):
        assert (await recv_json(ws))["id"] == first_id + i


async def _closed_with(ws: Any) -> tuple[int | None, str | None]:
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        while True:
            await recv_json(ws)
    return ws.close_code, ws.close_reason


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_too_many_incoming_messages_close_the_connection_1008(venue: str) -> None:
    async def body() -> None:
        usdm = venue == "binance-usdm"
        allowed = 10 if usdm else 5
        async with Simulator(make_config()) as sim:
            clock = ManualClock()
            sim.limits.clock = clock
            url = sim.ws_url(venue) + ("/public/ws" if usdm else "/ws")
            async with await connect(url, ping_interval=None) as ws:
                await _list(ws, allowed)
                clock.advance(1.0)                      # a new second: as many again
                await _list(ws, allowed, 100)
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 999}))
                assert await _closed_with(ws) == (1008, "Too many requests")
            # pings count too (and are answered)
            async with await connect(url, ping_interval=None) as ws:
                for _ in range(allowed):
                    await asyncio.wait_for(await ws.ping(), 20)
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
                assert await _closed_with(ws) == (1008, "Too many requests")
            assert sim.limit_trips() == {venue: {"incoming_rate": 2}}

    run(body)


# -- streams per connection ----------------------------------------------------------------------


def test_stream_limit_in_url_and_subscribe() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            base = sim.ws_url("binance")
            names = [f"s{i:04d}@depth" for i in range(1025)]       # unknown: accepted, silent
            async with await connect(base + "/ws/" + "/".join(names[:1024])) as ws:
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
                assert len((await recv_json(ws))["result"]) == 1024
                # a stream already carried is no new stream; one more is one too many
                await ws.send(json.dumps({"method": "SUBSCRIBE", "params": names[1000:1025], "id": 2}))
                err = await recv_json(ws)
                assert err["id"] == 2 and err["error"]["code"] == 2 and "1024" in err["error"]["msg"]
                await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": names[:1], "id": 3}))
                assert await recv_json(ws) == {"result": None, "id": 3}
                await ws.send(json.dumps({"method": "SUBSCRIBE", "params": names[1000:1025], "id": 4}))
                assert await recv_json(ws) == {"result": None, "id": 4}
            with pytest.raises(websockets.exceptions.InvalidStatus) as exc:
                await connect(base + "/ws/" + "/".join(names))
            assert exc.value.response.status_code == 400
            assert b"1025 > 1024" in exc.value.response.body
            # USD-M: its own limit (200)
            with pytest.raises(websockets.exceptions.InvalidStatus):
                await connect(sim.ws_url("binance-usdm") + "/public/ws/" + "/".join(names[:201]))
            assert sim.limit_trips() == {"binance": {"streams_subscribe": 1, "streams_url": 1},
                                         "binance-usdm": {"streams_url": 1}}

    run(body)


# -- new connections per window --------------------------------------------------------------------


def test_new_connections_per_window_refused_429() -> None:
    async def body() -> None:
        cfg = make_config(connection_limit={"binance": 3})
        async with Simulator(cfg) as sim:
            clock = ManualClock()
            sim.limits.clock = clock
            url = sim.ws_url("binance") + "/ws/btcusdt@depth"
            for _ in range(2):
                async with await connect(url) as ws:       # closed ones count: they were opened
                    await recv_json(ws)
            clock.advance(100)
            held = await connect(url)
            with pytest.raises(websockets.exceptions.InvalidStatus) as exc:
                await connect(url)
            assert exc.value.response.status_code == 429
            assert exc.value.response.headers["Retry-After"] == "200"    # the first leaves at 300
            assert json.loads(exc.value.response.body)["code"] == -1003
            # USD-M counts its own connections
            async with await connect(sim.ws_url("binance-usdm") + "/public/ws/btcusdt@depth") as ws:
                await recv_json(ws)
            clock.advance(200)                                # the first two left the window
            async with await connect(url) as ws:
                await recv_json(ws)
            await held.close()
            assert sim.limit_trips() == {"binance": {"connections_refused": 1}}
            assert sim.stats()["connections_opened"] == 5

    run(body)


# -- 1000 streams on one connection -----------------------------------------------------------------


def test_thousand_streams_on_one_connection_by_subscribe_batches() -> None:
    """A short URL, then SUBSCRIBE batches under the 5-a-second limit (real clock): every
    stream delivers, in order, and no limit trips (docs/simulator.md#many-streams)."""
    async def body() -> None:
        n, batch = 1000, 250
        syms = [SymbolConfig(f"S{i:04d}USDT", "0.01", "0.00001", "100", depth=10, levels_per_message=2,
                             rate=1.0) for i in range(n)]
        async with Simulator(SimConfig(venues={"binance": syms}, seed=3)) as sim:
            streams = [f"s{i:04d}usdt@depth@100ms" for i in range(n)]
            async with await connect(sim.ws_url("binance") + "/stream") as ws:
                for k in range(0, n, batch):                      # 4 messages
                    await ws.send(json.dumps({"method": "SUBSCRIBE", "params": streams[k:k + batch],
                                              "id": k}))
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": -1}))   # the 5th
                last_u: dict[str, int] = {}
                listed = None
                acks = 0
                while len(last_u) < n or listed is None:
                    msg = await recv_json(ws, 60)
                    if "id" in msg:
                        if msg["id"] == -1:
                            listed = msg["result"]
                        else:
                            assert msg == {"result": None, "id": msg["id"]}
                            acks += 1
                        continue
                    ev = msg["data"]
                    assert msg["stream"] == ev["s"].lower() + "@depth@100ms"
                    if ev["s"] in last_u:
                        assert ev["U"] == last_u[ev["s"]] + 1
                    last_u[ev["s"]] = ev["u"]
                assert acks == n // batch and listed == streams
            assert sim.limit_trips() == {}

    run(body, timeout=120)


def test_combined_url_of_16_kib_gets_no_http_answer() -> None:
    """picows' server (2.3.x) closes the connection without an HTTP answer when the upgrade
    request reaches 16 KiB: ~650-780 depth streams in a combined URL. This pins the
    behaviour docs/simulator.md#many-streams describes; under the size it works."""
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            names = [f"s{i:04d}usdt@depth@100ms" for i in range(1000)]
            base = sim.ws_url("binance") + "/stream?streams="
            assert len(base + "/".join(names)) > 16384
            with pytest.raises(websockets.exceptions.InvalidMessage):
                await connect(base + "/".join(names))
            async with await connect(base + "/".join(names[:600])) as ws:   # ~13 KB
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
                assert len((await recv_json(ws))["result"]) == 600

    run(body)


# -- corrupt_level --------------------------------------------------------------------------------


def test_corrupt_level_is_silent_and_truth_keeps_the_right_size() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim, aiohttp.ClientSession() as s:
            rest = sim.rest_url("binance")
            url = sim.ws_url("binance") + "/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms"
            async with await connect(url) as ws:
                book, book_id, _ = await _sync_btc(ws, s, rest)
                sim.pause()
                last = sim.truth("binance", "BTCUSDT").last_id
                while book_id < last:                          # drain what was already sent
                    book_id = await _next_btc(ws, book, book_id)
                assert _diff(sim, book, book_id) == {}
                async with s.post(f"{rest}/debug/fault", json={
                        "venue": "binance", "symbol": "BTCUSDT", "fault": "corrupt_level",
                        "params": {"side": "ask", "index": 3, "delta": 7}}) as r:
                    assert r.status == 200
                sim.step("binance", "ETHUSDT")                 # another book: untouched
                sim.step("binance", "BTCUSDT")
                book_id = await _next_btc(ws, book, book_id)   # ids contiguous (asserted inside)
                (rec,) = sim.corruptions
                truth = sim.truth("binance", "BTCUSDT", book_id)
                assert rec["last_id"] == book_id and rec["symbol"] == "BTCUSDT" and rec["side"] == "ask"
                assert truth.asks[3] == (rec["price"], rec["true_size"])
                assert rec["sent_size"] == rec["true_size"] + 7
                assert _diff(sim, book, book_id) == {("a", rec["price"]): (rec["sent_size"], rec["true_size"])}
                # a fresh snapshot has the true size: only a comparison finds the wrong one
                st, _, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=100")
                assert st == 200
                fresh = DictBook("0.01", "0.00001")
                fresh.load(snap["bids"], snap["asks"])
                assert snap["lastUpdateId"] == book_id
                assert fresh.asks[rec["price"]] == rec["true_size"] != book.asks[rec["price"]]
                sim.step("binance", "BTCUSDT")                 # used up
                await _next_btc(ws, book, book_id)
                assert len(sim.corruptions) == 1 and sim.faults_fired["corrupt_level"] == 1
            async with s.post(f"{rest}/debug/fault", json={"venue": "binance", "symbol": "BTCUSDT",
                                                          "fault": "corrupt_level",
                                                          "params": {"side": "middle"}}) as r:
                assert r.status == 400

    run(body)


async def _sync_btc(ws: Any, s: aiohttp.ClientSession, rest: str) -> tuple[DictBook, int, int]:
    """binance_sync over a combined stream that also carries ETHUSDT (skipped)."""

    class OnlyBtc:
        async def recv(self) -> str:
            while True:
                raw = await ws.recv()
                if json.loads(raw)["data"]["s"] == "BTCUSDT":
                    return str(raw)

    return await binance_sync(OnlyBtc(), s, rest, "BTCUSDT", usdm=False, tick="0.01", step="0.00001",
                              limit=100)


async def _next_btc(ws: Any, book: DictBook, book_id: int) -> int:
    while True:
        ev = unwrap(await recv_json(ws))
        if ev["s"] == "BTCUSDT":
            return apply_live_binance(book, book_id, ev, usdm=False)


def _diff(sim: Simulator, book: DictBook, book_id: int) -> dict[tuple[str, int], tuple[int | None, int | None]]:
    """{(side, price): (client size, true size)} where the client's book is wrong."""
    truth = sim.truth("binance", "BTCUSDT", book_id)
    out: dict[tuple[str, int], tuple[int | None, int | None]] = {}
    for side, mine, true in (("b", book.bids, dict(truth.bids)), ("a", book.asks, dict(truth.asks))):
        for price in mine.keys() | true.keys():
            if mine.get(price) != true.get(price):
                out[(side, price)] = (mine.get(price), true.get(price))
    return out
