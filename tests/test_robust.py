"""Issue 17, hostile input and broken servers: the cold path survives and says why."""

from __future__ import annotations

import asyncio

import pytest

from e2e import run, wait_for
from fastfeed import Engine
from hostile_ws import VIOLATIONS, HostileServer, frame


@pytest.mark.parametrize("violation", sorted(VIOLATIONS))
def test_protocol_violation_reconnects_and_recovers(violation):
    raw, words = VIOLATIONS[violation]

    async def body():
        async with HostileServer() as srv, Engine(reconnect_base=0.01) as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            assert conn.connects == 1
            await srv.attack(raw)
            await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=5,
                           what=f"reconnect after {violation}")
            assert words in conn.last_error, conn.last_error
            assert words in book.last_error
            assert conn.stats()["errors"] == {"WSProtocolError": 1}
            assert srv.connections == 2
    run(body, timeout=20)


def test_reserved_bit_fails_the_connection_and_recovers():
    """RSV1 with no negotiated extension (e.g. a compressed frame): the frame is never
    applied, the connection is failed with 1002 and comes back."""
    bad = frame(0x1, b'{"type":"l2update","product_id":"BTC-USD","changes":[["buy","100.00","9"]]}',
                rsv1=True)

    async def body():
        async with HostileServer() as srv, Engine(reconnect_base=0.01) as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            await srv.attack(bad)
            await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=5,
                           what="reconnect after an RSV1 frame")
            assert "reserved bit" in conn.last_error, conn.last_error
            assert conn.stats()["errors"] == {"ProtocolViolation": 1}
            assert book.book.best_bid() == (100.0, 1.5)     # the frame was never applied
    run(body, timeout=20)


def test_unoffered_extension_in_the_handshake_is_refused():
    """A handshake that names permessage-deflate (never offered): no data is read from that
    connection; the next one (plain) carries the book."""
    async def body():
        async with HostileServer(extension_once="permessage-deflate") as srv, \
                Engine(reconnect_base=0.01) as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            assert book.is_live and srv.connections == 2
            assert conn.errors["ProtocolViolation"] == 1
            assert "permessage-deflate" in (conn.last_error or "")
    run(body, timeout=20)


def test_supervisor_restarts_a_connection_task_that_ends():
    async def body():
        async with HostileServer() as srv, Engine(reconnect_base=0.01) as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            conn._task.cancel()     # ends the task from outside, as a bug would
            await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=5,
                           what="restart")
            assert conn.restarts == 1
            assert "connection task ended" in conn.last_error
    run(body, timeout=20)


def _live_timers(loop):
    return sum(1 for h in loop._scheduled if not h.cancelled())


def test_control_queue_coalesces_and_keeps_one_timer():
    async def body():
        async with HostileServer() as srv, Engine(reconnect_base=0.01) as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            loop = asyncio.get_running_loop()
            timers = _live_timers(loop)
            for _ in range(400):
                other = await engine.subscribe("coinbase-exchange", "ETH-USD", ws_url=srv.url,
                                               tick_size="0.01", step_size="0.1", wait=False)
                await asyncio.sleep(0)       # its subscribe is queued
                await engine.unsubscribe(other)
            assert _live_timers(loop) - timers <= 1
            assert len(conn._outbox) <= 2
            stats = conn.stats()
            assert stats["control_queued"] == len(conn._outbox)
            assert stats["control_coalesced"] >= 390, stats
            assert stats["control_overflows"] == 0
    asyncio.run(asyncio.wait_for(body(), 20))


def test_control_queue_overflow_reconnects():
    async def body():
        async with HostileServer() as srv, \
                Engine(reconnect_base=0.01, max_control_queue=5) as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            conn._send([b'{"type":"ping"}'] * 20)      # far more than the pace allows
            await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=5,
                           what="reconnect after overflow")
            assert conn.stats()["control_overflows"] == 1
            assert "control queue" in conn.last_error
    run(body, timeout=20)


def test_bad_frame_flood_is_rate_limited_and_venue_text_escaped(caplog):
    forged = b'{"type":"error","message":"boom\nCRITICAL fastfeed.engine: forged"}'

    async def body():
        async with HostileServer() as srv, Engine() as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            for _ in range(200):
                await srv.attack(frame(0x1, b"garbage\nCRITICAL forged line"))
            await srv.attack(frame(0x1, forged))
            await wait_for(lambda: conn.listener.counters()["frames"] >= 202, what="frames")
            return conn.last_error, book.last_error
    with caplog.at_level("WARNING", logger="fastfeed"):
        errors = run(body, timeout=20)
    engine_records = [r for r in caplog.records if r.name == "fastfeed.engine"]
    assert 1 <= len(engine_records) <= 5, [r.getMessage() for r in engine_records]
    for text in [r.getMessage() for r in engine_records] + [e for e in errors if e]:
        assert "\n" not in text, text


def test_credentials_never_printed(caplog):
    async def body():
        async with HostileServer() as srv, Engine(reconnect_base=0.01) as engine:
            url = srv.url.replace("ws://", "ws://user:secret@")
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection
            assert conn.stats()["url"].startswith("ws://***@127.0.0.1")
            assert "secret" not in repr(conn)
            await srv.attack(VIOLATIONS["masked"][0])
            await wait_for(lambda: conn.connects >= 2, timeout=5, what="reconnect")
            return [repr(conn), str(engine.stats()), conn.last_error]
    with caplog.at_level("INFO", logger="fastfeed"):
        shown = run(body, timeout=20)
    for text in shown + [r.getMessage() for r in caplog.records]:
        assert "secret" not in text, text


def test_exception_in_a_listener_callback_reconnects():
    async def body():
        async with HostileServer() as srv, Engine(reconnect_base=0.01) as engine:
            book = await engine.subscribe("coinbase-exchange", "BTC-USD", ws_url=srv.url,
                                          tick_size="0.01", step_size="0.1", timeout=5)
            conn = book.connection

            def broken(text, head):
                conn.on_router_reject = type(conn).on_router_reject.__get__(conn)   # once
                raise RuntimeError("bug in a callback")
            conn.on_router_reject = broken
            await srv.attack(frame(0x1, b"garbage"))
            await wait_for(lambda: conn.connects >= 2 and book.is_live, timeout=5,
                           what="reconnect after a callback raised")
            assert conn.stats()["errors"] == {"RuntimeError": 1}
            assert "bug in a callback" in conn.last_error
    run(body, timeout=20)


def test_a_server_that_drops_the_upgrade_is_a_failed_connect_not_a_connection():
    """picows hands back a transport when the server closes before answering the upgrade
    (what it does itself with a request over 16 KiB): the engine must count a failed
    connect with a reason and keep retrying, not sit on a dead socket."""
    async def body():
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.close()
        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with Engine(reconnect_base=0.01, reconnect_cap=0.05) as engine:
                book = await engine.subscribe("binance", "BTCUSDT", tick_size="0.01",
                                              step_size="0.001", wait=False,
                                              ws_url=f"ws://127.0.0.1:{port}",
                                              rest_url=f"http://127.0.0.1:{port}")
                conn = book.connection
                await wait_for(lambda: conn.connect_failures >= 3, what="failed connects")
                assert conn.connects == 0 and not conn.connected
                assert "without answering the WebSocket upgrade" in conn.last_error
                assert book.state == "syncing"
        finally:
            server.close()
    run(body, timeout=30)
