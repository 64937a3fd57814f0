"""Smoke test of the fan-out benchmark (benches/fanout.py): every case's messages rebuild
the publishing book (the bench raises otherwise), with and without a real nats-server."""

from __future__ import annotations

import json

import pytest

from benches.fanout import CASES, main


@pytest.mark.parametrize("server", [False, True])
def test_cli_quick(server: bool, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--json", "--repeats", "1", "--messages", "300"]
    assert main(args if server else [*args, "--no-server"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["case"] for r in res["results"]] == [c[0] for c in CASES]
    for r in res["results"]:
        assert r["apply_message_ns"] > 0 and r["wire_bytes_per_venue_message"] > 0
        assert ("nats_messages_per_s" in r) == server
