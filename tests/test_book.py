"""The compiled L2 book against its pure-Python reference (fastfeed.reference.book).

Every property drives both books with the same snapshots, changes, deletes (present and
absent), truncations and clears, and compares every read after every step. The main
properties run 2000 examples by default; ``HYPOTHESIS_PROFILE=ci`` lowers the counts.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fastfeed._book import ASK, BID, L2Book
from fastfeed.reference.book import ReferenceBook

INT64_MAX = 2**63 - 1
_CI = os.environ.get("HYPOTHESIS_PROFILE", "") == "ci"


def _examples(n: int) -> int:
    return max(n // 10, 20) if _CI else n


_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
MAIN = settings(max_examples=_examples(2000), deadline=None, suppress_health_check=_SLOW_OK)
BIG = settings(max_examples=_examples(25), deadline=None, suppress_health_check=_SLOW_OK)


# ---------------------------------------------------------------- comparison


def assert_same(book: L2Book, ref: ReferenceBook, ns: tuple[int | None, ...] = (None, 2)) -> None:
    """Every read of the compiled book equals the reference's, exactly."""
    book._check_invariants()
    assert book.absent_deletes == ref.absent_deletes
    assert book.bid_depth == ref.bid_depth
    assert book.ask_depth == ref.ask_depth
    assert book.best_bid_int() == ref.best_bid_int()
    assert book.best_ask_int() == ref.best_ask_int()
    assert book.best_bid() == ref.best_bid()
    assert book.best_ask() == ref.best_ask()
    assert book.is_crossed() == ref.is_crossed()
    for n in ns:
        for got, want in (
            (book.bids_int(n), ref.bids_int(n)),
            (book.asks_int(n), ref.asks_int(n)),
            (book.bids(n), ref.bids(n)),
            (book.asks(n), ref.asks(n)),
        ):
            assert got.dtype == want.dtype
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- strategies

# A small price range makes collisions (updates, present deletes) common; the extremes
# check that nothing overflows or relies on a sentinel.
EXTREME = st.sampled_from([0, 1, 2, INT64_MAX, INT64_MAX - 1, INT64_MAX - 2, 2**62, 2**53 + 1])
PRICE = st.one_of(st.integers(0, 40), st.integers(0, 40), EXTREME, st.integers(0, INT64_MAX))
SIZE = st.one_of(st.just(0), st.just(0), st.integers(1, 1000), st.sampled_from([1, INT64_MAX]))
SIDE = st.sampled_from([BID, ASK])
DECIMALS = st.integers(0, 18)

# The main property draws each op as ONE small integer and decodes it (kind, side, price
# and size from tables): generation stays cheap enough for 2000 examples of 20 steps,
# and shrinking still heads for "apply, price 0, size 0". ``wild`` is one arbitrary
# int64 price per example, so the whole range is still covered.
PRICE_TABLE = [*range(41), INT64_MAX, INT64_MAX - 1, INT64_MAX - 2, 2**62, 2**53 + 1, 2**53]
SIZE_TABLE = [0, 0, 0, 1, 2, 7, 1000, INT64_MAX]
N_PRICES = len(PRICE_TABLE) + 1  # the last index means ``wild``
LEVEL_CODE = st.integers(0, N_PRICES * len(SIZE_TABLE) - 1)
ROW_CODE = st.integers(0, 2 * N_PRICES * len(SIZE_TABLE) - 1)
OP_CODE = st.integers(0, 10 * 2 * N_PRICES * len(SIZE_TABLE) - 1)
SNAPSHOT_CODE = st.tuples(st.lists(LEVEL_CODE, max_size=20), st.lists(LEVEL_CODE, max_size=20))


def decode_level(code: int, wild: int) -> tuple[int, int]:
    pi, si = code % N_PRICES, code // N_PRICES
    return (PRICE_TABLE[pi] if pi < len(PRICE_TABLE) else wild, SIZE_TABLE[si])


