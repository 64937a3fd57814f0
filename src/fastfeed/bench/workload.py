"""Benchmark workloads and the exactness check, shared by ``fastfeed bench`` and ``benches/``.

- :func:`make_workload`: realistic venue messages pre-generated with the simulator's own
  market model and renderers (:mod:`fastfeed.sim.model`, :mod:`fastfeed.sim.render`), plus
  the exact book after the last one (the ground truth).
- :func:`compare_levels` / :func:`book_levels_decimal`: the exactness check.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastfeed.venues import VENUES, get_venue
from fastfeed.venues.binance import BinanceSpot

__all__ = [
    "CALIBRATION",
    "SNAPSHOT_MAX_LEVELS",
    "VENUE_DEFAULTS",
    "Workload",
    "book_levels_decimal",
    "compare_levels",
    "corrupt_core",
    "make_workload",
    "mid_price",
    "model_levels_for",
    "symbol_names",
    "truth_levels",
]

#: Per venue: (tick_size, step_size, typical level size in lots), as the simulator
#: defaults. A benchmark table (instrument shapes, not venue rules); its keys are
#: :data:`fastfeed.venues.VENUES`, so a venue added there without a line here fails here.
_INSTRUMENTS: dict[str, tuple[str, str, int]] = {
    "binance": ("0.01", "0.00001", 10_000),
    "binance-usdm": ("0.10", "0.001", 1_000),
    "coinbase": ("0.01", "0.00000001", 10_000_000),
    "coinbase-exchange": ("0.01", "0.00000001", 10_000_000),
    "bybit": ("0.01", "0.00001", 10_000),
    "bybit-linear": ("0.10", "0.001", 1_000),
    "kraken": ("0.1", "0.00000001", 10_000_000),
    "okx": ("0.01", "0.00000001", 10_000_000),
}
VENUE_DEFAULTS: dict[str, tuple[str, str, int]] = {name: _INSTRUMENTS[name] for name in VENUES}

#: Most levels a REST snapshot may ask for, per venue with ``uses_rest_snapshots`` (the
#: venue's API limit, ``Venue.depth_max_limit``: the benchmark loads the whole
#: ``--book-depth`` from one snapshot).
SNAPSHOT_MAX_LEVELS: dict[str, int] = {
    name: v.depth_max_limit for name, v in VENUES.items()
    if v.uses_rest_snapshots and v.depth_max_limit is not None}

_MIDS = ("97250.01", "3500.00", "185.25", "640.10", "2.41", "0.35")
_BASES = ("BTC", "ETH", "SOL", "BNB", "XRP", "DOGE")

#: The simulator's model draws ``levels_per_message`` changes per message, mostly near the
#: top of the book, so repeated prices merge and a message carries fewer *distinct* level
#: changes. Measured (seed 1, 1000-level book): model parameter -> distinct changes.
CALIBRATION: tuple[tuple[int, float], ...] = (
    (1, 1.0), (10, 9.4), (20, 14.8), (30, 18.8), (40, 22.0), (50, 24.9), (60, 27.2),
    (70, 30.0), (80, 32.2), (100, 36.6), (150, 46.6), (200, 55.0), (300, 70.0),
)


def model_levels_for(distinct: float) -> int:
    """The model's ``levels_per_message`` that yields about ``distinct`` changes a message."""
    xs = [d for _, d in CALIBRATION]
    if distinct <= xs[0]:
        return 1
    if distinct >= xs[-1]:
        last_p, last_d = CALIBRATION[-1]
        return round(last_p + (distinct - last_d) / 0.15)
    i = bisect.bisect_left(xs, distinct)
    (p0, d0), (p1, d1) = CALIBRATION[i - 1], CALIBRATION[i]
    return max(1, round(p0 + (p1 - p0) * (distinct - d0) / (d1 - d0)))


def symbol_names(venue: str, n: int) -> list[str]:
    """``n`` plausible symbols for a venue (BTCUSDT, ETHUSDT, … / BTC-USD, ETH-USD, …)."""
    bases = [*_BASES, *(f"X{i}" for i in range(max(0, n - len(_BASES))))][:n]
    example = get_venue(venue).symbol_example        # "BTCUSDT" / "BTC-USD"
    quote = example.removeprefix(_BASES[0])
    return [f"{b}{quote}" for b in bases]


def mid_price(i: int) -> str:
    """Initial mid price of the ``i``-th symbol."""
    return _MIDS[i] if i < len(_MIDS) else "100.00"


# ---------------------------------------------------------------------------- workloads


@dataclass
class Workload:
    """Pre-generated traffic for one (venue, symbol) and the exact book after it.

    ``snapshot`` is the REST snapshot body (Binance; ``None`` for Coinbase), ``prelude``
    the messages to apply before timing (the Coinbase in-band snapshot), ``messages`` the
    timed updates, ``final_bids``/``final_asks`` the book after the last message as
    ``Decimal`` (price, size) pairs, best first.
    """

    venue: str
    symbol: str
    tick_size: str
    step_size: str
    snapshot: bytes | None
    prelude: list[bytes]
    messages: list[bytes]
    final_bids: list[tuple[Decimal, Decimal]]
    final_asks: list[tuple[Decimal, Decimal]]
    level_changes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        """Total payload bytes of the timed messages."""
        return sum(len(m) for m in self.messages)


