"""Simulator, Binance spot and USD-M: protocol, sync against ground truth, REST, faults.

Every test talks to a real simulator over 127.0.0.1 with an independent client
(tests/sim_client.py). Timeouts are hang protection only.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from itertools import pairwise
from typing import Any

import aiohttp
import pytest
import websockets

from fastfeed.sim import FaultSpec, SimConfig, Simulator, SymbolConfig
from fastfeed.sim.model import BookModel
from sim_client import (
    DictBook,
    apply_live_binance,
    binance_sync,
    connect,
    count_invalid,
    get_json,
    recv_json,
    run,
    to_int,
    unwrap,
)

SPOT = SymbolConfig("BTCUSDT", "0.01", "0.00001", "97250.01", depth=40, levels_per_message=6, rate=200)
SPOT2 = SymbolConfig("ETHUSDT", "0.01", "0.0001", "3500", depth=30, levels_per_message=4, rate=100)
USDM = SymbolConfig("BTCUSDT", "0.10", "0.001", "97250.0", depth=40, levels_per_message=6, rate=200,
                    size_scale=1000)


def make_config(**kw: Any) -> SimConfig:
    cfg = SimConfig(venues={"binance": [SPOT, SPOT2], "binance-usdm": [USDM]}, seed=7)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def assert_truth(sim: Simulator, venue: str, symbol: str, book: DictBook, book_id: int) -> None:
    truth = sim.truth(venue, symbol, book_id)
    assert truth.last_id == book_id
    bids, asks = book.sorted()
    assert bids == truth.bids
    assert asks == truth.asks


# -- model ------------------------------------------------------------------------------------


def _model(seed: int = 3, symbol: str = "BTCUSDT") -> BookModel:
    return BookModel(symbol=symbol, seed=seed, tick_size="0.01", step_size="0.00001", mid_price="100.00",
                     depth=25, levels_per_message=8, move_prob=0.3, size_scale=500, history=3000)


def test_model_deterministic_and_sane() -> None:
    a, b, c = _model(), _model(), _model(seed=4)
    ma = [a.step() for _ in range(3000)]
    mb = [b.step() for _ in range(3000)]
    mc = [c.step() for _ in range(50)]
    assert ma == mb
    assert ma[:50] != mc
    prev = ma[0].prev_id
    mids = set()
    for m in ma:
        assert m.first_id == prev + 1 and m.last_id >= m.first_id  # spot: contiguous ids
        assert m.bids or m.asks
        prev = m.last_id
    # Replay every message over the initial state: never crossed, depth kept, equal to truth.
    state = _model().snapshot()
    for m in ma:
        for p, q in m.bids:
            state.bids.pop(p, None) if q == 0 else state.bids.__setitem__(p, q)
        for p, q in m.asks:
            state.asks.pop(p, None) if q == 0 else state.asks.__setitem__(p, q)
        assert max(state.bids) < min(state.asks)
        assert len(state.bids) == 25 and len(state.asks) == 25
        mids.add(max(state.bids) + min(state.asks))
    assert state.bids == a.bids and state.asks == a.asks
    assert len(mids) > 20  # the mid price walks
    # History: the state as of an older message.
    old = a.book_at(ma[-100].last_id)
    assert old.last_id == ma[-100].last_id
    with pytest.raises(LookupError):
        a.book_at(ma[0].prev_id - 5)


def test_usdm_ids_skip_but_pu_chains() -> None:
    m = BookModel(symbol="BTCUSDT", seed=1, tick_size="0.1", step_size="0.001", mid_price="97000",
                  depth=10, levels_per_message=3, move_prob=0.1, size_scale=100, history=100, id_skip=True)
    msgs = [m.step() for _ in range(200)]
    assert all(b.prev_id == a.last_id for a, b in pairwise(msgs))
    assert any(x.first_id != x.prev_id + 1 for x in msgs)


# -- protocol and sync ----------------------------------------------------------------------


@pytest.mark.parametrize("combined", [False, True])
def test_spot_sync_reproduces_truth(combined: bool) -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim, aiohttp.ClientSession() as s:
            base = sim.ws_url("binance")
            url = base + ("/stream?streams=btcusdt@depth@100ms" if combined else "/ws/btcusdt@depth@100ms")
            async with await connect(url) as ws:
                if combined:
                    raw = await recv_json(ws)
                    assert raw["stream"] == "btcusdt@depth@100ms" and raw["data"]["e"] == "depthUpdate"
                book, book_id, _ = await binance_sync(ws, s, sim.rest_url("binance"), "BTCUSDT",
                                                      usdm=False, tick="0.01", step="0.00001")
                assert_truth(sim, "binance", "BTCUSDT", book, book_id)
                checkpoints = []
                for i in range(120):
                    ev = unwrap(await recv_json(ws))
                    assert ev["s"] == "BTCUSDT" and ev["e"] == "depthUpdate"
                    assert list(ev) == ["e", "E", "s", "U", "u", "b", "a"]
                    for p, q in ev["b"] + ev["a"]:
                        assert len(p.split(".")[1]) == 8 and len(q.split(".")[1]) == 8
                    book_id = apply_live_binance(book, book_id, ev, usdm=False)
                    book.assert_not_crossed()
                    if i % 40 == 0:
                        checkpoints.append((book_id, book.sorted()))
                assert_truth(sim, "binance", "BTCUSDT", book, book_id)
                # Ground truth for older ids (history).
                for cid, (bids, asks) in checkpoints:
                    t = sim.truth("binance", "BTCUSDT", cid)
                    assert (t.bids, t.asks) == (bids, asks)

    run(body)


def test_usdm_sync_reproduces_truth_on_public_route() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim, aiohttp.ClientSession() as s:
            url = sim.ws_url("binance-usdm") + "/public/stream?streams=btcusdt@depth@100ms"
            async with await connect(url) as ws:
                book, book_id, _ = await binance_sync(ws, s, sim.rest_url("binance-usdm"), "BTCUSDT",
                                                      usdm=True, tick="0.10", step="0.001")
                assert_truth(sim, "binance-usdm", "BTCUSDT", book, book_id)
                for _ in range(100):
                    msg = await recv_json(ws)
                    ev = msg["data"]
                    assert list(ev) == ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]
                    book_id = apply_live_binance(book, book_id, ev, usdm=True)
                assert_truth(sim, "binance-usdm", "BTCUSDT", book, book_id)
            # Raw route too.
            async with await connect(sim.ws_url("binance-usdm") + "/public/ws/btcusdt@depth") as ws:
                ev = await recv_json(ws)
                assert ev["e"] == "depthUpdate" and "pu" in ev

    run(body)


def test_usdm_depth_on_other_routes_is_silent() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            base = sim.ws_url("binance-usdm")
            for path in ("/market/ws/btcusdt@depth", "/market/stream?streams=btcusdt@depth",
                         "/binance-usdm/ws/btcusdt@depth", "/public/ws/BTCUSDT@depth"):
                async with await connect(base + path) as ws:
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(ws.recv(), 0.4)
            # The prefixed public route works.
            async with await connect(base + "/binance-usdm/public/ws/btcusdt@depth@500ms") as ws:
                assert "pu" in await recv_json(ws)

    run(body)


def test_subscribe_method_list_and_limits() -> None:
    async def body() -> None:
        cfg = make_config()
        cfg.max_streams = {"binance": 3, "binance-usdm": 2}
        async with Simulator(cfg) as sim:
            base = sim.ws_url("binance")
            async with await connect(base + "/ws") as ws:
                await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@depth", "ethusdt@depth@100ms"],
                                          "id": 1}))
                assert await ws.recv() == '{"result":null,"id":1}'
                seen: set[str] = set()
                while seen != {"BTCUSDT", "ETHUSDT"}:
                    ev = await recv_json(ws)
                    if "result" not in ev:
                        seen.add(ev["s"])
                await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["a@depth", "b@depth"], "id": 2}))
                while True:
                    ev = await recv_json(ws)
                    if ev.get("id") == 2:
                        break
                assert ev["error"]["code"] == 2 and "too many" in ev["error"]["msg"]
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
                while True:
                    ev = await recv_json(ws)
                    if ev.get("id") == 3:
                        break
                assert ev["result"] == ["btcusdt@depth", "ethusdt@depth@100ms"]
            # Too many streams in the URL: the handshake is refused.
            with pytest.raises(websockets.exceptions.InvalidStatus) as exc:
                await connect(sim.ws_url("binance-usdm") + "/public/stream?streams=a@depth/b@depth/c@depth")
            assert exc.value.response.status_code == 400
            with pytest.raises(websockets.exceptions.InvalidStatus):
                await connect(base + "/nope")

    run(body)


# -- REST --------------------------------------------------------------------------------------


def test_rest_depth_exchange_info_and_weights() -> None:
    async def body() -> None:
        cfg = make_config()
        cfg.weight_limit = {"binance": 80, "binance-usdm": 2400}
        async with Simulator(cfg) as sim, aiohttp.ClientSession() as s:
            rest = sim.rest_url("binance")
            st, h, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=5")
            assert st == 200 and list(snap) == ["lastUpdateId", "bids", "asks"]
            assert len(snap["bids"]) == 5 and len(snap["asks"]) == 5
            assert len(snap["bids"][0][0].split(".")[1]) == 8
            assert h["X-MBX-USED-WEIGHT-1M"] == "5"
            st, h, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT")
            assert st == 200 and len(snap["bids"]) == 40 and h["X-MBX-USED-WEIGHT-1M"] == "10"
            st, h, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=500")
            assert st == 200 and h["X-MBX-USED-WEIGHT-1M"] == "35"
            st, _, err = await get_json(s, f"{rest}/api/v3/depth?symbol=NOPE")
            assert st == 400 and err == {"code": -1121, "msg": "Invalid symbol."}
            st, _, info = await get_json(s, f"{rest}/api/v3/exchangeInfo?symbol=BTCUSDT")
            assert st == 200
            (sym,) = info["symbols"]
            filters = {f["filterType"]: f for f in sym["filters"]}
            assert sym["symbol"] == "BTCUSDT"
            assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
            assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
            st, _, info = await get_json(s, f'{rest}/api/v3/exchangeInfo?symbols=["BTCUSDT","ETHUSDT"]')
            assert [x["symbol"] for x in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
            st, _, err = await get_json(s, f"{rest}/api/v3/exchangeInfo?symbol=XXX")
            assert st == 400 and err["code"] == -1121
            # 35 + 2 x 20 spent; 50 more is over the 80 (the limits: tests/test_sim_limits.py)
            st, h, err = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=1000")
            assert st == 429 and int(h["Retry-After"]) >= 1 and err["code"] == -1003
            assert h["X-MBX-USED-WEIGHT-1M"] == "75"
            # USD-M
            st, h, snap = await get_json(s, f"{rest}/fapi/v1/depth?symbol=BTCUSDT&limit=50")
            assert st == 200 and list(snap) == ["lastUpdateId", "E", "T", "bids", "asks"]
            assert h["X-MBX-USED-WEIGHT-1M"] == "2"
            st, _, err = await get_json(s, f"{rest}/fapi/v1/depth?symbol=BTCUSDT&limit=7")
            assert st == 400
            st, _, info = await get_json(s, f"{rest}/fapi/v1/exchangeInfo")
            filters = {f["filterType"]: f for f in info["symbols"][0]["filters"]}
            assert filters["PRICE_FILTER"]["tickSize"] == "0.10"

    run(body)


# -- faults ------------------------------------------------------------------------------------


async def _events(ws: Any, n: int) -> list[dict[str, Any]]:
    return [unwrap(await recv_json(ws)) for _ in range(n)]


def test_fault_drop_duplicate_reorder() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("binance") + "/ws/btcusdt@depth") as ws:
                # Messages already in flight when a fault is injected are unaffected, so every
                # check looks at the whole sequence received so far.
                evs = await _events(ws, 3)
                sim.inject("binance", "BTCUSDT", "drop", count=2)
                evs += await _events(ws, 6)
                gaps = [b["U"] - a["u"] - 1 for a, b in pairwise(evs)]
                assert sum(1 for g in gaps if g > 0) == 1
                evs = await _events(ws, 1)
                sim.inject("binance", "BTCUSDT", "duplicate")
                evs += await _events(ws, 6)
                assert sum(1 for a, b in pairwise(evs) if a == b) == 1
                evs = await _events(ws, 1)
                sim.inject("binance", "BTCUSDT", "reorder")
                evs += await _events(ws, 6)
                assert sum(1 for a, b in pairwise(evs) if b["u"] < a["U"]) == 1
                ids = sorted((e["U"], e["u"]) for e in evs)
                assert all(b[0] == a[1] + 1 for a, b in pairwise(ids))  # nothing lost
            assert sim.faults_fired["drop"] == 2
            assert sim.faults_fired["duplicate"] == 1 and sim.faults_fired["reorder"] == 1

    run(body)


def test_fault_malformed_truncated_oversized() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("binance") + "/stream?streams=btcusdt@depth") as ws:
                await recv_json(ws)
                sim.inject("binance", "BTCUSDT", "malformed")
                assert await count_invalid(ws, 15) == 1
                sim.inject("binance", "BTCUSDT", "truncated")
                bad = 0
                for _ in range(15):
                    raw = await ws.recv()
                    try:
                        json.loads(raw)
                    except ValueError:
                        bad += 1
                        assert raw.startswith('{"stream":"btcusdt@depth","data":{"e":"depthUpdate"')
                assert bad == 1
                sim.inject("binance", "BTCUSDT", "oversized", size=2 * 1024 * 1024)
                sizes = []
                for _ in range(12):
                    raw = await ws.recv()
                    sizes.append(len(raw))
                    json.loads(raw)  # valid JSON
                assert max(sizes) >= 2 * 1024 * 1024
            # Oversized padding is semantically neutral: a synced client stays exact.
            async with await connect(sim.ws_url("binance") + "/ws/btcusdt@depth") as ws, \
                    aiohttp.ClientSession() as s:
                book, book_id, _ = await binance_sync(ws, s, sim.rest_url("binance"), "BTCUSDT", usdm=False,
                                                      tick="0.01", step="0.00001")
                sim.inject("binance", "BTCUSDT", "oversized", size=300_000)
                for _ in range(5):
                    book_id = apply_live_binance(book, book_id, await recv_json(ws), usdm=False)
                assert_truth(sim, "binance", "BTCUSDT", book, book_id)
            # Socket-level truncation: the frame is cut and the TCP connection closed.
            async with await connect(sim.ws_url("binance") + "/ws/btcusdt@depth") as ws:
                await recv_json(ws)
                sim.inject("binance", "BTCUSDT", "truncated", mode="socket")
                with pytest.raises(websockets.exceptions.ConnectionClosedError) as exc:
                    for _ in range(50):
                        json.loads(await ws.recv())
                assert exc.value.rcvd is None

    run(body)


def test_fault_disconnect_and_routine_close() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("binance") + "/ws/btcusdt@depth") as ws:
                await recv_json(ws)
                # Quiesce so that nothing sent before the injection is still in flight.
                sim.pause()
                with pytest.raises(asyncio.TimeoutError):
                    while True:
                        await asyncio.wait_for(ws.recv(), 0.3)
                sim.inject("binance", "BTCUSDT", "disconnect", after_messages=3)
                sim.resume()
                got = 0
                with pytest.raises(websockets.exceptions.ConnectionClosedError) as exc:
                    while True:
                        await recv_json(ws)
                        got += 1
                assert got == 3
                assert exc.value.rcvd is None  # no close frame
            # Injected before anyone connects: applies to the next subscriber.
            sim.inject("binance", "BTCUSDT", "close", after_messages=2, code=1001, reason="24h")
            async with await connect(sim.ws_url("binance") + "/ws/btcusdt@depth") as ws:
                got = 0
                with pytest.raises(websockets.exceptions.ConnectionClosed) as cexc:
                    while True:
                        await recv_json(ws)
                        got += 1
                assert got == 2
                assert cexc.value.rcvd is not None and cexc.value.rcvd.code == 1001
                assert cexc.value.rcvd.reason == "24h"
            async with await connect(sim.ws_url("binance-usdm") + "/public/ws/btcusdt@depth") as ws:
                await recv_json(ws)
                sim.inject("binance-usdm", "*", "close", after_seconds=0.2)
                with pytest.raises(websockets.exceptions.ConnectionClosedOK):
                    while True:
                        await recv_json(ws)
            assert sim.faults_fired["disconnect"] == 1 and sim.faults_fired["close"] == 2

    run(body)


def test_fault_stall_keeps_connection_and_order() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("binance") + "/ws/btcusdt@depth") as ws:
                last = (await recv_json(ws))["u"]
                sim.inject("binance", "BTCUSDT", "stall", seconds=1.5)
                # Drain anything already in flight, then expect silence for a while.
                with pytest.raises(asyncio.TimeoutError):
                    while True:
                        last = json.loads(await asyncio.wait_for(ws.recv(), 0.5))["u"]
                # Afterwards the queued messages arrive in order, no gap.
                for _ in range(20):
                    ev = await recv_json(ws)
                    assert ev["U"] == last + 1
                    last = ev["u"]
                # Pings keep flowing during stalls: the connection is alive.
                await asyncio.wait_for(ws.ping(), 5)

    run(body)


def test_fault_snapshots_and_http_errors() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim, aiohttp.ClientSession() as s:
            rest = sim.rest_url("binance")
            async with await connect(sim.ws_url("binance") + "/ws/btcusdt@depth@100ms") as ws:
                first = await recv_json(ws)
                sim.inject("binance", "BTCUSDT", "stale_snapshot")
                st, _, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=100")
                assert st == 200 and snap["lastUpdateId"] < first["U"]
                # The stale snapshot is a real past state (ground truth agrees).
                t = sim.truth("binance", "BTCUSDT", snap["lastUpdateId"])
                assert [to_int(p, "0.01") for p, _ in snap["bids"]] == [p for p, _ in t.bids]
                st, _, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=100")
                assert snap["lastUpdateId"] >= first["U"]
                # Slow snapshot: captured on arrival, delivered `delay` later.
                sim.inject("binance", "BTCUSDT", "slow_snapshot", delay=0.6)
                t0 = time.monotonic()
                st, _, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=100")
                assert st == 200 and time.monotonic() - t0 >= 0.55
            sim.inject("binance", "*", "http_429", count=2, retry_after=3)
            for _ in range(2):
                st, h, err = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT")
                assert st == 429 and h["Retry-After"] == "3" and err["code"] == -1003
            sim.inject("binance", "BTCUSDT", "http_418", retry_after=7)
            st, h, err = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT")
            assert st == 418 and h["Retry-After"] == "7"
            sim.inject("binance-usdm", "BTCUSDT", "http_500", count=1)
            st, _, _ = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT")
            assert st == 200  # other venue unaffected
            st, _, err = await get_json(s, f"{rest}/fapi/v1/depth?symbol=BTCUSDT")
            assert st == 500 and err["code"] == -1000
            st, _, _ = await get_json(s, f"{rest}/fapi/v1/depth?symbol=BTCUSDT")
            assert st == 200

    run(body)


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_stale_snapshot_right_after_start(venue: str) -> None:
    """No sleep before subscribing: the stale snapshot is still older than the stream by at
    least lag + 1 update ids, so neither sync rule accepts it (spot: U <= lastUpdateId + 1
    is a valid overlap; USD-M: U <= lastUpdateId <= u)."""
    async def body() -> None:
        usdm = venue == "binance-usdm"
        sym = USDM if usdm else SymbolConfig("BTCUSDT", "0.01", "0.00001", "97250.01", depth=40, rate=200,
                                              start_id=5000)
        # A start-up fault with a lag beyond the default pre-history, then two injected live.
        cfg = SimConfig(venues={venue: [sym]}, seed=5,
                        faults=[FaultSpec(venue, "BTCUSDT", "stale_snapshot", {"lag": 40})])
        async with Simulator(cfg) as sim, aiohttp.ClientSession() as s:
            rest, path = sim.rest_url(venue), "/fapi/v1/depth" if usdm else "/api/v3/depth"
            url = sim.ws_url(venue) + ("/public/ws/btcusdt@depth" if usdm else "/ws/btcusdt@depth")
            async with await connect(url) as ws:
                first = await recv_json(ws)
                if not usdm:
                    # start_id kept: the book at start had id 5000 (the pre-history lies below).
                    assert sim.truth(venue, "BTCUSDT", 5000).last_id == 5000 and first["U"] >= 5001
                sim.inject(venue, "BTCUSDT", "stale_snapshot", count=2, lag=0)
                sim.inject(venue, "BTCUSDT", "stale_snapshot", lag=3)
                for lag in (40, 0, 0, 3):
                    st, _, snap = await get_json(s, f"{rest}{path}?symbol=BTCUSDT&limit=1000")
                    assert st == 200
                    last = snap["lastUpdateId"]
                    assert first["U"] - 1 - last >= lag + 1, (lag, first["U"], last)
                    assert not first["U"] <= last + 1  # spot: a gap, not an overlap
                    assert not first["U"] <= last <= first["u"]  # USD-M: no bridging event
                    t = sim.truth(venue, "BTCUSDT", last)  # a real past state
                    assert t.last_id == last
                    tick = "0.10" if usdm else "0.01"
                    assert [to_int(p, tick) for p, _ in snap["bids"]] == [p for p, _ in t.bids]
                st, _, snap = await get_json(s, f"{rest}{path}?symbol=BTCUSDT&limit=1000")
                assert snap["lastUpdateId"] >= first["U"] - 1  # faults used up: current again
            assert sim.faults_fired["stale_snapshot"] == 4

    run(body)


def test_startup_faults_and_debug_endpoints() -> None:
    async def body() -> None:
        cfg = make_config(faults=[FaultSpec("binance", "ETHUSDT", "http_500", {"count": 1})])
        async with Simulator(cfg) as sim, aiohttp.ClientSession() as s:
            rest = sim.rest_url("binance")
            st, _, _ = await get_json(s, f"{rest}/api/v3/depth?symbol=ETHUSDT")
            assert st == 500
            async with s.post(f"{rest}/debug/fault", json={"venue": "binance", "symbol": "BTCUSDT",
                                                          "fault": "drop", "params": {"count": 1}}) as r:
                assert r.status == 200
            async with s.post(f"{rest}/debug/fault", json={"venue": "binance", "symbol": "BTCUSDT",
                                                          "fault": "explode"}) as r:
                assert r.status == 400
            await asyncio.sleep(0.3)  # let some history accumulate
            async with s.post(f"{rest}/debug/pause") as r:
                assert (await r.json())["paused"] is True
            await asyncio.sleep(0.05)
            st, _, t1 = await get_json(s, f"{rest}/debug/truth?venue=binance&symbol=BTCUSDT")
            await asyncio.sleep(0.1)
            st, _, t2 = await get_json(s, f"{rest}/debug/truth?venue=binance&symbol=BTCUSDT")
            assert st == 200 and t1 == t2  # paused: the book does not move
            assert len(t1["bids"]) == 40 and t1["bids"][0][0].count(".") == 1
            st, _, old = await get_json(s, f"{rest}/debug/truth?venue=binance&symbol=BTCUSDT&last_id={t1['last_id'] - 30}")
            assert st == 200 and old["last_id"] <= t1["last_id"] - 30
            async with s.post(f"{rest}/debug/resume") as r:
                assert (await r.json())["paused"] is False
            st, _, stats = await get_json(s, f"{rest}/debug/stats")
            assert stats["faults_fired"]["http_500"] == 1 and "binance:BTCUSDT" in stats["markets"]

    run(body)


# -- burst -------------------------------------------------------------------------------------


@pytest.mark.parametrize("venue", ["binance", "binance-usdm"])
def test_burst_matches_truth(venue: str) -> None:
    async def body() -> None:
        usdm = venue == "binance-usdm"
        sc = SymbolConfig("BTCUSDT", "0.01", "0.00001", "97250", depth=50, levels_per_message=10, burst=3000,
                          burst_snapshot_index=5)
        async with Simulator(SimConfig(venues={venue: [sc]})) as sim, aiohttp.ClientSession() as s:
            rest = sim.rest_url(venue)
            path = "/fapi/v1/depth" if usdm else "/api/v3/depth"
            # The snapshot is frozen inside the burst's id range: fetch it first, then stream.
            _, _, snap = await get_json(s, f"{rest}{path}?symbol=BTCUSDT&limit=1000")
            url = sim.ws_url(venue) + ("/public/stream?streams=btcusdt@depth@100ms" if usdm
                                       else "/stream?streams=btcusdt@depth@100ms")
            async with await connect(url) as ws:
                evs = [unwrap(await recv_json(ws)) for _ in range(3000)]
            assert evs[0]["U"] <= snap["lastUpdateId"] <= evs[-1]["u"]
            book = DictBook("0.01", "0.00001")
            book.load(snap["bids"], snap["asks"])
            book_id = snap["lastUpdateId"]
            for ev in evs:
                if ev["u"] <= book_id:
                    continue
                book_id = apply_live_binance(book, book_id, ev, usdm)
            assert_truth(sim, venue, "BTCUSDT", book, book_id)
            assert book_id == sim.truth(venue, "BTCUSDT").last_id
            assert sim.stats()["bursts_written"] == 1
            # A stale snapshot in burst mode is older than the burst's first event.
            sim.inject(venue, "BTCUSDT", "stale_snapshot")
            _, _, stale = await get_json(s, f"{rest}{path}?symbol=BTCUSDT&limit=1000")
            assert stale["lastUpdateId"] <= evs[0]["U"] - 2

    run(body)


def test_server_pings_and_drops_silent_clients() -> None:
    async def body() -> None:
        cfg = make_config(ping_interval=0.1, pong_timeout=0.3)
        async with Simulator(cfg) as sim:
            # A raw client that never answers PINGs (websockets would pong automatically).
            reader, writer = await asyncio.open_connection("127.0.0.1", sim.ws_port)
            writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 101")
            opcodes = []
            while True:
                hdr = await asyncio.wait_for(reader.read(2), 10)
                if len(hdr) < 2:
                    break  # server hung up
                n = hdr[1] & 0x7F
                await asyncio.wait_for(reader.readexactly(n), 10)
                opcodes.append(hdr[0] & 0x0F)
            assert opcodes.count(0x9) >= 2  # PINGs, then the disconnect for the missing PONGs
            writer.close()
            with pytest.raises(ValueError):
                sim.inject("binance", "BTCUSDT", "close", code=99)

    run(body)


def test_off_grid_bids_in_snapshots_and_truth() -> None:
    # docs/venues.md#instrument-scales: resting bids off the tick grid below the model's
    # book, served as far as the snapshot limit leaves room and part of the ground truth
    async def body() -> None:
        spot = SymbolConfig("BTCUSDT", "0.01", "0.00001", "97250.01", depth=4, rate=0,
                            off_grid_bids=3)
        async with Simulator(SimConfig(venues={"binance": [spot]}, seed=7)) as sim, \
                aiohttp.ClientSession() as s:
            rest = sim.rest_url("binance")
            _, _, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=100")
            truth = sim.truth("binance", "BTCUSDT")
            assert len(snap["bids"]) == 7
            assert [tuple(x) for x in snap["bids"][4:]] == truth.off_grid_bids
            assert truth.to_dict()["off_grid_bids"] == snap["bids"][4:]
            prices = [Decimal(p) for p, _ in snap["bids"]]
            assert prices == sorted(prices, reverse=True)           # below the model's bids
            assert all(p % Decimal("0.01") != 0 for p in prices[4:])
            assert all(p % Decimal("0.01") == 0 for p in prices[:4])
            _, _, snap = await get_json(s, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=5")
            assert len(snap["bids"]) == 5 and snap["bids"][4] == list(truth.off_grid_bids[0])

    run(body)
    coinbase = SymbolConfig("BTC-USD", "0.01", "0.00000001", "97250.01", off_grid_bids=1)
    with pytest.raises(ValueError, match="off_grid_bids needs REST snapshots"):
        Simulator(SimConfig(venues={"coinbase": [coinbase]}))
