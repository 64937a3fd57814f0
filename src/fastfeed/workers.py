"""Sharding books across engine processes (docs/fanout.md, "Workers").

``fastfeed run --workers N VENUE:SYMBOL ...`` (or :class:`Supervisor`) starts N child
processes, each a ``fastfeed run`` of its shard of the books: the shard of a book is
stable (:func:`shard_of`, a hash of ``venue:symbol``), so a restarted worker takes the
same books and a book never moves while the set of books and N stay the same. Workers
publish where they are told (``--nats`` into one server: distinct subjects per book;
``--shm NAME`` into a segment of their own, ``NAME-w<i>``, listed by the segment directory
``NAME`` the supervisor keeps, so one reader of ``NAME`` sees every book) and report their books' states
as one JSON line a second on stdout, which the supervisor merges into one view. A worker
that exits is restarted (capped exponential backoff); its books resync from scratch and,
on NATS, start new epochs, which consumers follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastfeed._parse import format_decimal_py

__all__ = ["Supervisor", "Worker", "shard_of", "shards"]

log = logging.getLogger("fastfeed.workers")

#: bytes of one status line a worker may print before the supervisor calls it broken
MAX_STATUS_LINE = 1 << 20


def shard_of(venue: str, symbol: str, workers: int) -> int:
    """The worker (0..workers-1) that owns ``venue:symbol``: CRC-32 of the pair, modulo."""
    if workers < 1:
        raise ValueError("workers must be >= 1")
    return zlib.crc32(f"{venue}:{symbol}".encode()) % workers


def shards(specs: Sequence[tuple[str, str]], workers: int) -> list[list[tuple[str, str]]]:
    """``specs`` split by :func:`shard_of` (a worker may get none)."""
    out: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
    for venue, symbol in specs:
        out[shard_of(venue, symbol, workers)].append((venue, symbol))
    return out


@dataclass
class Worker:
    """One child process and what it last reported."""

    index: int
    specs: list[tuple[str, str]]
    pid: int | None = None
    starts: int = 0
    restarts: int = 0
    last_exit: int | None = None
    status: dict[str, Any] = field(default_factory=dict)
    status_at: float = 0.0              # monotonic time of the last status line
    bad_lines: int = 0
    proc: asyncio.subprocess.Process | None = None

    @property
    def alive(self) -> bool:
        """The process runs (it may not have reported yet)."""
        return self.proc is not None and self.proc.returncode is None


class Supervisor:
    """Runs and restarts the workers; merges their status.

    ``worker_args`` are the ``fastfeed run`` options every worker gets (``--nats URL``,
    ``--ws-url``, ...); ``shm`` (a segment name) gives worker ``i`` the segment
    ``<shm>-w<i>`` and makes ``<shm>`` a segment directory listing them
    (:class:`fastfeed.shm.SegmentDirectory`, from :meth:`start` to :meth:`close`).
    ``python`` is the interpreter the workers run on.
    """

    def __init__(self, specs: Sequence[tuple[str, str]], workers: int, *,
                 worker_args: Sequence[str] = (), shm: str | None = None,
                 python: str | None = None, backoff_min: float = 0.5,
                 backoff_max: float = 10.0) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if not specs:
            raise ValueError("no books to run")
        self.workers = [Worker(i, s) for i, s in enumerate(shards(specs, workers)) if s]
        self.worker_args = list(worker_args)
        self.shm = shm
        if shm:
            from fastfeed.shm import segment_path

            for name in (shm, *(self.segment(w) for w in self.workers)):
                segment_path(name)          # a bad name fails here, not in a worker
        self.python = python or sys.executable
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._directory: Any = None

    def command(self, w: Worker) -> list[str]:
        """The command line of worker ``w``."""
        cmd = [self.python, "-m", "fastfeed", "run", *(f"{v}:{s}" for v, s in w.specs),
               "--status-lines", *self.worker_args]
        if self.shm:
            cmd += ["--shm", self.segment(w)]
        return cmd

    def segment(self, w: Worker) -> str:
        """The shared-memory segment worker ``w`` publishes into (with ``shm``)."""
        return f"{self.shm}-w{w.index}"

    async def start(self) -> None:
        """Create the segment directory (with ``shm``) and start every worker (each kept
        running by its own task). ``SegmentInUse`` if another live process holds it."""
        if self.shm and self._directory is None:
            from fastfeed.shm import SegmentDirectory

            self._directory = SegmentDirectory(
                self.shm, [(self.segment(w), w.index) for w in self.workers])
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._keep(w), name=f"fastfeed:worker-{w.index}")
                       for w in self.workers]

    async def close(self, timeout: float = 10.0) -> None:
        """Stop the workers (SIGTERM, then SIGKILL after ``timeout``)."""
        self._closing = True
        procs = [w.proc for w in self.workers if w.alive]
        for p in procs:
            assert p is not None
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p is not None
            try:
                await asyncio.wait_for(p.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                await p.wait()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._directory is not None:     # after the workers closed their segments
            self._directory.close()
            self._directory = None

    async def __aenter__(self) -> Supervisor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _keep(self, w: Worker) -> None:
        delay = self.backoff_min
        while not self._closing:
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                # stdin stays open and silent: the worker exits when it closes (us gone)
                *self.command(w), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=MAX_STATUS_LINE)
            w.proc, w.pid = proc, proc.pid
            w.starts += 1
            assert proc.stdout is not None
            while True:
                try:
                    line = await proc.stdout.readline()
                except ValueError:          # a line over the limit: not our worker's
                    w.bad_lines += 1
                    proc.kill()
                    break
                if not line:
                    break
                try:
                    status = json.loads(line)
                except ValueError:
                    w.bad_lines += 1
                    continue
                if isinstance(status, dict):
                    w.status = status
                    w.status_at = time.monotonic()
            w.last_exit = await proc.wait()
            if self._closing:
                return
            w.restarts += 1
            for b in w.status.get("books", []):
                b["state"] = "stale"        # nobody keeps them until the restart
            log.warning("worker %d (pid %d, %d books) exited with %s; restarting in %.1f s",
                        w.index, proc.pid, len(w.specs), w.last_exit, delay)
            # a worker that ran a while earns a fresh backoff; one that dies at once backs off
            delay = self.backoff_min if time.monotonic() - started > 30 else \
                min(delay * 2, self.backoff_max)
            await asyncio.sleep(random.uniform(delay / 2, delay))

    def books(self) -> list[dict[str, Any]]:
        """Every book's last reported status with its ``worker``; books a worker has not
        reported yet are ``starting``."""
        out = []
        for w in self.workers:
            reported = {(b.get("venue"), b.get("symbol")): b for b in w.status.get("books", [])}
            for venue, symbol in w.specs:
                b = reported.get((venue, symbol)) or {"venue": venue, "symbol": symbol,
                                                      "state": "starting"}
                out.append({**b, "worker": w.index})
        return out

    def summary(self) -> dict[str, Any]:
        """The merged view: workers (pid, restarts, alive) and every book."""
        return {"workers": [{"index": w.index, "pid": w.pid, "alive": w.alive,
                             "books": len(w.specs), "starts": w.starts,
                             "restarts": w.restarts, "last_exit": w.last_exit,
                             "nats": w.status.get("nats")} for w in self.workers],
                "books": self.books()}

    def render(self) -> str:
        """The merged view as text (one line per worker, one per book)."""
        lines = []
        for w in self.workers:
            lines.append(f"worker {w.index}: pid {w.pid} {'up' if w.alive else 'down'}, "
                         f"{len(w.specs)} books, {w.restarts} restarts")
        for b in self.books():
            best = b.get("best") or ["", ""]
            lines.append(f"  w{b['worker']} {b['venue']}:{b['symbol']:<14} {b['state']:<8} "
                         f"{b.get('messages', 0):>10,} msgs  bid {best[0]:>14} ask {best[1]:>14}")
        return "\n".join(lines)


def book_status(book: Any) -> dict[str, Any]:
    """One book's line in a worker's status (``fastfeed run --status-lines``); ``best``
    holds the best bid and ask prices as exact decimal text at the book's price scale
    (from its int64 ticks, never a float), ``""`` for an empty side."""
    levels, pd = book.book, book.book.price_decimals
    best = [levels.best_bid_int(), levels.best_ask_int()]
    return {"venue": book.venue, "symbol": book.symbol, "state": book.state,
            "messages": book.messages, "update_id": book.last_update_id,
            "resyncs": book.resyncs, "gaps": book.gaps,
            "best": [format_decimal_py(top[0], pd) if top else "" for top in best]}
