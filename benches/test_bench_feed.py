"""pytest-benchmark suite for ``BookFeed.apply_message`` and its dict-book baselines.

Run ``pytest benches/test_bench_feed.py --benchmark-enable``; with the default
``--benchmark-disable`` every body runs once as a smoke test (and the books are still
checked against the truth). Each benchmark round is one pass over the pre-generated
messages from a fresh book; divide by ``N`` for ns per message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from benches.feed import CASES, fresh_feed, time_dict
from fastfeed.bench.workload import Workload, book_levels_decimal, compare_levels, make_workload

N = 300


@pytest.fixture(scope="module", params=[c[0] for c in CASES])
def workload(request: pytest.FixtureRequest) -> Workload:
    """~30 changes a message on a 1000-level book, per venue."""
    _, venue, symbol, _, _ = next(c for c in CASES if c[0] == request.param)
    return make_workload(venue, symbol, messages=N, levels_per_message=30, depth=1000)


def _fastfeed_pass(w: Workload) -> Any:
    feed = fresh_feed(w)
    apply = feed.apply_message
    for m in w.messages:
        apply(m)
    return feed


def test_fastfeed_apply_message(benchmark: Any, workload: Workload) -> None:
    """N messages through BookFeed.apply_message; the book ends equal to the truth."""
    feed = benchmark.pedantic(_fastfeed_pass, args=(workload,), rounds=5, iterations=1)
    assert feed.state == "live"
    pd, sd = feed.price_decimals, feed.size_decimals
    assert compare_levels("bids", book_levels_decimal(feed.book.bids_int(), pd, sd),
                          workload.final_bids) is None
    assert compare_levels("asks", book_levels_decimal(feed.book.asks_int(), pd, sd),
                          workload.final_asks) is None


def test_json_dict_baseline(benchmark: Any, workload: Workload) -> None:
    """N messages through json.loads + dict book."""
    _, diff = benchmark.pedantic(time_dict, args=(workload, json.loads), rounds=5, iterations=1)
    assert diff is None


def test_orjson_dict_baseline(benchmark: Any, workload: Workload) -> None:
    """N messages through orjson.loads + dict book."""
    orjson = pytest.importorskip("orjson")
    _, diff = benchmark.pedantic(time_dict, args=(workload, orjson.loads), rounds=5,
                                 iterations=1)
    assert diff is None
