"""pytest-benchmark suite for the L2 book.

Run ``pytest benches/test_bench_book.py --benchmark-enable``; with the default
``--benchmark-disable`` each body runs once as a smoke test (and checks its result).
Workloads are those of ``benches.book``: ~5000-level sides, changes near the top,
deep, or anywhere; ``N`` changes per round (divide by ``N`` for ns per change).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benches.book import REGIONS, make_changes, make_snapshot
from fastfeed._benchkit import bench_apply_deltas
from fastfeed._book import L2Book
from fastfeed.reference.book import ReferenceBook

N = 50_000
PY_N = 5_000


@pytest.fixture(scope="module")
def snapshot() -> Any:
    """About 5000 levels a side."""
    return make_snapshot()


def _fresh(snapshot: Any) -> L2Book:
    book = L2Book(2, 8)
    book.load(*snapshot)
    return book


@pytest.mark.parametrize("region", list(REGIONS))
def test_compiled_apply_many(benchmark, snapshot, region: str) -> None:
    """N changes through ``L2Book.apply_many`` (one call, Cython loop)."""
    changes = make_changes(region, N)

    def run() -> L2Book:
        b = _fresh(snapshot)
        b.apply_many(*changes)
        return b

    result = benchmark(run)
    ref = ReferenceBook(2, 8)
    ref.load(*snapshot)
    ref.apply_many(*changes)
    np.testing.assert_array_equal(result.bids_int(20), ref.bids_int(20))
    np.testing.assert_array_equal(result.asks_int(20), ref.asks_int(20))
    assert result.bid_depth == ref.bid_depth


@pytest.mark.parametrize("region", list(REGIONS))
def test_compiled_apply_deltas(benchmark, snapshot, region: str) -> None:
    """N changes through the bare cdef ``apply_deltas``; the body returns ns in C."""
    changes = make_changes(region, N)
    book = _fresh(snapshot)
    elapsed = benchmark(bench_apply_deltas, book, *changes)
    assert elapsed > 0
    assert 4000 < book.bid_depth < 6000


@pytest.mark.parametrize("region", list(REGIONS))
def test_reference_apply(benchmark, snapshot, region: str) -> None:
    """PY_N changes through the pure-Python reference, one ``apply`` call each."""
    sides, prices, sizes = (c[:PY_N].tolist() for c in make_changes(region, PY_N))
    book = ReferenceBook(2, 8)
    book.load(*snapshot)

    def run() -> None:
        for s, p, q in zip(sides, prices, sizes, strict=True):
            book.apply(s, p, q)

    benchmark(run)
    assert 4000 < book.bid_depth < 6000


@pytest.mark.parametrize("region", list(REGIONS))
def test_dict_book(benchmark, snapshot, region: str) -> None:
    """PY_N changes on a plain dict book: set or pop per change, no best price read."""
    rows = list(zip(*(c.tolist() for c in make_changes(region, PY_N)), strict=True))
    books = (dict(snapshot[0]), dict(snapshot[1]))

    def run() -> None:
        for s, p, q in rows:
            d = books[s]
            if q:
                d[p] = q
            else:
                d.pop(p, None)

    benchmark(run)
    assert 4000 < len(books[0]) < 6000


def test_top_of_book_reads(benchmark, snapshot) -> None:
    """``best_bid_int`` + ``best_ask_int`` + ``bids(10)``: what a reader does per message."""
    book = _fresh(snapshot)

    def read() -> Any:
        return book.best_bid_int(), book.best_ask_int(), book.bids(10)

    bb, ba, top = benchmark(read)
    assert bb is not None and ba is not None and bb[0] < ba[0]
    assert top.shape == (10, 2)


def test_load_snapshot(benchmark, snapshot) -> None:
    """Loading a ~5000-level-a-side snapshot (venue order: best first)."""
    book = L2Book(2, 8)
    benchmark(book.load, *snapshot)
    assert book.bid_depth == len(snapshot[0])
