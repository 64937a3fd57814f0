"""``fastfeed bench``: every field present with sane values, and the exactness check bites.

Runs the benchmark as a user would (a child process: it starts its own simulator child)
on small counts. No timing assertions: only that rates are positive, ratios defined and
latency percentiles ordered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)

PERCENTILES = ("p50", "p90", "p99", "p99.9", "max")
RUN_FIELDS = {"messages", "bytes", "elapsed_s", "cpu_s", "messages_per_s", "mb_per_s",
              "cpu_us_per_msg", "ns_per_msg", "exact", "error"}
CONTENDER_FIELDS = {"label", "runs", "messages_per_s", "mb_per_s", "cpu_us_per_msg",
                    "ns_per_msg", "latency_ns", "exact", "mismatch", "error",
                    "ratio_to_ceiling"}


def bench(*args: str, timeout: float = 100) -> tuple[int, dict[str, Any] | None, str]:
    """Run ``python -m fastfeed.bench ARGS``; (exit status, parsed JSON or None, stderr)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "fastfeed.bench", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    return proc.returncode, data, proc.stderr


def check_common(data: dict[str, Any]) -> None:
    """Fields every result has, with sane values."""
    for key in ("bench", "mode", "date", "machine", "config", "workload", "contenders",
                "ratios", "exact", "ok", "notes", "elapsed_s"):
        assert key in data, key
    assert data["machine"]["nproc"] >= 1
    assert data["machine"]["python"]
    w = data["workload"]
    assert w["messages"] > 0 and w["bytes"] > 0 and w["avg_message_bytes"] > 0
    assert w["level_changes_per_message"] > 1
    for name, c in data["contenders"].items():
        assert CONTENDER_FIELDS <= set(c), (name, CONTENDER_FIELDS - set(c))
        assert c["error"] is None, (name, c["error"])
        assert c["messages_per_s"] > 0 and c["mb_per_s"] > 0 and c["cpu_us_per_msg"] > 0
        assert c["ns_per_msg"] > 0
        for r in c["runs"]:
            assert RUN_FIELDS <= set(r), (name, RUN_FIELDS - set(r))
            assert r["messages"] > 0 and r["elapsed_s"] > 0
        if name != "ceiling":
            assert c["exact"] is True, (name, c["mismatch"])
    lat = data["contenders"]["fastfeed"]["latency_ns"]
    assert lat["count"] > 0
    values = [lat[p] for p in PERCENTILES]
    assert all(v > 0 for v in values)
    assert values == sorted(values), values
    for key, value in data["ratios"].items():
        assert value > 0, key
    assert data["exact"] is True and data["ok"] is True


def test_socket_json_every_field() -> None:
    """Default contenders over loopback against the simulator child."""
    pytest.importorskip("websockets")
    pytest.importorskip("orjson")
    rc, data, err = bench("--json", "--messages", "2000", "--repeat", "1")
    assert rc == 0, err
    assert data is not None
    assert data["mode"] == "socket"
    check_common(data)
    assert set(data["contenders"]) == {"ceiling", "fastfeed", "picows-orjson", "websockets-json"}
    assert data["contenders"]["ceiling"]["ratio_to_ceiling"] == 1.0
    assert 0 < data["contenders"]["fastfeed"]["ratio_to_ceiling"]
    for key in ("fastfeed_vs_ceiling", "fastfeed_vs_picows-orjson",
                "fastfeed_vs_websockets-json"):
        assert key in data["ratios"], key
    assert data["workload"]["messages"] == 2000


def test_socket_coinbase_one_connection_per_product() -> None:
    """Coinbase AT: in-band snapshots, sequence_num checked, books exact."""
    rc, data, err = bench("--json", "--venue", "coinbase", "--messages", "600", "--repeat",
                          "1", "--contenders", "ceiling,fastfeed,picows-orjson",
                          "--book-depth", "200")
    assert rc == 0, err
    assert data is not None
    check_common(data)


#: Venues with books only (no trades yet): in-band snapshots, their own acks and id rules
BOOK_ONLY_VENUES = ("bybit", "bybit-linear", "okx", "kraken")


@pytest.mark.parametrize("venue", BOOK_ONLY_VENUES)
def test_socket_books_only_venues(venue: str) -> None:
    """Every socket contender on the venue's simulator burst; every book exact (Kraken:
    against the truth's top 25, the depth subscribed)."""
    pytest.importorskip("websockets")
    pytest.importorskip("orjson")
    rc, data, err = bench("--json", "--venue", venue, "--messages", "600", "--repeat", "1",
                          "--book-depth", "200")
    assert rc == 0, err
    assert data is not None
    assert data["config"]["venue"] == venue and data["mode"] == "socket"
    check_common(data)
    assert set(data["contenders"]) == {"ceiling", "fastfeed", "picows-orjson", "websockets-json"}
    # the burst plus each book's in-band snapshot (the acks are left out)
    assert data["workload"]["messages"] == 600 + data["config"]["symbols"]


