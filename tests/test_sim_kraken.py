"""Simulator, Kraken WebSocket v2 dialect, seen by a raw client (no fastfeed decoding).

The client keeps its own exact book from the JSON numbers (``Decimal`` from their text),
truncates it to the subscribed depth and checks every message's CRC32 with a checksum
written here from docs/venues.md ("Kraken integrity: truncation and checksum").
"""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from typing import Any

from fastfeed.sim import SimConfig, Simulator, SymbolConfig
from fastfeed.sim.dialects.kraken import checksum_text, number
from sim_client import connect, recv_json, run

DEPTH = 25
TICK, STEP = "0.1", "0.00000001"


def make_config() -> SimConfig:
    return SimConfig(venues={"kraken": [
        SymbolConfig("BTC/USD", tick_size=TICK, step_size=STEP, mid_price="45000", rate=100.0,
                     levels_per_message=6, depth=60),
        SymbolConfig("ETH/USD", tick_size="0.01", step_size="0.00001", rate=100.0, depth=60)]},
        ping_interval=5.0)


def test_numbers_and_checksum_digits_follow_the_notes() -> None:
    assert number(452852, 1) == "45285.2"
    assert number(100000, 8) == "0.001"
    assert number(5100, 8) == "5.1e-05"
    assert number(4528300, 2) == "45283"
    assert number(10000, 8) == "0.0001"
    # the documented examples: price 45285.2 -> 452852, qty 0.00100000 -> 100000
    assert checksum_text(452852, 1, 1) == "452852"
    assert checksum_text(100000, 8, 8) == "100000"


class Client:
    """Exact book of one symbol from the raw messages."""

    def __init__(self, pp: int, qp: int) -> None:
        self.pp, self.qp = pp, qp
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.mismatches = 0
        self.messages = 0

    def sides(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return (sorted(self.bids.items(), reverse=True)[:DEPTH], sorted(self.asks.items())[:DEPTH])

    def checksum(self) -> int:
        bids, asks = self.sides()
        text = "".join(f"{int(p.scaleb(self.pp))}".lstrip("0") + f"{int(q.scaleb(self.qp))}".lstrip("0")
                       for p, q in asks[:10] + bids[:10])
        return zlib.crc32(text.encode()) & 0xFFFFFFFF

    def on(self, data: dict[str, Any]) -> None:
        self.messages += 1
        for key, book in (("bids", self.bids), ("asks", self.asks)):
            for lv in data[key]:
                assert list(lv) == ["price", "qty"] and isinstance(lv["price"], Decimal)
                if lv["qty"] == 0:
                    book.pop(lv["price"], None)
                else:
                    book[lv["price"]] = lv["qty"]
        bids, asks = self.sides()           # truncate: pushed-out levels get no delete
        self.bids, self.asks = dict(bids), dict(asks)
        if self.checksum() != data["checksum"]:
            self.mismatches += 1


def test_book_instrument_checksum_truth_and_faults() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            async with await connect(sim.ws_url("kraken")) as ws:
                status = await recv_json(ws)
                assert status["channel"] == "status" and status["data"][0]["system"] == "online"
                await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "instrument"}}))
                ack = await recv_json(ws)
                assert ack["method"] == "subscribe" and ack["success"] is True
                raw = await ws.recv()
                inst = json.loads(raw, parse_float=Decimal)
                assert inst["channel"] == "instrument" and inst["type"] == "snapshot"
                pairs = {p["symbol"]: p for p in inst["data"]["pairs"]}
                btc = pairs["BTC/USD"]
                assert '"price_increment":0.1' in raw      # a JSON number, as Kraken sends
                assert (btc["price_precision"], btc["qty_precision"]) == (1, 8)
                await ws.send(json.dumps({"method": "subscribe", "params": {
                    "channel": "book", "symbol": ["NOPE/USD", "BTC/USD"], "depth": DEPTH,
                    "snapshot": True}, "req_id": 7}))
                acks = [await recv_json(ws), await recv_json(ws)]
                assert [a["success"] for a in acks] == [False, True] and acks[1]["req_id"] == 7
                assert "NOPE/USD" in acks[0]["error"]
                client = Client(1, 8)
                heartbeats = 0
                kinds = []

                async def read() -> None:
                    nonlocal heartbeats
                    msg = json.loads(await ws.recv(), parse_float=Decimal, parse_int=Decimal)
                    if msg.get("channel") == "heartbeat":
                        heartbeats += 1
                        return
                    assert msg["channel"] == "book", msg
                    kinds.append(msg["type"])
                    (data,) = msg["data"]
                    assert list(data) == ["symbol", "bids", "asks", "checksum", "timestamp"]
                    client.on(data)

                for _ in range(60):
                    await read()
                assert kinds[0] == "snapshot" and set(kinds[1:]) == {"update"}
                assert client.mismatches == 0
                assert [len(s) for s in client.sides()] == [DEPTH, DEPTH]
                sim.inject("kraken", "BTC/USD", "push_out", count=2)
                sim.inject("kraken", "BTC/USD", "bad_checksum")
                for _ in range(20):
                    await read()
                assert client.mismatches == 1       # the wrong checksum; levels still right
                sim.pause()
                start = heartbeats
                while heartbeats < start + 2:
                    await read()
                t = sim.truth("kraken", "BTC/USD")
                want_b = [(Decimal(p), Decimal(q)) for p, q in t.bids_str()[:DEPTH]]
                want_a = [(Decimal(p), Decimal(q)) for p, q in t.asks_str()[:DEPTH]]
                assert client.sides() == (want_b, want_a)

    run(body)


