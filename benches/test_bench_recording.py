"""Smoke test of the recording benchmark (benches/recording.py): every case replays to the
book apply_message builds (the bench raises otherwise) and reports its numbers."""

from __future__ import annotations

import json

import pytest

from benches.recording import CASES, main


def test_cli_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--quick"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [c["case"] for c in res["cases"]] == [c[0] for c in CASES]
    for case in res["cases"]:
        assert case["replay_ns_per_msg"] > 0 and case["apply_message_ns"] > 0
        disk = case["disk_bytes_per_msg"]
        assert 0 < disk["fastfeed"] < disk["jsonl"]