@pytest.mark.parametrize("venue", BOOK_ONLY_VENUES)
def test_no_socket_books_only_venues(venue: str) -> None:
    """In-process: the venue's dialect-rendered workload, every contender exact."""
    rc, data, err = bench("--no-socket", "--json", "--venue", venue, "--messages", "400",
                          "--repeat", "1")
    assert rc == 0, err
    assert data is not None
    check_common(data)
    assert "fastfeed_vs_json-dict" in data["ratios"]


def test_corrupted_kraken_baseline_exits_non_zero() -> None:
    """The check bites on the truncated Kraken dict book too."""
    rc, data, _ = bench("--no-socket", "--json", "--venue", "kraken", "--messages", "300",
                        "--repeat", "1", "--corrupt", "json-dict")
    assert rc == 3
    assert data is not None and data["contenders"]["json-dict"]["exact"] is False
    assert data["contenders"]["fastfeed"]["exact"] is True


def test_no_socket_json_every_field() -> None:
    """In-process decode+apply against json/orjson + dict baselines."""
    rc, data, err = bench("--no-socket", "--json", "--messages", "2000", "--repeat", "2")
    assert rc == 0, err
    assert data is not None
    assert data["mode"] == "no-socket"
    check_common(data)
    assert "fastfeed_vs_json-dict" in data["ratios"]
    assert data["contenders"]["fastfeed"]["ratio_to_ceiling"] is None


def test_corrupted_book_exits_non_zero() -> None:
    """--corrupt changes one level after the burst: reported, exit status 3."""
    rc, data, err = bench("--json", "--messages", "600", "--repeat", "1",
                          "--contenders", "fastfeed,picows-orjson", "--corrupt", "picows-orjson")
    assert rc == 3, err
    assert data is not None
    assert data["exact"] is False and data["ok"] is False
    bad = data["contenders"]["picows-orjson"]
    assert bad["exact"] is False and "level #0" in bad["mismatch"]
    assert data["contenders"]["fastfeed"]["exact"] is True


def test_corrupted_fastfeed_no_socket_exits_non_zero() -> None:
    """The same check guards fastfeed's own book in-process."""
    rc, data, _ = bench("--no-socket", "--json", "--messages", "300", "--repeat", "1",
                        "--corrupt", "fastfeed")
    assert rc == 3
    assert data is not None and data["contenders"]["fastfeed"]["exact"] is False


def test_hlog_and_table(tmp_path: Path) -> None:
    """--hlog writes tagged intervals; the table names every contender."""
    hlog = tmp_path / "bench.hlog"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "fastfeed.bench", "--no-socket", "--messages",
                           "300", "--repeat", "2", "--hlog", str(hlog)],
                          capture_output=True, text=True, timeout=100, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "fastfeed" in proc.stdout and "json.loads + dict book" in proc.stdout
    text = hlog.read_text()
    assert "#[StartTime:" in text
    lines = [line for line in text.splitlines() if line.startswith("Tag=fastfeed,")]
    assert len(lines) == 2
    for line in lines:     # start, length, max (ms), blob: the interval is not empty
        _, start, length, mx, blob = line.split(",")
        assert float(start) >= 0 and float(length) > 0 and float(mx) > 0
        assert blob.startswith("HISTFAAA")


def test_plot_without_matplotlib_is_explained(tmp_path: Path) -> None:
    """--plot says clearly when matplotlib is missing (and still succeeds)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("matplotlib is installed")
    rc, data, err = bench("--no-socket", "--json", "--messages", "200", "--repeat", "1",
                          "--plot", str(tmp_path / "p.png"))
    assert rc == 0
    assert "matplotlib is not installed" in err
    assert data is not None and any("matplotlib" in n for n in data["notes"])


def test_fastfeed_console_script_passes_options() -> None:
    """``fastfeed bench --no-socket --json ...`` through the real CLI entry point."""
    proc = subprocess.run([sys.executable, "-m", "fastfeed.cli", "bench", "--no-socket",
                           "--json", "--messages", "200", "--repeat", "1"],
                          capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["mode"] == "no-socket"


def test_plot_written_with_matplotlib(tmp_path: Path) -> None:
    """--plot writes a PNG when matplotlib (the ``bench`` extra) is installed."""
    pytest.importorskip("matplotlib")
    png = tmp_path / "lat.png"
    rc, data, err = bench("--no-socket", "--json", "--messages", "200", "--repeat", "1",
                          "--plot", str(png))
    assert rc == 0, err
    assert data is not None and data["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
