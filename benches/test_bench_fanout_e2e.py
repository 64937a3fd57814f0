"""Smoke test of ``benches.fanout_e2e``: it runs at tiny sizes, reports every field, and
every consumed book is exact. Timings are never asserted."""

from __future__ import annotations

import pytest
import uvloop

from benches import fanout_e2e

pytest.importorskip("nats")


def test_fanout_e2e_smoke() -> None:
    args = fanout_e2e.parser().parse_args([
        "--books", "2", "--rate", "50", "--seconds", "1", "--warmup", "1",
        "--rebuild-levels", "200", "--rebuild-repeats", "2", "--rebuild-rate", "50",
        "--snapshot-every", "2", "--messages", "1500", "--repeats", "1"])
    doc = uvloop.run(fanout_e2e.run(args))
    for k in fanout_e2e.REPORT_FIELDS:
        assert k in doc, k
    lat = doc["latency"]
    for k in fanout_e2e.LATENCY_FIELDS:
        assert k in lat, k
    assert lat["deltas"] > 0
    assert lat["exact"] and lat["exact_vs_truth"]
    for r in doc["rebuild"]:
        assert r["exact"] and r["levels"] == 200 and r["repeats"] == 2
    tp = doc["throughput"]
    for k in fanout_e2e.THROUGHPUT_FIELDS:
        assert k in tp, k
    assert tp["exact"] and tp["venue_messages"] == 1500
    assert fanout_e2e.render(doc)
