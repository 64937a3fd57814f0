"""``python -m fastfeed.sim``: starts in a subprocess, reports its ports, stops on SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import websockets.sync.client

from fastfeed.sim.cli import build_arg_parser, config_from_args


def test_module_json_ready_and_sigint() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastfeed.sim", "--json-ready", "--seed", "3", "--binance", "BTCUSDT",
         "--coinbase", "BTC-USD", "--rate", "50", "--fault", "binance:BTCUSDT:drop:count=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert set(ready) == {"ws_port", "rest_port", "urls"}
        assert ready["urls"]["binance"]["ws"] == f"ws://127.0.0.1:{ready['ws_port']}"
        assert ready["urls"]["coinbase"]["ws"].endswith("/coinbase/advanced-trade")
        with websockets.sync.client.connect(ready["urls"]["binance"]["ws"] + "/ws/btcusdt@depth",
                                            open_timeout=10) as ws:
            ev = json.loads(ws.recv(timeout=10))
            assert ev["s"] == "BTCUSDT"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "Traceback" not in err and "ws port" in err  # banner goes to stderr with --json-ready
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_arg_parsing() -> None:
    args = build_arg_parser().parse_args(
        ["--binance", "btcusdt:0.1:0.001:50000,ETHUSDT", "--depth", "7", "--burst", "100",
         "--fault", "binance:*:http_429:retry_after=2,every=5"])
    cfg = config_from_args(args)
    assert list(cfg.venues) == ["binance"]
    btc, eth = cfg.venues["binance"]
    assert (btc.symbol, btc.tick_size, btc.step_size, btc.mid_price, btc.depth, btc.burst) == (
        "BTCUSDT", "0.1", "0.001", "50000", 7, 100)
    assert eth.symbol == "ETHUSDT"
    (f,) = cfg.faults
    assert (f.venue, f.symbol, f.fault, f.params) == ("binance", "*", "http_429", {"retry_after": 2, "every": 5.0})
    with pytest.raises(ValueError):
        config_from_args(build_arg_parser().parse_args(["--fault", "binance:X:nope"]))
