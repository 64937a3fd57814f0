"""``fastfeed export`` / ``fastfeed.export.export_parquet`` (docs/recording.md, "Export").

A recording is written in-process (``Recorder`` with the simulator's own messages from
``make_workload``, as benches/recording.py does): a Binance book with two trade streams of
the same symbol (``trade`` and ``aggTrade``, rings of 16 trades: far smaller than the tape)
on two connections and a Coinbase book on a third, in small chunks. The Parquet files are
read back with pyarrow and checked against independent replays of the same file and
against the generated trades themselves.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fastfeed.bench.workload import make_workload
from fastfeed.cli import main
from fastfeed.export import (
    BOOKS_FILE,
    TRADES_FILE,
    ParquetUnavailable,
    book_schema,
    export_parquet,
    trade_schema,
)
from fastfeed.feed import BookFeed
from fastfeed.recorder import Recorder
from fastfeed.recording import Recording, RecordingError
from fastfeed.replay import Replay
from fastfeed.sim import render
from fastfeed.trades import TradeFeed

MESSAGES = 300
STEP_NS = 1_000_000             # recorded time between two depth messages
RING = 16                       # the declared trade ring: far smaller than the tape
T_MS = 1_764_000_000_000


def _declare(rec, obj, kind, w, **extra):
    rec.declare(obj, kind, venue=w.venue, symbol=w.symbol, tick_size=w.tick_size,
                step_size=w.step_size, price_decimals=obj.price_decimals,
                size_decimals=obj.size_decimals, **extra)


def _trade_text(i):
    cents = 9_725_001 + (i * 7) % 13
    return f"{cents // 100}.{cents % 100:02d}", f"0.{i % 9 + 1:05d}", i % 3 == 0


def write_recording(path, chunk_bytes=1 << 14):
    """The recording, and per trade stream what was sent: (id, price, size, T ms,
    buyer_maker, recorded t_ns)."""
    wb = make_workload("binance", "BTCUSDT", messages=MESSAGES, depth=50)
    wc = make_workload("coinbase", "BTC-USD", messages=MESSAGES, depth=50)
    rec = Recorder(path, chunk_bytes=chunk_bytes, max_pending_chunks=1 << 16)
    bb = BookFeed(wb.venue, wb.symbol, wb.tick_size, wb.step_size)
    cb = BookFeed(wc.venue, wc.symbol, wc.tick_size, wc.step_size)
    streams = {name: TradeFeed(wb.venue, wb.symbol, wb.tick_size, wb.step_size,
                               stream=name, capacity=RING) for name in ("trade", "aggTrade")}
    _declare(rec, bb, "book", wb)
    for name, feed in streams.items():
        _declare(rec, feed, "trades", wb, stream=name, capacity=RING)
    _declare(rec, cb, "book", wc)
    c1 = rec.connection("binance", "ws://test")
    rec.route(c1, [bb], [streams["trade"]])
    c3 = rec.connection("binance", "ws://test/agg")     # a router has one trade core a symbol
    rec.route(c3, [], [streams["aggTrade"]])
    c2 = rec.connection("coinbase", "ws://test")
    rec.route(c2, [cb], [])
    rec.op("start_sync", bb, state="syncing")
    rec.op("snapshot", bb, body=wb.snapshot)
    rec.op("start_sync", cb, state="syncing")
    sent = {"trade": [], "aggTrade": []}
    t = time.monotonic_ns() + STEP_NS
    rec.buffer.add_frame_bytes(c2, t, wc.prelude[0])
    for i in range(MESSAGES):
        t += STEP_NS
        rec.buffer.add_frame_bytes(c1, t, wb.messages[i])
        for k in range(3):
            n = 3 * i + k + 1
            price, size, maker = _trade_text(n)
            rec.buffer.add_frame_bytes(c1, t, render.binance_trade(
                "BTCUSDT", n, price, size, T_MS + n, maker, T_MS + n))
            sent["trade"].append((n, price, size, T_MS + n, maker, t))
            if k == 0:
                a = i + 1
                rec.buffer.add_frame_bytes(c3, t, render.binance_agg_trade(
                    "BTCUSDT", a, price, size, n, n, T_MS + n, maker, T_MS + n, False))
                sent["aggTrade"].append((a, price, size, T_MS + n, maker, t))
        rec.buffer.add_frame_bytes(c2, t + STEP_NS // 2, wc.messages[i])
    rec.close()
    return sent


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("export") / "session.ffrec")
    sent = write_recording(path)
    with Recording(path) as r:
        assert r.complete and not r.problems and len(r.chunks) > 20
    return path, sent


def as_ints(table):
    """Timestamps as int64 ns (pyarrow's ``to_pylist`` cannot make ns datetimes)."""
    return pa.table([c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c
                     for c in table.columns], names=table.column_names)


def read(out, name):
    return pq.read_table(os.path.join(out, name))


def test_every_snapshot_is_the_replayed_book_at_its_instant(recording, tmp_path):
    path, _ = recording
    out = str(tmp_path / "out")
    st = export_parquet(path, out, depth=5, every=0.02)
    assert st["problems"] == [] and st["trades_lost"] == 0 and st["book_count"] == 2
    rows = as_ints(read(out, BOOKS_FILE)).to_pylist()
    assert st["books"]["rows"] == len(rows)
    with Recording(path) as rec:
        chunks = rec.chunks
        start = min(c.first_ns for c in chunks)
        end = max(c.last_ns for c in chunks)
    instants = sorted({r["recorded_ns"] for r in rows})
    assert len(instants) == st["snapshots"] > 10
    # every 20 ms of recorded time from the first record, the last one at or past the end
    assert instants == [start + k * 20_000_000 for k in range(len(instants))]
    assert instants[-2] < end <= instants[-1]
    by_instant = {}
    for r in rows:
        by_instant.setdefault(r["recorded_ns"], []).append(r)
    for instant in instants:
        fresh = Replay(path).run(until_ns=instant)        # independent, from the start
        got = by_instant[instant]
        assert [(r["venue"], r["symbol"]) for r in got] == list(fresh.books)
        holder = next((c for c in chunks if c.last_ns >= instant), chunks[-1])
        for r in got:
            book = fresh.books[(r["venue"], r["symbol"])]
            bids, asks = book.book.bids_int(5), book.book.asks_int(5)
            assert r["wall_ns"] == Recording.wall_ns(holder, instant)
            assert (r["state"], r["update_id"]) == (book.state, book.last_update_id)
            assert (r["price_decimals"], r["size_decimals"]) == (book.price_decimals,
                                                                 book.size_decimals)
            assert r["bid_price"] == bids[:, 0].tolist()
            assert r["bid_size"] == bids[:, 1].tolist()
            assert r["ask_price"] == asks[:, 0].tolist()
            assert r["ask_size"] == asks[:, 1].tolist()
            if len(bids):
                exact = Decimal(int(bids[0, 0])).scaleb(-book.price_decimals)
                assert r["best_bid_float"] == float(exact)
            else:
                assert r["best_bid_float"] is None
        fresh.recording.close()
    live = [r for r in rows if r["state"] == "live"]
    # the books move between snapshots and reach full depth (the check can fail)
    assert len({r["update_id"] for r in live if r["venue"] == "binance"}) >= 10
    assert {len(r["bid_price"]) for r in live} == {5}


def test_the_trade_tape_is_complete_although_the_rings_are_small(recording, tmp_path):
    path, sent = recording
    out = str(tmp_path / "out")
    st = export_parquet(path, out)
    assert st["trades_lost"] == 0 and st["trade_streams"] == 2 and not st["problems"]
    table = as_ints(read(out, TRADES_FILE))
    assert st["trades"]["rows"] == table.num_rows == sum(len(v) for v in sent.values())
    final = Replay(path).run()
    with Recording(path) as rec:
        chunks = rec.chunks
    for name, expected in sent.items():
        rows = [r for r in table.to_pylist() if r["stream"] == name]
        core = next(c for c in final.streams
                    if isinstance(c, TradeFeed) and c.stream == name)
        assert core.recorded == len(expected) > 10 * RING     # the ring lost most of them
        ids = [r["trade_id"] for r in rows]
        assert ids == list(range(1, len(expected) + 1))     # contiguous, nothing lost
        pd, sd = core.price_decimals, core.size_decimals
        for r, (tid, price, size, t_ms, maker, t_ns) in zip(rows, expected, strict=True):
            assert (r["venue"], r["symbol"]) == ("binance", "BTCUSDT")
            assert r["trade_id"] == tid
            assert r["price"] == int(Decimal(price).scaleb(pd))
            assert r["size"] == int(Decimal(size).scaleb(sd))
            assert (r["price_decimals"], r["size_decimals"]) == (pd, sd)
            assert r["exchange_ns"] == t_ms * 1_000_000
            assert r["side"] == (-1 if maker else 1)      # buyer is maker: the taker sold
            assert r["price_float"] == float(Decimal(price))
            assert r["size_float"] == float(Decimal(size))
            # recv_ns: the replay's wall stamp of the recorded receive time (the chunk's
            # clock pair; the stamp re-reads the wall offset, so not to the ns)
            holder = next(c for c in chunks if c.last_ns >= t_ns)
            assert abs(r["recv_ns"] - Recording.wall_ns(holder, t_ns)) < 10_000_000
        # what the ring still holds at the end is the tape's tail, field for field
        tail = core.trades()
        assert len(tail) == RING
        assert [(r["trade_id"], r["price"], r["size"], r["side"], r["exchange_ns"])
                for r in rows[-RING:]] == [
            (int(x["trade_id"]), int(x["price"]), int(x["size"]), int(x["side"]),
             int(x["exchange_ns"])) for x in tail]
    final.recording.close()


def test_big_chunks_small_rings_lose_nothing_unless_the_floor_is_removed(tmp_path):
    path = str(tmp_path / "big.ffrec")
    sent = write_recording(path, chunk_bytes=1 << 20)     # one chunk: one step
    total = sum(len(v) for v in sent.values())
    st = export_parquet(path, str(tmp_path / "a"))      # rings raised to 65 536
    assert st["trades_lost"] == 0 and st["trades"]["rows"] == total
    st = export_parquet(path, str(tmp_path / "b"), min_trade_capacity=0)   # rings of 16
    assert st["trades_lost"] > 0
    assert st["trades"]["rows"] + st["trades_lost"] == total
    assert any("overwritten" in p for p in st["problems"])
    kept = read(str(tmp_path / "b"), TRADES_FILE).select(["stream", "trade_id"]).to_pylist()
    keys = [(r["stream"], r["trade_id"]) for r in kept]
    assert len(keys) == len(set(keys))      # what was lost is missing, nothing doubled


def test_schema_depth_and_every(recording, tmp_path):
    path, _ = recording
    with Recording(path) as rec:
        span = max(c.last_ns for c in rec.chunks) - min(c.first_ns for c in rec.chunks)
    for depth, every in ((1, 0.1), (3, 0.05), (200, 1.0)):
        out = str(tmp_path / f"d{depth}")
        st = export_parquet(path, out, depth=depth, every=every)
        books, trades = read(out, BOOKS_FILE), read(out, TRADES_FILE)
        assert books.schema.remove_metadata() == book_schema()
        assert trades.schema.remove_metadata() == trade_schema()
        assert books.schema.field("wall_ns").type == pa.timestamp("ns", tz="UTC")
        assert trades.schema.field("price").type == pa.int64()
        assert b"fastfeed.export" in books.schema.metadata
        assert st["snapshots"] == math.ceil(span / (every * 1e9)) + 1
        lengths = {len(x) for col in ("bid_price", "ask_size")
                   for x in books.column(col).to_pylist()}
        assert max(lengths) == min(depth, 50)       # the workload's books are 50 deep
        assert st["books"]["bytes"] == os.path.getsize(os.path.join(out, BOOKS_FILE))
        assert not [f for f in os.listdir(out) if f.endswith(".partial")]


@pytest.mark.parametrize("kwargs", [{"depth": 0}, {"depth": 2.5}, {"every": 0},
                                    {"every": float("nan")}, {"every": -1.0}])
def test_bad_arguments_are_refused(recording, tmp_path, kwargs):
    with pytest.raises(ValueError, match=r"depth|every"):
        export_parquet(recording[0], str(tmp_path / "out"), **kwargs)
    assert not os.path.exists(tmp_path / "out")


def test_without_pyarrow_the_error_names_the_extra(recording, tmp_path, monkeypatch,
                                                   capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ParquetUnavailable, match=r"pip install 'fastfeed\[parquet\]'"):
        export_parquet(recording[0], str(tmp_path / "out"))
    assert main(["export", recording[0], "--parquet", str(tmp_path / "out")]) == 1
    assert "pip install 'fastfeed[parquet]'" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out")


def test_cli_writes_and_reports(recording, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["export", recording[0], "--parquet", out, "--depth", "3",
                 "--every", "0.1"]) == 0
    text = capsys.readouterr().out
    books, trades = read(out, BOOKS_FILE), read(out, TRADES_FILE)
    assert f"{books.num_rows:,} rows" in text and f"{trades.num_rows:,} rows" in text
    assert "depth 3" in text and "problem" not in text
    assert max(len(x) for x in books.column("bid_price").to_pylist()) == 3


def test_cli_exit_codes_for_bad_and_damaged_files(recording, tmp_path, capsys):
    junk = tmp_path / "junk.ffrec"
    junk.write_bytes(b"not a recording at all")
    assert main(["export", str(junk), "--parquet", str(tmp_path / "a")]) == 1
    assert "not a fastfeed recording" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "--parquet", str(tmp_path / "b")]) == 1
    assert "No such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["export", recording[0], "--parquet", str(tmp_path / "c"), "--depth", "0"])
    assert exc.value.code == 2
    with pytest.raises(RecordingError):
        export_parquet(str(junk), str(tmp_path / "d"))
    # a crash-cut file: what reads is exported, the damage is listed, exit 3
    cut = tmp_path / "cut.ffrec"
    shutil.copy(recording[0], cut)
    with open(cut, "r+b") as f:
        f.truncate(os.path.getsize(cut) * 2 // 3)
    capsys.readouterr()
    out = str(tmp_path / "e")
    assert main(["export", str(cut), "--parquet", out]) == 3
    text = capsys.readouterr().out
    assert "problem:" in text and "truncated" in text
    assert read(out, TRADES_FILE).num_rows > 0
