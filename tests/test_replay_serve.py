"""End to end over real loopback sockets: a recording made from the simulator, served
back by the playback server (``fastfeed replay FILE --serve``), consumed by a fresh live
Engine: its books must equal the offline Replay of the same file, level by level, with
the same update ids (docs/recording.md, "Playback over sockets")."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest

from e2e import run, settle, sim_config, wait_for
from fastfeed import Engine
from fastfeed._record import EVENT
from fastfeed.recording import Recording, split_meta
from fastfeed.replay import Replay, book_json
from fastfeed.sim import Simulator
from fastfeed.sim.playback import PlaybackServer

SPECS = {"binance": ["BTCUSDT", "ETHUSDT"], "coinbase": ["BTC-USD"]}


def first_time(rec: Recording, kind: int, key: str, name: str) -> int:
    for _info, r in rec.records():
        if r.kind == kind and split_meta(r.payload)[0].get(key) == name:
            return r.t_ns
    raise AssertionError(f"no {name} recorded")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A short session of two Binance spot books and one Coinbase AT book."""
    path = str(tmp_path_factory.mktemp("serve") / "session.ffrec")

    async def body() -> None:
        async with Simulator(sim_config(SPECS, rate=100.0)) as sim:
            async with Engine(record=path) as engine:
                books = [await engine.subscribe(v, s, ws_url=sim.ws_url(v),
                                                rest_url=sim.rest_url(v))
                         for v, symbols in SPECS.items() for s in symbols]
                await wait_for(lambda: all(b.messages > 40 for b in books), what="traffic")
                await settle(sim, books)

    run(body, timeout=60)
    return path


def offline_books(path: str) -> dict[tuple[str, str], dict]:
    """The offline replay up to the engine's close (the books as the recorder left them)."""
    with Recording(path) as rec:
        closing = first_time(rec, EVENT, "event", "closing")
        replay = Replay(rec).run(until_ns=closing - 1)
        assert not replay.problems, replay.problems
        return {key: book_json(book) for key, book in replay.books.items()}


async def consume(srv: PlaybackServer) -> dict[tuple[str, str], dict]:
    """A fresh engine on the playback server until every message it served has landed."""
    async with Engine() as engine:
        # every book at once, as `fastfeed run` does: the playback starts at the connect
        # (a book added to a connection later misses what was played before it)
        books = []
        for venue, symbols in SPECS.items():
            books += await engine.subscribe_many([(venue, s) for s in symbols], wait=False,
                                                 ws_url=srv.ws_url(venue),
                                                 rest_url=srv.rest_url(venue))
        await asyncio.wait_for(srv.finished.wait(), 30)

        def received() -> int:
            return sum(c.listener.frames for c in engine.connections if c.listener is not None)

        await wait_for(lambda: received() >= sum(srv.frames_sent.values()), what="delivery")
        await wait_for(lambda: all(b.state == "live" for b in books), what="live")
        return {(b.venue, b.symbol): book_json(b) for b in books}


@pytest.mark.parametrize("speed", [1.0, 0.0])
def test_served_recording_rebuilds_the_recorded_books(recording: str, speed: float) -> None:
    expected = offline_books(recording)

    async def body() -> tuple[dict, dict]:
        async with PlaybackServer(recording, speed=speed) as srv:
            live = await consume(srv)
            return live, srv.stats()

    live, stats = run(body, timeout=60)
    assert set(live) == set(expected) == {(v, s) for v, ss in SPECS.items() for s in ss}
    for key, book in expected.items():
        assert book["state"] == "live" and book["bids"] and book["asks"], key
        assert live[key] == book, key         # every level, exact strings, the update id
    assert stats["frames_sent"] == stats["frames"], stats     # one connection a venue
    assert stats["connections"] == {"binance": 1, "coinbase": 1}
    assert sum(stats["snapshots_served"].values()) >= 2       # one per Binance book
    assert stats["rest_served"] >= 2 and stats["not_found"] == 0 and not stats["problems"]


def test_unknown_requests_get_a_clear_404(recording: str) -> None:
    async def body() -> list[tuple[int, str]]:
        async with PlaybackServer(recording) as srv:
            out = []
            for url in (srv.rest_url("binance") + "/api/v3/depth?symbol=XRPUSDT",
                        srv.rest_url("binance") + "/api/v3/klines?symbol=BTCUSDT",
                        srv.rest_url("binance-usdm") + "/fapi/v1/depth?symbol=BTCUSDT"):
                out.append(await asyncio.to_thread(_get, url))
            return out

    answers = run(body)
    assert answers[0] == (404, "the recording holds no binance snapshot of 'XRPUSDT'\n")
    assert answers[1][0] == 404 and "no REST body for GET /api/v3/klines" in answers[1][1]
    assert answers[2][0] == 404 and "no recorded venue 'binance-usdm'" in answers[2][1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_cli_serve_prints_the_urls_and_exits_when_done(recording: str) -> None:
    expected = offline_books(recording)
    proc = subprocess.Popen([sys.executable, "-m", "fastfeed", "replay", recording, "--serve",
                             "--speed", "0", "--exit-when-done"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().split() for _ in range(2)]
        urls = {parts[0]: (parts[2], parts[4]) for parts in lines}
        assert set(urls) == {"binance", "coinbase"}, lines
        assert all(p[1] == "ws" and p[3] == "rest" for p in lines), lines

        async def body() -> dict[tuple[str, str], dict]:
            last: dict[tuple[str, str], dict] = {}     # each book after its last message

            def keep(book: Any) -> None:
                last[(book.venue, book.symbol)] = book_json(book)

            async with Engine() as engine:
                books = []
                for venue, symbols in SPECS.items():
                    ws, rest = urls[venue]
                    # (not waiting for live: the server may be gone by then)
                    books += await engine.subscribe_many([(venue, s) for s in symbols],
                                                         ws_url=ws, rest_url=rest,
                                                         callback=keep, wait=False)
                # the server exits once it played everything: the books go stale
                await wait_for(lambda: proc.poll() is not None, timeout=30, what="exit")
                await wait_for(lambda: all(b.state == "stale" for b in books), what="stale")
                return last

        live = run(body)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "played:" in err and "problem" not in err, err
    for key, book in expected.items():
        assert live[key] == book, key