def decode_row(code: int, wild: int) -> tuple[int, int, int]:
    return (code % 2, *decode_level(code // 2, wild))


def decode_snapshot(snap: tuple[list[int], list[int]], wild: int) -> tuple[list, list]:
    return ([decode_level(c, wild) for c in snap[0]], [decode_level(c, wild) for c in snap[1]])


def decode_op(code: int, wild: int, batch: list[int], snap: tuple[list[int], list[int]]) -> tuple:
    kind, rest = code % 10, code // 10
    if kind <= 4:
        return ("apply", *decode_row(rest, wild))
    if kind == 5:
        return ("many", [decode_row(c, wild) for c in batch])
    if kind == 6:
        return ("truncate", rest % 41)
    if kind == 7:
        return ("load", decode_snapshot(snap, wild))
    if kind == 8:
        # A dense run of 17..56 levels: books deeper than the linear scan from the top,
        # so the binary-search branch and bigger shifts are exercised too.
        side, start, count = rest % 2, (rest // 2) % 41, 17 + (rest // 82) % 40
        return ("many", [(side, p, 1 + p % 5) for p in range(start, start + count)])
    return ("clear",)


def _columns(rows: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cols = [np.array([r[i] for r in rows], dtype=np.int64) for i in range(3)]
    return cols[0], cols[1], cols[2]


def run_op(book: L2Book | ReferenceBook, op: tuple) -> None:
    kind = op[0]
    if kind == "apply":
        book.apply(op[1], op[2], op[3])
    elif kind == "many":
        book.apply_many(*_columns(op[1]))
    elif kind == "truncate":
        book.truncate(op[1])
    elif kind == "load":
        book.load(*op[1])
    else:
        book.clear()


# ---------------------------------------------------------------- main properties


@MAIN
@given(
    pd=DECIMALS,
    sd=DECIMALS,
    capacity=st.sampled_from([0, 1, 16, 1024]),
    wild=st.integers(0, INT64_MAX),
    snapshot=SNAPSHOT_CODE,
    snapshot2=SNAPSHOT_CODE,
    batch=st.lists(ROW_CODE, max_size=12),
    ops=st.lists(OP_CODE, max_size=20),
)
def test_matches_reference_after_every_step(
    pd, sd, capacity, wild, snapshot, snapshot2, batch, ops
):
    book = L2Book(pd, sd, capacity)
    ref = ReferenceBook(pd, sd, capacity)
    bids, asks = decode_snapshot(snapshot, wild)
    book.load(bids, asks)
    ref.load(bids, asks)
    assert_same(book, ref)
    for code in ops:
        op = decode_op(code, wild, batch, snapshot2)
        run_op(book, op)
        run_op(ref, op)
        assert_same(book, ref)


@MAIN
@given(snapshot=SNAPSHOT_CODE, wild=st.integers(0, INT64_MAX))
def test_load_equals_clear_then_apply_in_order(snapshot, wild):
    bids, asks = decode_snapshot(snapshot, wild)
    loaded = L2Book(2, 8)
    loaded.apply(BID, 5, 5)  # load must replace, not merge
    loaded.load(bids, asks)
    applied = L2Book(2, 8)
    for side, levels in ((BID, bids), (ASK, asks)):
        for p, q in levels:
            applied.apply(side, p, q)
    np.testing.assert_array_equal(loaded.bids_int(), applied.bids_int())
    np.testing.assert_array_equal(loaded.asks_int(), applied.asks_int())
    loaded._check_invariants()


@MAIN
@given(
    codes=st.lists(ROW_CODE, max_size=30),
    split=st.integers(0, 30),
    wild=st.integers(0, INT64_MAX),
)
def test_apply_many_equals_apply_one_by_one(codes, split, wild):
    rows = [decode_row(c, wild) for c in codes]
    one = L2Book(0, 0, 0)
    many = L2Book(0, 0, 0)
    for s, p, q in rows:
        one.apply(s, p, q)
    for chunk in (rows[:split], rows[split:]):
        many.apply_many(*_columns(chunk))
    np.testing.assert_array_equal(one.bids_int(), many.bids_int())
    np.testing.assert_array_equal(one.asks_int(), many.asks_int())
    many._check_invariants()


class BookMachine(RuleBasedStateMachine):
    """Stateful twin run: rules mutate both books, the invariant compares them."""

    def __init__(self) -> None:
        super().__init__()
        self.book = L2Book(4, 2, 0)
        self.ref = ReferenceBook(4, 2, 0)

    @rule(side=SIDE, price=PRICE, size=SIZE)
    def apply(self, side, price, size):
        self.book.apply(side, price, size)
        self.ref.apply(side, price, size)

    @precondition(lambda self: self.ref.bid_depth + self.ref.ask_depth > 0)
    @rule(data=st.data())
    def delete_present(self, data):
        side = data.draw(SIDE)
        levels = self.ref.bids_int() if side == BID else self.ref.asks_int()
        if len(levels):
            price = int(levels[data.draw(st.integers(0, len(levels) - 1))][0])
            self.book.apply(side, price, 0)
            self.ref.apply(side, price, 0)

    @rule(start=st.integers(0, 10**6), count=st.integers(1, 200), side=SIDE)
    def insert_run(self, start, count, side):
        # Enough levels at once to force growth and re-centring of the floating region.
        prices = np.arange(start, start + count, dtype=np.int64)
        args = (np.full(count, side, dtype=np.int64), prices, prices % 7 + 1)
        self.book.apply_many(*args)
        self.ref.apply_many(*args)

    @rule(depth=st.integers(0, 50))
    def truncate(self, depth):
        self.book.truncate(depth)
        self.ref.truncate(depth)

    @rule(snapshot=SNAPSHOT_CODE, wild=st.integers(0, INT64_MAX))
    def load(self, snapshot, wild):
        bids, asks = decode_snapshot(snapshot, wild)
        self.book.load(bids, asks)
        self.ref.load(bids, asks)

    @rule()
    def clear(self):
        self.book.clear()
        self.ref.clear()

    @invariant()
    def same(self):
        assert_same(self.book, self.ref, ns=(None, 2))


BookMachine.TestCase.settings = settings(
    max_examples=_examples(300),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=_SLOW_OK,
)
TestBookMachine = BookMachine.TestCase


# ---------------------------------------------------------------- big books


def _random_side(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[tuple[int, int]]:
    prices = rng.choice(np.arange(lo, hi, dtype=np.int64), size=n, replace=False)
    sizes = rng.integers(1, 10**6, size=n)
    return list(zip(prices.tolist(), sizes.tolist(), strict=True))


@pytest.mark.slow
@BIG
@given(seed=st.integers(0, 2**32 - 1), where=st.sampled_from(["top", "deep", "uniform"]))
def test_10k_level_books(seed, where):
    rng = np.random.default_rng(seed)
    n = 10_000
    bids = _random_side(rng, n, 0, 15_000)
    asks = _random_side(rng, n, 15_000, 30_000)
    book = L2Book(2, 8, 64)
    ref = ReferenceBook(2, 8)
    book.load(bids, asks)
    ref.load(bids, asks)
    assert_same(book, ref)
    for _ in range(3):
        m = 400
        sides = rng.integers(0, 2, size=m)
        if where == "top":  # within ~50 levels of the best
            off = rng.integers(0, 75, size=m)
        elif where == "deep":
            off = rng.integers(10_000, 15_000, size=m)
        else:
            off = rng.integers(0, 15_000, size=m)
        prices = np.where(sides == BID, 14_999 - off, 15_000 + off)
        sizes = np.where(rng.random(m) < 0.33, 0, rng.integers(1, 10**6, size=m))
        book.apply_many(sides, prices, sizes)
        ref.apply_many(sides, prices, sizes)
        assert_same(book, ref, ns=(None, 10))
        d = int(rng.integers(5_000, 12_000))
        book.truncate(d)
        ref.truncate(d)
        assert_same(book, ref, ns=(None, 7))


@pytest.mark.parametrize("order", ["ascending", "descending", "alternating", "random"])
def test_growth_from_minimal_capacity_keeps_every_level(order):
    n = 10_000
    prices = np.arange(n, dtype=np.int64)
    if order == "descending":
        prices = prices[::-1].copy()
    elif order == "alternating":  # inserts at both ends: stresses re-centring
        prices = np.where(prices % 2 == 0, n + prices // 2, n - 1 - prices // 2)
    elif order == "random":
        prices = np.random.default_rng(7).permutation(prices)
    for side in (BID, ASK):
        book = L2Book(0, 0, capacity=1)
        book.apply_many(np.full(n, side), prices, prices + 1)
        book._check_invariants()
        got = book.bids_int() if side == BID else book.asks_int()
        want = np.sort(prices)
        if side == BID:
            want = want[::-1]
        assert got.shape == (n, 2)
        np.testing.assert_array_equal(got[:, 0], want)
        np.testing.assert_array_equal(got[:, 1], want + 1)


def test_one_sided_drift_recentres_without_losing_levels():
    # Prices trend up: insert at the top, truncate the bottom, forever. The region drifts
    # to the end of its array and must be re-centred, never grown without bound.
    book = L2Book(0, 0, capacity=64)
    ref = ReferenceBook(0, 0)
    for p in range(5_000):
        for b in (book, ref):
            b.apply(BID, p, p + 1)
            b.apply(ASK, 10**9 - p, p + 1)
            b.truncate(20)
        if p % 97 == 0:
            assert_same(book, ref)
    assert_same(book, ref)
    assert book.bids_int(1).tolist() == [[4_999, 5_000]]


# ---------------------------------------------------------------- semantics, by example


def test_snapshot_any_order_duplicates_last_wins_zero_absent():
    book = L2Book(2, 3)
    book.load(
        [(100, 5), (99, 3), (101, 0), (98, 1), (99, 7), (97, 4), (97, 0)],
        [(103, 2), (102, 1), (104, 0), (102, 9)],
    )
    assert book.bids_int().tolist() == [[100, 5], [99, 7], [98, 1]]
    assert book.asks_int().tolist() == [[102, 9], [103, 2]]
    assert book.best_bid() == (1.0, 0.005)
    assert book.best_ask() == (1.02, 0.009)
    np.testing.assert_array_equal(book.bids(2), [[1.0, 0.005], [0.99, 0.007]])


def test_apply_update_delete_and_absent_delete():
    book = L2Book(0, 0)
    book.apply(BID, 10, 1)
    book.apply(BID, 10, 2)
    book.apply(BID, 11, 0)  # absent: no-op
    assert book.bids_int().tolist() == [[10, 2]]
    book.apply(BID, 10, 0)
    assert book.bid_depth == 0
    assert book.best_bid() is None
    assert book.best_bid_int() is None
    assert book.bids().shape == (0, 2)
    assert book.bids_int().dtype == np.int64


def test_top_n_bounds():
    book = L2Book(0, 0)
    book.load([(p, 1) for p in range(10)], [(p, 1) for p in range(20, 25)])
    assert book.bids_int(3)[:, 0].tolist() == [9, 8, 7]
    assert book.asks_int(3)[:, 0].tolist() == [20, 21, 22]
    assert book.asks_int(100).shape == (5, 2)
    assert book.bids(0).shape == (0, 2)
    with pytest.raises(ValueError):
        book.bids(-1)
    with pytest.raises(ValueError):
        book.asks_int(-1)


def test_crossed_and_locked():
    book = L2Book(0, 0)
    book.apply(BID, 100, 1)
    assert not book.is_crossed()  # one side empty
    book.apply(ASK, 101, 1)
    assert not book.is_crossed()
    book.apply(ASK, 100, 1)
    assert book.is_crossed()  # locked counts
    book.apply(ASK, 100, 0)
    book.apply(BID, 102, 1)
    assert book.is_crossed()


def test_truncate_keeps_best_levels():
    book = L2Book(0, 0)
    book.load([(p, p) for p in range(1, 11)], [(p, p) for p in range(11, 21)])
    book.truncate(3)
    assert book.bids_int()[:, 0].tolist() == [10, 9, 8]
    assert book.asks_int()[:, 0].tolist() == [11, 12, 13]
    book.truncate(0)
    assert (book.bid_depth, book.ask_depth) == (0, 0)
    with pytest.raises(ValueError):
        book.truncate(-1)


def test_extreme_values_are_exact():
    book = L2Book(18, 18)
    book.apply(BID, INT64_MAX, INT64_MAX)
    book.apply(BID, 0, 1)
    book.apply(ASK, INT64_MAX - 1, 1)
    assert book.best_bid_int() == (INT64_MAX, INT64_MAX)
    assert book.bids_int()[:, 0].tolist() == [INT64_MAX, 0]
    assert book.best_bid() == (float(INT64_MAX) / 1e18, float(INT64_MAX) / 1e18)
    assert book.is_crossed()
    book._check_invariants()


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.apply(BID, -1, 1),
        lambda b: b.apply(ASK, 1, -1),
        lambda b: b.apply(2, 1, 1),
        lambda b: b.apply(-1, 1, 1),
        lambda b: b.load([(1, 1), (-5, 1)], []),
        lambda b: b.load([], [(1, -1)]),
        lambda b: b.apply_many(np.array([0, 0]), np.array([1, -1]), np.array([1, 1])),
        lambda b: b.apply_many(np.array([0, 0]), np.array([1, 2]), np.array([1, -1])),
        lambda b: b.apply_many(np.array([0, 3]), np.array([1, 2]), np.array([1, 1])),
        lambda b: b.apply_many(np.array([0]), np.array([1, 2]), np.array([1, 1])),
    ],
)
def test_bad_input_rejected_and_book_unchanged(call):
    for book in (L2Book(0, 0), ReferenceBook(0, 0)):
        book.load([(7, 1)], [(9, 1)])
        with pytest.raises(ValueError):
            call(book)
        assert book.bids_int().tolist() == [[7, 1]]
        assert book.asks_int().tolist() == [[9, 1]]


def test_out_of_range_values_rejected():
    book = L2Book(0, 0)
    with pytest.raises(OverflowError):
        book.apply(BID, 2**63, 1)
    with pytest.raises((ValueError, OverflowError)):
        book.load([(1, 2**64)], [])
    for bad in (-1, 19):
        with pytest.raises(ValueError):
            L2Book(bad, 0)
        with pytest.raises(ValueError):
            L2Book(0, bad)
        with pytest.raises(ValueError):
            ReferenceBook(bad, 0)
    with pytest.raises(ValueError):
        L2Book(0, 0, -1)


def test_public_names_and_repr():
    assert (BID, ASK) == (0, 1)
    book = L2Book(2, 8)
    book.apply(BID, 12345, 100)
    assert book.price_decimals == 2
    assert book.size_decimals == 8
    text = repr(book)
    assert "L2Book(" in text and "bids=1" in text and "(12345, 100)" in text
    for name in (
        "apply",
        "apply_many",
        "load",
        "truncate",
        "clear",
        "bids",
        "asks",
        "bids_int",
        "asks_int",
        "best_bid",
        "best_ask",
        "best_bid_int",
        "best_ask_int",
        "is_crossed",
        "bid_depth",
        "ask_depth",
    ):
        assert getattr(L2Book, name).__doc__, name
    assert L2Book.__doc__
    book.clear()
    assert (book.bid_depth, book.ask_depth) == (0, 0)
    book._check_invariants()


# ---------------------------------------------------------------- the hot path's windows
#
# apply_deltas counts the best 8 levels branch-free, then the 64 below them (8 block
# heads, then the 8 levels of one block), then counts the worst 8, then binary-searches
# the rest; inserts / deletes shifting at most 8 levels copy a fixed 8-element block when the array has room around it. These
# tests put every kind of change at every position near both ends, at and around those
# boundaries, with capacities small enough that the "room" conditions flip.

WINDOW_POSITIONS = [*range(0, 20), 70, 71, 72, 73, 74, 80, 81]


def _dense(n: int, side: int) -> list[tuple[int, int]]:
    """n levels at even prices, best first (bids 1000, 998, ...; asks 2000, 2002, ...)."""
    if side == BID:
        return [(1000 - 2 * i, 1 + i) for i in range(n)]
    return [(2000 + 2 * i, 1 + i) for i in range(n)]


def _price_at(side: int, pos: int, odd: bool) -> int:
    """The price of level ``pos`` from the best of a _dense side; odd: the gap below it."""
    step = -2 if side == BID else 2
    base = 1000 if side == BID else 2000
    return base + step * pos + (step // 2 if odd else 0)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 10, 15, 16, 17, 24, 72, 73, 80, 81, 90, 150])
@pytest.mark.parametrize("capacity", [16, 100, 1024])
def test_every_change_at_every_position_near_both_ends(n, capacity):
    positions = sorted(
        {p for p in WINDOW_POSITIONS if p <= n}
        | {n - 1 - p for p in range(20) if n - 1 - p >= 0}
        | {n, n + 1}
    )
    for side in (BID, ASK):
        for pos in positions:
            for odd, size in ((False, 7), (False, 0), (True, 5), (True, 0)):
                # odd=False: update / delete the level at pos (absent past the end);
                # odd=True: insert / absent-delete just worse than pos (-1: new best).
                for p in (pos, -1) if odd and pos == 0 else (pos,):
                    book = L2Book(0, 0, capacity)
                    ref = ReferenceBook(0, 0)
                    snap = (_dense(n, BID), _dense(n, ASK))
                    book.load(*snap)
                    ref.load(*snap)
                    price = _price_at(side, p, odd)
                    book.apply(side, price, size)
                    ref.apply(side, price, size)
                    assert_same(book, ref, ns=(None,))


@pytest.mark.parametrize("n", [72, 73, 79, 80, 81, 88, 150,
                               pytest.param(10_000, marks=pytest.mark.slow)])
def test_every_change_at_every_position_of_the_near_window(n):
    """Levels 8..72 are found by an 8-wide count of block heads then one of a block:
    every position there (every block, every slot in a block, both block edges), each
    kind of change, on deep books too (10k levels), checked against the reference."""
    lift = 2 * n  # _dense's prices shifted up so that 10k bid levels stay >= 0
    snap = tuple([(p + lift, q) for p, q in _dense(n, s)] for s in (BID, ASK))
    book = L2Book(0, 0, 64)
    ref = ReferenceBook(0, 0)
    book.load(*snap)
    ref.load(*snap)
    for side in (BID, ASK):
        for pos in range(min(n, 92)):
            orig = 1 + pos
            at, gap = (_price_at(side, pos, odd) + lift for odd in (False, True))
            # update, delete, re-insert the level at pos; insert then delete in the gap.
            for price, size in ((at, 7), (at, orig), (at, 0), (at, orig), (gap, 5), (gap, 0)):
                book.apply(side, price, size)
                ref.apply(side, price, size)
                assert book.bid_depth == ref.bid_depth and book.ask_depth == ref.ask_depth
                assert book.bids_int(100).tolist() == ref.bids_int(100).tolist()
                assert book.asks_int(100).tolist() == ref.asks_int(100).tolist()
    assert_same(book, ref, ns=(None,))


@MAIN
@given(
    n=st.integers(0, 100),
    capacity=st.sampled_from([16, 24, 64, 1024]),
    ops=st.lists(
        st.tuples(
            st.sampled_from([BID, ASK]),
            st.booleans(),  # from the best (True) or from the worst
            st.integers(-2, 24),  # position from that end (-2, -1: beyond it)
            st.booleans(),  # odd: between levels (absent) or on one
            st.sampled_from([0, 0, 1, 9, INT64_MAX]),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_runs_of_changes_at_both_ends(n, capacity, ops):
    """Runs at the very top and bottom: updates, deletes of the best / worst, new bests."""
    book = L2Book(0, 0, capacity)
    ref = ReferenceBook(0, 0)
    snap = (_dense(n, BID), _dense(n, ASK))
    book.load(*snap)
    ref.load(*snap)
    for side, from_top, pos, odd, size in ops:
        p = pos if from_top else n - 1 - pos
        price = _price_at(side, p, odd)
        if price < 0:
            continue
        book.apply(side, price, size)
        ref.apply(side, price, size)
        assert book.bid_depth == ref.bid_depth and book.ask_depth == ref.ask_depth
    assert_same(book, ref, ns=(None,))
    # The same changes as one apply_many (one apply_deltas call) give the same book.
    again = L2Book(0, 0, capacity)
    again.load(*snap)
    rows = [
        (s, _price_at(s, q if t else n - 1 - q, o), z)
        for s, t, q, o, z in ops
        if _price_at(s, q if t else n - 1 - q, o) >= 0
    ]
    if rows:
        again.apply_many(*_columns(rows))
    assert_same(again, ref, ns=(None,))


def test_apply_deltas_rejects_negative_price_after_applying_the_prefix():
    from fastfeed._benchkit import bench_apply_deltas

    book = L2Book(0, 0)
    book.load([(7, 1)], [(9, 1)])
    with pytest.raises(ValueError, match="negative price"):
        bench_apply_deltas(book, [BID, BID, ASK], [8, -3, 10], [2, 1, 1])
    # Deltas before the bad one stay applied (as before), the rest are not.
    assert book.bids_int().tolist() == [[8, 2], [7, 1]]
    assert book.asks_int().tolist() == [[9, 1]]
    book._check_invariants()


# ---------------------------------------------------------------- sorted runs (one pass)
# apply_deltas merges a run of same-side changes sorted best first in one pass
# (docs/performance.md, "Book apply"); everything else goes one by one. The book must
# be exactly the one-by-one book: these draw runs on purpose (random rows rarely form
# one), mixed with rows that break them (duplicates, unsorted, the other side).

RUN_SIZE = st.sampled_from([0, 0, 0, 1, 7, INT64_MAX])


@st.composite
def run_rows(draw, n: int, side: int, base: int) -> list[tuple[int, int, int]]:
    """A run on ``side`` of a book of n levels at even offsets from ``base`` (its best):
    distinct offsets from the best, sorted best first; odd offsets fall between levels,
    negative ones above the best, ones past 2n below the worst."""
    span = 2 * n + 8
    where = st.one_of(st.integers(-4, 12), st.integers(-4, span), st.integers(2 * n - 6, span))
    offs = sorted(set(draw(st.lists(where, min_size=1, max_size=40))))
    step = -1 if side == BID else 1
    prices = [base + step * o for o in offs]
    return [(side, p, draw(RUN_SIZE)) for p in prices if 0 <= p <= INT64_MAX]


@st.composite
def run_batches(draw):
    n = draw(st.sampled_from([0, 1, 3, 8, 31, 32, 33, 40, 100]))
    high = draw(st.booleans())  # prices at the top of int64: the merge's pads
    top_bid = INT64_MAX - 4 * n - 120 if high else 4 * n + 100
    top_ask = INT64_MAX - 50 if high else top_bid + 10
    bids = [(top_bid - 2 * i, 1 + i) for i in range(n)]
    asks = [(top_ask + 2 * i, 1 + i) for i in range(n) if top_ask + 2 * i <= INT64_MAX]
    batches = []
    for _ in range(draw(st.integers(1, 4))):
        rows: list[tuple[int, int, int]] = []
        for _ in range(draw(st.integers(1, 3))):
            side = draw(SIDE)
            run = draw(run_rows(n, side, top_bid if side == BID else top_ask))
            breaker = draw(st.sampled_from(["none", "none", "dup", "swap", "other"]))
            if breaker == "dup" and run:  # a repeated price: last wins, in order
                k = draw(st.integers(0, len(run) - 1))
                run.insert(draw(st.integers(0, len(run))), (side, run[k][1], draw(RUN_SIZE)))
            elif breaker == "swap" and len(run) > 1:
                k = draw(st.integers(0, len(run) - 2))
                run[k], run[k + 1] = run[k + 1], run[k]
            elif breaker == "other" and run:
                run.insert(draw(st.integers(0, len(run))), (1 - side, top_bid, 5))
            rows += run
        batches.append(rows)
    return (bids, asks), batches, draw(st.sampled_from([0, 16, 1024]))


@settings(max_examples=_examples(600), deadline=None, suppress_health_check=_SLOW_OK)
@given(case=run_batches())
def test_sorted_runs_equal_one_by_one_and_reference(case):
    from fastfeed._benchkit import bench_apply_deltas

    snap, batches, capacity = case
    merged, one, ref = L2Book(0, 0, capacity), L2Book(0, 0, capacity), ReferenceBook(0, 0)
    for b in (merged, one, ref):
        b.load(*snap)
    for rows in batches:
        bench_apply_deltas(merged, *_columns(rows))  # one apply_deltas call: runs merge
        for s, p, q in rows:
            one.apply(s, p, q)  # one change per call: never a run
            ref.apply(s, p, q)
        assert_same(merged, ref, ns=(None,))
        assert_same(one, ref, ns=(None,))


def test_run_merge_counts_absent_deletes_and_re_adds():
    """A run deleting absent levels, deleting present ones and adding new ones, at the
    top and below the worst level, in one apply_deltas call."""
    from fastfeed._benchkit import bench_apply_deltas

    snap = (_dense(40, BID), _dense(40, ASK))  # bids 1000, 998, ..., 922
    book, ref = L2Book(0, 0), ReferenceBook(0, 0)
    book.load(*snap)
    ref.load(*snap)
    rows = [
        (BID, 1003, 0),
        (BID, 1001, 4),
        (BID, 1000, 0),
        (BID, 999, 0),
        (BID, 998, 9),
        (BID, 997, 3),
        (BID, 950, 0),
        (BID, 921, 0),
        (BID, 919, 5),
        (BID, 900, 6),
    ]
    bench_apply_deltas(book, *_columns(rows))
    for r in rows:
        ref.apply(*r)
    assert_same(book, ref, ns=(None,))
    assert book.absent_deletes == 3  # 1003, 999 and 921 were not in the book
    assert book.bids_int(4).tolist() == [[1001, 4], [998, 9], [997, 3], [996, 3]]
    assert book.bids_int()[-2:].tolist() == [[919, 5], [900, 6]]
    # Deleting then re-adding the same prices in one batch (not a run: in order).
    again = [(BID, 1001, 0), (BID, 1001, 8), (BID, 900, 0), (BID, 900, 0)]
    bench_apply_deltas(book, *_columns(again))
    for r in again:
        ref.apply(*r)
    assert_same(book, ref, ns=(None,))
    assert book.absent_deletes == 4


@pytest.mark.parametrize("bad_at", [1, 3, 5, 9])
def test_bad_delta_inside_a_run_applies_the_prefix_only(bad_at):
    from fastfeed._benchkit import bench_apply_deltas

    snap = (_dense(50, BID), _dense(50, ASK))
    book, ref = L2Book(0, 0), ReferenceBook(0, 0)
    book.load(*snap)
    ref.load(*snap)
    rows = [(ASK, 1995 + 2 * k, 0 if k % 3 == 1 else 7 + k) for k in range(12)]
    rows[bad_at] = (ASK, rows[bad_at][1], -1)
    with pytest.raises(ValueError, match="negative size"):
        bench_apply_deltas(book, *_columns(rows))
    for r in rows[:bad_at]:
        ref.apply(*r)
    assert_same(book, ref, ns=(None,))


@pytest.mark.slow
@BIG
@given(seed=st.integers(0, 2**32 - 1))
def test_runs_in_10k_level_books(seed):
    """Message-like runs (each side sorted best first) near the top, deep, below the
    worst level and across the whole book of a 10,000-level side, growth included."""
    from fastfeed._benchkit import bench_apply_deltas

    rng = np.random.default_rng(seed)
    n = 10_000
    bids = _random_side(rng, n, 0, 15_000)
    asks = _random_side(rng, n, 15_000, 30_000)
    book, ref = L2Book(2, 8, 64), ReferenceBook(2, 8)
    book.load(bids, asks)
    ref.load(bids, asks)
    for _ in range(30):
        rows = []
        for side in (BID, ASK):
            region = [(0, 40), (0, 15_000), (14_000, 15_000), (0, 200)][int(rng.integers(0, 4))]
            off = np.unique(rng.integers(*region, size=int(rng.integers(1, 60))))
            prices = 14_999 - off if side == BID else 15_000 + off  # best first
            sizes = np.where(rng.random(len(off)) < 0.33, 0, rng.integers(1, 10**6, len(off)))
            rows += list(zip([side] * len(off), prices.tolist(), sizes.tolist(), strict=True))
        bench_apply_deltas(book, *_columns(rows))
        for r in rows:
            ref.apply(*r)
    assert_same(book, ref, ns=(None, 10))