def truth_levels(levels: Sequence[tuple[int, int]], price_scale: Any, size_scale: Any
                 ) -> list[tuple[Decimal, Decimal]]:
    """Model ints (counts of increments) → exact ``Decimal`` (price, size) pairs."""
    return [(Decimal(price_scale.fmt(p)), Decimal(size_scale.fmt(q))) for p, q in levels]


def make_workload(venue: str, symbol: str = "BTCUSDT", *, messages: int = 2000,
                  levels_per_message: float = 30.0, depth: int = 1000, seed: int = 1,
                  index: int = 0, combined: bool = False, sequence_start: int = 1
                  ) -> Workload:
    """Generate ``messages`` updates for ``venue``/``symbol`` with the simulator's model.

    ``levels_per_message`` is the wanted mean of *distinct* level changes per message
    (see :data:`CALIBRATION`); ``depth`` the levels per side. Binance messages are in the
    raw-stream form unless ``combined``; Coinbase Advanced Trade envelopes number
    ``sequence_num`` from ``sequence_start`` (the snapshot envelope takes one less).
    """
    from fastfeed.sim import render
    from fastfeed.sim.model import BookModel

    v = get_venue(venue)
    # USD-M chains events by ``pu`` (its sequencing rule): the model then skips ids
    # between events and the renderer adds ``pu`` and prints at the scale, as the venue does.
    usdm = v.sequencing == "binance-usdm"
    tick, step, size_scale = VENUE_DEFAULTS[venue]
    model = BookModel(symbol=symbol, seed=seed, tick_size=tick, step_size=step,
                      mid_price=mid_price(index), depth=depth,
                      levels_per_message=model_levels_for(levels_per_message),
                      move_prob=0.1, size_scale=size_scale, history=1,
                      id_skip=usdm)
    ps, ss = model.price_scale, model.size_scale
    start = model.snapshot()
    msgs: list[bytes] = []
    prelude: list[bytes] = []
    snapshot: bytes | None = None
    changes = 0
    e_ms = 1_764_000_000_000
    if v.decoder == "binance-depth":
        assert isinstance(v, BinanceSpot)
        # Binance spot prints 8 decimals; USD-M prints at the scale (as the simulator does).
        fmt = render.Fmt(ps, ss, 8 if not usdm else ps.text_decimals,
                         8 if not usdm else ss.text_decimals, None)
        stream = v.stream(symbol).encode()
        for i in range(messages):
            m = model.step()
            if i == 0:
                # As on the venue (and in the simulator's burst mode), the snapshot's
                # lastUpdateId lies inside the first event: spot drops it as old, USD-M
                # needs it as the bridging event (U <= lastUpdateId <= u).
                snapshot = render.binance_snapshot(model.snapshot(), 5000, fmt, usdm)
            changes += len(m.bids) + len(m.asks)
            payload = render.binance_event(symbol, m, fmt, usdm, e_ms + 100 * i)
            msgs.append(render.combined(stream, payload) if combined else payload)
    elif v.decoder == "coinbase-at":
        fmt = render.Fmt(ps, ss, ps.text_decimals, ss.text_decimals, "0")
        ts = "2026-11-24T12:00:00.123456789Z"
        seq = sequence_start - 1
        upd = render.at_updates(start.sorted_bids(), start.sorted_asks(), fmt, ts)
        prelude.append(render.at_envelope(
            "l2_data", seq, "[" + render.at_event("snapshot", symbol, upd) + "]", ts))
        for _ in range(messages):
            seq += 1
            m = model.step()
            changes += len(m.bids) + len(m.asks)
            ev = render.at_event("update", symbol, render.at_updates(m.bids, m.asks, fmt, ts))
            msgs.append(render.at_envelope("l2_data", seq, "[" + ev + "]", ts))
    elif v.decoder == "coinbase-exchange":
        fmt = render.Fmt(ps, ss, ps.text_decimals, ss.text_decimals, "0")
        ts = "2026-11-24T12:00:00.123456Z"
        prelude.append(render.ex_snapshot(symbol, start, fmt))
        for _ in range(messages):
            m = model.step()
            changes += len(m.bids) + len(m.asks)
            msgs.append(render.ex_l2update(symbol, m.bids, m.asks, fmt, 8, ts))
    elif v.decoder in ("bybit", "okx", "kraken"):
        # The simulator dialect's own Wire renders (docs/simulator.md): in-band snapshot
        # first, then one message per model step. Kraken's wire keeps the top
        # ``Kraken.book_depth`` view, so its messages carry only the view's changes.
        wire = _wire(venue, model)
        prelude.append(wire.snapshot() if v.decoder == "kraken"
                       else wire.snapshot(model.snapshot()))
        for _ in range(messages):
            m = model.step()
            payload = wire.update(m, None)
            changes += _rendered_levels(v.decoder, payload)
            msgs.append(payload)
    else:
        raise ValueError(f"no workload for {venue!r} (decoder {v.decoder!r})")
    final = model.snapshot()
    depth_cut = getattr(v, "book_depth", None)      # Kraken: the book a client holds
    return Workload(venue, symbol, tick, step, snapshot, prelude, msgs,
                    truth_levels(final.sorted_bids(depth_cut), ps, ss),
                    truth_levels(final.sorted_asks(depth_cut), ps, ss), changes)


