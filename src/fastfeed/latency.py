"""Python-facing latency helpers around the compiled ``LatencyHistogram``.

- ``LatencySet``: the named histograms a book/connection keeps (``recv_to_apply``,
  ``recv_to_publish``, ``exchange_to_recv``, ``resync_duration``), recorded into by
  compiled code, rotated into interval histograms from an asyncio task while cumulative
  totals are kept.
- ``BOOK_LATENCY``: the per-book precision modes (``full``, ``coarse``, ``off``) and
  ``book_latency_set`` / ``connection_latency_set``, the one place their layouts are
  chosen (the memory model: docs/memory.md).
- ``HlogWriter``: ``.hlog`` interval logs readable by the HdrHistogram tools
  (HistogramLogProcessor, HdrHistogramVisualizer) and ``hdrh.log.HistogramLogReader``.
- ``summary`` / ``format_ns``: small report helpers.

All values are nanoseconds.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timezone
from typing import IO, Any

from hdrh.histogram import HdrHistogram

from fastfeed._hist import LatencyHistogram

__all__ = [
    "BOOK_LATENCY",
    "CONNECTION_SIGNIFICANT_FIGURES",
    "HIST_NAMES",
    "HlogWriter",
    "LatencyHistogram",
    "LatencySet",
    "book_latency_set",
    "connection_latency_set",
    "format_ns",
    "summary",
]

#: Names of the histograms a ``LatencySet`` keeps, in report order.
HIST_NAMES: tuple[str, ...] = (
    "recv_to_apply",
    "recv_to_publish",
    "exchange_to_recv",
    "resync_duration",
)

_SUMMARY_PS = (50.0, 90.0, 99.0, 99.9, 100.0)

#: Per-book latency modes: significant figures of each book's histograms (HdrHistogram
#: sense; None: the book keeps none). ``coarse`` (the default) is 528 int32 counts a
#: histogram (2 KiB), values within 1/16 (6.25 %) of what was recorded; ``full`` is
#: 27648 counts (108 KiB), within 1/1024. Every stage is also recorded at full precision
#: once per connection (``connection_latency_set``). docs/memory.md has the budget.
BOOK_LATENCY: dict[str, int | None] = {"full": 3, "coarse": 1, "off": None}

#: Significant figures of a connection's histograms (shared by every book on it).
CONNECTION_SIGNIFICANT_FIGURES = 3

# int32 counts, widened on demand (exact): half the memory of int64 (docs/memory.md)
_WORD_SIZE = 4


def book_latency_set(mode: str) -> LatencySet | None:
    """The ``LatencySet`` a book keeps in latency mode ``mode`` (None for ``off``)."""
    if mode not in BOOK_LATENCY:
        raise ValueError(f"book_latency must be one of {', '.join(BOOK_LATENCY)}, got {mode!r}")
    sig = BOOK_LATENCY[mode]
    if sig is None:
        return None
    return LatencySet(significant_figures=sig, word_size=_WORD_SIZE)


def connection_latency_set() -> LatencySet:
    """The full-precision ``LatencySet`` a connection keeps for all of its books."""
    return LatencySet(significant_figures=CONNECTION_SIGNIFICANT_FIGURES, word_size=_WORD_SIZE)


def format_ns(v: float) -> str:
    """Human-readable duration from nanoseconds: "812 ns", "3.4 µs", "1.20 ms", "2.50 s"."""
    if math.isnan(v):
        return "nan"
    sign = "-" if v < 0 else ""
    a = abs(float(v))
    # Decide the unit after rounding so 999.96 µs prints as "1.00 ms", not "1000.0 µs".
    if round(a) < 1_000:
        return f"{sign}{a:.0f} ns"
    if round(a / 1e3, 1) < 1_000:
        return f"{sign}{a / 1e3:.1f} µs"
    if round(a / 1e6, 2) < 1_000:
        return f"{sign}{a / 1e6:.2f} ms"
    return f"{sign}{a / 1e9:.2f} s"


def summary(hist: LatencyHistogram | HdrHistogram) -> dict[str, Any]:
    """Key numbers of a histogram, in ns.

    Keys: ``count``, ``p50``, ``p90``, ``p99``, ``p99.9``, ``max``, ``mean`` (HDR
    semantics: percentiles and ``max`` are the highest value equivalent to the bucket,
    so ``p99.9 <= max`` always), plus ``min`` and, for a ``LatencyHistogram``,
    ``overflow`` (values clamped to highest) and ``negative`` (values recorded as 0).
    """
    if isinstance(hist, LatencyHistogram):
        ps = hist.percentiles(_SUMMARY_PS)
        count = hist.total_count
        out: dict[str, Any] = {
            "count": count,
            "p50": ps[50.0],
            "p90": ps[90.0],
            "p99": ps[99.0],
            "p99.9": ps[99.9],
            "max": ps[100.0],
            "mean": hist.mean(),
            "min": hist.value_at_percentile(0.0) if count else 0,
            "overflow": hist.overflow_count,
            "negative": hist.negative_count,
        }
        return out
    count = hist.get_total_count()
    return {
        "count": count,
        "p50": hist.get_value_at_percentile(50.0),
        "p90": hist.get_value_at_percentile(90.0),
        "p99": hist.get_value_at_percentile(99.0),
        "p99.9": hist.get_value_at_percentile(99.9),
        "max": hist.get_value_at_percentile(100.0),
        "mean": hist.get_mean_value(),
        "min": hist.get_value_at_percentile(0.0) if count else 0,
    }


def _check_tag(tag: str | None) -> None:
    if tag is not None and (not tag or any(c in tag for c in ", \t\r\n")):
        raise ValueError(f"invalid hlog tag {tag!r}: must be non-empty, no comma/whitespace")


class HlogWriter:
    """Write an HdrHistogram interval log (``.hlog``, format 1.3).

    The header has a ``#[StartTime: ...]`` and a ``#[BaseTime: ...]`` line (written
    here: ``hdrh.log.HistogramLogWriter.output_start_time`` raises in 0.10.8) and the
    legend. Each interval line is ``[Tag=<tag>,]<start>,<length>,<max>,<HISTFAAA...>``
    with ``start`` in seconds relative to ``base_time`` (seconds since the epoch,
    default: ``start_time``) and ``max`` divided by ``max_value_unit_ratio`` (default
    1e6: ns -> ms, the tools' convention). Tags are written as the Java writer does;
    ``hdrh``'s reader exposes them via ``get_tag()``.
    """

    def __init__(
        self,
        file: str | os.PathLike[str] | IO[str],
        *,
        start_time: float | None = None,
        base_time: float | None = None,
        comment: str | None = None,
        max_value_unit_ratio: float = 1e6,
    ) -> None:
        """Open ``file`` (a path, or a text stream left open on ``close``) and write
        the header. ``start_time``/``base_time`` are seconds since the epoch."""
        if isinstance(file, (str, os.PathLike)):
            self._file: IO[str] = open(file, "w", encoding="utf-8")
            self._owns = True
        else:
            self._file = file
            self._owns = False
        self.start_time: float = time.time() if start_time is None else float(start_time)
        self.base_time: float = self.start_time if base_time is None else float(base_time)
        self.max_value_unit_ratio = float(max_value_unit_ratio)
        w = self._file.write
        from fastfeed import __version__

        w(f"#[Logged with fastfeed {__version__}]\n")
        if comment:
            for line in comment.splitlines():
                w(f"#{line}\n")
        w("#[Histogram log format version 1.3]\n")
        iso = datetime.fromtimestamp(self.start_time, tz=timezone.utc).isoformat()
        w(f"#[StartTime: {self.start_time:.3f} (seconds since epoch), {iso}]\n")
        w(f"#[BaseTime: {self.base_time:.3f} (seconds since epoch)]\n")
        w('"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n')

    def write_interval(
        self,
        hist: LatencyHistogram | HdrHistogram,
        *,
        start: float | None = None,
        end: float | None = None,
        tag: str | None = None,
    ) -> None:
        """Append one interval. ``start``/``end`` are seconds since the epoch; by
        default the histogram's own (``start_time``/``end_time`` of an interval
        returned by ``swap_interval``/``LatencySet.rotate``). An interval that began
        before ``base_time`` is logged as starting at ``base_time``."""
        _check_tag(tag)
        if isinstance(hist, LatencyHistogram):
            h = hist.to_hdr()
            s = hist.start_time if start is None else start
            e = hist.end_time if end is None else end
        else:
            h = hist
            s = h.get_start_time_stamp() / 1000.0 if start is None else start
            e = h.get_end_time_stamp() / 1000.0 if end is None else end
        if e < s:
            raise ValueError(f"interval ends before it starts: [{s}, {e}]")
        # Relative timestamps cannot be negative in the format (readers' regex): an
        # interval that began before base_time is logged as starting at base_time.
        if s < self.base_time:
            s = self.base_time
            e = max(e, s)
        rel = s - self.base_time
        blob = h.encode().decode("ascii")
        prefix = f"Tag={tag}," if tag is not None else ""
        mx = h.get_max_value() / self.max_value_unit_ratio
        self._file.write(f"{prefix}{rel:.3f},{e - s:.3f},{mx:.3f},{blob}\n")

    def write_comment(self, text: str) -> None:
        """Append a ``#`` comment line."""
        self._file.write(f"#{text}\n")

    def flush(self) -> None:
        """Flush the underlying stream."""
        self._file.flush()

    def close(self) -> None:
        """Flush, and close the file if this writer opened it."""
        if self._owns:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> HlogWriter:
        """Context manager: closes on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the writer."""
        self.close()


