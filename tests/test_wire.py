"""The fan-out wire format's reference codec (docs/wire.md): round trips and every reject."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from fastfeed.fanout import wire
from fastfeed.fanout.wire import (
    DELTA,
    HEADER_LEN,
    SNAPSHOT,
    WireError,
    book_id,
    decode,
    encode,
    normalise_symbol,
    stream_name,
    subject,
)

BIDS = [(10_050, 7), (10_049, 1 << 62)]
ASKS = [(10_051, 3)]


def message(**kw: object) -> bytes:
    args: dict[str, object] = dict(state=1, book=book_id("binance", "BTCUSDT"),
                                   price_decimals=2, size_decimals=8, epoch=(1 << 64) - 1,
                                   seq=41, first_update_id=-1, last_update_id=(1 << 63) - 1,
                                   exchange_ns=5, recv_ns=6, publish_ns=7, messages=3,
                                   flags=1, bids=BIDS, asks=ASKS)
    args.update(kw)
    return encode(SNAPSHOT, **args)  # type: ignore[arg-type]


def test_round_trip_exact() -> None:
    data = message()
    assert len(data) == HEADER_LEN + 16 * 3
    m = decode(data)
    assert (m.kind, m.state_name, m.epoch, m.seq, m.last_update_id) == (
        SNAPSHOT, "live", (1 << 64) - 1, 41, (1 << 63) - 1)
    assert (m.first_update_id, m.exchange_ns, m.recv_ns, m.publish_ns, m.messages,
            m.flags) == (-1, 5, 6, 7, 3, 1)
    assert m.bid_prices.tolist() == [10_050, 10_049]
    assert m.bid_sizes.tolist() == [7, 1 << 62]
    assert (m.ask_prices.tolist(), m.ask_sizes.tolist()) == ([10_051], [3])
    assert m.bid_sizes.dtype == np.dtype("<i8")


def test_empty_delta() -> None:
    m = decode(encode(DELTA, state=3, book=1, price_decimals=0, size_decimals=0, epoch=1,
                      seq=1))
    assert (m.kind, m.state_name, len(m.bid_prices), len(m.ask_sizes)) == (DELTA, "stale", 0, 0)


def test_longer_header_is_skipped() -> None:
    data = bytearray(message())
    struct.pack_into("<H", data, 14, HEADER_LEN + 8)
    data[HEADER_LEN:HEADER_LEN] = b"\xff" * 8       # a later version's extra field
    assert decode(bytes(data)).bid_prices.tolist() == [10_050, 10_049]


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda d: d[:HEADER_LEN - 1], "shorter than"),
    (lambda d: b"FFNX" + d[4:], "bad magic"),
    (lambda d: d[:4] + struct.pack("<H", 2) + d[6:], "unsupported wire version 2"),
    (lambda d: d[:6] + b"\x04" + d[7:], "unknown message kind 4"),
    (lambda d: d[:6] + b"\x03" + d[7:], "trades message"),     # a book body as TRADES
    (lambda d: d[:7] + b"\x05" + d[8:], "unknown book state 5"),
    (lambda d: d[:14] + struct.pack("<H", 80) + d[16:], "header_len 80"),
    (lambda d: d[:-8], "its header says"),
    (lambda d: d + b"\x00" * 16, "its header says"),
])
def test_rejects(mutate: object, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        decode(mutate(message()))  # type: ignore[operator]


def test_encode_rejects_unknown_kind() -> None:
    with pytest.raises(WireError, match="not a book message kind"):
        encode(9, state=1, book=1, price_decimals=0, size_decimals=0, epoch=1, seq=1)
    with pytest.raises(WireError, match="not a book message kind"):
        # TRADES messages are encode_trades' job
        encode(wire.TRADES, state=1, book=1, price_decimals=0, size_decimals=0, epoch=1,
               seq=1)


def test_names() -> None:
    assert normalise_symbol("btc/usd") == "BTC_USD"
    assert normalise_symbol("BTC-USD.P *>") == "BTC-USD_P___"
    assert subject("ff", "book", "kraken", "BTC/USD") == "ff.book.kraken.BTC_USD"
    assert subject("ff", "status", "kraken") == "ff.status.kraken"
    assert stream_name("my-app.x", "snap") == "MY_APP_X_SNAP"
    assert book_id("kraken", "BTC/USD") != book_id("kraken", "BTC_USD")
