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
