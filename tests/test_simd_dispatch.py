"""Run-time SIMD dispatch of the level-array fast path (docs/architecture.md, "Decoder
fast paths"): the levels this machine runs, FASTFEED_SIMD, and the same batches at every
level as the general decoder alone (a smoke run of ``benches.fuzz --paths``)."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterator

import pytest
from benches import fuzz
from benches.parse import depth_event, depth_payload

from fastfeed import _parse

LEVELS = _parse.simd_levels()
SCALES = fuzz.scales("binance-depth")


@pytest.fixture
def restore_level() -> Iterator[None]:
    old = _parse.simd_level()
    yield
    _parse._set_simd_level(old)


def test_levels_this_machine_runs() -> None:
    assert LEVELS[0] == "scalar"
    assert _parse.simd_level() in LEVELS
    if platform.machine() in ("x86_64", "AMD64"):
        assert "sse2" in LEVELS                     # the x86-64 baseline
    if platform.machine() in ("aarch64", "arm64"):
        assert "neon" in LEVELS


def test_env_var_names(restore_level: None) -> None:
    for name in LEVELS:
        _parse._init_simd_level(name)
        assert _parse.simd_level() == name
    _parse._init_simd_level("auto")
    assert _parse.simd_level() == "scalar"          # the default until SIMD wins
    with pytest.raises(ValueError, match="FASTFEED_SIMD='avx512' is not one of"):
        _parse._init_simd_level("avx512")
    missing = [n for n in ("sse2", "avx2", "neon") if n not in LEVELS]
    for name in missing:
        with pytest.raises(ValueError, match="this machine runs"):
            _parse._init_simd_level(name)
    with pytest.raises(ValueError, match="not one this machine runs"):
        _parse._set_simd_level("mmx")


def _bn(levels: int, usdm: bool, combined: bool) -> bytes:
    return fuzz.dump(fuzz._big_event(levels, usdm, combined)).encode()


@pytest.mark.parametrize("levels", [0, 1, 2, 30, 31, 200])
@pytest.mark.parametrize("usdm", [False, True])
@pytest.mark.parametrize("combined", [False, True])
def test_real_layouts_take_the_fast_path_at_every_level(levels: int, usdm: bool,
                                                        combined: bool) -> None:
    # 200 levels: more than one classified chunk; every payload ends in the tail copy
    fast, diff = _parse._bn_paths(_bn(levels, usdm, combined), *SCALES)
    assert diff is None
    assert fast


def test_every_level_decodes_the_same(restore_level: None) -> None:
    p = depth_payload()
    results = []
    for name in LEVELS:
        _parse._set_simd_level(name)
        results.append(_parse.decode_message("binance", p, 8, 8))
    assert all(r == results[0] for r in results)
    assert len(results[0]["segments"][0]["levels"]) == 30


def _with_level(i: int, text: bytes) -> bytes:
    # the i-th bid of a 30-level event replaced by raw JSON text
    ev = depth_event(30)
    ev["b"][i] = ["@@"]
    return json.dumps(ev, separators=(",", ":")).encode().replace(b'["@@"]', text)


@pytest.mark.parametrize("level", [
    b'["1","2"]', b'["12345678","0.12345678"]', b'["123456789","1"]', b'["1.123456789","1"]',
    b'[".5","1"]', b'["5.","1"]', b'["","1"]', b'["1.2.3","1"]', b'["1e5","1"]',
    b'["1","2","3"]', b'["1",2]', b'["1" ,"2"]', b'["1\\u0030","2"]', b'["1\x01","2"]',
    b'["00001.00000000","0.0"]', b'["-1","2"]', b'[]', b'["1"]',
    b'["99999999.99999999","99999999.99999999"]', b'["1.10000000","0.00000001"]',
])
@pytest.mark.parametrize("at", [0, 7, 14])
def test_odd_levels_match_the_general_decoder(level: bytes, at: int) -> None:
    _, diff = _parse._bn_paths(_with_level(at, level), *SCALES)
    assert diff is None


@pytest.mark.parametrize("cut", range(1, 90))
def test_truncated_tails(cut: int) -> None:
    # every cut inside the last levels: the tail copy must not read past the payload
    p = _bn(30, False, True)
    fast, diff = _parse._bn_paths(p[:-cut], *SCALES)
    assert diff is None
    assert not fast


def test_snapshot_levels_match() -> None:
    seed = fuzz.PATHS_SEEDS["binance-snapshot"][-1]
    fast, diff = _parse._bn_paths(fuzz.dump(seed).encode(), *SCALES, snapshot=True)
    assert (fast, diff) == (False, None)


@pytest.mark.parametrize("name", sorted(fuzz.PATHS_SEEDS))
def test_differential_paths_smoke(name: str) -> None:
    r = fuzz.fuzz_paths(name, 1500, seed=5)
    assert r["findings"] == 0, r["examples"][:3]
    if name == "binance-depth":
        assert r["fast_path"] > 0                   # mutations keep some payloads fast
