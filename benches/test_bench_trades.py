"""Smoke test of the trade benchmark (benches/trades.py): every case records every trade
and reports its ratios."""

from __future__ import annotations

import json

import pytest

from benches.trades import CASES, main
from fastfeed import TradeFeed


def test_cli_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--quick"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["cases"]) == {c[0] for c in CASES}
    for case in res["cases"].values():
        assert case["fastfeed_ns_per_trade"] > 0 and case["json_loads_over_fastfeed"] > 0


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_payloads_decode_as_trades(case: tuple) -> None:
    _, venue, symbol, tick, step, make, per = case
    feed = TradeFeed(venue, symbol, tick, step)
    assert [feed.apply_message(make(i)) for i in range(3)] == [per] * 3
    assert feed.state == "live" and feed.id_jumps == 0 and feed.duplicates == 0
