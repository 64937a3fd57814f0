"""The aarch64 check's harness (``benches/cross_aarch64.py``, run by
``ci/cross-aarch64.sh``; docs/architecture.md, "Decoder fast paths"): its numpy oracle
against the SSE2 level in process, that a wrong bitmap is reported, and, with the
``cross`` extra installed, the NEON level under emulation and its planted bug."""

from __future__ import annotations

import importlib.util
import platform
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from benches import cross_aarch64 as cx

CROSS = all(importlib.util.find_spec(m) for m in ("ziglang", "unicorn", "elftools"))

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64",
    reason="the harness's reference levels (SSE2) need an x86-64 Linux host")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("harness")
    parse = next(e for e in cx.extensions(cythonize=False) if e.name == "fastfeed._parse")
    jobs, out = cx.harness_jobs(tmp, parse, arm=CROSS)
    runs = cx.run_jobs(jobs, cx.compiler_env(tmp), 1)
    assert [(r["label"], r["rc"], r["output"]) for r in runs] == [
        (j.label, 0, "") for j in jobs]
    return out


@pytest.fixture(scope="module")
def batch() -> cx.Batch:
    kinds = cx.payloads(60, seed=3)
    return cx.Batch.of([p for ps in kinds.values() for p in ps], random.Random(3))


def test_sse2_level_matches_the_oracle(built: dict[str, Path], batch: cx.Batch) -> None:
    errs, levels, ref = cx.check(batch, cx.HostHarness(built["host"]), None)
    assert errs == []
    assert levels == ["sse2"]
    assert len(ref.levels) > 200                    # the real events' levels matched
    assert np.count_nonzero(ref.r) == len(ref.levels)


def test_a_wrong_bit_or_level_is_reported(built: dict[str, Path], batch: cx.Batch) -> None:
    ref = cx.HostHarness(built["host"]).run("sse2", batch)
    want = batch.oracle()
    bits = ref.bits.copy()
    bits[int(batch.jobs["bits"][0]) + 1] ^= 1 << 40
    bad = cx.Result(bits, ref.r, ref.levels)
    [msg] = cx.compare(batch, want, ref, bad, "x")
    assert msg.startswith("x: quote word 1 of payload 0 ")
    levels = ref.levels.copy()
    levels["s_pre"][-1] += 1
    [msg] = cx.compare(batch, want, ref, cx.Result(ref.bits, ref.r, levels), "x")
    assert msg.startswith(f"x: level {len(levels) - 1} differs")


@pytest.mark.skipif(not CROSS, reason="the cross extra is not installed (ziglang, unicorn, "
                    "pyelftools: pip install -e '.[cross]'); ci/cross-aarch64.sh installs it")
def test_neon_emulated(built: dict[str, Path], batch: cx.Batch) -> None:
    neon = cx.Arm64Harness(built["neon"]).run("neon", batch)
    errs, levels, ref = cx.check(batch, cx.HostHarness(built["host"]), neon)
    assert errs == []
    assert levels[-1] == "neon"
    assert len(neon.levels) == len(ref.levels) > 200
    assert cx.planted_caught(cx.HostHarness(built["host"]), built["planted"], batch)
