"""Simulator, Bybit spot and linear: the protocol (acks, pongs, errors, the spot args
limit), snapshot + deltas with u +1 kept exact against the truth, the restart fault, the
instrument endpoint (docs/simulator.md, "Bybit")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from fastfeed.sim import SimConfig, Simulator, SymbolConfig
from sim_client import DictBook, connect, recv_json, run

BTC = SymbolConfig("BTCUSDT", "0.01", "0.0001", "97250.01", depth=30, levels_per_message=5, rate=100)
ETH = SymbolConfig("ETHUSDT", "0.01", "0.001", "3500", depth=20, levels_per_message=4, rate=100)


def make_config() -> SimConfig:
    return SimConfig(venues={"bybit": [BTC, ETH], "bybit-linear": [BTC]}, seed=5, subscribe_timeout=2.0)


class Client:
    """One book per symbol from snapshot/delta messages, checking the u rule."""

    def __init__(self) -> None:
        self.books: dict[str, DictBook] = {}
        self.u: dict[str, int] = {}
        self.jumps: list[tuple[int, int]] = []
        self.snapshots: list[int] = []
        self.keys: list[list[str]] = []

    def on(self, msg: dict[str, Any]) -> None:
        self.keys.append(list(msg))
        d = msg["data"]
        s = d["s"]
        assert msg["topic"] == f"orderbook.50.{s}"
        if msg["type"] == "snapshot":
            book = self.books[s] = DictBook("0.01", "0.0001" if s == "BTCUSDT" else "0.001")
            book.load(d["b"], d["a"])
            self.snapshots.append(d["u"])
        else:
            assert msg["type"] == "delta"
            if d["u"] != self.u[s] + 1:
                self.jumps.append((self.u[s], d["u"]))
            for p, q in d["b"]:
                self.books[s].set("b", p, q)
            for p, q in d["a"]:
                self.books[s].set("a", p, q)
        self.u[s] = d["u"]


async def read_until_paused(ws: Any, client: Client, sim: Simulator) -> None:
    sim.pause()
    while True:
        try:
            raw = await asyncio.wait_for(ws.recv(), 0.3)
        except asyncio.TimeoutError:
            return
        client.on(json.loads(raw))


def test_spot_protocol_exact_restart_and_limits() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("bybit")) as ws:
                # more than 10 args in one spot request: refused
                await ws.send(json.dumps({"op": "subscribe", "args": [f"orderbook.50.X{i}" for i in range(11)]}))
                err = await recv_json(ws)
                assert err["success"] is False and err["op"] == "subscribe"
                await ws.send(json.dumps({"op": "subscribe", "args": ["orderbook.50.NOPE"]}))
                assert (await recv_json(ws))["success"] is False
                await ws.send(json.dumps({"req_id": "7", "op": "subscribe",
                                          "args": ["orderbook.50.BTCUSDT", "orderbook.50.ETHUSDT"]}))
                ack = await recv_json(ws)
                assert ack == {"success": True, "ret_msg": "subscribe", "req_id": "7", "op": "subscribe",
                               "conn_id": ack["conn_id"]}
                client = Client()
                for _ in range(60):
                    client.on(await recv_json(ws))
                assert len(client.snapshots) == 2 and not client.jumps
                # spot prints ts before type (docs/venues.md, "Bybit")
                assert client.keys[0] == ["topic", "ts", "type", "data", "cts"]
                await ws.send(json.dumps({"op": "ping"}))
                sim.inject("bybit", "BTCUSDT", "restart")
                pong = None
                for _ in range(200):
                    msg = await recv_json(ws)
                    if "topic" not in msg:
                        pong = msg
                        continue
                    client.on(msg)
                    if client.snapshots[-1] == 1 and client.u["BTCUSDT"] > 3:
                        break
                assert pong is not None and pong["ret_msg"] == "pong" and pong["op"] == "ping"
                assert client.snapshots[-1] == 1 and not client.jumps
                sim.inject("bybit", "ETHUSDT", "drop")
                for _ in range(40):
                    client.on(await recv_json(ws))
                assert len(client.jumps) == 1
                await read_until_paused(ws, client, sim)
                # BTCUSDT went through the restart and lost nothing: exact (ETHUSDT lost one)
                t = sim.truth("bybit", "BTCUSDT")
                assert client.books["BTCUSDT"].sorted() == (t.bids, t.asks)
    run(body)


def test_linear_key_order_ack_and_instruments() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with aiohttp.ClientSession() as http:
                base = sim.rest_url("bybit") + "/v5/market/instruments-info"
                async with http.get(base, params={"category": "spot", "symbol": "ETHUSDT"}) as r:
                    row = (await r.json())["result"]["list"][0]
                assert row["priceFilter"]["tickSize"] == "0.01"
                assert row["lotSizeFilter"]["basePrecision"] == "0.001"
                async with http.get(base, params={"category": "linear", "symbol": "BTCUSDT"}) as r:
                    row = (await r.json())["result"]["list"][0]
                assert row["lotSizeFilter"]["qtyStep"] == "0.0001"
                async with http.get(base, params={"category": "linear", "symbol": "ETHUSDT"}) as r:
                    assert (await r.json())["result"]["list"] == []
            async with await connect(sim.ws_url("bybit-linear")) as ws:
                await ws.send(json.dumps({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]}))
                ack = await recv_json(ws)
                assert ack["success"] is True and ack["ret_msg"] == ""
                snap = await recv_json(ws)
                assert list(snap) == ["topic", "type", "ts", "data", "cts"]
                assert snap["type"] == "snapshot"
                await ws.send(json.dumps({"op": "unsubscribe", "args": ["orderbook.50.BTCUSDT"]}))
                while "topic" in (msg := await recv_json(ws)):
                    pass
                assert msg["success"] is True and msg["op"] == "unsubscribe"
    run(body)
