"""The snapshot depth rule (fastfeed.snapshots.choose_depth, docs/states.md): the deepest
limit whose weight for every waiting book fits in what the budget can spend in time."""

from __future__ import annotations

import pytest

from fastfeed.snapshots import choose_depth
from fastfeed.venues import get_venue

SPOT = get_venue("binance")
USDM = get_venue("binance-usdm")


def depth(venue, books, tokens, rate=50.0, horizon=30.0):
    return choose_depth(venue.snapshot_depths, venue.snapshot_weight, books, tokens, rate,
                        horizon)


def test_a_few_books_get_the_full_default_depth():
    assert depth(SPOT, 10, tokens=3000) == 1000
    assert depth(USDM, 10, tokens=1200, rate=20) == 1000


@pytest.mark.parametrize(("books", "expected"), [
    (90, 1000),     # 90 x 50 = 4500 <= 3000 + 50 x 30
    (91, 500),      # 4550 > 4500; 91 x 25 fits
    (180, 500),
    (181, 100),
    (900, 100),     # 900 x 5 = 4500
    (901, 100),     # nothing fits: the shallowest, the queue then drains at the budget's pace
])
def test_depth_shrinks_as_the_queue_outgrows_the_budget(books, expected):
    assert depth(SPOT, books, tokens=3000) == expected


def test_an_empty_bucket_counts_only_the_refill_within_the_horizon():
    assert depth(SPOT, 30, tokens=0) == 1000        # 1500 = 30 x 50
    assert depth(SPOT, 31, tokens=0) == 500


def test_every_chosen_depth_is_a_limit_the_venue_accepts():
    for venue in (SPOT, USDM):
        assert list(venue.snapshot_depths) == sorted(venue.snapshot_depths, reverse=True)
        assert venue.snapshot_depths[0] == venue.snapshot_limit
        if venue.depth_limits is not None:
            assert set(venue.snapshot_depths) <= set(venue.depth_limits)
        assert all(1 <= d <= venue.depth_max_limit for d in venue.snapshot_depths)
