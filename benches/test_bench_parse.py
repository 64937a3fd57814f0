"""pytest-benchmark suite for decimals and decoders (disabled by default: --benchmark-disable)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benches.parse import DECIMAL_TEXT, depth_payload, main
from fastfeed import _benchkit, _parse

PAYLOAD = depth_payload()


def test_parse_decimal_py(benchmark: Any) -> None:
    assert benchmark(_parse.parse_decimal_py, DECIMAL_TEXT, 8) == 10425033000000


def test_parse_decimal_loop(benchmark: Any) -> None:
    assert benchmark(_benchkit.bench_parse_decimal, DECIMAL_TEXT, 8, 1000) >= 0


def test_decode_loop(benchmark: Any) -> None:
    assert benchmark(_benchkit.bench_decode, "binance", PAYLOAD, 100, 8, 8) >= 0


def test_decode_message(benchmark: Any) -> None:
    out = benchmark(_parse.decode_message, "binance", PAYLOAD, 8, 8)
    assert len(out["segments"][0]["levels"]) == 30


@pytest.mark.parametrize("loader", ["json", "orjson"])
def test_loads(benchmark: Any, loader: str) -> None:
    mod = pytest.importorskip(loader)
    assert len(benchmark(mod.loads, PAYLOAD)["b"]) == 15


def test_cli_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--quick"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["payload_levels"] == 30 and res["decode_binance_ns"] > 0
    assert res["decode_binance_shuffled_ns"] > 0 and res["decode_coinbase_ns"] > 0


def test_layouts_decode_alike() -> None:
    from benches.parse import coinbase_payload, depth_payload_shuffled, depth_payload_spaced

    def norm(out: dict[str, Any]) -> dict[str, Any]:
        # "a" before "b" in the shuffled layout: same levels, other order
        seg = out["segments"][0]
        return {**out, "segments": [{**seg, "levels": sorted(seg["levels"])}]}

    fast = norm(_parse.decode_message("binance", PAYLOAD, 8, 8))
    for other in (depth_payload_shuffled(), depth_payload_spaced()):
        assert norm(_parse.decode_message("binance", other, 8, 8)) == fast
    assert len(_parse.decode_message("coinbase", coinbase_payload(), 2, 8)
               ["segments"][0]["levels"]) == 30
