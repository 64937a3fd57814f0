"""Live terminal view of books: a rich table on a TTY, plain periodic lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from fastfeed._parse import format_decimal_py
from fastfeed.latency import format_ns


class _Rate:
    """A counter's rate per second between refreshes (at most every 0.2 s)."""

    def __init__(self, value: int) -> None:
        self.last_value = value
        self.last_time = time.monotonic()
        self.rate = 0.0

    def update(self, value: int) -> None:
        """Recompute the rate from the counter's new ``value``."""
        now = time.monotonic()
        dt = now - self.last_time
        if dt > 0.2:
            self.rate = (value - self.last_value) / dt
            self.last_value = value
            self.last_time = now


class BookRow:
    """Rate bookkeeping for one book between refreshes."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self._rate = _Rate(book.messages)

    @property
    def rate(self) -> float:
        """Messages per second since the previous refresh."""
        return self._rate.rate

    def update(self) -> None:
        """Recompute messages/s since the previous refresh."""
        self._rate.update(self.book.messages)

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

TRADE_COLUMNS = ("trades", "last", "size", "side", "trades/s", "recorded", "gaps", "state",
                 "note")
#: trades shown in the tape under the tables, newest first
TAPE_LENGTH = 8
SIDE_NAMES = {1: "buy", -1: "sell", 0: "?"}


class TradeRow:
    """One trade stream's row: its last trade, rate and health between refreshes."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._rate = _Rate(stream.recorded)

    @property
    def rate(self) -> float:
        """Trades per second since the previous refresh."""
        return self._rate.rate

    def update(self) -> None:
        """Recompute trades/s since the previous refresh."""
        self._rate.update(self.stream.recorded)

    def cells(self) -> list[str]:
        """The row's cells, in the order of ``TRADE_COLUMNS``."""
        t = self.stream
        last = t.trades(since=t.recorded - 1) if t.recorded else None
        row = last[-1] if last is not None and len(last) else None
        note = t.last_gap_reason or getattr(t, "last_error", None) or ""
        if t.state == "live" and not t.gaps:
            note = ""
        return [
            f"{t.venue}:{t.symbol} {t.channel}",
            format_decimal_py(int(row["price"]), t.price_decimals) if row is not None else "-",
            format_decimal_py(int(row["size"]), t.size_decimals) if row is not None else "-",
            SIDE_NAMES.get(int(row["side"]), "?") if row is not None else "-",
            f"{self.rate:,.1f}",
            f"{t.recorded:,}",
            str(t.gaps),
            t.state,
            note if len(note) <= NOTE_WIDTH else note[:NOTE_WIDTH - 1] + "…",
        ]


BBO_COLUMNS = ("bbo", "bid", "bid size", "ask", "ask size", "updates/s", "state")


class BboRow:
    """One best bid/offer stream's row: its latest quote, exact, and its update rate."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._rate = _Rate(stream.recorded)

    def update(self) -> None:
        """Recompute updates/s since the previous refresh."""
        self._rate.update(self.stream.recorded)

    def cells(self) -> list[str]:
        """The row's cells, in the order of ``BBO_COLUMNS``."""
        s = self.stream
        q = s.bbo() if s.recorded else None

        def dec(v: int, d: int) -> str:
            return "-" if q is None or v < 0 else format_decimal_py(v, d)
        return [f"{s.venue}:{s.symbol} {s.channel}",
                dec(q.bid_price, s.price_decimals) if q else "-",
                dec(q.bid_size, s.size_decimals) if q else "-",
                dec(q.ask_price, s.price_decimals) if q else "-",
                dec(q.ask_size, s.size_decimals) if q else "-",
                f"{self._rate.rate:,.1f}", s.state]


def tape_lines(streams: Sequence[Any], n: int = TAPE_LENGTH) -> list[str]:
    """The last ``n`` trades of all ``streams``, newest first, one line each (exchange
    time, stream, taker side, exact price and size)."""
    rows = []
    for t in streams:
        recent = t.trades(since=max(0, t.recorded - n))
        for r in recent:
            rows.append((int(r["exchange_ns"]), t, r))
    rows.sort(key=lambda x: x[0], reverse=True)
    out = []
    for ns, t, r in rows[:n]:
        stamp = time.strftime("%H:%M:%S", time.gmtime(ns / 1e9)) + f".{ns // 1_000_000 % 1000:03d}"
        out.append(f"{stamp} {t.venue}:{t.symbol:<10} {SIDE_NAMES.get(int(r['side']), '?'):<4} "
                   f"{format_decimal_py(int(r['size']), t.size_decimals):>14} @ "
                   f"{format_decimal_py(int(r['price']), t.price_decimals)}")
    return out


class BookView:
    """Renders a set of books (and trade streams, with their tape); ``refresh()`` once
    per tick, ``close()`` at the end."""

    def __init__(self, books: Sequence[Any], *, title: str = "fastfeed",
                 stream: TextIO | None = None, force_plain: bool = False,
                 trades: Sequence[Any] = (), bbos: Sequence[Any] = ()) -> None:
        self.rows = [BookRow(b) for b in books]
        self.trade_rows = [TradeRow(t) for t in trades]
        self.bbo_rows = [BboRow(q) for q in bbos]
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
        parts: list[Any] = [table]
        if self.bbo_rows:
            quotes = Table(expand=False)
            for col in BBO_COLUMNS:
                quotes.add_column(col, justify="left" if col in ("bbo", "state") else "right",
                                  no_wrap=True)
            for qrow in self.bbo_rows:
                quotes.add_row(*qrow.cells())
            parts.append(quotes)
        if self.trade_rows:
            trades = Table(expand=False)
            for col in TRADE_COLUMNS:
                trades.add_column(col, justify="left" if col in ("trades", "side", "state",
                                                                "note") else "right",
                                  no_wrap=True)
            for trow in self.trade_rows:
                cells = trow.cells()
                cells[7] = f"[{STATE_STYLE.get(cells[7], 'white')}]{cells[7]}[/]"
                trades.add_row(*cells)
            parts += [trades, Text("\n".join(tape_lines([r.stream for r in self.trade_rows])))]
        return Group(*parts, Text("\n".join(self.events), style="dim"))

    def refresh(self) -> None:
        """Update rates and redraw (TTY) or print one line per book (plain)."""
        for row in self.rows:
            row.update()
        for trow in self.trade_rows:
            trow.update()
        for qrow in self.bbo_rows:
            qrow.update()
        if self._live is not None:
            self._live.update(self._table())
            return
        for qrow in self.bbo_rows:
            c = qrow.cells()
            print(f"{c[0]:<36} bid {c[1]:>14} x {c[2]:<12} ask {c[3]:>14} x {c[4]:<12} "
                  f"{c[5]:>6} updates/s {c[6]}", file=self.stream, flush=True)
        for trow in self.trade_rows:
            c = trow.cells()
            print(f"{c[0]:<36} last {c[1]:>12} x {c[2]:<12} {c[3]:<4} {c[4]:>6} trades/s "
                  f"{c[5]:>8} recorded gaps {c[6]} {c[7]}" + (f"  ({c[8]})" if c[8] else ""),
                  file=self.stream, flush=True)
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
