"""Smoke test of the BBO and ticker benchmark (benches/quotes.py): every case records every
payload and reports its ratios."""

from __future__ import annotations

import json

import pytest

from benches.quotes import CASES, main


def test_cli_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--quick"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["cases"]) == {c[0] for c in CASES}
    for case in res["cases"].values():
        assert case["fastfeed_ns_per_record"] > 0 and case["json_loads_over_fastfeed"] > 0


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_payloads_decode_as_quotes(case: tuple) -> None:
    _, cls, venue, symbol, tick, step, make = case
    feed = cls(venue, symbol, tick, step)
    assert [feed.apply_message(make(i)) for i in range(3)] == [1, 1, 1]
    assert feed.stale == 0 and feed.off_grid == 0
