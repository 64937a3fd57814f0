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
from hypothesis import given, settings
from hypothesis import strategies as st

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
    # the default: avx2 where it runs (measured faster), else scalar (sse2, neon: slower)
    assert _parse.simd_level() == ("avx2" if "avx2" in LEVELS else "scalar")
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


# ff_level_avx2 (the AVX2 level's matcher) against the SWAR matcher, level by level: the
# same spans and pre-parses whenever it takes a level, and it takes every usual one
# (docs/architecture.md, "Decoder fast paths")
AVX2 = "avx2" in LEVELS


def _decimal(j: int, k: int, lead: str = "", trail: int = 0) -> str:
    # j integer digits (after `lead`), k fraction digits of which the last `trail` are 0
    ip = (lead + "987654321" * 2)[:j]
    fp = ("123456789" * 2)[: max(k - trail, 0)] + "0" * min(trail, k)
    return ip + ("." + fp if k else "")


def _usual(s: str) -> bool:
    # ff_pre_decimal's plain decimal that ff_level_avx2 also takes (at most 15 bytes)
    ip, _, fp = s.partition(".")
    return (1 <= len(ip) <= 8 and ip.isdigit() and len(s) <= 15
            and ("." not in s or (1 <= len(fp) <= 8 and fp.isdigit())))


def _check_level(price: str, size: str) -> None:
    level = f'["{price}","{size}"]'.encode()
    swar, avx2 = _parse._level_paths(level)
    assert swar is not None
    if not AVX2:
        assert avx2 is None
        return
    if _usual(price) and _usual(size):
        assert avx2 == swar, (price, size)
    else:
        assert avx2 is None, (price, size)


@pytest.mark.parametrize("j", range(0, 11))
def test_avx2_every_digit_count(j: int) -> None:
    # every (integer digits, fraction digits, trailing zeros), as price and as size
    for k in range(0, 11):
        for trail in sorted({0, 1, k // 2, max(k - 1, 0), k}):
            s = _decimal(j, k, trail=trail) if j or k else ""
            if not s:
                continue
            _check_level(s, "0.12345678")
            _check_level("43210.12000000", s)
            _check_level(s, s)


@pytest.mark.parametrize("price,size", [
    ("0", "0"), ("0.00000000", "0.00000000"), ("00000001", "00.10"), ("0001.00100000", "1"),
    ("12345678", "12345678.1234567"), ("99999999.9999999", "1"), ("1.0", "0.0"),
    ("123456789", "1"), ("1", "123456789.5"), ("12345678.12345678", "1.5"),
    ("1.123456789", "1"), ("1.", "1"), (".5", "1"), ("1.2.3", "1"), ("1..2", "1"),
    ("1e5", "1"), ("-1", "1"), ("+1", "1"), ("1 ", "1"), ("1\\u0030", "1"), ("1\\\\", "1"),
    ("1\x01", "1"), ("1/", "1"), ("1:", "1"), ("\x7f", "1"), ("1", ""), ("", ""),
    ("43210.12000000", "0.1234567\xff"), ("4\x00", "1"),
])
def test_avx2_edges(price: str, size: str) -> None:
    level = json.dumps([price, size], separators=(",", ":"), ensure_ascii=False)
    if "\\" in price:       # keep the raw escape text
        level = f'["{price}","{size}"]'
    raw = level.encode("utf-8", "surrogateescape")
    swar, avx2 = _parse._level_paths(raw)
    if AVX2 and avx2 is not None:
        assert avx2 == swar
        assert _usual(price) and _usual(size)
    if AVX2 and swar is not None and swar[5] and swar[6] and len(price) <= 15 \
            and len(size) <= 15:
        assert avx2 == swar                 # every pre-parsed usual level is taken


@pytest.mark.parametrize("text", [
    b'["1","2"', b'["1","2"}', b'["1";"2"]', b'["1","2]', b'["1,"2"]', b'[ "1","2"]',
    b'["1" ,"2"]', b'{"1","2"]', b'["1","2",]', b'["1","2"',
])
def test_avx2_structure_deviations(text: bytes) -> None:
    swar, avx2 = _parse._level_paths(text)
    assert avx2 is None or avx2 == swar


@pytest.mark.skipif(not AVX2, reason="this machine has no AVX2 level")
@pytest.mark.parametrize("levels", [1, 2, 3, 31, 32, 33, 64, 65, 200])
@pytest.mark.parametrize("cut", [0, 1, 9, 20, 37, 38, 39, 40, 41, 45])
def test_avx2_runs_and_tails(restore_level: None, levels: int, cut: int) -> None:
    # runs longer than one ff_levels_avx2 call, and payloads ending at every distance
    # from a level (the tail copy and _tight_level take the end); every level decodes
    # as the general decoder alone
    p = _bn(levels, True, False)
    if cut:
        p = p[:-cut]
    _, diff = _parse._bn_paths(p, *SCALES)
    assert diff is None


@pytest.mark.parametrize("i", [0, 1, 7, 14])
@pytest.mark.parametrize("level", [
    b'["12345678.12345678","1"]', b'["1","1\\u0030"]', b'["1.5","2.5"]', b'["100","0"]',
    b'["0.00000000","0.00000000"]', b'["43210.12000000","123456.00000000"]',
])
def test_levels_inside_runs(i: int, level: bytes) -> None:
    # an unusual level inside a run: the run stops there, _tight_level takes it, the next
    # run starts after it
    _, diff = _parse._bn_paths(_with_level(i, level), *SCALES)
    assert diff is None


_DECIMALS = st.from_regex(r"\A[0-9]{0,10}(\.[0-9]{0,10})?\Z") | st.from_regex(
    r"\A[0-9.eE+\- ]{0,17}\Z")


@settings(max_examples=500, deadline=None)
@given(_DECIMALS, _DECIMALS)
def test_avx2_random_levels(price: str, size: str) -> None:
    _check_level(price, size)
