"""Simulator: trades, BBO, tickers and candles in each venue's format, against the truth.

Real sockets to a real simulator (websockets + aiohttp clients, tests/sim_client.py);
the trade payloads also go through fastfeed's compiled decoders (``TradeFeed``).
Timeouts are hang protection only.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from decimal import Decimal
from itertools import pairwise
from typing import Any

import aiohttp
import pytest

import fastfeed
from fastfeed.sim import SimConfig, Simulator, SymbolConfig
from fastfeed.sim.faults import fault_params
from fastfeed.sim.model import BookModel
from fastfeed.sim.tape import Fill, RollingStats, candles
from sim_client import connect, get_json, recv_json, run, to_int, unwrap

TICK, STEP = "0.01", "0.00001"
SPOT = SymbolConfig("BTCUSDT", TICK, STEP, "97250.01", depth=30, levels_per_message=4, rate=100,
                    trade_rate=40)
USDM = SymbolConfig("BTCUSDT", "0.10", "0.001", "97250.0", depth=30, levels_per_message=4, rate=100,
                    size_scale=1000, trade_rate=40)
CB = SymbolConfig("BTC-USD", "0.01", "0.00000001", "97250.01", depth=30, levels_per_message=4, rate=100,
                  size_scale=10_000_000, trade_rate=40)


def make_config(**kw: Any) -> SimConfig:
    cfg = SimConfig(venues={"binance": [SPOT], "binance-usdm": [USDM], "coinbase": [CB],
                            "coinbase-exchange": [CB]}, seed=11)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


async def frames(ws: Any, n: int) -> list[bytes]:
    """The next ``n`` frames as bytes."""
    out = []
    for _ in range(n):
        f = await asyncio.wait_for(ws.recv(), 20)
        out.append(f.encode() if isinstance(f, str) else f)
    return out


def by_stream(raw: list[bytes]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in raw:
        m = json.loads(f)
        out[m["stream"]].append(m["data"])
    return out


# -- the model ----------------------------------------------------------------------------


def _model(rate: float) -> BookModel:
    return BookModel(symbol="BTCUSDT", seed=5, tick_size=TICK, step_size=STEP, mid_price="100.00", depth=25,
                     levels_per_message=6, move_prob=0.2, size_scale=500, history=3000,
                     trades_per_message=rate)


def test_no_trades_means_the_book_moves_as_before() -> None:
    plain = BookModel(symbol="BTCUSDT", seed=5, tick_size=TICK, step_size=STEP, mid_price="100.00", depth=25,
                      levels_per_message=6, move_prob=0.2, size_scale=500, history=3000)
    off = _model(0.0)
    assert [plain.step() for _ in range(2000)] == [off.step(t_ns=i) for i in range(2000)]
    assert not off.fills
    assert fault_params("drop", {}) == {"count": 1, "channel": ""}
    sim = Simulator(make_config())
    with pytest.raises(ValueError, match="no channel 'aggTrade'"):
        sim.inject("coinbase", "BTC-USD", "drop", channel="aggTrade")
    with pytest.raises(ValueError, match="unknown parameter"):
        sim.inject("binance", "BTCUSDT", "oversized", channel="trade")


def test_trades_take_the_best_levels_and_show_in_the_same_message() -> None:
    m = _model(1.5)
    fills: list[Fill] = []
    for i in range(2000):
        msg = m.step(t_ns=i)
        after = m.book_at(msg.last_id)
        levels = {("bid", p): q for p, q in msg.bids} | {("ask", p): q for p, q in msg.asks}
        last_at: dict[tuple[str, int], Fill] = {}
        for f in msg.trades:
            side = "ask" if f.taker > 0 else "bid"
            last_at[(side, f.price)] = f
            assert f.update_id == msg.last_id and f.t_ns == i
            # nothing better than the traded price is left on the side it hit
            if f.taker > 0:
                assert all(p >= f.price for p in after.asks)
            else:
                assert all(p <= f.price for p in after.bids)
        for (side, price), f in last_at.items():
            assert levels[(side, price)] == f.maker_left  # the depth update carries the change
            assert (after.asks if side == "ask" else after.bids).get(price, 0) == f.maker_left
        fills.extend(msg.trades)
    assert len(fills) > 2000
    assert [f.trade_id for f in fills] == list(range(fills[0].trade_id, fills[0].trade_id + len(fills)))
    aggs = list(m.aggs)
    assert [a.agg_id for a in aggs] == list(range(aggs[0].agg_id, aggs[0].agg_id + len(aggs)))
    assert all(b.first_id == a.last_id + 1 for a, b in pairwise(aggs))
    assert {f.taker for f in fills} == {1, -1}
    assert any(a.last_id > a.first_id for a in aggs) and any(a.last_id == a.first_id for a in aggs)


def test_usdm_trade_ids_have_holes_between_aggregates_only() -> None:
    m = BookModel(symbol="BTCUSDT", seed=5, tick_size="0.10", step_size="0.001", mid_price="100.0", depth=25,
                  levels_per_message=6, move_prob=0.2, size_scale=500, history=3000, trades_per_message=1.5,
                  trade_holes=True)
    for i in range(1500):
        m.step(t_ns=i)
    aggs = list(m.aggs)
    assert [a.agg_id for a in aggs] == list(range(aggs[0].agg_id, aggs[0].agg_id + len(aggs)))
    gaps = [b.first_id - a.last_id for a, b in pairwise(aggs)]
    assert set(gaps) == {1, 2}


# -- Binance spot ---------------------------------------------------------------------------


def test_binance_spot_trades_bbo_and_depth_agree_with_the_truth() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            base = sim.ws_url("binance")
            streams = "btcusdt@depth/btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker"
            ws = await connect(f"{base}/stream?streams={streams}")
            raw = await frames(ws, 1500)
            await ws.close()
            sim.pause()
            got = by_stream(raw)
            trades, aggs = got["btcusdt@trade"], got["btcusdt@aggTrade"]
            bbos, depth = got["btcusdt@bookTicker"], got["btcusdt@depth"]
            assert len(trades) > 50 and len(aggs) > 20 and len(bbos) > 20
            # shapes: keys in the venue's order, types
            assert list(trades[0]) == ["e", "E", "s", "t", "p", "q", "T", "m", "M"]
            assert list(aggs[0]) == ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"]
            assert list(bbos[0]) == ["u", "s", "b", "B", "a", "A"]  # spot: no e, no E
            for t in trades:
                assert isinstance(t["t"], int) and isinstance(t["p"], str) and isinstance(t["m"], bool)
            # ids: t +1, a +1, f = previous l + 1; an aggregate is its fills
            ts = [t["t"] for t in trades]
            assert ts == list(range(ts[0], ts[0] + len(ts)))
            a_ids = [a["a"] for a in aggs]
            assert a_ids == list(range(a_ids[0], a_ids[0] + len(a_ids)))
            assert all(b["f"] == a["l"] + 1 for a, b in pairwise(aggs))
            by_id = {t["t"]: t for t in trades}
            for a in aggs:
                parts = [by_id[i] for i in range(a["f"], a["l"] + 1) if i in by_id]
                if len(parts) == a["l"] - a["f"] + 1:
                    assert {p["p"] for p in parts} == {a["p"]} and {p["m"] for p in parts} == {a["m"]}
                    assert sum(Decimal(p["q"]) for p in parts) == Decimal(a["q"])
            # the truth tape: same trades, texts and sides; each trade's book change is in
            # the depth event with the same update id
            async with aiohttp.ClientSession() as s:
                st, _, truth = await get_json(
                    s, f"{sim.rest_url('binance')}/debug/trades?venue=binance&symbol=BTCUSDT&from_id={ts[0]}")
            assert st == 200
            tape = {f["trade_id"]: f for f in truth["trades"]}
            events = {ev["u"]: ev for ev in depth}
            checked = 0
            last_at: dict[tuple[int, str, str], dict[str, Any]] = {}
            for t in trades:
                f = tape[t["t"]]
                assert (f["price"], f["size"]) == (t["p"], t["q"])
                assert t["m"] == (f["taker_side"] == "sell")
                assert t["T"] == f["time_ns"] // 1_000_000
                last_at[(f["update_id"], "a" if f["taker_side"] == "buy" else "b", f["price"])] = f
            for (u, side, price), f in last_at.items():
                ev = events.get(u)
                if ev is None:
                    continue
                sizes = {p: q for p, q in ev[side]}
                assert to_int(sizes[price], STEP) == f["maker_left"]
                checked += 1
            assert checked > 20
            # bookTicker: the truth's best bid/ask as of its u
            for b in bbos[-20:]:
                tr = sim.truth("binance", "BTCUSDT", b["u"])
                assert (to_int(b["b"], TICK), to_int(b["B"], STEP)) == tr.bids[0]
                assert (to_int(b["a"], TICK), to_int(b["A"], STEP)) == tr.asks[0]
            # fastfeed's compiled trade decoders take every payload as sent
            for stream, rows in (("trade", trades), ("aggTrade", aggs)):
                tf = fastfeed.TradeFeed("binance", "BTCUSDT", tick_size=TICK, step_size=STEP, stream=stream)
                n = sum(tf.apply_message(f) for f in raw if f.startswith(f'{{"stream":"btcusdt@{stream}"'.encode()))
                assert n == len(rows) and tf.state == "live" and tf.gaps == 0
                ids = tf.trades()["trade_id"].tolist()
                assert ids == [r["t" if stream == "trade" else "a"] for r in rows]

    run(body, 60)


def test_binance_kline_close_and_ticker_match_the_tape() -> None:
    async def body() -> None:
        async with Simulator(make_config(ticker_window=2.0)) as sim:
            ws = await connect(f"{sim.ws_url('binance')}/stream?streams=btcusdt@kline_1s/btcusdt@ticker/"
                               "btcusdt@miniTicker")
            closed: list[dict[str, Any]] = []
            tickers: list[dict[str, Any]] = []
            minis: list[dict[str, Any]] = []
            while len(closed) < 2 or len(tickers) < 3:
                m = await recv_json(ws)
                d = m["data"]
                if m["stream"] == "btcusdt@kline_1s" and d["k"]["x"]:
                    closed.append(d)
                elif m["stream"] == "btcusdt@ticker":
                    tickers.append(d)
                elif m["stream"] == "btcusdt@miniTicker":
                    minis.append(d)
            await ws.close()
            sim.pause()
            assert list(closed[0]["k"]) == ["t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x",
                                           "q", "V", "Q", "B"]
            bars = {b.start_ns // 1_000_000: b for b in sim.candles("binance", "BTCUSDT", 1)}
            for d in closed:
                k = d["k"]
                assert k["T"] == k["t"] + 999 and k["i"] == "1s"
                b = bars[k["t"]]
                assert (k["f"], k["L"], k["n"]) == (b.first_id, b.last_id, b.n)
                assert [to_int(k[x], TICK) for x in "ohlc"] == [b.open, b.high, b.low, b.close]
                assert to_int(k["v"], STEP) == b.volume and to_int(k["V"], STEP) == b.taker_buy_volume
                assert Decimal(k["q"]) == Decimal(b.quote) * Decimal(TICK) * Decimal(STEP)
            tape = {f.trade_id: f for f in sim.trades("binance", "BTCUSDT")}
            assert list(tickers[0]) == ["e", "E", "s", "p", "P", "w", "x", "c", "Q", "b", "B", "a", "A", "o",
                                        "h", "l", "v", "q", "O", "C", "F", "L", "n"]
            for t in tickers[1:]:
                assert t["C"] - t["O"] == 2000 and t["n"] == t["L"] - t["F"] + 1
                fills = [tape[i] for i in range(t["F"], t["L"] + 1)]
                assert all(t["E"] - 2001 <= f.t_ns // 1_000_000 <= t["E"] for f in fills)
                assert to_int(t["v"], STEP) == sum(f.size for f in fills)
                assert to_int(t["o"], TICK) == fills[0].price and to_int(t["c"], TICK) == fills[-1].price
                assert to_int(t["h"], TICK) == max(f.price for f in fills)
                assert to_int(t["l"], TICK) == min(f.price for f in fills)
                assert Decimal(t["p"]) == Decimal(t["c"]) - Decimal(t["o"])
            assert list(minis[0]) == ["e", "E", "s", "c", "o", "h", "l", "v", "q"]

    run(body, 60)


def test_binance_drop_on_agg_trade_is_a_gap_that_rest_heals() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            ws = await connect(f"{sim.ws_url('binance')}/ws/btcusdt@aggTrade")
            first = await frames(ws, 5)
            sim.inject("binance", "BTCUSDT", "drop", count=2, channel="aggTrade")
            sim.inject("binance", "BTCUSDT", "malformed", channel="aggTrade")
            rest = await frames(ws, 20)
            await ws.close()
            tf = fastfeed.TradeFeed("binance", "BTCUSDT", tick_size=TICK, step_size=STEP, strict=False)
            for f in first + rest:
                tf.apply_message(f)
            assert tf.state == "gap" and tf.gaps == 1
            parsed = []
            bad = 0
            for f in first + rest:
                try:
                    parsed.append(json.loads(f))
                except ValueError:
                    bad += 1
            assert bad == 1
            # (frames already in flight at the inject arrive first: find the hole)
            a_ids = [p["a"] for p in parsed]
            holes = [(x, y) for x, y in pairwise(parsed) if y["a"] != x["a"] + 1]
            assert [y["a"] - x["a"] for x, y in holes] == [3], a_ids  # two aggregates never sent
            (x, y), = holes
            before = x["a"]
            assert sim.faults_fired["drop"] == 2
            async with aiohttp.ClientSession() as s:
                st, hdr, rows = await get_json(
                    s, f"{sim.rest_url('binance')}/api/v3/aggTrades?symbol=BTCUSDT&fromId={before + 1}&limit=2")
                assert st == 200 and int(hdr["X-MBX-USED-WEIGHT-1M"]) == 4
                assert [r["a"] for r in rows] == [before + 1, before + 2]
                assert list(rows[0]) == ["a", "p", "q", "f", "l", "T", "m", "M"]
                assert rows[0]["f"] == x["l"] + 1 and rows[1]["l"] + 1 == y["f"]
                st, _, hist = await get_json(
                    s, f"{sim.rest_url('binance')}/api/v3/historicalTrades?symbol=BTCUSDT"
                       f"&fromId={rows[0]['f']}&limit=1000")
                assert st == 200
                got = [h for h in hist if h["id"] <= rows[1]["l"]]
                assert [h["id"] for h in got] == list(range(rows[0]["f"], rows[1]["l"] + 1))
                assert sum(Decimal(h["qty"]) for h in got) == Decimal(rows[0]["q"]) + Decimal(rows[1]["q"])

    run(body, 60)


def test_binance_duplicate_and_reorder_on_the_trade_stream() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            ws = await connect(f"{sim.ws_url('binance')}/ws/btcusdt@trade")
            await frames(ws, 3)
            sim.inject("binance", "BTCUSDT", "duplicate", channel="trade")
            sim.inject("binance", "BTCUSDT", "reorder", channel="trade")
            ids = [json.loads(f)["t"] for f in await frames(ws, 12)]
            await ws.close()
            # one id sent twice, one pair swapped; nothing lost
            assert len(ids) - len(set(ids)) == 1
            assert sum(1 for a, b in pairwise(ids) if b < a) == 1
            assert sorted(set(ids)) == list(range(min(ids), max(ids) + 1))

    run(body, 60)


def test_truncated_book_ticker_and_untouched_depth() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            ws = await connect(f"{sim.ws_url('binance')}/stream?streams=btcusdt@bookTicker/btcusdt@depth")
            await frames(ws, 3)
            sim.inject("binance", "BTCUSDT", "truncated", count=2, channel="bookTicker")
            raw = await frames(ws, 60)
            await ws.close()
            bad = []
            depth_u = []
            for f in raw:
                try:
                    m = json.loads(f)
                except ValueError:
                    bad.append(f)
                    continue
                if m["stream"] == "btcusdt@depth":
                    depth_u.append((m["data"]["U"], m["data"]["u"]))
            assert len(bad) == 2 and all(f.startswith(b'{"stream":"btcusdt@bookTicker"') for f in bad)
            assert all(b[0] == a[1] + 1 for a, b in pairwise(depth_u))  # the book stream is intact
            assert sim.faults_fired["truncated"] == 2

    run(body, 30)


# -- Binance USD-M ----------------------------------------------------------------------------


def test_usdm_routes_and_shapes() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            base = sim.ws_url("binance-usdm")
            market = await connect(f"{base}/market/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker")
            public = await connect(f"{base}/public/stream?streams=btcusdt@bookTicker/btcusdt@aggTrade")
            m_raw, p_raw = await frames(market, 40), await frames(public, 40)
            await market.close()
            await public.close()
            assert {json.loads(f)["stream"] for f in m_raw} == {"btcusdt@aggTrade"}   # bookTicker: /public
            assert {json.loads(f)["stream"] for f in p_raw} == {"btcusdt@bookTicker"}  # aggTrade: /market
            agg = unwrap(json.loads(m_raw[0]))
            assert list(agg) == ["e", "E", "a", "s", "p", "q", "nq", "f", "l", "T", "m", "st"]
            bt = unwrap(json.loads(p_raw[0]))
            assert list(bt) == ["e", "u", "s", "ps", "b", "B", "a", "A", "T", "E", "st"]
            tf = fastfeed.TradeFeed("binance-usdm", "BTCUSDT", tick_size="0.10", step_size="0.001")
            assert sum(tf.apply_message(f) for f in m_raw) == 40 and tf.state == "live"
            a_ids = tf.trades()["trade_id"].tolist()
            assert a_ids == list(range(a_ids[0], a_ids[0] + 40))
            async with aiohttp.ClientSession() as s:
                st, hdr, rows = await get_json(
                    s, f"{sim.rest_url('binance-usdm')}/fapi/v1/aggTrades?symbol=BTCUSDT&fromId={a_ids[0]}&limit=40")
            assert st == 200 and int(hdr["X-MBX-USED-WEIGHT-1M"]) == 20
            assert [r["a"] for r in rows] == a_ids and "M" not in rows[0]

    run(body, 60)


# -- Coinbase ---------------------------------------------------------------------------------


def test_coinbase_at_channels_share_one_sequence_and_trades_decode() -> None:
    async def body() -> None:
        async with Simulator(make_config(trade_snapshot=20)) as sim:
            ws = await connect(sim.ws_url("coinbase"))
            for ch in ("level2", "market_trades", "ticker", "candles", "heartbeats"):
                await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": ch}))
            raw = await frames(ws, 300)
            sim.inject("coinbase", "BTC-USD", "drop", channel="market_trades")
            raw += await frames(ws, 100)
            await ws.close()
            msgs = [json.loads(f) for f in raw]
            seqs = [m["sequence_num"] for m in msgs]
            assert seqs[:300] == list(range(300))  # every channel, one counter
            jumps = [b - a for a, b in pairwise(seqs) if b != a + 1]
            assert jumps == [2]                    # the dropped market_trades envelope
            by_ch: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for m in msgs:
                by_ch[m["channel"]].append(m)
            mt = by_ch["market_trades"]
            assert mt[0]["events"][0]["type"] == "snapshot" and len(mt[0]["events"][0]["trades"]) == 20
            assert all(e["type"] == "update" for m in mt[1:] for e in m["events"])
            trade = mt[1]["events"][0]["trades"][0]
            assert list(trade) == ["trade_id", "product_id", "price", "size", "side", "time"]
            assert isinstance(trade["trade_id"], str) and trade["side"] in ("BUY", "SELL")
            tf = fastfeed.TradeFeed("coinbase", "BTC-USD", tick_size="0.01", step_size="0.00000001",
                                    strict=False)
            for f in raw:
                if f.startswith(b'{"channel":"market_trades"'):
                    tf.apply_message(f)
            ids = tf.trades()["trade_id"].tolist()
            streamed = [int(t["trade_id"]) for m in mt for e in m["events"] for t in reversed(e["trades"])]
            assert ids == streamed
            lost = [b - a for a, b in pairwise(ids) if b != a + 1]
            assert len(lost) == 1 and lost[0] > 1
            tape = {f.trade_id: f for f in sim.trades("coinbase", "BTC-USD")}
            for m in mt:
                for e in m["events"]:
                    for t in e["trades"]:
                        f = tape[int(t["trade_id"])]
                        assert t["side"] == ("SELL" if f.taker > 0 else "BUY")  # the maker's side
                        assert to_int(t["price"], "0.01") == f.price
            tk = by_ch["ticker"][0]["events"][0]
            assert tk["type"] == "snapshot"
            row = tk["tickers"][0]
            assert list(row) == ["type", "product_id", "price", "volume_24_h", "low_24_h", "high_24_h",
                                 "low_52_w", "high_52_w", "price_percent_chg_24_h", "best_bid",
                                 "best_bid_quantity", "best_ask", "best_ask_quantity"]
            assert Decimal(row["best_bid"]) < Decimal(row["best_ask"])
            cd = by_ch["candles"][0]["events"][0]["candles"][0]
            assert list(cd) == ["start", "high", "low", "open", "close", "volume", "product_id"]
            assert isinstance(cd["start"], str) and int(cd["start"]) % 300 == 0
            bar = {b.start_ns // 10**9: b for b in sim.candles("coinbase", "BTC-USD", 300)}[int(cd["start"])]
            last_cd = by_ch["candles"][-1]["events"][0]["candles"][0]
            if last_cd["start"] == cd["start"]:
                assert to_int(last_cd["open"], "0.01") == bar.open

    run(body, 60)


def test_coinbase_exchange_matches_ticker_and_trades_pages() -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            await asyncio.sleep(0.3)  # some trades before the subscribe: a last_match exists
            ws = await connect(sim.ws_url("coinbase-exchange"))
            await ws.send(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"],
                                      "channels": ["matches", "heartbeat",
                                                   {"name": "ticker", "product_ids": ["BTC-USD"]}]}))
            ack = await recv_json(ws)
            assert ack["type"] == "subscriptions"
            assert {c["name"] for c in ack["channels"]} == {"matches", "ticker", "heartbeat"}
            raw = await frames(ws, 200)
            while b'"heartbeat"' not in raw[-1][:20]:
                raw += await frames(ws, 1)
            await ws.close()
            sim.pause()
            msgs = [json.loads(f) for f in raw]
            matches = [m for m in msgs if m["type"] in ("match", "last_match")]
            assert matches[0]["type"] == "last_match"
            assert list(matches[1]) == ["type", "trade_id", "sequence", "maker_order_id", "taker_order_id",
                                        "time", "product_id", "size", "price", "side"]
            ids = [m["trade_id"] for m in matches]
            assert ids == list(range(ids[0], ids[0] + len(ids)))
            seqs = [m["sequence"] for m in matches]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            tape = {f.trade_id: f for f in sim.trades("coinbase-exchange", "BTC-USD")}
            for m in matches:
                assert m["side"] == ("sell" if tape[m["trade_id"]].taker > 0 else "buy")  # maker side
            # the heartbeat's last_trade_id is the last match before it
            last_id = None
            for m in msgs:
                if m["type"] in ("match", "last_match"):
                    last_id = m["trade_id"]
                elif m["type"] == "heartbeat":
                    assert m["last_trade_id"] == last_id
            tickers = [m for m in msgs if m["type"] == "ticker"]
            assert tickers and all(t["trade_id"] in tape for t in tickers)
            assert "best_bid_size" in tickers[0] and "volume_30d" in tickers[0]
            tf = fastfeed.TradeFeed("coinbase-exchange", "BTC-USD", tick_size="0.01", step_size="0.00000001")
            assert sum(tf.apply_message(f) for f in raw if b'match"' in f[:24]) == len(matches)
            assert tf.state == "live" and tf.gaps == 0
            # local 100 ms candles from the decoded trades = the truth's, for every bucket
            # the stream covers whole (the first and the last may be partial)
            rows = tf.trades()
            local: dict[int, list[Decimal]] = {}
            step = 100_000_000
            for t in rows[1:]:  # (the last_match came before the subscribe)
                start = int(t["exchange_ns"]) - int(t["exchange_ns"]) % step
                px = Decimal(int(t["price"])).scaleb(-tf.price_decimals)
                sz = Decimal(int(t["size"])).scaleb(-tf.size_decimals)
                bar = local.setdefault(start, [px, px, px, px, Decimal(0), Decimal(0)])
                bar[1], bar[2], bar[3] = max(bar[1], px), min(bar[2], px), px
                bar[4] += sz
                bar[5] += 1
            truth_bars = {b.start_ns: b for b in sim.candles("coinbase-exchange", "BTC-USD", 0.1)}
            whole = sorted(local)[1:-1]
            assert len(whole) >= 2
            for start in whole:
                b = truth_bars[start]
                expect = [Decimal(x) * Decimal("0.01") for x in (b.open, b.high, b.low, b.close)]
                assert local[start][:4] == expect
                assert local[start][4] == Decimal(b.volume) * Decimal("0.00000001") and local[start][5] == b.n
            # REST pages, newest first, walked back with the CB-AFTER cursor
            got: list[int] = []
            cursor = ""
            async with aiohttp.ClientSession() as s:
                while not got or got[-1] > ids[0]:
                    st, hdr, rows = await get_json(
                        s, f"{sim.rest_url('coinbase-exchange')}/products/BTC-USD/trades?limit=50{cursor}")
                    assert st == 200 and rows
                    got.extend(r["trade_id"] for r in rows)
                    cursor = f"&after={hdr['CB-AFTER']}"
                assert list(rows[0]) == ["time", "trade_id", "price", "size", "side"]
                st, hdr, newer = await get_json(
                    s, f"{sim.rest_url('coinbase-exchange')}/products/BTC-USD/trades?limit=5&before={ids[0]}")
            assert got == sorted(got, reverse=True) and set(ids) <= set(got)
            assert [r["trade_id"] for r in newer] == list(range(ids[0] + 5, ids[0], -1))
            assert int(hdr["CB-BEFORE"]) == ids[0] + 5

    run(body, 60)


def test_candles_truth_equals_bars_from_the_tape() -> None:
    m = _model(2.0)
    for i in range(600):
        m.step(t_ns=i * 7_000_000)  # 7 ms apart: 4.2 s of trading
    fills = list(m.fills)
    bars = candles(fills, 1_000_000_000)
    assert len(bars) == 5 and sum(b.n for b in bars) == len(fills)
    for b in bars:
        inside = [f for f in fills if b.start_ns <= f.t_ns < b.start_ns + 1_000_000_000]
        assert (b.open, b.close) == (inside[0].price, inside[-1].price)
        assert b.volume == sum(f.size for f in inside)
        assert b.quote == sum(f.size * f.price for f in inside)


def test_rolling_window_equals_a_recount() -> None:
    import random

    rng = random.Random(3)
    win = RollingStats(1000, cap=50)
    fills: list[Fill] = []
    t = now = 0
    for i in range(3000):
        t += rng.randint(0, 40)
        f = Fill(i, i, rng.randint(90, 110), rng.randint(1, 9), rng.choice((1, -1)), t, 0, 0)
        fills.append(f)
        win.add(f)
        if i % 7 == 0:
            now = max(now, t + rng.randint(0, 300))  # the clock never goes back
            st = win.stats(now)
            inside = [x for x in fills[-50:] if x.t_ns > now - 1000]
            assert st.n == len(inside)
            if inside:
                assert (st.open, st.last, st.first_id, st.last_id) == (
                    inside[0].price, inside[-1].price, inside[0].trade_id, inside[-1].trade_id)
                assert st.high == max(x.price for x in inside) and st.low == min(x.price for x in inside)
                assert st.volume == sum(x.size for x in inside)
                assert st.quote == sum(x.size * x.price for x in inside)


@pytest.mark.parametrize("venue", ["binance", "coinbase-exchange"])
def test_truth_endpoints(venue: str) -> None:
    async def body() -> None:
        async with Simulator(make_config()) as sim:
            await asyncio.sleep(0.5)
            sim.pause()
            symbol = sim.symbols(venue)[0]
            tape = sim.trades(venue, symbol)
            async with aiohttp.ClientSession() as s:
                rest = sim.rest_url(venue)
                st, _, tr = await get_json(s, f"{rest}/debug/trades?venue={venue}&symbol={symbol}"
                                              f"&from_id={tape[3].trade_id}&limit=5")
                assert st == 200
                assert [t["trade_id"] for t in tr["trades"]] == [f.trade_id for f in tape[3:8]]
                assert [t["size_int"] for t in tr["trades"]] == [f.size for f in tape[3:8]]
                st, _, cd = await get_json(s, f"{rest}/debug/candles?venue={venue}&symbol={symbol}&interval=1")
                assert st == 200
                assert sum(c["count"] for c in cd["candles"]) == len(tape)
                st, _, err = await get_json(s, f"{rest}/debug/candles?venue={venue}&symbol={symbol}&interval=-1")
                assert st == 400 and "interval" in err["error"]

    run(body, 30)


def test_binance_subscribe_unsubscribe_and_stream_limit_count_the_new_streams() -> None:
    async def body() -> None:
        cfg = make_config()
        cfg.max_streams["binance"] = 3
        async with Simulator(cfg) as sim:
            ws = await connect(f"{sim.ws_url('binance')}/ws")
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@bookTicker"],
                                      "id": 1}))
            seen: set[str] = set()
            acked = False
            while not acked or seen != {"trade", "bbo"}:
                m = await recv_json(ws)
                if m.get("id") == 1:
                    assert m == {"result": None, "id": 1}
                    acked = True
                else:
                    seen.add("trade" if m.get("e") == "trade" else "bbo")
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@ticker"],
                                      "id": 2}))
            await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": 3}))
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 4}))
            replies: dict[int, Any] = {}
            kinds_after: set[str] = set()
            while len(replies) < 3 or len(kinds_after) < 10:
                m = await recv_json(ws)
                if "id" in m:
                    replies[m["id"]] = m
                elif 3 in replies:
                    kinds_after.add(str(m.get("e", "bookTicker")) + str(len(kinds_after)))
                    assert m.get("e") != "trade"  # unsubscribed
            await ws.close()
            assert "too many streams" in replies[2]["error"]["msg"]
            assert replies[4]["result"] == ["btcusdt@bookTicker"]
            assert sim.limit_trips() == {"binance": {"streams_subscribe": 1}}

    run(body, 30)


def test_cli_trade_rate() -> None:
    from fastfeed.sim import build_arg_parser
    from fastfeed.sim.cli import config_from_args

    cfg = config_from_args(build_arg_parser().parse_args(["--trade-rate", "2.5"]))
    assert {s.trade_rate for symbols in cfg.venues.values() for s in symbols} == {2.5}
    plain = config_from_args(build_arg_parser().parse_args([]))
    assert {s.trade_rate for symbols in plain.venues.values() for s in symbols} == {0.0}


class _ChannelsOnly:
    """A market's channel bookkeeping alone (``subscribe_channel`` / ``unsubscribe_channel``
    / ``has``, as :class:`fastfeed.sim.market.Market` keeps it), plus a held book."""

    def __init__(self) -> None:
        self.chans: dict[str, list[Any]] = defaultdict(list)
        self.book: set[Any] = set()

    def subscribe_channel(self, conn: Any, key: str, stream: bytes = b"") -> None:
        self.chans[key].append(conn)

    def unsubscribe_channel(self, conn: Any, key: str, stream: bytes | None = None) -> None:
        self.chans[key].remove(conn)

    def has(self, conn: Any) -> bool:
        return conn in self.book or any(conn in c for c in self.chans.values())


def test_switch_channel_joins_once_and_drops_the_market_with_its_last_stream() -> None:
    # the dialects' shared subscribe/unsubscribe bookkeeping (sim/dialects/base.py)
    from fastfeed.sim.dialects.base import switch_channel

    class Conn:
        def __init__(self) -> None:
            self.markets: set[Any] = set()
    conn, m = Conn(), _ChannelsOnly()
    subs: list[str] = []
    firsts: list[str] = []
    for _ in range(2):      # a repeated subscribe: one join, one snapshot
        switch_channel(conn, "subscribe", m, subs, "BTC", "trade",  # type: ignore[arg-type]
                       lambda: firsts.append("snapshot"))
    assert (subs, firsts, m.chans["trade"], conn.markets) == (["BTC"], ["snapshot"], [conn], {m})
    switch_channel(conn, "unsubscribe", m, subs, "ETH", "trade")  # type: ignore[arg-type]
    assert subs == ["BTC"] and m.chans["trade"] == [conn]        # unknown: nothing
    m.book.add(conn)        # the book is still held: the market stays
    switch_channel(conn, "unsubscribe", m, subs, "BTC", "trade")  # type: ignore[arg-type]
    assert (subs, m.chans["trade"], conn.markets) == ([], [], {m})
    switch_channel(conn, "subscribe", m, subs, "BTC", "trade")  # type: ignore[arg-type]
    m.book.clear()          # the last stream goes: so does the market
    switch_channel(conn, "unsubscribe", m, subs, "BTC", "trade")  # type: ignore[arg-type]
    assert (subs, conn.markets) == ([], set())
