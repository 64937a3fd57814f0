"""The command line: demo headless, run against the simulator and against nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fastfeed.sim.process import SimProcess


def fastfeed(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "fastfeed.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_version_and_help():
    out = fastfeed("--version")
    assert out.returncode == 0 and out.stdout.startswith("fastfeed ")
    out = fastfeed("--help")
    for command in ("demo", "run", "simulate", "bench"):
        assert command in out.stdout


def test_demo_headless_exits_zero_with_gap_recovered():
    out = fastfeed("demo", "--duration", "4")
    assert out.returncode == 0, out.stdout + out.stderr
    summary = out.stdout.strip().splitlines()[-1]
    assert "all books exact" in summary and "every trade on the tape" in summary
    gaps = int(summary.split(" gaps detected")[0].split()[-1])
    resyncs = int(summary.split(" resyncs completed")[0].split()[-1])
    assert gaps >= 1 and resyncs >= 1
    assert "injected: dropped" in out.stdout
    table = out.stdout.split("exact\n", 1)[1]       # the final per-book table
    for name in ("binance:", "binance-usdm:", "coinbase:", "coinbase-exchange:", "bybit:BTCUSDT",
                 "kraken:BTC/USD", "okx:BTC-USDT"):
        rows = [line for line in table.splitlines() if line.startswith(name)]
        assert rows and all(line.endswith("yes") for line in rows), (name, rows)
    assert "closed, equal to the tape" in out.stdout       # the local candle series


def test_run_against_the_simulator_for_a_while():
    sim = SimProcess(["--binance", "BTCUSDT", "--binance-usdm", "ETHUSDT", "--rate", "50"])
    sim.start()
    try:
        out = fastfeed("run", "binance:BTCUSDT", "--ws-url", sim.ws_url("binance"),
                       "--rest-url", sim.rest_url("binance"), "--duration", "1.5", "--plain")
    finally:
        sim.stop()
    assert out.returncode == 0, out.stderr
    assert "binance:BTCUSDT" in out.stdout and "live" in out.stdout


def test_run_with_trades_shows_the_trade_streams():
    sim = SimProcess(["--binance", "BTCUSDT", "--rate", "50", "--trade-rate", "20"])
    sim.start()
    try:
        out = fastfeed("run", "binance:BTCUSDT", "--trades", "--bbo",
                       "--ws-url", sim.ws_url("binance"),
                       "--rest-url", sim.rest_url("binance"), "--duration", "2.5", "--plain")
    finally:
        sim.stop()
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines()
            if line.startswith("binance:BTCUSDT aggTrade")]
    assert rows and " live" in rows[-1] and "recorded" in rows[-1]
    assert "last -" not in rows[-1], "trades arrived: the last one is shown"
    quotes = [line for line in out.stdout.splitlines()
              if line.startswith("binance:BTCUSDT bookTicker")]
    assert quotes and "bid -" not in quotes[-1] and quotes[-1].endswith("live")


def test_run_unreachable_venue_exits_nonzero_with_message():
    out = fastfeed("run", "binance:BTCUSDT", "--ws-url", "ws://127.0.0.1:9",
                   "--rest-url", "http://127.0.0.1:9", "--tick-size", "0.01",
                   "--step-size", "0.01", "--timeout", "1.5")
    assert out.returncode == 1
    assert "fastfeed:" in out.stderr and "127.0.0.1:9" in out.stderr


@pytest.mark.parametrize("spec", ["BTCUSDT", "nope:BTCUSDT", "binance:"])
def test_run_rejects_bad_book_specs(spec):
    out = fastfeed("run", spec)
    assert out.returncode == 2
    assert "venue" in out.stderr


def test_simulate_passes_its_own_options():
    proc = subprocess.Popen([sys.executable, "-m", "fastfeed.cli", "simulate", "--json-ready",
                             "--quiet", "--binance", "BTCUSDT"], stdout=subprocess.PIPE,
                            text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["ws_port"] > 0
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode in (0, -15)