class _WireMarket:
    """What a simulator dialect's ``Wire`` reads of its market when rendering book
    messages (:class:`fastfeed.sim.market.Market` without host, subscribers or faults)."""

    def __init__(self, venue: str, model: Any, fmt: Any) -> None:
        self.venue = venue
        self.symbol = model.symbol
        self.model = model
        self.fmt = fmt


def _wire(venue: str, model: Any) -> Any:
    """The venue's simulator ``Wire`` over ``model`` (its own number format)."""
    from fastfeed.sim.config import SymbolConfig
    from fastfeed.sim.dialects import get_dialect

    dialect = get_dialect(venue)
    fmt = dialect.number_format(SymbolConfig(model.symbol), model.price_scale, model.size_scale)
    return dialect.wire(_WireMarket(venue, model, fmt))  # type: ignore[arg-type]


def _rendered_levels(decoder: str, payload: bytes) -> int:
    """Level changes a rendered message carries (what the venue sends, not the model's
    step: Kraken's view diff differs), counted on the pre-generated bytes."""
    return payload.count(b'"price":' if decoder == "kraken" else b'["')


# ---------------------------------------------------------------------------- exactness


def book_levels_decimal(levels: Any, price_decimals: int, size_decimals: int
                        ) -> list[tuple[Decimal, Decimal]]:
    """An ``L2Book.bids_int()``/``asks_int()`` array → exact ``Decimal`` pairs."""
    return [(Decimal(int(p)).scaleb(-price_decimals), Decimal(int(q)).scaleb(-size_decimals))
            for p, q in levels]


def compare_levels(name: str, got: Sequence[tuple[Any, Any]],
                   want: Sequence[tuple[Decimal, Decimal]],
                   convert: Callable[[Decimal], Any] = lambda d: d) -> str | None:
    """``None`` if ``got`` equals ``want`` (converted by ``convert``), else a description
    of the first difference."""
    conv = [(convert(p), convert(q)) for p, q in want]
    if len(got) != len(conv):
        for i, (g, w) in enumerate(zip(got, conv, strict=False)):
            if tuple(g) != w:
                return f"{name}: {len(got)} levels, want {len(conv)}; first diff at #{i}: {tuple(g)} != {w}"
        return f"{name}: {len(got)} levels, want {len(conv)}"
    for i, (g, w) in enumerate(zip(got, conv, strict=False)):
        if tuple(g) != w:
            return f"{name}: level #{i} is {tuple(g)}, want {w}"
    return None


def corrupt_core(core: Any) -> None:
    """Test aid: bump the size of the best bid by one lot."""
    from fastfeed._book import BID

    best = core.book.best_bid_int()
    if best is not None:
        core.book.apply(BID, best[0], best[1] + core.size_step)


def record_workload(w: Workload, path: str, *,
                    before_message: Callable[[int, Any], None] | None = None,
                    **recorder_kw: Any) -> tuple[Any, int]:
    """The workload as ``Engine(record=)`` would have recorded it (docs/recording.md): the
    book declared, a connection opened and routed, the book syncing, its snapshot (REST
    venues), then every prelude and workload message as a frame, 1 µs apart, socket reads
    of three messages. ``before_message(i, recorder)`` runs before message ``i`` (tests).
    Returns the open ``Recorder`` (the caller closes it) and the frames written."""
    from fastfeed.feed import BookFeed
    from fastfeed.recorder import Recorder

    rec = Recorder(path, **recorder_kw)
    book = BookFeed(w.venue, w.symbol, w.tick_size, w.step_size, strict=False,
                    book_latency="off")
    rec.declare(book, "book", venue=w.venue, symbol=w.symbol, tick_size=w.tick_size,
                step_size=w.step_size, price_decimals=book.price_decimals,
                size_decimals=book.size_decimals)
    conn = rec.connection(w.venue, "ws://workload")
    rec.route(conn, [book], [])
    rec.op("start_sync", book, state="syncing")
    if w.snapshot is not None:
        rec.op("snapshot", book, body=w.snapshot)
    t = 1_000_000_000
    payloads = list(w.prelude) + list(w.messages)
    for i, m in enumerate(payloads):
        if before_message is not None:
            before_message(i, rec)
        t += 1000
        rec.buffer.add_frame_bytes(conn, t, m, i % 3 == 2)
    return rec, len(payloads)
