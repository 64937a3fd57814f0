"""The fan-out's socket writer thread (fastfeed._fanout.SocketWriter, include/ff_writer.h)
on real socket pairs: order, back-pressure and its wake-up, failure, draining stop, and
that every buffer handed to it is released exactly once."""

from __future__ import annotations

import errno
import os
import select
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from fastfeed._fanout import SocketWriter


@contextmanager
def socket_pair(sndbuf: int | None = None) -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected pair, the writer's end non-blocking as an event loop's socket is (its
    send buffer ``sndbuf`` bytes when given); both closed after."""
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        if sndbuf is not None:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        yield a, b


def recv_exactly(sock, n, timeout=10.0):
    sock.settimeout(timeout)
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(min(1 << 20, n - len(out)))
        assert chunk, "peer closed early"
        out += chunk
    return bytes(out)


def wait_notified(w, timeout=10.0):
    ready, _, _ = select.select([w.notify_fd], [], [], timeout)
    assert ready, "the writer never signalled"
    w.wakeup()


def test_buffers_arrive_whole_and_in_order_and_are_released():
    with socket_pair() as (a, b):
        w = SocketWriter(a.fileno(), 1 << 30, 1 << 20)
        chunks = [bytes([i % 251]) * (1 + 37 * i) for i in range(400)]
        before = [sys.getrefcount(c) for c in chunks]
        assert all(w.submit(c) > 0 for c in chunks)
        expected = b"".join(chunks)
        assert recv_exactly(b, len(expected)) == expected
        w.stop(drain=True)
        wait_notified(w)                        # finished
        w.join()
        assert w.finished and w.error == 0 and w.queued == 0
        assert w.bytes_written == len(expected) and w.sends >= 1
        assert [sys.getrefcount(c) for c in chunks] == before


def test_back_pressure_is_reported_and_the_low_mark_wakes_the_owner():
    with socket_pair(1 << 16) as (a, b):
        w = SocketWriter(a.fileno(), 1 << 20, 1 << 18)
        block = b"z" * (1 << 16)
        q = 0
        for _ in range(64):                     # 4 MiB into a peer that does not read
            q = w.submit(block)
        assert q > w.high_mark                  # the caller learns it is over the mark
        got = recv_exactly(b, 64 * len(block))  # the peer catches up
        assert got == block * 64
        wait_notified(w)                        # crossing the low mark woke us
        assert w.queued <= w.low_mark
        w.join()


def test_a_vanished_peer_stops_the_writer_and_releases_everything():
    with socket_pair() as (a, b):
        w = SocketWriter(a.fileno(), 1 << 30, 1 << 20)
        b.close()
        data = b"x" * 100_000
        base = sys.getrefcount(data)
        results = [w.submit(data) for _ in range(200)]
        wait_notified(w)
        assert w.error in (errno.EPIPE, errno.ECONNRESET)
        assert results[-1] == -1 or w.finished
        assert w.submit(b"more") == -1          # a stopped writer takes nothing
        w.join()
        assert sys.getrefcount(data) == base


def test_dropping_a_writer_blocked_on_a_full_socket_returns():
    with socket_pair(1 << 16) as (a, _):
        w = SocketWriter(a.fileno(), 1 << 30, 1 << 20)
        for _ in range(32):
            w.submit(b"y" * (1 << 16))          # the thread blocks in poll()
        w.join()                                # stops at once: shuts the socket down
        assert w.finished and w.queued == 0
        w.join()                                # idempotent


def test_marks_are_checked():
    with socket_pair() as (a, _):
        with pytest.raises(ValueError, match="low_mark"):
            SocketWriter(a.fileno(), 10, 20)
        with pytest.raises(OSError):
            SocketWriter(-1, 10, 5)             # no descriptor to duplicate


def test_a_refused_construction_closes_no_descriptor_it_does_not_own():
    r, w = os.pipe()
    try:
        for _ in range(3):
            with pytest.raises(ValueError):
                SocketWriter(w, 10, 20)
        os.fstat(0)                         # stdin (fd 0) still open
        assert os.write(w, b"x") == 1 and os.read(r, 1) == b"x"
    finally:
        os.close(r)
        os.close(w)
