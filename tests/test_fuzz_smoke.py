"""A short run of the differential fuzzer (benches/fuzz.py): for every decoder, mutated
real-shaped payloads decode to the same result in the compiled decoder and its reference
twin, or both reject. Long runs: ``python -m benches.fuzz --payloads 1000000 --json``."""

from __future__ import annotations

import pytest
from benches import fuzz


@pytest.mark.parametrize("name", sorted(fuzz.SEEDS))
def test_differential_fuzz_smoke(name: str) -> None:
    result = fuzz.fuzz(name, 2000, seed=17)
    assert result["findings"] == 0, result["examples"][:3]
    assert 0 < result["rejected"] < result["payloads"]     # the mutations bite, not all
    # coinbase-at: its book scale is its tick, nothing representable is off it; trade
    # decoders do not count off-grid values (a trade price is what it is); nor do ticker
    # decoders, and a Coinbase BBO's scale is its tick
    # and candle decoders do not count off-grid values either
    quiet = ({"coinbase-at", *fuzz.TRADE_SEEDS, *fuzz.QUOTE_SEEDS, *fuzz.CANDLE_SEEDS,
              *fuzz.BACKFILL_SEEDS}
             - {"binance-bbo"})
    if name not in quiet:
        assert result["off_grid"] > 0                       # the grid rule is exercised


def test_seeds_decode_cleanly() -> None:
    for name, spec in fuzz.SEEDS.items():
        for seed in spec[4]:
            p = fuzz.dump(seed).encode()
            assert fuzz.check(name, p) is None, (name, p)
