"""Live terminal view of books: a rich table on a TTY, plain periodic lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from fastfeed.latency import format_ns


class BookRow:
    """Rate bookkeeping for one book between refreshes."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.last_messages = book.messages
        self.last_time = time.monotonic()
        self.rate = 0.0

    def update(self) -> None:
        """Recompute messages/s since the previous refresh."""
        now = time.monotonic()
        dt = now - self.last_time
        if dt > 0.2:
            self.rate = (self.book.messages - self.last_messages) / dt
            self.last_messages = self.book.messages
            self.last_time = now

    def cells(self) -> list[str]:
        """The row's cells, in the order of ``COLUMNS``."""
        b = self.book
        bid = b.book.best_bid()
        ask = b.book.best_ask()
        spread = f"{ask[0] - bid[0]:.{b.price_decimals}f}" if bid and ask else "-"
        hist = b.latency.cumulative("recv_to_apply") if b.latency is not None else None
        p = hist.percentiles((50, 99)) if hist is not None and hist.total_count else {}
        return [
            f"{b.venue}:{b.symbol}",
            f"{bid[0]:.{b.price_decimals}f}" if bid else "-",
            f"{ask[0]:.{b.price_decimals}f}" if ask else "-",
            spread,
            b.state,
            f"{self.rate:,.0f}",
            str(b.gaps),
            str(b.resyncs),
            format_ns(p[50.0]) if p else "-",
            format_ns(p[99.0]) if p else "-",
            book_note(b),
        ]


COLUMNS = ("book", "bid", "ask", "spread", "state", "msg/s", "gaps", "resyncs",
           "p50", "p99", "note")
#: a live book silent longer than this gets its last message's age in the note
QUIET_NOTE_S = 10.0
NOTE_WIDTH = 60


def book_note(book: Any) -> str:
    """Why a book is not (yet) trustworthy, or what is unusual about it: a live book
    made of its snapshot alone (``idle``), one silent for a while, a subscription still
    waiting in the paced control queue, the last error of a syncing book (a snapshot that
    keeps failing says which attempt and when the next is)."""
    conn = getattr(book, "connection", None)
    if book.is_live:
        if getattr(book, "idle", False):
            return "idle: snapshot only, no event yet"
        age = getattr(book, "last_message_age", None)
        if age is not None and age > QUIET_NOTE_S:
            return f"quiet: last message {age:.0f}s ago"
        return ""
    if conn is not None and conn.subscribe_pending(book.symbol):
        return f"subscribe queued ({conn.stats()['control_queued']} control messages waiting)"
    text = getattr(book, "last_error", None) or book.last_gap_reason or ""
    return text if len(text) <= NOTE_WIDTH else text[:NOTE_WIDTH - 1] + "…"

STATE_STYLE = {"live": "green", "syncing": "yellow", "gap": "red", "stale": "red",
               "closed": "dim"}


class BookView:
    """Renders a set of books; ``refresh()`` once per tick, ``close()`` at the end."""

    def __init__(self, books: Sequence[Any], *, title: str = "fastfeed",
                 stream: TextIO | None = None, force_plain: bool = False) -> None:
        self.rows = [BookRow(b) for b in books]
        self.title = title
        self.stream = stream or sys.stdout
        self.plain = force_plain or not self.stream.isatty()
        self.events: list[str] = []
        self._live: Any = None
        self._log_handlers: list[logging.Handler] = []
        if not self.plain:
            from rich.live import Live
            from rich.logging import RichHandler

            self._live = Live(self._table(), refresh_per_second=4, transient=False)
            self._live.start()
            # log records print above the live table instead of tearing through it
            root = logging.getLogger()
            self._log_handlers = root.handlers[:]
            root.handlers = [RichHandler(console=self._live.console, show_path=False)]

    def add_event(self, text: str) -> None:
        """A line shown under the table (plain mode: printed at once)."""
        stamp = time.strftime("%H:%M:%S")
        self.events.append(f"{stamp} {text}")
        self.events = self.events[-6:]
        if self.plain:
            print(f"[{stamp}] {text}", file=self.stream, flush=True)

    def _table(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title, expand=False)
        for col in COLUMNS:
            table.add_column(col, justify="left" if col in ("book", "state", "note")
                             else "right", no_wrap=True)
        for row in self.rows:
            cells = row.cells()
            cells[4] = f"[{STATE_STYLE.get(cells[4], 'white')}]{cells[4]}[/]"
            table.add_row(*cells)
        return Group(table, Text("\n".join(self.events), style="dim"))

    def refresh(self) -> None:
        """Update rates and redraw (TTY) or print one line per book (plain)."""
        for row in self.rows:
            row.update()
        if self._live is not None:
            self._live.update(self._table())
            return
        for row in self.rows:
            c = row.cells()
            print(f"{c[0]:<28} bid {c[1]:>12} ask {c[2]:>12} {c[4]:<8} {c[5]:>8} msg/s "
                  f"gaps {c[6]} resyncs {c[7]} p50 {c[8]} p99 {c[9]}"
                  + (f"  ({c[10]})" if c[10] else ""),
                  file=self.stream, flush=True)

    def close(self) -> None:
        """Stop the live display (leaves the last table on screen)."""
        if self._live is not None:
            self._live.update(self._table())
            self._live.stop()
            self._live = None
            logging.getLogger().handlers = self._log_handlers
