"""Simulator, Coinbase Advanced Trade and Coinbase Exchange: protocol, truth, faults, bursts."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
import websockets

from fastfeed.sim import SimConfig, Simulator, SymbolConfig
from sim_client import DictBook, connect, count_invalid, recv_json, run

BTC = SymbolConfig("BTC-USD", "0.01", "0.00000001", "97250.01", depth=30, levels_per_message=5, rate=100,
                   size_scale=10_000_000)
ETH = SymbolConfig("ETH-USD", "0.01", "0.00000001", "3500", depth=20, levels_per_message=4, rate=100,
                   size_scale=10_000_000)


def make_config(**kw: Any) -> SimConfig:
    cfg = SimConfig(venues={"coinbase": [BTC, ETH], "coinbase-exchange": [BTC, ETH]}, seed=11,
                    heartbeat_interval=0.1, subscribe_timeout=0.5)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def assert_truth(sim: Simulator, venue: str, symbol: str, book: DictBook) -> None:
    t = sim.truth(venue, symbol)
    assert book.sorted() == (t.bids, t.asks)


class ATClient:
    """Books per product from Advanced Trade envelopes, checking sequence_num."""

    def __init__(self) -> None:
        self.books: dict[str, DictBook] = {}
        self.seq = -1
        self.jumps: list[tuple[int, int]] = []
        self.multi_product_envelopes = 0
        self.heartbeats = 0
        self.channels: list[str] = []

    def on(self, msg: dict[str, Any]) -> None:
        assert list(msg) == ["channel", "timestamp", "sequence_num", "events"]
        assert msg["timestamp"].endswith("Z") and len(msg["timestamp"].split(".")[1]) == 10  # ns + Z
        if msg["sequence_num"] != self.seq + 1:
            self.jumps.append((self.seq, msg["sequence_num"]))
        self.seq = msg["sequence_num"]
        self.channels.append(msg["channel"])
        if msg["channel"] == "heartbeats":
            self.heartbeats += 1
            assert int(msg["events"][0]["heartbeat_counter"]) >= 1
        elif msg["channel"] == "l2_data":
            if len({e["product_id"] for e in msg["events"]}) > 1:
                self.multi_product_envelopes += 1
            for ev in msg["events"]:
                pid = ev["product_id"]
                if ev["type"] == "snapshot":
                    self.books[pid] = DictBook("0.01", "0.00000001")
                for u in ev["updates"]:
                    assert u["side"] in ("bid", "offer")
                    assert list(u) == ["side", "event_time", "price_level", "new_quantity"]
                    self.books[pid].set(u["side"], u["price_level"], u["new_quantity"])


async def drain_until_heartbeats(ws: Any, client: Any, n: int) -> None:
    """After pause(): read until n more heartbeats (so every earlier message has arrived)."""
    start = client.heartbeats
    while client.heartbeats < start + n:
        client.on(await recv_json(ws))


def test_advanced_trade_sequence_truth_and_drop() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("coinbase")) as ws:
                await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"],
                                          "channel": "level2"}))
                await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"],
                                          "channel": "heartbeats"}))
                c = ATClient()
                first = await recv_json(ws)
                assert first["channel"] == "subscriptions" and first["sequence_num"] == 0
                assert first["events"] == [{"subscriptions": {"level2": ["BTC-USD", "ETH-USD"]}}]
                c.on(first)
                for _ in range(60):
                    c.on(await recv_json(ws))
                assert c.channels[1:3] == ["l2_data", "l2_data"] and set(c.books) == {"BTC-USD", "ETH-USD"}
                assert "heartbeats" in c.channels and "subscriptions" in c.channels[3:]
                assert not c.jumps  # one per message, across channels, acks included
                assert c.multi_product_envelopes > 0
                sim.pause()
                await drain_until_heartbeats(ws, c, 2)
                assert not c.jumps
                for pid in ("BTC-USD", "ETH-USD"):
                    assert_truth(sim, "coinbase", pid, c.books[pid])
                    c.books[pid].assert_not_crossed()
                sim.resume()
                sim.inject("coinbase", "BTC-USD", "drop")
                for _ in range(30):
                    c.on(await recv_json(ws))
                assert len(c.jumps) == 1 and c.jumps[0][1] == c.jumps[0][0] + 2
                # Unsubscribe: the ack lists what is left.
                await ws.send(json.dumps({"type": "unsubscribe", "product_ids": ["ETH-USD"], "channel": "level2"}))
                while True:
                    msg = await recv_json(ws)
                    c.on(msg)
                    if msg["channel"] == "subscriptions":
                        break
                assert msg["events"][0]["subscriptions"]["level2"] == ["BTC-USD"]
            assert sim.faults_fired["drop"] == 1

    run(body)


def test_advanced_trade_subscribe_deadline_and_faults() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("coinbase")) as ws:
                with pytest.raises(websockets.exceptions.ConnectionClosed) as exc:
                    await asyncio.wait_for(ws.recv(), 10)
                assert exc.value.rcvd is not None  # closed with a close frame, no subscribe seen
            async with await connect(sim.ws_url("coinbase")) as ws:
                await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"}))
                await recv_json(ws)
                sim.inject("coinbase", "BTC-USD", "malformed")
                assert await count_invalid(ws, 15) == 1
                sim.inject("coinbase", "BTC-USD", "disconnect", after_messages=2)
                with pytest.raises(websockets.exceptions.ConnectionClosedError) as cexc:
                    for _ in range(100):
                        await recv_json(ws)
                assert cexc.value.rcvd is None

    run(body)


def test_exchange_snapshot_updates_reproduce_truth() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("coinbase-exchange")) as ws:
                await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"],
                                          "channels": ["level2_batch", "heartbeat"]}))
                sub = await recv_json(ws)
                assert sub == {"type": "subscriptions", "channels": [
                    {"name": "level2_batch", "product_ids": ["BTC-USD", "ETH-USD"]},
                    {"name": "heartbeat", "product_ids": ["BTC-USD", "ETH-USD"]}]}
                books: dict[str, DictBook] = {}
                hb = 0

                def on(msg: dict[str, Any]) -> None:
                    nonlocal hb
                    if msg["type"] == "snapshot":
                        assert list(msg) == ["type", "product_id", "bids", "asks"]
                        b = books[msg["product_id"]] = DictBook("0.01", "0.00000001")
                        b.load(msg["bids"], msg["asks"])
                    elif msg["type"] == "l2update":
                        assert list(msg) == ["type", "product_id", "changes", "time"]
                        for side, p, q in msg["changes"]:
                            assert side in ("buy", "sell")
                            books[msg["product_id"]].set(side, p, q)
                    elif msg["type"] == "heartbeat":
                        assert list(msg) == ["type", "sequence", "last_trade_id", "product_id", "time"]
                        hb += 1
                    else:
                        raise AssertionError(msg)

                for _ in range(80):
                    on(await recv_json(ws))
                assert set(books) == {"BTC-USD", "ETH-USD"} and hb > 0
                sim.pause()
                start = hb
                while hb < start + 4:  # two heartbeat rounds (two products)
                    on(await recv_json(ws))
                for pid in books:
                    assert_truth(sim, "coinbase-exchange", pid, books[pid])

    run(body)


@pytest.mark.parametrize("venue", ["coinbase", "coinbase-exchange"])
def test_coinbase_burst(venue: str) -> None:
    async def body() -> None:
        sc = SymbolConfig("BTC-USD", "0.01", "0.00000001", "97250", depth=30, burst=1500)
        async with Simulator(SimConfig(venues={venue: [sc]})) as sim:
            async with await connect(sim.ws_url(venue)) as ws:
                if venue == "coinbase":
                    await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"}))
                    c = ATClient()
                    for _ in range(1 + 1 + 1500):
                        c.on(await recv_json(ws))
                    assert not c.jumps
                    book = c.books["BTC-USD"]
                else:
                    await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"],
                                              "channels": ["level2_batch"]}))
                    await recv_json(ws)
                    snap = await recv_json(ws)
                    book = DictBook("0.01", "0.00000001")
                    book.load(snap["bids"], snap["asks"])
                    for _ in range(1500):
                        msg = await recv_json(ws)
                        for side, p, q in msg["changes"]:
                            book.set(side, p, q)
            assert_truth(sim, venue, "BTC-USD", book)

    run(body)


def _burst_products(delay: float = 0.0) -> list[SymbolConfig]:
    return [SymbolConfig(pid, "0.01", "0.00000001", mid, depth=30, levels_per_message=12, burst=n, burst_delay=delay,
                         size_scale=10_000_000)
            # Each burst is larger than the simulator's 1 MiB write chunk (so the old per-product
            # writes interleaved).
            for pid, mid, n in (("BTC-USD", "97250", 3000), ("ETH-USD", "3500", 2500), ("SOL-USD", "150", 2000))]


@pytest.mark.parametrize("split", [False, True])
def test_advanced_trade_burst_several_products_one_connection(split: bool) -> None:
    """Bursts of 3 products on one AT connection: one numbered stream, books equal truth.

    Heartbeats are subscribed first and tick during ``burst_delay``: nothing may get a
    sequence number out of order. ``split``: the products come in two subscribe requests
    (two blobs, written in order).
    """
    async def body() -> None:
        products = _burst_products(delay=0.3)
        cfg = SimConfig(venues={"coinbase": products}, heartbeat_interval=0.05, subscribe_timeout=5)
        async with Simulator(cfg) as sim:
            # Backpressure: a small receive buffer and a bounded queue (the client stops
            # reading the socket when it lags), so the server's writes have to wait.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
            sock.connect((cfg.host, sim.ws_port))
            sock.setblocking(False)
            async with await connect(sim.ws_url("coinbase"), sock=sock, max_queue=16) as ws:
                await ws.send(json.dumps({"type": "subscribe", "product_ids": [], "channel": "heartbeats"}))
                pids = [p.symbol for p in products]
                requests = [pids[:2], pids[2:]] if split else [pids]
                for r in requests:
                    await ws.send(json.dumps({"type": "subscribe", "product_ids": r, "channel": "level2"}))
                # Read nothing for a while: the server's socket fills and its writes must wait
                # (where separate per-product writes used to interleave).
                await asyncio.sleep(1.0)
                c = ATClient()
                want = sum(1 + p.burst for p in products)
                updates: dict[str, int] = dict.fromkeys(pids, 0)
                firsts: list[str] = []
                seen = 0
                while seen < want:
                    msg = await recv_json(ws)
                    c.on(msg)
                    if msg["channel"] == "l2_data":
                        seen += 1
                        (ev,) = msg["events"]  # one product per burst envelope
                        pid = ev["product_id"]
                        if ev["type"] == "snapshot":
                            assert updates[pid] == 0
                            firsts.append(pid)
                        else:
                            assert pid in firsts
                            updates[pid] += 1
                # Heartbeats resume after the burst, still in sequence.
                await drain_until_heartbeats(ws, c, 2)
            assert not c.jumps, c.jumps[:5]
            assert firsts == pids
            assert updates == {p.symbol: p.burst for p in products}
            for pid in pids:
                assert_truth(sim, "coinbase", pid, c.books[pid])
            assert sim.stats()["bursts_written"] == len(requests)

    run(body)


def test_exchange_burst_several_products_one_connection() -> None:
    async def body() -> None:
        products = _burst_products()
        async with Simulator(SimConfig(venues={"coinbase-exchange": products}, heartbeat_interval=0.05)) as sim:
            async with await connect(sim.ws_url("coinbase-exchange")) as ws:
                pids = [p.symbol for p in products]
                await ws.send(json.dumps({"type": "subscribe", "product_ids": pids,
                                          "channels": ["level2_batch", "heartbeat"]}))
                assert (await recv_json(ws))["type"] == "subscriptions"
                books: dict[str, DictBook] = {}
                counts = dict.fromkeys(pids, 0)
                want = sum(1 + p.burst for p in products)
                seen = 0
                while seen < want:
                    msg = await recv_json(ws)  # every frame whole and valid JSON
                    if msg["type"] == "heartbeat":
                        continue
                    seen += 1
                    pid = msg["product_id"]
                    if msg["type"] == "snapshot":
                        assert pid not in books
                        books[pid] = DictBook("0.01", "0.00000001")
                        books[pid].load(msg["bids"], msg["asks"])
                    else:
                        assert msg["type"] == "l2update" and pid in books
                        counts[pid] += 1
                        for side, p, q in msg["changes"]:
                            books[pid].set(side, p, q)
            assert counts == {p.symbol: p.burst for p in products}
            for pid in pids:
                assert_truth(sim, "coinbase-exchange", pid, books[pid])
            assert sim.stats()["bursts_written"] == 1

    run(body)
