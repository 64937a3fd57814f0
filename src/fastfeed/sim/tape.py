"""The trade tape: what the simulated market really traded, and what follows from it.

The :class:`~fastfeed.sim.model.BookModel` produces :class:`Fill` records (one per maker
order a taker order hit) and :class:`Agg` records (Binance aggregate trades: the fills of
one taker order at one price). Everything the trade, ticker and candle channels send is
derived from these, exactly, in ints (price in ticks, size in lots, quote volume in
tick*lot units): :class:`RollingStats` keeps a rolling window's statistics (the 24 h
ticker), :func:`candles` buckets fills into bars. ``docs/simulator.md`` ("Trades, BBO,
tickers and candles") says what each channel carries.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple


class Fill(NamedTuple):
    """One trade: a taker order against one resting (maker) order at one price."""

    trade_id: int
    """Per-symbol trade id, +1 per fill (Binance ``t``, Coinbase ``trade_id``); USD-M skips
    an id now and then (insurance-fund/ADL trades, not on the public tape)."""
    agg_id: int
    """Binance aggregate trade id (``a``) of the taker order's fills at this price."""
    price: int
    """Price in ticks."""
    size: int
    """Size in lots."""
    taker: int
    """+1 the taker bought (hit the asks), -1 the taker sold (hit the bids)."""
    t_ns: int
    """Execution time, ns since the epoch (every fill of one message shares it)."""
    update_id: int
    """``last_id`` (Binance ``u``) of the depth message carrying the book change."""
    maker_left: int
    """Lots left resting at ``price`` after this fill (0: the level is gone)."""


class Agg(NamedTuple):
    """One Binance aggregate trade: the fills ``first_id..last_id`` of one taker order at
    one price."""

    agg_id: int
    price: int
    size: int
    first_id: int
    last_id: int
    taker: int
    t_ns: int
    update_id: int


def aggregate(fills: Iterable[Fill]) -> list[Agg]:
    """Group consecutive fills with the same ``agg_id`` into :class:`Agg` records."""
    out: list[Agg] = []
    for f in fills:
        if out and out[-1].agg_id == f.agg_id:
            a = out[-1]
            out[-1] = a._replace(size=a.size + f.size, last_id=f.trade_id)
        else:
            out.append(Agg(f.agg_id, f.price, f.size, f.trade_id, f.trade_id, f.taker, f.t_ns, f.update_id))
    return out


class Stats(NamedTuple):
    """A window's trade statistics (all ints; ``None`` fields when it holds no trade)."""

    open: int | None
    high: int | None
    low: int | None
    last: int | None
    last_size: int
    volume: int
    """Base volume in lots."""
    quote: int
    """Quote volume: sum of price * size, in tick*lot units."""
    n: int
    first_id: int
    """Trade id of the window's first fill (-1 when empty)."""
    last_id: int
    """Trade id of the window's last fill (-1 when empty)."""
    prev_price: int | None
    """Price of the last fill before the window (Binance ``x``), None if unknown."""


class RollingStats:
    """The statistics of the fills in the last ``window_ns`` ns, kept incrementally.

    High and low come from monotonic deques, so adding and expiring are O(1) amortised.
    """

    def __init__(self, window_ns: int, cap: int = 100_000) -> None:
        """An empty window ``window_ns`` long, holding at most ``cap`` fills (older ones
        leave early: memory stays bounded whatever the trade rate)."""
        self.window_ns = window_ns
        self.cap = max(1, cap)
        self._fills: deque[Fill] = deque()
        self._max: deque[Fill] = deque()
        self._min: deque[Fill] = deque()
        self._volume = 0
        self._quote = 0
        self._prev: int | None = None

    def add(self, f: Fill) -> None:
        """Add one fill (fills arrive in time order)."""
        self._fills.append(f)
        self._volume += f.size
        self._quote += f.price * f.size
        while self._max and self._max[-1].price <= f.price:
            self._max.pop()
        self._max.append(f)
        while self._min and self._min[-1].price >= f.price:
            self._min.pop()
        self._min.append(f)
        if len(self._fills) > self.cap:
            self._pop()

    def expire(self, now_ns: int) -> None:
        """Drop the fills at or before ``now_ns - window_ns``."""
        edge = now_ns - self.window_ns
        fills = self._fills
        while fills and fills[0].t_ns <= edge:
            self._pop()

    def _pop(self) -> None:
        f = self._fills.popleft()
        self._prev = f.price
        self._volume -= f.size
        self._quote -= f.price * f.size
        if self._max and self._max[0] is f:
            self._max.popleft()
        if self._min and self._min[0] is f:
            self._min.popleft()

    def stats(self, now_ns: int) -> Stats:
        """The window ending at ``now_ns``."""
        self.expire(now_ns)
        fills = self._fills
        if not fills:
            return Stats(None, None, None, None, 0, 0, 0, 0, -1, -1, self._prev)
        first, last = fills[0], fills[-1]
        return Stats(first.price, self._max[0].price, self._min[0].price, last.price, last.size,
                     self._volume, self._quote, len(fills), first.trade_id, last.trade_id, self._prev)


class Bar(NamedTuple):
    """One candle: the fills with ``start_ns <= t_ns < start_ns + interval``."""

    start_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote: int
    n: int
    first_id: int
    last_id: int
    taker_buy_volume: int
    taker_buy_quote: int

    def add(self, f: Fill) -> Bar:
        """This bar with one more fill."""
        buy = f.taker > 0
        return self._replace(high=max(self.high, f.price), low=min(self.low, f.price), close=f.price,
                             volume=self.volume + f.size, quote=self.quote + f.price * f.size,
                             n=self.n + 1, last_id=f.trade_id,
                             taker_buy_volume=self.taker_buy_volume + (f.size if buy else 0),
                             taker_buy_quote=self.taker_buy_quote + (f.price * f.size if buy else 0))


def new_bar(start_ns: int, f: Fill) -> Bar:
    """A bar opened by its first fill."""
    buy = f.taker > 0
    return Bar(start_ns, f.price, f.price, f.price, f.price, f.size, f.price * f.size, 1, f.trade_id,
               f.trade_id, f.size if buy else 0, f.price * f.size if buy else 0)


def empty_bar(start_ns: int, close: int) -> Bar:
    """A bar with no trade: open = high = low = close = the previous close."""
    return Bar(start_ns, close, close, close, close, 0, 0, 0, -1, -1, 0, 0)


def candles(fills: Iterable[Fill], interval_ns: int) -> list[Bar]:
    """The bars of every bucket holding at least one fill, oldest first (buckets are
    aligned to the epoch: ``start_ns = t_ns - t_ns % interval_ns``)."""
    bars: list[Bar] = []
    for f in fills:
        start = f.t_ns - f.t_ns % interval_ns
        if bars and bars[-1].start_ns == start:
            bars[-1] = bars[-1].add(f)
        else:
            bars.append(new_bar(start, f))
    return bars


def fill_dict(f: Fill, price: str, size: str) -> dict[str, Any]:
    """A fill as ``GET /debug/trades`` returns it (texts as the venue prints them)."""
    return {"trade_id": f.trade_id, "agg_id": f.agg_id, "price": price, "size": size,
            "price_int": f.price, "size_int": f.size, "taker_side": "buy" if f.taker > 0 else "sell",
            "maker_side": "sell" if f.taker > 0 else "buy", "time_ns": f.t_ns,
            "update_id": f.update_id, "maker_left": f.maker_left}
