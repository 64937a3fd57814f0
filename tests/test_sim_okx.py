"""Simulator, OKX: the protocol (per-arg acks, error events, text ping/pong), snapshot +
chained updates kept exact against the truth by an independent client, the venue faults
(chain_break, seq_reset, keepalive), the instruments endpoint (docs/simulator.md, "OKX")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from fastfeed.sim import SimConfig, Simulator, SymbolConfig
from sim_client import DictBook, connect, run

BTC = SymbolConfig("BTC-USDT", "0.01", "0.0001", "97250.01", depth=30, levels_per_message=5, rate=100)
SWAP = SymbolConfig("BTC-USDT-SWAP", "0.1", "1", "97250.1", depth=20, levels_per_message=4, rate=100)
STEPS = {"BTC-USDT": ("0.01", "0.0001"), "BTC-USDT-SWAP": ("0.1", "1")}


def make_config() -> SimConfig:
    return SimConfig(venues={"okx": [BTC, SWAP]}, seed=5, subscribe_timeout=2.0)


class Client:
    """One book per instId from snapshot/update messages, checking the prevSeqId chain."""

    def __init__(self) -> None:
        self.books: dict[str, DictBook] = {}
        self.seq: dict[str, int] = {}
        self.breaks: list[tuple[int, int]] = []
        self.backwards = 0
        self.keepalives = 0
        self.snapshots = 0
        self.other: list[Any] = []

    def on(self, raw: str | bytes) -> None:
        if raw == "pong":
            self.other.append("pong")
            return
        msg = json.loads(raw)
        if "event" in msg:
            self.other.append(msg)
            return
        assert list(msg) == ["arg", "action", "data"] and len(msg["data"]) == 1
        d = msg["data"][0]
        assert list(d) == ["asks", "bids", "ts", "checksum", "prevSeqId", "seqId"] and d["checksum"] == 0
        s = msg["arg"]["instId"]
        if msg["action"] == "snapshot":
            assert d["prevSeqId"] == -1
            self.books[s] = DictBook(*STEPS[s])
            self.books[s].load([lv[:2] for lv in d["bids"]], [lv[:2] for lv in d["asks"]])
            self.snapshots += 1
        else:
            assert msg["action"] == "update"
            if d["prevSeqId"] != self.seq[s]:
                self.breaks.append((self.seq[s], d["prevSeqId"]))
            if d["seqId"] < d["prevSeqId"]:
                self.backwards += 1
            if d["seqId"] == d["prevSeqId"]:
                assert d["asks"] == [] and d["bids"] == []
                self.keepalives += 1
            for lv in d["bids"]:
                assert len(lv) == 4 and lv[2] == "0"
                self.books[s].set("b", lv[0], lv[1])
            for lv in d["asks"]:
                self.books[s].set("a", lv[0], lv[1])
        self.seq[s] = d["seqId"]


async def drain(ws: Any, client: Client, sim: Simulator) -> None:
    sim.pause()
    while True:
        try:
            raw = await asyncio.wait_for(ws.recv(), 0.3)
        except asyncio.TimeoutError:
            return
        client.on(raw)


def test_protocol_chain_faults_and_exact() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("okx")) as ws:
                await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "books5", "instId": "BTC-USDT"}]}))
                err = json.loads(await ws.recv())
                assert err["event"] == "error" and err["code"] == "60018"
                await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": s}
                                                                      for s in STEPS]}))
                client = Client()
                for _ in range(60):
                    client.on(await ws.recv())
                acks = [m for m in client.other if isinstance(m, dict)]
                assert [(a["event"], a["arg"]["instId"]) for a in acks] == [("subscribe", s) for s in STEPS]
                assert client.snapshots == 2 and not client.breaks
                await ws.send("ping")
                sim.inject("okx", "BTC-USDT", "seq_reset")
                sim.inject("okx", "BTC-USDT-SWAP", "keepalive", count=2)
                for _ in range(60):
                    client.on(await ws.recv())
                assert "pong" in client.other
                assert client.backwards == 1 and client.keepalives == 2 and not client.breaks
                sim.inject("okx", "BTC-USDT-SWAP", "chain_break")
                for _ in range(40):
                    client.on(await ws.recv())
                assert len(client.breaks) == 1
                await drain(ws, client, sim)
                # BTC-USDT went through the reset and lost nothing: exact; a chain_break
                # changes only the ids, so the swap is exact too
                for s in STEPS:
                    t = sim.truth("okx", s)
                    assert client.books[s].sorted() == (t.bids, t.asks), s
    run(body)


def test_instruments_and_unsubscribe() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with aiohttp.ClientSession() as http:
                base = sim.rest_url("okx") + "/api/v5/public/instruments"
                async with http.get(base, params={"instType": "SWAP", "instId": "BTC-USDT-SWAP"}) as r:
                    body = await r.json()
                assert body["code"] == "0" and body["data"][0]["tickSz"] == "0.1"
                assert body["data"][0]["lotSz"] == "1"
                async with http.get(base, params={"instType": "SPOT", "instId": "BTC-USDT-SWAP"}) as r:
                    assert (await r.json())["code"] == "51001"
            async with await connect(sim.ws_url("okx")) as ws:
                arg = {"channel": "books", "instId": "BTC-USDT"}
                await ws.send(json.dumps({"op": "subscribe", "args": [arg]}))
                assert json.loads(await ws.recv())["event"] == "subscribe"
                assert json.loads(await ws.recv())["action"] == "snapshot"
                await ws.send(json.dumps({"op": "unsubscribe", "args": [arg]}))
                while "event" not in (msg := json.loads(await ws.recv())):
                    pass
                assert msg["event"] == "unsubscribe" and msg["arg"] == arg
    run(body)


def test_business_path_serves_candles_only_and_public_refuses_them() -> None:
    # channels.md 6.0: candles live on /business, "subscribing on the wrong path fails"
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            public = sim.ws_url("okx")
            business = public[:-len("/public")] + "/business"
            candle = {"channel": "candle1s", "instId": "BTC-USDT"}
            async with await connect(public) as ws:
                await ws.send(json.dumps({"op": "subscribe", "args": [candle]}))
                msg = json.loads(await ws.recv())
                assert (msg["event"], msg["code"]) == ("error", "60018")
            async with await connect(business) as ws:
                await ws.send(json.dumps({"op": "subscribe", "args": [
                    {"channel": "books", "instId": "BTC-USDT"}]}))
                msg = json.loads(await ws.recv())
                assert (msg["event"], msg["code"]) == ("error", "60018")
                await ws.send(json.dumps({"op": "subscribe", "args": [candle]}))
                assert json.loads(await ws.recv())["event"] == "subscribe"
                msg = json.loads(await ws.recv())
                assert msg["arg"] == candle and len(msg["data"][0]) == 9
                assert msg["data"][0][8] in ("0", "1")
    run(body)
