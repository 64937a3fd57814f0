"""Smoke test of the candle benchmark (benches/candles.py): every case applies every
payload and reports its ratios."""

from __future__ import annotations

import json

import pytest

from benches.candles import CASES, main
from fastfeed import CandleFeed


def test_cli_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--quick"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["cases"]) == {c[0] for c in CASES}
    for case in res["cases"].values():
        assert case["fastfeed_ns_per_payload"] > 0 and case["json_loads_over_fastfeed"] > 0
    assert res["local"]["candles"] > 10 and res["local"]["late"] > 0


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_payloads_decode_as_candles(case: tuple) -> None:
    _, venue, symbol, interval, tick, step, make = case
    feed = CandleFeed(venue, symbol, interval, tick_size=tick, step_size=step)
    assert [feed.apply_message(make(i)) for i in range(31)] == [1] * 31
    assert feed.closed_count == 1 and feed.unconfirmed == 0
