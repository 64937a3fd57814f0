"""Shared-memory books across processes: torn reads, publisher crash and restart, the C
reader, and Engine(shm=...) against the simulator read from another process."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from e2e import run, settle, sim_config, wait_for
from fastfeed.shm import Publisher, Reader
from fastfeed.sim import Simulator
from test_shm import depth_update, live_feed

HERE = Path(__file__).parent
SRC = HERE.parent / "src"
FORK = mp.get_context("fork")
MASK = (1 << 64) - 1



# ------------------------------------------------------------------ torn reads

def _hammer(name, seconds):
    # the parent's Publisher is inherited over fork: this process is the one writer
    end = time.monotonic() + seconds
    first = 1
    while time.monotonic() < end:
        _PUB[name].writer._hammer(0, 100_000, first)
        first += 100_000


_PUB: dict[str, Publisher] = {}


def _compiled_reader(name, recheck, seconds, out):
    r = Reader(name)                    # its own read-only mapping
    r.view._recheck = recheck
    out.put((recheck, r.view._check_reads(0, 1 << 62, int(seconds * 1e9))))


def _python_reader(name, seconds, out):
    r = Reader(name)
    bad = reads = back = 0
    last = -1
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = r.book("test", "HAMMER")
        b, a = s.bids_int, s.asks_int
        ok = bool(np.all(np.diff(b[:, 0]) < 0) and np.all(np.diff(a[:, 0]) > 0))
        total = (s.update_id + s.updates + s.state_code + (len(b) << 32) + len(a)
                 + int(b.sum()) + int(a.sum())) & MASK
        if not ok or total != s.checksum:
            bad += 1
        if s.update_id < last:
            back += 1
        last = s.update_id
        reads += 1
    out.put(("python", {"reads": reads, "bad": bad, "id_backwards": back}))


def test_no_torn_reads_under_a_busy_writer_and_the_test_sees_tearing_without_recheck(name):
    pub = Publisher(name, capacity=1, depth=20)
    _PUB[name] = pub
    try:
        pub.writer.slot_of("test", "HAMMER")
        pub.writer._hammer(0, 1)
        out = FORK.Queue()
        # 1.6 s of back-to-back publishes; the readers run inside that window
        writer = FORK.Process(target=_hammer, args=(name, 1.6))
        readers = [FORK.Process(target=_compiled_reader, args=(name, True, 1.0, out)),
                   FORK.Process(target=_compiled_reader, args=(name, False, 1.0, out)),
                   FORK.Process(target=_python_reader, args=(name, 1.0, out))]
        writer.start()
        time.sleep(0.05)
        for p in readers:
            p.start()
        results = [out.get(timeout=20) for _ in readers]
        for p in readers:
            p.join(10)
        writer.join(20)
        assert writer.exitcode == 0
    finally:
        del _PUB[name]
        pub.close()
    by = {k: v for k, v in results}
    print(by)
    safe, unsafe, py = by[True], by[False], by["python"]
    assert safe["reads"] > 10000, safe
    assert safe["retries"] > 0, safe               # reads did collide with writes ...
    assert (safe["bad_order"], safe["bad_checksum"], safe["id_backwards"]) == (0, 0, 0), safe
    # ... and without the re-check, the same collisions show up as torn copies
    assert unsafe["bad_order"] + unsafe["bad_checksum"] > 0, unsafe
    assert py["reads"] > 1000 and py["bad"] == 0 and py["id_backwards"] == 0, py


# ------------------------------------------------------------------ crash and restart

def _publisher_main(name, first_id, ready):
    pub = Publisher(name, capacity=4, depth=5)
    slot = pub.writer.slot_of("test", "BOOK")
    i = 0
    while True:
        pub.heartbeat()
        pub.writer._hammer(slot, 1, first_id + i)
        if i == 0:
            ready.set()
        i += 1
        time.sleep(0.005)


def _start_publisher(name, first_id):
    ready = FORK.Event()
    p = FORK.Process(target=_publisher_main, args=(name, first_id, ready), daemon=True)
    p.start()
    assert ready.wait(10)
    return p


def test_reader_detects_publisher_crash_and_restart(name):
    p1 = _start_publisher(name, 0)
    r = Reader(name)
    try:
        h = r.health()
        assert h["status"] == "ok" and h["pid"] == p1.pid
        gen1 = r.generation
        s = r.wait("test", "BOOK", after=r.book("test", "BOOK").updates, timeout=5)
        assert s is not None and s.update_id >= 1
        os.kill(p1.pid, signal.SIGKILL)
        p1.join(5)
        h = r.health()
        assert h["status"] == "dead" and not h["pid_alive"], h
        last = r.book("test", "BOOK")          # the last version stays readable ...
        assert last.state == "live" and r.state("test", "BOOK") == "stale"   # ... not live
        out = _cli("top", "--once", "--json", name)
        assert out.returncode == 0, out.stderr
        assert [b["state"] for b in json.loads(out.stdout)["books"]] == ["stale"]
        assert r.wait("test", "BOOK", after=last.updates, timeout=0.1) is None
        # a new publisher takes the dead one's name over (its flock is gone)
        p2 = _start_publisher(name, 1_000_000)
        try:
            h = r.health()
            assert h["status"] == "replaced" and h["replaced"], h
            r.reopen()
            assert r.generation != gen1
            assert r.health()["status"] == "ok" and r.health()["pid"] == p2.pid
            assert r.state("test", "BOOK") == "live"
            s = r.wait("test", "BOOK", after=0, timeout=5)
            assert s is not None and s.update_id >= 1_000_000
        finally:
            p2.kill()
            p2.join(5)
    finally:
        r.close()
        if p1.is_alive():
            p1.kill()


def test_stale_heartbeat_is_reported(name, monkeypatch):
    import fastfeed.shm as shm
    pub = Publisher(name, capacity=1, depth=2)
    r = Reader(name)
    assert r.health()["status"] == "ok"
    monkeypatch.setattr(shm, "STALE_AFTER", 0.05)
    time.sleep(0.1)
    assert r.health()["status"] == "stale"
    pub.heartbeat()
    assert r.health()["status"] == "ok"
    pub.close()


# ------------------------------------------------------------------ the C reader

def test_c_reader_agrees_with_python_reader(name, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    exe = tmp_path / "shm_reader"
    subprocess.run([cc, "-O2", "-Wall", "-Werror", "-std=c11", "-I",
                    str(SRC / "fastfeed" / "include"), str(HERE / "shm_reader.c"),
                    "-o", str(exe)], check=True)
    pub = Publisher(name, capacity=8, depth=20)
    feed = live_feed(levels=25)
    pub.attach(feed)
    feed.apply_message(depth_update(101, 103, [["100.20", "7.000"]], [["101.00", "0"]]))
    try:
        out = subprocess.run([str(exe), name, "binance", "BTCUSDT"], capture_output=True,
                             text=True, check=True)
        c = json.loads(out.stdout)
        s = Reader(name).book("binance", "BTCUSDT")
        assert c["generation"] == pub.generation and c["pid"] == os.getpid()
        assert (c["state"], c["update_id"], c["updates"]) == (s.state_code, 103, s.updates)
        assert (c["price_decimals"], c["size_decimals"]) == (8, 8)     # a Binance book
        assert c["exchange_ts_ns"] == s.exchange_ts_ns
        assert c["bids"] == s.bids_int.tolist() and c["asks"] == s.asks_int.tolist()
        assert len(c["bids"]) == 20
        missing = subprocess.run([str(exe), name, "binance", "NOPE"], capture_output=True)
        assert missing.returncode == 2
    finally:
        pub.close()


# ------------------------------------------------------------------ end to end

READER = """
import json, sys
from fastfeed.shm import Reader
r = Reader(sys.argv[1])
s = r.book(sys.argv[2], sys.argv[3])
print(json.dumps({"state": s.state, "update_id": s.update_id, "bids": s.bids_int.tolist(),
                  "asks": s.asks_int.tolist(), "health": r.health()["status"],
                  "books": r.books()}))
