"""The conformance corpus through the live path: a real ``FeedListener`` on a real socket.

Every scenario of ``tests/corpus`` runs twice more: its messages are sent by a local
picows server over 127.0.0.1 to a client whose listener is fastfeed's ``FeedListener``,
once as whole frames and once split into three fragments each (TEXT fin=0,
CONTINUATION fin=0, CONTINUATION fin=1: picows hands fragments to the listener, which
reassembles them). REST snapshot steps go to the book directly, as in the engine. After
every step the live book must equal the offline ``BookFeed`` fed the same bytes: state,
levels, ids, counters, rejects and reasons. Both paths share the router, so any
difference is a bug in the glue around it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest
from picows import WSListener, WSMsgType, ws_connect, ws_create_server

from fastfeed import BookFeed, DecodeRejected
from fastfeed._core import BookCore
from fastfeed._listener import FeedListener
from fastfeed.feed import instrument_scales
from test_corpus import load, scenario_files, scenario_id, step_input

MAX_BYTES = 64 * 1024 * 1024    # the corpus holds multi-megabyte level-count payloads


class _Owner:
    """The connection side of the listener: records what the engine would log."""

    def __init__(self) -> None:
        self.last_reject: str | None = None
        self.connected = asyncio.get_running_loop().create_future()

    def on_listener_connected(self, transport: Any) -> None:
        if not self.connected.done():
            self.connected.set_result(transport)

    def on_listener_disconnected(self, transport: Any) -> None:
        pass

    def on_listener_close_frame(self, code: Any, reason: str) -> None:
        pass

    def on_listener_protocol_error(self, reason: str) -> None:
        raise AssertionError(f"the corpus server broke the protocol: {reason}")

    def on_router_reject(self, text: str, head: bytes) -> None:
        self.last_reject = text

    def on_router_control(self, payload: bytes, is_error: bool) -> None:
        if is_error:
            self.last_reject = "venue error: " + payload[:300].decode("utf-8", "replace")

    def on_router_connection_gap(self, reason: str) -> None:
        pass

    def on_book_gap(self, core: BookCore, reason: str) -> None:
        pass

    def on_book_reject(self, core: BookCore, text: str) -> None:
        self.last_reject = text

    def on_book_buffered(self, core: BookCore) -> None:
        pass

    def on_book_live(self, core: BookCore) -> None:
        pass


class _Server(WSListener):  # type: ignore[misc]
    transports: ClassVar[list[Any]] = []

    def on_ws_connected(self, transport: Any) -> None:
        _Server.transports.append(transport)


def _observe(book: Any, rejects: dict[str, int], last_reject: str | None,
             result: Any) -> dict[str, Any]:
    return {
        "state": book.state, "result": result,
        "bids": book.book.bids_int().tolist(), "asks": book.book.asks_int().tolist(),
        "last_update_id": book.last_update_id, "gaps": book.gaps, "resyncs": book.resyncs,
        "old_messages": book.old_messages, "buffered": book.buffered,
        "messages": book.messages, "level_changes": book.level_changes,
        "rejects": rejects, "last_reject": last_reject,
        "last_gap_reason": book.last_gap_reason,
    }


def _offline_run(sc: dict[str, Any], venue: str) -> list[dict[str, Any]]:
    feed = BookFeed(venue, sc["symbol"], sc["tick_size"], sc["step_size"], strict=False)
    out = []
    for step in sc["steps"]:
        kind, payload = step_input(step)
        result: Any
        if kind == "snapshot":
            try:
                result = feed.apply_snapshot(payload)
            except DecodeRejected:
                result = "rejected"
        else:
            result = feed.apply_message(payload)
        out.append(_observe(feed, feed.rejects, feed.last_reject, result))
    return out


def _fragments(payload: bytes) -> list[tuple[WSMsgType, bytes, bool]]:
    if len(payload) < 3:
        return [(WSMsgType.TEXT, payload, True)]
    a, b = len(payload) // 3, 2 * len(payload) // 3
    return [(WSMsgType.TEXT, payload[:a], False), (WSMsgType.CONTINUATION, payload[a:b], False),
            (WSMsgType.CONTINUATION, payload[b:], True)]


async def _wait_frames(listener: FeedListener, count: int) -> None:
    for _ in range(20_000):
        if listener.frames >= count:
            return
        await asyncio.sleep(0.0005)
    raise AssertionError(f"listener saw {listener.frames} frames, expected {count}")


async def _live_run(sc: dict[str, Any], venue: str, port: int,
                    fragmented: bool) -> list[dict[str, Any]]:
    owner = _Owner()
    core = BookCore(venue, sc["symbol"],
                    *instrument_scales(venue, sc["tick_size"], sc["step_size"]), strict=False)
    core._attach(owner)
    before = len(_Server.transports)
    client, listener = await ws_connect(
        lambda: FeedListener(venue, owner, [core], MAX_BYTES), f"ws://127.0.0.1:{port}/",
        max_frame_size=MAX_BYTES, use_aiofastnet=False)
    await owner.connected
    while len(_Server.transports) == before:
        await asyncio.sleep(0.001)
    server = _Server.transports[-1]
    frames = 0
    out = []
    try:
        for step in sc["steps"]:
            kind, payload = step_input(step)
            result: Any
            if kind == "snapshot":
                try:
                    result = core.apply_snapshot(payload)
                except DecodeRejected:
                    owner.last_reject = core.last_reject   # what the engine would log
                    result = "rejected"
            else:
                applied_before = core.level_changes
                parts = _fragments(payload) if fragmented else [(WSMsgType.TEXT, payload, True)]
                for msg_type, part, fin in parts:
                    server.send(msg_type, part, fin=fin)
                frames += len(parts)
                await _wait_frames(listener, frames)
                result = core.level_changes - applied_before
            merged = dict(core.rejects)
            for name, count in listener.router.rejects.items():
                merged[name] = merged.get(name, 0) + count
            out.append(_observe(core, merged, owner.last_reject, result))
    finally:
        client.disconnect()
        await client.wait_disconnected()
    return out


@pytest.fixture(scope="module")
def corpus_runs() -> dict[str, tuple[list[Any], list[Any], list[Any]]]:
    """Offline, live-whole and live-fragmented observations of every scenario."""
    async def main() -> dict[str, tuple[list[Any], list[Any], list[Any]]]:
        server = await ws_create_server(lambda request: _Server(), "127.0.0.1", 0,
                                        max_frame_size=MAX_BYTES, use_aiofastnet=False)
        port = server.sockets[0].getsockname()[1]
        runs = {}
        try:
            for path in scenario_files():
                sc = load(path)
                venue = path.parent.name
                runs[scenario_id(path)] = (
                    _offline_run(sc, venue),
                    await _live_run(sc, venue, port, fragmented=False),
                    await _live_run(sc, venue, port, fragmented=True),
                )
        finally:
            server.close()
        return runs
    return asyncio.run(main())


def _first_difference(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str | None:
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for key in x:
            if x[key] != y[key]:
                return f"step {i} {key}: offline {x[key]!r}, live {y[key]!r}"
    return None


@pytest.mark.parametrize("path", [pytest.param(p, id=scenario_id(p)) for p in scenario_files()])
def test_listener_matches_offline(path: Path, corpus_runs: dict[str, Any]) -> None:
    offline, whole, fragmented = corpus_runs[scenario_id(path)]
    assert len(offline) == len(whole) == len(fragmented) > 0
    assert (diff := _first_difference(offline, whole)) is None, f"whole frames: {diff}"
    assert (diff := _first_difference(offline, fragmented)) is None, f"fragmented: {diff}"


def test_the_comparison_can_fail(corpus_runs: dict[str, Any]) -> None:
    """A changed level or state is reported (the comparison is not vacuous)."""
    offline, whole, _ = next(iter(corpus_runs.values()))
    changed = [dict(obs) for obs in whole]
    changed[-1]["state"] = "closed" if changed[-1]["state"] != "closed" else "live"
    assert _first_difference(offline, changed) is not None
    assert any(obs["messages"] for obs in offline)
