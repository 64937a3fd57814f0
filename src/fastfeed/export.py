"""Export a recording as Parquet: top-N book snapshots every T and the trade tapes
(docs/recording.md, "Export").

``export_parquet(path, out_dir, depth=10, every=1.0)`` replays the recording with
``fastfeed.replay.Replay``, stepping ``run(until_ns=...)`` to each snapshot instant (every
``every`` seconds of recorded time), so each snapshot is a book exactly as the replay (and
so the live engine) held it at that recorded instant. Between steps it copies each trade
stream's new trades out of its ring (``trades(since=...)``); it also steps at every chunk's
end, so a step never covers more than one chunk, and gives every trade ring at least
``min_trade_capacity`` slots: a ring smaller than the tape loses nothing, and anything
overwritten before it was read is counted (``trades_lost``), never silent.

Prices and sizes are the book's int64 mantissas with their ``price_decimals`` /
``size_decimals`` (value = mantissa × 10^-decimals), exact; the ``*_float`` columns are a
float64 convenience beside them, never instead of them. pyarrow is an optional extra
(``pip install 'fastfeed[parquet]'``), imported only here, when an export runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from types import ModuleType
from typing import Any

import numpy as np

from fastfeed import __version__
from fastfeed._trades import DEFAULT_CAPACITY
from fastfeed.feed import BookFeed
from fastfeed.recording import ChunkInfo, Recording
from fastfeed.replay import Replay
from fastfeed.trades import TradeFeed

__all__ = ["BOOKS_FILE", "TRADES_FILE", "ParquetUnavailable", "book_schema",
           "export_parquet", "trade_schema"]

#: The snapshot file's name inside the output directory.
BOOKS_FILE = "books.parquet"
#: The trade tape's name inside the output directory.
TRADES_FILE = "trades.parquet"
#: Rows buffered before a Parquet row group is written (bounds the export's memory).
ROW_GROUP_ROWS = 1 << 16

_INSTALL = "pip install 'fastfeed[parquet]'"


class ParquetUnavailable(ImportError):
    """pyarrow is not installed (it is the optional ``parquet`` extra)."""


def _pyarrow() -> tuple[ModuleType, ModuleType]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ParquetUnavailable(f"Parquet export needs pyarrow, which is not installed: "
                                 f"{_INSTALL} ({exc})") from None
    return pa, pq


def book_schema(pa: ModuleType | None = None) -> Any:
    """The Arrow schema of ``books.parquet`` (docs/recording.md, "Export")."""
    pa = pa or _pyarrow()[0]
    levels = pa.list_(pa.int64())
    return pa.schema([
        ("wall_ns", pa.timestamp("ns", tz="UTC")),
        ("recorded_ns", pa.int64()),
        ("venue", pa.string()),
        ("symbol", pa.string()),
        ("state", pa.string()),
        ("update_id", pa.int64()),
        ("price_decimals", pa.int8()),
        ("size_decimals", pa.int8()),
        ("bid_price", levels),
        ("bid_size", levels),
        ("ask_price", levels),
        ("ask_size", levels),
        ("best_bid_float", pa.float64()),
        ("best_ask_float", pa.float64()),
    ])


def trade_schema(pa: ModuleType | None = None) -> Any:
    """The Arrow schema of ``trades.parquet`` (docs/recording.md, "Export")."""
    pa = pa or _pyarrow()[0]
    return pa.schema([
        ("venue", pa.string()),
        ("symbol", pa.string()),
        ("stream", pa.string()),
        ("recv_ns", pa.timestamp("ns", tz="UTC")),
        ("exchange_ns", pa.timestamp("ns", tz="UTC")),
        ("trade_id", pa.int64()),
        ("price", pa.int64()),
        ("size", pa.int64()),
        ("price_decimals", pa.int8()),
        ("size_decimals", pa.int8()),
        ("side", pa.int8()),
        ("price_float", pa.float64()),
        ("size_float", pa.float64()),
    ])


class _Sink:
    """One Parquet file written in row groups, to ``path + ".partial"`` until done."""

    def __init__(self, pq: ModuleType, pa: ModuleType, path: str, schema: Any,
                 meta: dict[str, str]) -> None:
        self.pa = pa
        self.path = path
        self.schema = schema.with_metadata(meta)
        self.writer = pq.ParquetWriter(path + ".partial", self.schema, compression="zstd")
        self.rows = 0
        self.pending: list[Any] = []    # record batches not written yet
        self.pending_rows = 0

    def add(self, columns: list[Any]) -> None:
        batch = self.pa.record_batch(columns, schema=self.schema)
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending_rows:
            self.writer.write_table(self.pa.Table.from_batches(self.pending, self.schema))
            self.rows += self.pending_rows
        self.pending, self.pending_rows = [], 0

    def close(self) -> dict[str, Any]:
        self.flush()
        self.writer.close()
        os.replace(self.path + ".partial", self.path)
        return {"path": self.path, "rows": self.rows, "bytes": os.path.getsize(self.path)}

    def abort(self) -> None:
        """Drop the partial file (after an error)."""
        try:
            self.writer.close()
        finally:
            if os.path.exists(self.path + ".partial"):
                os.unlink(self.path + ".partial")


def _float_view(mantissas: np.ndarray[Any, Any], decimals: int) -> np.ndarray[Any, Any]:
    # the nearest double to the exact value while |mantissa| < 2^53 (both operands exact)
    return mantissas.astype(np.float64) / (10.0 ** decimals)


class _BookRows:
    """Snapshot rows collected column by column until they are handed to the sink."""

    def __init__(self) -> None:
        self.scalars: dict[str, list[Any]] = {name: [] for name in (
            "wall_ns", "recorded_ns", "venue", "symbol", "state", "update_id",
            "price_decimals", "size_decimals", "best_bid_float", "best_ask_float")}
        self.sides: dict[str, list[np.ndarray[Any, Any]]] = {"bid": [], "ask": []}

    def __len__(self) -> int:
        return len(self.scalars["wall_ns"])

    def add(self, wall_ns: int, recorded_ns: int, book: BookFeed, depth: int) -> None:
        s = self.scalars
        pd, sd = book.price_decimals, book.size_decimals
        for name, value in (("wall_ns", wall_ns), ("recorded_ns", recorded_ns),
                            ("venue", book.venue), ("symbol", book.symbol),
                            ("state", book.state), ("update_id", book.last_update_id),
                            ("price_decimals", pd), ("size_decimals", sd)):
            s[name].append(value)
        for side, levels in (("bid", book.book.bids_int(depth)),
                             ("ask", book.book.asks_int(depth))):
            self.sides[side].append(levels)
            s[f"best_{side}_float"].append(int(levels[0, 0]) / 10 ** pd if len(levels)
                                           else None)

    def columns(self, pa: ModuleType) -> list[Any]:
        s = self.scalars
        out = [pa.array(s["wall_ns"], pa.timestamp("ns", tz="UTC")),
               pa.array(s["recorded_ns"], pa.int64()), pa.array(s["venue"], pa.string()),
               pa.array(s["symbol"], pa.string()), pa.array(s["state"], pa.string()),
               pa.array(s["update_id"], pa.int64()),
               pa.array(s["price_decimals"], pa.int8()),
               pa.array(s["size_decimals"], pa.int8())]
        for side in ("bid", "ask"):
            arrays = self.sides[side]
            offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
            np.cumsum([len(a) for a in arrays], out=offsets[1:])
            flat = (np.concatenate(arrays) if arrays else np.empty((0, 2), np.int64))
            for col in (0, 1):      # price, size
                out.append(pa.ListArray.from_arrays(
                    pa.array(offsets), pa.array(np.ascontiguousarray(flat[:, col]))))
        out.append(pa.array(s["best_bid_float"], pa.float64()))
        out.append(pa.array(s["best_ask_float"], pa.float64()))
        return out


def _trade_columns(pa: ModuleType, core: TradeFeed, stream: str,
                   rows: np.ndarray[Any, Any]) -> list[Any]:
    n = len(rows)
    pd, sd = core.price_decimals, core.size_decimals

    def const(value: Any, typ: Any) -> Any:
        return pa.repeat(pa.scalar(value, typ), n)

    def col(name: str) -> np.ndarray[Any, Any]:
        return np.ascontiguousarray(rows[name])

    ts = pa.timestamp("ns", tz="UTC")
    price, size = col("price"), col("size")
    return [const(core.venue, pa.string()), const(core.symbol, pa.string()),
            const(stream, pa.string()),
            pa.array(col("recv_ns"), pa.int64()).cast(ts),
            pa.array(col("exchange_ns"), pa.int64()).cast(ts),
            pa.array(col("trade_id"), pa.int64()),
            pa.array(price, pa.int64()), pa.array(size, pa.int64()),
            const(pd, pa.int8()), const(sd, pa.int8()),
            pa.array(col("side"), pa.int8()),
            pa.array(_float_view(price, pd), pa.float64()),
            pa.array(_float_view(size, sd), pa.float64())]


class _TradeRows:
    """Trades copied out of the rings, kept as numpy rows per stream until a row group's
    worth is converted at once (one Arrow batch per stream, not per step)."""

    def __init__(self) -> None:
        self.parts: dict[int, tuple[TradeFeed, str, list[np.ndarray[Any, Any]]]] = {}
        self.rows = 0

    def add(self, ident: int, core: TradeFeed, stream: str,
            rows: np.ndarray[Any, Any]) -> None:
        self.parts.setdefault(ident, (core, stream, []))[2].append(rows)
        self.rows += len(rows)

    def drain(self, pa: ModuleType, sink: _Sink) -> None:
        for core, stream, arrays in self.parts.values():
            if arrays:
                sink.add(_trade_columns(pa, core, stream, np.concatenate(arrays)))
                arrays.clear()
        self.rows = 0


def _chunk_at(chunks: list[ChunkInfo], recording: Recording, t_ns: int) -> ChunkInfo:
    """The chunk whose clock pair maps ``t_ns`` to wall time: the first one ending at or
    after it (the last one past the end)."""
    i = recording.seek(t_ns)
    return chunks[min(i, len(chunks) - 1)]


def export_parquet(recording: Recording | str, out_dir: str, *, depth: int = 10,
                   every: float = 1.0, min_trade_capacity: int = DEFAULT_CAPACITY
                   ) -> dict[str, Any]:
    """Write ``out_dir/books.parquet`` (the top ``depth`` levels of every book every
    ``every`` seconds of recorded time) and ``out_dir/trades.parquet`` (every trade of
    every trade stream, in recording order per stream) from one recording (a path or an
    open ``Recording``); returns what was written and what went wrong.

    Raises ``ParquetUnavailable`` without pyarrow, ``RecordingError`` / ``OSError`` for a
    file that is not a readable recording, ``ValueError`` for a bad ``depth``/``every``.
    The result: ``books`` and ``trades`` (``path``, ``rows``, ``bytes``), ``snapshots``
    (instants), ``every_ns``, ``depth``, ``book_count``, ``trade_streams``,
    ``trades_lost`` (overwritten in a ring before they were read: 0 unless
    ``min_trade_capacity`` is smaller than one chunk's trades), ``problems`` (the
    recording's and the replay's, as text), ``seconds``.
    """
    pa, pq = _pyarrow()
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    if not (isinstance(every, (int, float)) and 0 < every < 1e9
            and round(every * 1e9) >= 1):
        raise ValueError(f"every must be a positive number of seconds, got {every!r}")
    every_ns = round(every * 1e9)
    started = time.perf_counter()
    own = isinstance(recording, str)
    rec = Recording(recording) if isinstance(recording, str) else recording
    try:
        return _export(pa, pq, rec, out_dir, depth, every_ns, min_trade_capacity, started)
    finally:
        if own:
            rec.close()


def _export(pa: ModuleType, pq: ModuleType, rec: Recording, out_dir: str, depth: int,
            every_ns: int, min_trade_capacity: int, started: float) -> dict[str, Any]:
    os.makedirs(out_dir, exist_ok=True)
    meta = {"fastfeed.export": json.dumps({
        "fastfeed": __version__, "source": os.path.basename(rec.path), "depth": depth,
        "every_ns": every_ns, "docs": "docs/recording.md#export"})}
    books = _Sink(pq, pa, os.path.join(out_dir, BOOKS_FILE), book_schema(pa), meta)
    try:
        trades = _Sink(pq, pa, os.path.join(out_dir, TRADES_FILE), trade_schema(pa), meta)
    except BaseException:
        books.abort()
        raise
    replay = Replay(rec, min_trade_capacity=min_trade_capacity)
    chunks = list(rec.chunks)
    seen: dict[int, int] = {}       # trade stream declaration id -> trades copied out
    lost = 0
    rows = _BookRows()
    tape = _TradeRows()

    def collect_trades() -> None:
        nonlocal lost
        for ident, core in replay.cores.items():
            if not isinstance(core, TradeFeed):
                continue
            since = seen.get(ident, 0)
            new = core.recorded - since
            if new <= 0:
                continue
            got = core.trades(since=since)
            lost += new - len(got)
            seen[ident] = core.recorded
            if len(got):
                stream = replay.declarations[ident].get("stream") or core.stream or ""
                tape.add(ident, core, str(stream), got)
        if tape.rows >= ROW_GROUP_ROWS:
            tape.drain(pa, trades)

    snapshots = 0
    try:
        if chunks:
            start = min(c.first_ns for c in chunks)
            end = max(c.last_ns for c in chunks)
            count = -(-(end - start) // every_ns) + 1     # the last instant is >= end
            ends = sorted({c.last_ns for c in chunks})
            e = 0
            for k in range(count):
                instant = start + k * every_ns
                while e < len(ends) and ends[e] < instant:    # one chunk per step at most
                    replay.run(until_ns=ends[e])
                    collect_trades()
                    e += 1
                replay.run(until_ns=instant)
                collect_trades()
                wall = Recording.wall_ns(_chunk_at(chunks, rec, instant), instant)
                for core in replay.cores.values():
                    if isinstance(core, BookFeed):
                        rows.add(wall, instant, core, depth)
                snapshots += 1
                if len(rows) >= ROW_GROUP_ROWS:
                    books.add(rows.columns(pa))
                    rows = _BookRows()
        replay.run()        # records stamped past the last instant (clocks are per record)
        collect_trades()
        tape.drain(pa, trades)
        if len(rows):
            books.add(rows.columns(pa))
        books_out = books.close()
        trades_out = trades.close()
    except BaseException:
        for sink in (books, trades):
            with contextlib.suppress(Exception):
                sink.abort()
        raise
    problems = [str(p) for p in rec.problems] + list(replay.problems)
    if lost:
        problems.append(f"{lost} trades were overwritten in a ring before they were read "
                        f"(min_trade_capacity {min_trade_capacity} is too small)")
    return {"books": books_out, "trades": trades_out, "snapshots": snapshots,
            "every_ns": every_ns, "depth": depth, "book_count": len(replay.books),
            "trade_streams": sum(isinstance(c, TradeFeed) for c in replay.cores.values()),
            "trades_lost": lost, "problems": problems,
            "seconds": round(time.perf_counter() - started, 6)}
