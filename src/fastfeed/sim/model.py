"""Deterministic L2 market model with exact integer state and bounded history.

One :class:`BookModel` drives one (venue, symbol) book. State is kept as ints (price in
ticks, size in lots); strings are only rendered at the edge (:class:`Scale`). Every call to
:meth:`BookModel.step` produces one :class:`Message` — one venue message worth of level
changes covering a range of update ids ``U..u`` — and records an undo entry so the book can
be reconstructed as of any recent message (:meth:`BookModel.book_at`).

The model is seeded from ``(seed, symbol)`` only, so the same seed and symbol give the same
sequence of book events on every run and every venue (wall-clock fields such as ``E`` are
not part of the model).
"""

from __future__ import annotations

import hashlib
import random
from array import array
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from fastfeed.sim.tape import Agg, Fill, aggregate

BID = 0
ASK = 1


def derive_seed(seed: int, symbol: str) -> int:
    """A 64-bit seed from the run seed and the symbol (stable across processes).

    ``hash()`` is salted per process, so a cryptographic digest is used instead.
    """
    digest = hashlib.sha256(f"{seed}:{symbol}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


class Scale:
    """An instrument increment such as ``"0.01"``: parses to ints, renders ints as text.

    The increment is ``mantissa * 10**-decimals``; a count ``n`` of increments is the value
    ``n * mantissa`` in units of ``10**-decimals``. Increments need not be powers of ten
    (``"0.5"`` works), but then a count of ticks differs from a count of 10**-decimals units.
    """

    __slots__ = ("_cache", "decimals", "mantissa", "text", "text_decimals")

    def __init__(self, text: str) -> None:
        """Parse a positive decimal increment string exactly (no float)."""
        text = text.strip()
        if not text or text.startswith("-"):
            raise ValueError(f"increment must be a positive decimal string, got {text!r}")
        whole, _, frac = text.partition(".")
        frac = frac.rstrip("0")  # "0.10" is a 1-decimal scale
        if not (whole or "0").isdigit() or (frac and not frac.isdigit()):
            raise ValueError(f"not a decimal string: {text!r}")
        mantissa = int((whole or "0") + frac)
        if mantissa <= 0:
            raise ValueError(f"increment must be > 0, got {text!r}")
        self.text = text
        # Decimals as written ("0.10" -> 2): what venues print, even past the scale.
        self.text_decimals = len(text.partition(".")[2])
        self.decimals = len(frac)
        self.mantissa = mantissa
        self._cache: dict[tuple[int, int], str] = {}

    def units(self, text: str) -> int:
        """Parse a decimal string into a count of increments; it must lie on the grid."""
        whole, _, frac = text.strip().partition(".")
        frac_digits = frac.rstrip("0")
        if len(frac_digits) > self.decimals:
            raise ValueError(f"{text!r} has more decimals than increment {self.text!r}")
        raw = int((whole or "0") + frac_digits.ljust(self.decimals, "0"))
        count, rem = divmod(raw, self.mantissa)
        if rem:
            raise ValueError(f"{text!r} is not a multiple of increment {self.text!r}")
        return count

    def fmt(self, count: int, decimals: int | None = None) -> str:
        """Render ``count`` increments with ``decimals`` digits after the point (>= scale)."""
        d = self.decimals if decimals is None else max(decimals, self.decimals)
        key = (count, d)
        s = self._cache.get(key)
        if s is not None:
            return s
        units = count * self.mantissa * 10 ** (d - self.decimals)
        if d == 0:
            s = str(units)
        else:
            digits = str(units).rjust(d + 1, "0")
            s = f"{digits[:-d]}.{digits[-d:]}"
        # Prices repeat a lot near the top of the book; a bounded cache keeps rendering cheap.
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[key] = s
        return s


class Message(NamedTuple):
    """One venue message worth of book changes.

    ``first_id``/``last_id`` are Binance ``U``/``u``; ``prev_id`` is the previous message's
    ``last_id`` (USD-M ``pu``). ``bids``/``asks`` are ``(price_ticks, size_lots)`` with size
    0 meaning delete; bids are sorted best (highest) first, asks best (lowest) first.
    """

    first_id: int
    last_id: int
    prev_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    trades: tuple[Fill, ...] = ()
    """The fills of this message's taker orders (their book changes are in bids/asks)."""


@dataclass
class BookState:
    """A full copy of a book: ``{price_ticks: size_lots}`` per side and the update id."""

    last_id: int
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def sorted_bids(self, limit: int | None = None) -> list[tuple[int, int]]:
        """Bids best (highest price) first, at most ``limit`` levels."""
        out = sorted(self.bids.items(), reverse=True)
        return out if limit is None else out[:limit]

    def sorted_asks(self, limit: int | None = None) -> list[tuple[int, int]]:
        """Asks best (lowest price) first, at most ``limit`` levels."""
        out = sorted(self.asks.items())
        return out if limit is None else out[:limit]


class _Undo(NamedTuple):
    first_id: int
    last_id: int
    prev_id: int
    # Flattened (side, price, size before the message) triples; size 0 = level was absent.
    data: array


class BookModel:
    """Seeded random-walk L2 book on the tick grid.

    Level changes are concentrated near the top (index from the best drawn from an
    exponential distribution, mean ~2.5 levels), with size updates, inserts (inside the
    spread or just behind an existing level) and deletes; the mid price walks by removing
    the best level of one side and sometimes re-quoting it from the other. Each side is kept
    at ``depth`` levels: surplus levels at the far end are deleted (and the delete is sent),
    missing ones are added at the far end. The book never crosses (all bids < all asks).

    History: the last ``history`` messages are kept as undo entries (packed int64 triples,
    about 24 bytes per level change), so :meth:`book_at` can rebuild any state from
    ``oldest_id`` up to the current one.
    """

    def __init__(
        self,
        *,
        symbol: str,
        seed: int,
        tick_size: str,
        step_size: str,
        mid_price: str,
        depth: int,
        levels_per_message: int,
        move_prob: float,
        size_scale: int,
        history: int,
        start_id: int | None = None,
        id_skip: bool = False,
        trades_per_message: float = 0.0,
        trade_holes: bool = False,
        trade_history: int = 100_000,
    ) -> None:
        """Build the initial book (``depth`` levels per side around ``mid_price``).

        ``trades_per_message``: mean number of taker orders per message (0: no trades, and
        the book moves exactly as without the trade model); ``trade_holes``: trade ids skip
        a value now and then (USD-M: insurance-fund/ADL fills are not on the public tape);
        ``trade_history``: fills kept for the tape (:attr:`fills`, :attr:`aggs`).
        """
        if depth < 2:
            raise ValueError("depth must be >= 2")
        if levels_per_message < 1:
            raise ValueError("levels_per_message must be >= 1")
        self.symbol = symbol
        self.price_scale = Scale(tick_size)
        self.size_scale = Scale(step_size)
        self.depth = depth
        self.levels_per_message = levels_per_message
        self.move_prob = move_prob
        self.size_mean = max(1, size_scale)
        self.id_skip = id_skip
        self.rng = random.Random(derive_seed(seed, symbol))
        rng = self.rng
        # Prices ascending in both lists: best bid is bid_px[-1], best ask is ask_px[0].
        self.bid_px: list[int] = []
        self.ask_px: list[int] = []
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.history: deque[_Undo] = deque(maxlen=max(1, history))
        self.last_id = start_id if start_id is not None else 1_000_000 + rng.randrange(9_000_000)
        self.messages = 0
        # Trades draw from their own generator: the book's draws are the same with or
        # without them, as long as no trade happens (trades_per_message = 0).
        self.trades_per_message = trades_per_message
        self.trade_holes = trade_holes
        self.trng = random.Random(derive_seed(seed, symbol + "/trades"))
        self.next_trade_id = 100_000_000 + self.trng.randrange(900_000_000)
        self.next_agg_id = 10_000_000 + self.trng.randrange(90_000_000)
        self.fills: deque[Fill] = deque(maxlen=max(1, trade_history))
        """The trade tape, oldest first (at most ``trade_history`` fills)."""
        self.aggs: deque[Agg] = deque(maxlen=max(1, trade_history))
        """The aggregate trades of :attr:`fills`, oldest first."""

        mid = max(depth * 4 + 10, self.price_scale.units(_round_to_grid(mid_price, self.price_scale)))
        best_bid = mid - 1
        best_ask = best_bid + 1 + rng.choice((0, 0, 0, 1, 2))
        p = best_bid
        for _ in range(depth):
            if p < 1:
                break
            self.bid_px.append(p)
            self.bids[p] = self._size()
            p -= 1 + self._gap()
        self.bid_px.reverse()
        p = best_ask
        for _ in range(depth):
            self.ask_px.append(p)
            self.asks[p] = self._size()
            p += 1 + self._gap()

    # -- random helpers ------------------------------------------------------------------

    def _gap(self) -> int:
        # Mostly adjacent ticks, sometimes holes: what a liquid book looks like.
        r = self.rng.random()
        return 0 if r < 0.7 else (1 if r < 0.9 else self.rng.randint(2, 5))

    def _size(self) -> int:
        # Heavy-tailed sizes (a few large resting orders), always >= 1 lot.
        return 1 + int(self.size_mean * (self.rng.paretovariate(1.6) - 1.0) * 0.6 + self.rng.random() * self.size_mean)

    def _index(self, n: int) -> int:
        # Distance from the best level: exponential, so most changes hit the top few levels.
        return min(n - 1, int(self.rng.expovariate(0.4)))

    # -- state changes (each records the old size once per message for undo) --------------

    def _set(self, side: int, price: int, size: int, changes: dict[tuple[int, int], int],
             undo: dict[tuple[int, int], int]) -> None:
        book = self.bids if side == BID else self.asks
        px = self.bid_px if side == BID else self.ask_px
        old = book.get(price, 0)
        key = (side, price)
        if key not in undo:
            undo[key] = old
        if size:
            if not old:
                insort(px, price)
            book[price] = size
        elif old:
            del book[price]
            del px[bisect_left(px, price)]
        changes[key] = size

    def step(self, t_ns: int = 0) -> Message:
        """Advance the model by one message and return it (``t_ns``: the time its trades
        execute at, ns since the epoch)."""
        rng = self.rng
        changes: dict[tuple[int, int], int] = {}
        undo: dict[tuple[int, int], int] = {}
        n = self.levels_per_message
        k = rng.randint(max(1, n // 2), n + n // 2) if n > 1 else 1

        if rng.random() < self.move_prob:
            self._move(changes, undo)

        for _ in range(k):
            side = BID if rng.random() < 0.5 else ASK
            px = self.bid_px if side == BID else self.ask_px
            book = self.bids if side == BID else self.asks
            if not px:
                continue
            i = self._index(len(px))
            price = px[-1 - i] if side == BID else px[i]
            r = rng.random()
            if r < 0.6:
                self._set(side, price, self._size(), changes, undo)
            elif r < 0.8:
                new = self._insert_price(side, price)
                if new is not None:
                    self._set(side, new, self._size(), changes, undo)
                else:
                    self._set(side, price, self._size(), changes, undo)
            elif len(book) > 2:
                self._set(side, price, 0, changes, undo)
            else:
                self._set(side, price, self._size(), changes, undo)

        raw = self._takers(changes, undo) if self.trades_per_message > 0 else None
        self._keep_depth(changes, undo)
        if not changes:
            # Binance never sends an empty depth event; guarantee one change.
            p = self.bid_px[-1]
            self._set(BID, p, self._size(), changes, undo)

        n_ids = len(changes) + (rng.randint(0, 2) if rng.random() < 0.3 else 0)
        prev = self.last_id
        first = prev + 1 + (rng.randint(1, 20) if self.id_skip and rng.random() < 0.5 else 0)
        last = first + n_ids - 1
        self.last_id = last
        self.messages += 1
        data = array("q")
        for (side, price), old in undo.items():
            data.extend((side, price, old))
        self.history.append(_Undo(first, last, prev, data))
        bids = sorted(((p, s) for (sd, p), s in changes.items() if sd == BID), reverse=True)
        asks = sorted((p, s) for (sd, p), s in changes.items() if sd == ASK)
        if not raw:
            return Message(first, last, prev, bids, asks)
        return Message(first, last, prev, bids, asks, self._record(raw, t_ns, last))

    def _takers(self, changes: dict[tuple[int, int], int],
                undo: dict[tuple[int, int], int]) -> list[tuple[int, int, int, int, bool]]:
        """This message's taker orders against the best levels (applied to the book last,
        so the message carries each traded level's size after its trades).

        Returns raw fills ``(price, size, taker, maker_left, new_aggregate)``. A taker order
        mostly takes part of the best level, sometimes sweeps it and part of the next one
        or two; each level it hits fills against one to three maker orders.
        """
        trng = self.trng
        x = self.trades_per_message
        n = int(x) + (1 if trng.random() < x - int(x) else 0)
        raw: list[tuple[int, int, int, int, bool]] = []
        for _ in range(n):
            buy = trng.random() < 0.5
            side = ASK if buy else BID
            book = self.asks if buy else self.bids
            px = self.ask_px if buy else self.bid_px
            levels = 1 if trng.random() < 0.8 else trng.randint(2, 3)
            for j in range(levels):
                if len(px) < 3:
                    break  # keep a book on both sides
                price = px[0] if buy else px[-1]
                avail = book[price]
                take = avail if j < levels - 1 else trng.randint(1, avail)
                makers = min(take, trng.choice((1, 1, 1, 2, 3)))
                cuts = sorted(trng.sample(range(1, take), makers - 1)) if makers > 1 else []
                left = avail
                prev_cut = 0
                for k, cut in enumerate([*cuts, take]):
                    part = cut - prev_cut
                    prev_cut = cut
                    left -= part
                    raw.append((price, part, 1 if buy else -1, left, k == 0))
                self._set(side, price, avail - take, changes, undo)
        return raw

    def _record(self, raw: list[tuple[int, int, int, int, bool]], t_ns: int, update_id: int) -> tuple[Fill, ...]:
        """Number the raw fills and add them to the tape."""
        fills = []
        agg = self.next_agg_id
        for price, size, taker, left, new_agg in raw:
            if new_agg:
                if self.trade_holes and self.trng.random() < 0.05:
                    self.next_trade_id += 1  # a fill the public tape does not show
                agg = self.next_agg_id
                self.next_agg_id += 1
            fills.append(Fill(self.next_trade_id, agg, price, size, taker, t_ns, update_id, left))
            self.next_trade_id += 1
        self.fills.extend(fills)
        self.aggs.extend(aggregate(fills))
        return tuple(fills)

    def _insert_price(self, side: int, near: int) -> int | None:
        """An empty price just behind ``near`` (or inside the spread), or None."""
        best_bid = self.bid_px[-1] if self.bid_px else None
        best_ask = self.ask_px[0] if self.ask_px else None
        if side == BID:
            if best_bid is not None and best_ask is not None and best_ask - best_bid > 1 and self.rng.random() < 0.5:
                return best_bid + 1
            cand = near - 1
            if cand < 1 or cand in self.bids:
                return None
            return cand
        if best_bid is not None and best_ask is not None and best_ask - best_bid > 1 and self.rng.random() < 0.5:
            return best_ask - 1
        cand = near + 1
        return None if cand in self.asks else cand

    def _move(self, changes: dict[tuple[int, int], int], undo: dict[tuple[int, int], int]) -> None:
        """One step of the mid-price walk: take out the best level of one side."""
        up = self.rng.random() < 0.5
        if up and len(self.ask_px) > 2:
            old_best = self.ask_px[0]
            self._set(ASK, old_best, 0, changes, undo)
            if self.rng.random() < 0.5:
                # The other side steps in at the vacated price: still below the new best ask.
                self._set(BID, old_best, self._size(), changes, undo)
        elif not up and len(self.bid_px) > 2:
            old_best = self.bid_px[-1]
            self._set(BID, old_best, 0, changes, undo)
            if self.rng.random() < 0.5 and old_best >= 1:
                self._set(ASK, old_best, self._size(), changes, undo)

    def _keep_depth(self, changes: dict[tuple[int, int], int], undo: dict[tuple[int, int], int]) -> None:
        while len(self.bid_px) > self.depth:
            self._set(BID, self.bid_px[0], 0, changes, undo)
        while len(self.ask_px) > self.depth:
            self._set(ASK, self.ask_px[-1], 0, changes, undo)
        while len(self.bid_px) < self.depth:
            p = (self.bid_px[0] if self.bid_px else (self.ask_px[0] if self.ask_px else 2)) - 1 - self._gap()
            if p < 1:
                break
            self._set(BID, p, self._size(), changes, undo)
        while len(self.ask_px) < self.depth:
            p = (self.ask_px[-1] if self.ask_px else self.bid_px[-1]) + 1 + self._gap()
            self._set(ASK, p, self._size(), changes, undo)

    def shift_ids(self, delta: int) -> None:
        """Add ``delta`` to every update id (current and in the history); the book and the
        random stream are untouched. Used to place the ids of a pre-history."""
        self.last_id += delta
        self.history = deque(
            (_Undo(e.first_id + delta, e.last_id + delta, e.prev_id + delta, e.data) for e in self.history),
            maxlen=self.history.maxlen,
        )
        if self.fills:
            self.fills = deque((f._replace(update_id=f.update_id + delta) for f in self.fills),
                               maxlen=self.fills.maxlen)
            self.aggs = deque((a._replace(update_id=a.update_id + delta) for a in self.aggs),
                              maxlen=self.aggs.maxlen)

    # -- reading -------------------------------------------------------------------------

    @property
    def oldest_id(self) -> int:
        """The oldest update id :meth:`book_at` can reconstruct."""
        return self.history[0].prev_id if self.history else self.last_id

    def snapshot(self) -> BookState:
        """A copy of the current book."""
        return BookState(self.last_id, dict(self.bids), dict(self.asks))

    def book_at(self, last_id: int | None = None) -> BookState:
        """The book after the last message whose ``u`` is <= ``last_id``.

        Raises ``LookupError`` when ``last_id`` is older than the retained history.
        The returned ``BookState.last_id`` is that message's ``u`` (so asking for an id in
        the middle of a message's ``U..u`` range returns the state before that message).
        """
        if last_id is None or last_id >= self.last_id:
            return self.snapshot()
        if last_id < self.oldest_id:
            raise LookupError(
                f"{self.symbol}: update id {last_id} is older than the retained history "
                f"(oldest {self.oldest_id}, newest {self.last_id})"
            )
        bids = dict(self.bids)
        asks = dict(self.asks)
        state_id = self.last_id
        for entry in reversed(self.history):
            if entry.last_id <= last_id:
                break
            data = entry.data
            for j in range(0, len(data), 3):
                book = bids if data[j] == BID else asks
                price, old = data[j + 1], data[j + 2]
                if old:
                    book[price] = old
                else:
                    book.pop(price, None)
            state_id = entry.prev_id
        return BookState(state_id, bids, asks)

    def far_ask_prices(self, count: int) -> list[int]:
        """``count`` prices above every ask: deleting them is a no-op (used for padding)."""
        top = (self.ask_px[-1] if self.ask_px else 1) + 10_000
        return list(range(top, top + count))


def _round_to_grid(text: str, scale: Scale) -> str:
    """Snap a configured mid price to the tick grid (the config need not be on it)."""
    whole, _, frac = text.strip().partition(".")
    raw = int((whole or "0") + frac.ljust(scale.decimals, "0")[: scale.decimals])
    raw -= raw % scale.mantissa
    return scale.fmt(raw // scale.mantissa)

