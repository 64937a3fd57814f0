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


def test_every_venue_has_a_symbols_flag() -> None:
    """``--bybit``, ``--bybit-linear``, ``--kraken``, ``--okx`` as for the first venues."""
    args = build_arg_parser().parse_args(
        ["--bybit", "BTCUSDT", "--bybit-linear", "ETHUSDT:0.10:0.001", "--kraken",
         "btc/usd:0.1:0.00000001:97250", "--okx", "BTC-USDT-SWAP"])
    cfg = config_from_args(args)
    assert list(cfg.venues) == ["bybit", "bybit-linear", "kraken", "okx"]
    (kraken,) = cfg.venues["kraken"]
    assert (kraken.symbol, kraken.tick_size, kraken.mid_price) == ("BTC/USD", "0.1", "97250")
    assert cfg.venues["bybit-linear"][0].tick_size == "0.10"


def test_limit_flags_and_corrupt_fault() -> None:
    parse = build_arg_parser().parse_args
    cfg = config_from_args(parse([]))
    assert cfg.weight_limit["binance"] == 6000 and cfg.weight_limit["binance-usdm"] == 2400
    assert cfg.incoming_limit["binance"] == 5 and cfg.incoming_limit["binance-usdm"] == 10
    assert cfg.connection_limit["binance"] == 300 and cfg.max_streams["binance"] == 1024
    assert cfg.ban_seconds == 120.0
    cfg = config_from_args(parse(["--no-limits"]))
    for limits in (cfg.weight_limit, cfg.max_streams, cfg.incoming_limit, cfg.connection_limit):
        assert set(limits.values()) == {0}
    assert cfg.ban_seconds == 0.0
    cfg = config_from_args(parse(["--weight-limit", "100", "--incoming-limit", "binance=3,binance-usdm=0",
                                  "--connection-limit", "binance=7", "--ban-seconds", "2"]))
    assert set(cfg.weight_limit.values()) == {100}
    assert (cfg.incoming_limit["binance"], cfg.incoming_limit["binance-usdm"]) == (3, 0)
    assert (cfg.connection_limit["binance"], cfg.connection_limit["binance-usdm"]) == (7, 300)
    assert cfg.ban_seconds == 2.0
    for bad in (["--max-streams", "x"], ["--weight-limit", "nope=3"], ["--connection-limit", "-1"]):
        with pytest.raises(ValueError):
            config_from_args(parse(bad))
    (f,) = config_from_args(parse(["--fault", "binance:BTCUSDT:corrupt_level:side=ask,index=5"])).faults
    assert (f.fault, f.params) == ("corrupt_level", {"side": "ask", "index": 5})