def test_burst_is_view_diffs_from_the_burst_start_to_the_truth() -> None:
    """Burst mode: acks, then per symbol a snapshot and ``burst`` updates, interleaved; a
    raw client following them (checksum every message) ends on the truth's top 25."""
    burst = 150
    cfg = SimConfig(venues={"kraken": [
        SymbolConfig("BTC/USD", tick_size=TICK, step_size=STEP, mid_price="45000",
                     levels_per_message=8, depth=80, burst=burst),
        SymbolConfig("ETH/USD", tick_size="0.01", step_size="0.00001", depth=80, burst=burst)]},
        ping_interval=0.0)

    async def body() -> None:
        async with Simulator(cfg) as sim:
            async with await connect(sim.ws_url("kraken")) as ws:
                assert (await recv_json(ws))["channel"] == "status"
                await ws.send(json.dumps({"method": "subscribe", "params": {
                    "channel": "book", "symbol": ["BTC/USD", "ETH/USD"], "depth": DEPTH,
                    "snapshot": True}}))
                acks = [await recv_json(ws), await recv_json(ws)]
                assert [a["success"] for a in acks] == [True, True]
                clients = {"BTC/USD": Client(1, 8), "ETH/USD": Client(2, 5)}
                kinds: dict[str, list[str]] = {s: [] for s in clients}
                order = []
                for _ in range(2 * (1 + burst)):
                    msg = json.loads(await ws.recv(), parse_float=Decimal, parse_int=Decimal)
                    assert msg["channel"] == "book", msg
                    (data,) = msg["data"]
                    kinds[data["symbol"]].append(msg["type"])
                    order.append(data["symbol"])
                    clients[data["symbol"]].on(data)
                assert order[:4] == ["BTC/USD", "ETH/USD", "BTC/USD", "ETH/USD"]
                for symbol, client in clients.items():
                    assert kinds[symbol] == ["snapshot"] + ["update"] * burst
                    assert client.mismatches == 0
                    t = sim.truth("kraken", symbol)
                    want_b = [(Decimal(p), Decimal(q)) for p, q in t.bids_str()[:DEPTH]]
                    want_a = [(Decimal(p), Decimal(q)) for p, q in t.asks_str()[:DEPTH]]
                    assert client.sides() == (want_b, want_a), symbol

    run(body)