"""


async def _read_in_other_process(*args):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", READER, *args, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)})
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return json.loads(out)


def test_engine_publishes_books_that_equal_the_simulators_truth(name):
    from fastfeed import Engine

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT", "ETHUSDT"]}, depth=40)) as sim:
            urls = {"ws_url": sim.ws_url("binance"), "rest_url": sim.rest_url("binance")}
            async with Engine(shm=name, shm_depth=20) as engine:
                books = [await engine.subscribe("binance", s, **urls)
                         for s in ("BTCUSDT", "ETHUSDT")]
                await wait_for(lambda: all(b.messages > 20 for b in books), what="traffic")
                await settle(sim, books)
                for book in books:
                    got = await _read_in_other_process(name, "binance", book.symbol)
                    t = sim.truth("binance", book.symbol)
                    pt, ss = book.price_tick, book.size_step
                    assert got["state"] == "live" and got["health"] == "ok"
                    assert got["update_id"] == t.last_id == book.last_update_id
                    assert got["bids"] == [[p * pt, q * ss] for p, q in t.bids[:20]]
                    assert got["asks"] == [[p * pt, q * ss] for p, q in t.asks[:20]]
                    assert sorted(map(tuple, got["books"])) == [("binance", "BTCUSDT"),
                                                                ("binance", "ETHUSDT")]
                reader = Reader(name)
            assert not os.path.exists(f"/dev/shm/{name}")       # unlinked on close
            assert reader.health()["status"] == "closed"
            assert reader.book("binance", "BTCUSDT").state == "closed"
    run(body)


def test_engine_shm_full_is_a_subscribe_error(name):
    from fastfeed import Engine, SubscribeError

    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT", "ETHUSDT"]})) as sim:
            urls = {"ws_url": sim.ws_url("binance"), "rest_url": sim.rest_url("binance")}
            async with Engine(shm=name, shm_books=1) as engine:
                await engine.subscribe("binance", "BTCUSDT", **urls)
                with pytest.raises(SubscribeError, match="full"):
                    await engine.subscribe("binance", "ETHUSDT", **urls)
    run(body)


# ------------------------------------------------------------------ fastfeed top

def _cli(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "fastfeed", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(SRC)})


def test_top_once_json_and_plain_from_another_process(name):
    pub = Publisher(name, capacity=4, depth=20)
    feed = live_feed(levels=25)
    pub.attach(feed)
    try:
        out = _cli("top", name, "--once", "--json")
        assert out.returncode == 0, out.stderr
        snap = json.loads(out.stdout)
        assert snap["publisher"]["status"] == "ok" and snap["publisher"]["pid"] == os.getpid()
        (b,) = snap["books"]
        assert (b["venue"], b["symbol"], b["state"]) == ("binance", "BTCUSDT", "live")
        assert (b["bid"], b["ask"], b["spread"], b["update_id"]) == (
            "100.00000000", "101.00000000", "1.00000000", 100)      # exact text (docs/shm.md)
        out = _cli("top", name, "--plain", "--interval", "0.1", "--duration", "0.3")
        assert out.returncode == 0, out.stderr
        assert "publisher pid" in out.stdout and "binance:BTCUSDT" in out.stdout
        assert "100.00" in out.stdout and "live" in out.stdout
    finally:
        pub.close()


def test_top_without_a_segment_is_a_clear_error(name):
    out = _cli("top", name, "--once")
    assert out.returncode == 1 and "is the publisher running" in out.stderr
    out = _cli("top", "../etc", "--once")
    assert out.returncode == 1 and "bad shared-memory name" in out.stderr


def test_run_shm_publishes_for_top_in_another_process(name):
    from fastfeed.sim.process import SimProcess

    sim = SimProcess(["--binance", "BTCUSDT", "--rate", "50"])
    sim.start()
    try:
        run_cmd = subprocess.Popen(
            [sys.executable, "-m", "fastfeed", "run", "binance:BTCUSDT", "--ws-url",
             sim.ws_url("binance"), "--rest-url", sim.rest_url("binance"), "--duration", "20",
             "--plain", "--shm", name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(SRC)})
        try:
            deadline = time.monotonic() + 15
            snap = None
            while time.monotonic() < deadline:
                if os.path.exists(f"/dev/shm/{name}"):
                    out = _cli("top", name, "--once", "--json")
                    if out.returncode == 0:
                        snap = json.loads(out.stdout)
                        if snap["books"] and snap["books"][0]["state"] == "live" \
                                and snap["books"][0]["updates"] > 5:
                            break
                time.sleep(0.1)
            assert snap is not None and snap["books"][0]["state"] == "live", snap
            assert snap["publisher"]["pid"] == run_cmd.pid
            b = snap["books"][0]
            assert Decimal(b["bid"]) < Decimal(b["ask"]) and b["age_s"] is not None and b["age_s"] < 5
        finally:
            run_cmd.send_signal(signal.SIGINT)
            run_cmd.wait(10)
        assert not os.path.exists(f"/dev/shm/{name}")      # clean shutdown unlinks
    finally:
        sim.stop()


# ------------------------------------------------------------------ the market block

def _trade_payload(a):
    # price and size derived from the id, so a reader can check every copied trade
    return (b'{"e":"aggTrade","E":1700000000000,"s":"BTCUSDT","a":%d,"p":"%d.01",'
            b'"q":"%d.5","f":%d,"l":%d,"T":1700000000000,"m":%s,"M":true}'
            % (a, 1000 + a % 5000, 1 + a % 7, a, a, b"true" if a % 2 else b"false"))


_FEEDS: dict[str, object] = {}


def _trade_writer(name, payloads):
    feed = _FEEDS[name]
    for p in payloads:
        feed.apply_message(p)


def _market_reader(name, seconds, out):
    r = Reader(name)
    reads = bad = back = 0
    last = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        m = r.market("binance", "BTCUSDT")
        t = m.trades
        ids = t["trade_id"].tolist()
        k = len(ids)
        ok = ids == list(range(m.trades_total - k + 1, m.trades_total + 1))
        pu, su = 10**m.price_decimals, 10**m.size_decimals
        for row in t:
            a = int(row["trade_id"])
            if (int(row["price"]) != (1000 + a % 5000) * pu + pu // 100
                    or int(row["size"]) != (1 + a % 7) * su + su // 2
                    or int(row["side"]) != (-1 if a % 2 else 1)):
                ok = False
        bad += not ok
        back += m.trades_total < last
        last = m.trades_total
        reads += 1
    out.put({"reads": reads, "bad": bad, "back": back, "last": last})


def test_market_block_copies_are_never_torn_under_a_busy_trade_writer(name):
    from fastfeed.trades import TradeFeed
    pub = Publisher(name, capacity=1, depth=5)
    feed = TradeFeed("binance", "BTCUSDT", "0.01", "0.001", capacity=1024)
    pub.attach_trades(feed)
    _FEEDS[name] = feed
    payloads = [_trade_payload(a) for a in range(1, 300_001)]
    try:
        feed.apply_message(payloads[0])
        out = FORK.Queue()
        writer = FORK.Process(target=_trade_writer, args=(name, payloads[1:]))
        reader = FORK.Process(target=_market_reader, args=(name, 1.0, out))
        writer.start()
        reader.start()
        res = out.get(timeout=30)
        reader.join(10)
        writer.join(60)
        assert writer.exitcode == 0
    finally:
        del _FEEDS[name]
        pub.close()
    print(res)
    assert res["reads"] > 100 and res["last"] > 1, res
    assert res["bad"] == 0 and res["back"] == 0, res
