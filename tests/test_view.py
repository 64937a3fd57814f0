"""The `fastfeed run` / `demo` view says why a book is not trustworthy (docs/states.md):
idle, quiet, a queued subscribe, or the last error of a syncing book."""

from __future__ import annotations

import io

from fastfeed.engine import LiveBook
from fastfeed.venues import Instrument
from fastfeed.view import NOTE_WIDTH, BookView, book_note

SNAPSHOT = b'{"lastUpdateId":100,"bids":[["10.00","1.0"]],"asks":[["10.01","2.0"]]}'


def live_book() -> LiveBook:
    book = LiveBook("binance", "BTCUSDT", Instrument("BTCUSDT", "0.01", "0.1"))
    book.start_sync()
    assert book.apply_snapshot(SNAPSHOT) == "live"
    return book


def test_a_live_book_made_of_its_snapshot_alone_says_idle():
    book = live_book()
    assert book.idle
    assert book_note(book).startswith("idle")


def test_a_syncing_book_shows_its_last_error_cut_to_the_column():
    book = LiveBook("binance", "BTCUSDT", Instrument("BTCUSDT", "0.01", "0.1"))
    book.last_error = "snapshot failed: HTTP 500 from http://x/api/v3/depth (attempt 4; next " \
                      "in 12.3s) " + "x" * 100
    note = book_note(book)
    assert note.startswith("snapshot failed: HTTP 500") and len(note) == NOTE_WIDTH
    book.last_error = None
    assert book_note(book) == ""


def test_the_plain_view_prints_the_note():
    book = live_book()
    out = io.StringIO()
    view = BookView([book], stream=out, force_plain=True)
    view.refresh()
    view.close()
    assert "(idle: snapshot only" in out.getvalue()


def live_trades():
    from fastfeed._router import Router
    from fastfeed.trades import LiveTrades
    stream = LiveTrades("binance", "BTCUSDT", Instrument("BTCUSDT", "0.01", "0.00001"),
                        "aggTrade")
    stream.resume()
    router = Router("binance", None, [])
    router.set_channel_cores([stream])
    for a, (price, qty, maker) in enumerate([("97250.01", "0.5", True),
                                             ("97250.02", "0.25", False)], start=7):
        router.route_payload(
            b'{"e":"aggTrade","E":1700000000101,"s":"BTCUSDT","a":%d,"p":"%s","q":"%s",'
            b'"f":%d,"l":%d,"T":%d,"m":%s,"M":true}'
            % (a, price.encode(), qty.encode(), a, a, 1700000000100 + a,
               b"true" if maker else b"false"))
    return stream


def test_the_trade_row_and_tape_show_exact_values_newest_first():
    from fastfeed.view import TradeRow, tape_lines
    stream = live_trades()
    cells = TradeRow(stream).cells()
    assert cells[:4] == ["binance:BTCUSDT aggTrade", "97250.02000000", "0.25000000", "buy"]
    assert cells[5] == "2" and cells[7] == "live"
    tape = tape_lines([stream])
    assert len(tape) == 2
    assert "buy" in tape[0] and tape[0].endswith("@ 97250.02000000")    # newest first
    assert "sell" in tape[1] and tape[1].endswith("@ 97250.01000000")   # maker was the buyer


def test_the_plain_view_prints_trade_streams():
    out = io.StringIO()
    view = BookView([live_book()], stream=out, force_plain=True, trades=[live_trades()])
    view.refresh()
    view.close()
    assert "binance:BTCUSDT aggTrade" in out.getvalue() and "97250.02000000" in out.getvalue()