IntervalCallback = Callable[[dict[str, LatencyHistogram]], "Awaitable[None] | None"]


class LatencySet:
    """The named latency histograms of one book or connection.

    The attributes ``recv_to_apply``, ``recv_to_publish``, ``exchange_to_recv`` and
    ``resync_duration`` are the *live* histograms compiled code records into (hold them
    in a ``cdef LatencyHistogram`` field and call ``.record(ns)``). They hold the
    current interval only: ``rotate()`` swaps each one out (cheap buffer swap; the
    objects stay the same, so references held by compiled code stay valid), folds the
    interval into the cumulative totals and returns the intervals.

    ``exchange_to_recv`` compares the venue's clock with ours, so it can be negative:
    the histogram records negatives as 0 and counts them in ``negative_count``.

    The cumulative totals exist from the first ``rotate()`` on (until then the live
    histograms are the totals), so a set that is never rotated holds four histograms.
    """

    def __init__(
        self,
        *,
        lowest: int = 1,
        highest: int = 60_000_000_000,
        significant_figures: int = 3,
        word_size: int = 8,
    ) -> None:
        """Create empty live histograms with one layout (``word_size`` 4: int32 counts
        widened on demand; see ``LatencyHistogram``)."""
        def mk() -> LatencyHistogram:
            return LatencyHistogram(lowest, highest, significant_figures, word_size)

        self.significant_figures = significant_figures
        self.recv_to_apply = mk()
        self.recv_to_publish = mk()
        self.exchange_to_recv = mk()
        self.resync_duration = mk()
        self._cumulative: dict[str, LatencyHistogram] = {}

    def live(self) -> dict[str, LatencyHistogram]:
        """The live (current-interval) histograms by name."""
        return {n: getattr(self, n) for n in HIST_NAMES}

    def record_exchange_to_recv(self, exchange_ts_ns: int, recv_ts_ns: int) -> None:
        """Record ``recv - exchange`` (negative skew is clamped to 0 and counted)."""
        self.exchange_to_recv.record_value(recv_ts_ns - exchange_ts_ns)

    def rotate(self) -> dict[str, LatencyHistogram]:
        """End the current interval: return the interval histograms by name (each with
        ``start_time``/``end_time`` set) and add them to the cumulative totals."""
        out: dict[str, LatencyHistogram] = {}
        for n in HIST_NAMES:
            iv = getattr(self, n).swap_interval()
            total = self._cumulative.get(n)
            if total is None:
                self._cumulative[n] = iv.copy()
            else:
                total.add(iv)
            out[n] = iv
        return out

    def cumulative(self, name: str) -> LatencyHistogram:
        """Everything recorded so far under ``name`` (totals + the current interval)."""
        if name not in HIST_NAMES:
            raise KeyError(name)
        total = self._cumulative.get(name)
        if total is None:
            return getattr(self, name).copy()
        h = total.copy()
        h.add(getattr(self, name))
        return h

    def histograms(self) -> list[LatencyHistogram]:
        """Every histogram this set holds: the live ones, then the cumulative totals."""
        return [getattr(self, n) for n in HIST_NAMES] + list(self._cumulative.values())

    def memory_bytes(self) -> int:
        """Bytes this set holds: the counts of every histogram plus the objects (the
        interval histograms ``rotate`` returned are the caller's)."""
        return (sum(h.nbytes + sys.getsizeof(h) for h in self.histograms())
                + sys.getsizeof(self) + sys.getsizeof(self.__dict__)
                + sys.getsizeof(self._cumulative))

    def summaries(self, names: Iterable[str] = HIST_NAMES) -> dict[str, dict[str, Any]]:
        """``summary()`` of each cumulative histogram."""
        return {n: summary(self.cumulative(n)) for n in names}

    def reset(self) -> None:
        """Forget live and cumulative data."""
        for n in HIST_NAMES:
            getattr(self, n).reset()
        self._cumulative.clear()

    async def run_rotation(
        self,
        interval_s: float,
        *,
        on_interval: IntervalCallback | None = None,
        writer: HlogWriter | None = None,
        skip_empty: bool = True,
    ) -> None:
        """Rotate every ``interval_s`` seconds until cancelled (run it as a task).

        Each interval is written to ``writer`` (one line per histogram, tagged with its
        name; empty ones skipped if ``skip_empty``) and passed to ``on_interval``
        (awaited if it returns an awaitable). Ticks are scheduled on the loop's clock
        from the start, so they do not drift with the time rotation takes.
        """
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + interval_s
        while True:
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            next_tick += interval_s
            intervals = self.rotate()
            if writer is not None:
                for n, iv in intervals.items():
                    if iv.total_count or not skip_empty:
                        writer.write_interval(iv, tag=n)
                writer.flush()
            if on_interval is not None:
                res = on_interval(intervals)
                if inspect.isawaitable(res):
                    await res
