"""``fastfeed bench`` options, result records, contender names and small helpers."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastfeed.latency import LatencyHistogram
from fastfeed.venues import VENUES as _VENUES

#: ``--venue`` choices: every venue fastfeed describes.
VENUES = tuple(_VENUES)
#: Socket-mode contenders, in report order.
CONTENDERS = ("ceiling", "fastfeed", "picows-orjson", "websockets-json")
#: In-process (``--no-socket``) contenders.
INPROC_CONTENDERS = ("fastfeed", "orjson-dict", "json-dict")
LABELS = {
    "ceiling": "picows raw ceiling (count frames)",
    "fastfeed": "fastfeed (FeedListener + BookCore)",
    "picows-orjson": "picows + orjson + dict book",
    "websockets-json": "websockets + json + dict book",
    "orjson-dict": "orjson.loads + dict book",
    "json-dict": "json.loads + dict book",
}
BASELINES = {"socket": ("picows-orjson", "websockets-json"),
             "no-socket": ("orjson-dict", "json-dict")}
PERCENTILES = ("p50", "p90", "p99", "p99.9", "max")
EXIT_FAILED = 1
EXIT_MISMATCH = 3


@dataclass
class RunResult:
    """One contender, one run."""

    name: str
    messages: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    level_changes: int = 0
    error: str | None = None
    exact: bool | None = None
    mismatch: str | None = None
    hist: LatencyHistogram | None = None
    wall_start: float = 0.0
    wall_end: float = 0.0

    @property
    def rate(self) -> float:
        """Messages per second (first to last frame)."""
        return (self.messages - 1) / self.elapsed_s if self.elapsed_s > 0 and self.messages > 1 else 0.0

    @property
    def mb_s(self) -> float:
        """Payload megabytes (1e6) per second."""
        return self.bytes * (self.messages - 1) / self.messages / self.elapsed_s / 1e6 \
            if self.elapsed_s > 0 and self.messages > 1 else 0.0

    @property
    def cpu_us(self) -> float:
        """Process CPU µs per message."""
        return self.cpu_s * 1e6 / self.messages if self.messages else 0.0


@dataclass
class BenchConfig:
    """Parsed options."""

    venue: str = "binance"
    symbols: int = 2
    messages: int = 10_000
    levels_per_message: float = 30.0
    book_depth: int = 1000
    repeat: int = 3
    seed: int = 1
    no_socket: bool = False
    corrupt: str | None = None
    timeout: float = 60.0
    contenders: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def per_symbol(self) -> int:
        """Messages per symbol (``messages`` split evenly, at least 2)."""
        return max(2, self.messages // self.symbols)


def have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def machine_info() -> dict[str, Any]:
    """nproc, CPU model, Python, platform."""
    model = platform.processor() or ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform()}


def median(xs: Sequence[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")


def loop_runner() -> Callable[[Any], Any]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run
    return uvloop.run
