"""Differential fuzzing of the compiled decoders against their reference twins.

``python -m benches.fuzz [--decoder NAME] [--payloads N] [--seed S] [--json]``

Book decoders go through ``decode_message``, trade decoders (``*-trades``, docs/venues.md
"Trades") through ``decode_trades``, BBO and ticker decoders (``*-bbo``, ``*-ticker``,
docs/venues.md "Best bid/offer", "Tickers") through ``fastfeed._quotes.decode_quotes``,
candle decoders (``*-candles``, "Candles") through ``decode_candles``, REST
trade bodies (``*-rest-*``, "Backfill") through ``decode_backfill``. Mutates real-shaped venue messages (byte flips,
inserted/deleted bytes, truncation, duplicated keys, unknown keys spelled two ways (raw,
escaped, non-ASCII, surrogates, invalid bytes), many unknown keys, escapes in keys and
strings, invalid UTF-8, level arrays moved between nesting levels or to another message
type's field, number edge cases) and checks, for
every payload, that ``fastfeed._parse.decode_message`` and
``fastfeed.reference.decode.decode_message`` yield the same result (kind, ids, times,
symbols, levels, levels off the tick/step grid) or both reject. Each decoder runs at the
scales a real book of its venue gets (``fastfeed.feed.instrument_scales``: Binance books at
8 decimals with the tick and step as a grid). A finding is a payload where they differ,
or where either raises anything but its ``DecodeFailed``.

``--paths`` (Binance depth and snapshots, docs/architecture.md "Decoder fast paths"):
instead of the reference twin, each payload goes through ``_parse._bn_paths``, which
decodes it at every SIMD level the machine runs and compares, field by field, with the
general decoder alone at the scalar level; the seeds add full-size events (30 and 200
levels) so the SIMD loop, its reclassified blocks and its tail copy all see mutations.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from benches.parse import depth_event
from fastfeed import _parse, _quotes
from fastfeed.feed import instrument_scales
from fastfeed.reference import candles as ref_candles
from fastfeed.reference import decode as ref
from fastfeed.reference import quotes as ref_quotes


class Obj(list):  # type: ignore[type-arg]
    """A JSON object as a list of (key, value) pairs: keeps order and duplicates."""


Json = Any

# (venue, snapshot, tick_size, step_size, seeds)
_E = {"e": "depthUpdate", "E": 1700000000100, "s": "BTCUSDT", "U": 1001, "u": 1003}
_BN_B = [["97250.01000000", "0.50000000"], ["97249.99000000", "1.25000000"]]
_BN_A = [["97250.02000000", "0.00000000"]]
# off the seeds' tick/step grid (0.01 / 0.00001): deep levels left from an older tick size
_BN_OFF = [["97249.89300000", "12.00000000"], ["97249.80000000", "11979.30000100"]]


def _o(**kw: Json) -> Obj:
    return Obj(kw.items())


def _bn_event(usdm: bool = False) -> Obj:
    o = Obj(_E.items())
    if usdm:
        o.insert(2, ("T", 1700000000095))
        o.append(("pu", 1000))
    o += [("b", [list(x) for x in _BN_B]), ("a", [list(x) for x in _BN_A])]
    return o


def _cb_update(side: str, price: str, qty: str) -> Obj:
    return _o(side=side, event_time="2023-02-09T20:32:50.714964855Z", price_level=price,
              new_quantity=qty)


def _cb_env(channel: str, seq: int, events: list[Json]) -> Obj:
    return _o(channel=channel, client_id="", timestamp="2023-02-09T20:32:50.714964855Z",
              sequence_num=seq, events=events)


SEEDS: dict[str, tuple[str, bool, str, str, list[Json]]] = {
    "binance-depth": ("binance", False, "0.01", "0.00001", [
        _bn_event(),
        _bn_event(usdm=True),
        _o(stream="btcusdt@depth@100ms", data=_bn_event()),
        _o(stream="btcusdt@depth@100ms", data=_bn_event(usdm=True)),
        _o(result=None, id=7),
        _o(code=-1121, msg="Invalid symbol."),
        _o(e="trade", E=1700000000100, s="BTCUSDT", t=12345, p="97250.01000000", q="0.1"),
        _o(**_E, b=[list(x) for x in _BN_OFF], a=[]),
    ]),
    "binance-snapshot": ("binance", True, "0.01", "0.00001", [
        _o(lastUpdateId=1027024, bids=[list(x) for x in _BN_B], asks=[list(x) for x in _BN_A]),
        _o(lastUpdateId=8000100, E=1700000000050, T=1700000000045,
           bids=[list(x) for x in _BN_B], asks=[]),
        _o(lastUpdateId=1027025, bids=[list(x) for x in _BN_B + _BN_OFF],
           asks=[list(x) for x in _BN_A]),
        _o(code=-1121, msg="Invalid symbol."),
    ]),
    "coinbase-at": ("coinbase", False, "0.01", "0.00000001", [
        _cb_env("l2_data", 2, [_o(type="update", product_id="BTC-USD", updates=[
            _cb_update("bid", "21921.73", "0.06317902"),
            _cb_update("offer", "21921.74", "0")])]),
        _cb_env("l2_data", 0, [_o(type="snapshot", product_id="BTC-USD", updates=[
            _cb_update("bid", "21921.73", "0.5")]),
            _o(type="update", product_id="ETH-USD", updates=[
                _cb_update("offer", "1650.10", "2.5")])]),
        _cb_env("heartbeats", 3, [_o(current_time="2023-02-09 20:32:50.7 +0000 UTC",
                                     heartbeat_counter=17)]),
        _cb_env("subscriptions", 1, [_o(subscriptions=_o(level2=["BTC-USD"]))]),
        _o(type="error", message="failure", sequence_num=4),
    ]),
    "coinbase-exchange": ("coinbase-exchange", False, "0.05", "0.00000001", [
        _o(type="snapshot", product_id="BTC-USD", bids=[["10101.10", "0.45054140"]],
           asks=[["10102.55", "0.57753524"]]),
        _o(type="l2update", product_id="BTC-USD",
           changes=[["buy", "10101.80000000", "0.162567"], ["sell", "10102.55", "0"]],
           time="2019-08-14T20:42:27.265Z"),
        _o(type="l2update", product_id="BTC-USD", changes=[["buy", "10101.12000000", "0.5"]],
           time="2019-08-14T20:42:27.265Z"),
        _o(type="heartbeat", sequence=90, last_trade_id=20, product_id="BTC-USD",
           time="2019-08-14T20:42:27.265Z"),
        _o(type="subscriptions", channels=[_o(name="level2_batch", product_ids=["BTC-USD"])]),
        _o(type="error", message="bad"),
    ]),
}
SEEDS["binance-usdm"] = ("binance-usdm", *SEEDS["binance-depth"][1:])


def _bn_trade() -> Obj:
    return _o(e="trade", E=1672515782136, s="BNBBTC", t=12345, p="0.00100000",
              q="100.00000000", T=1672515782136, m=True, M=True)


def _bn_agg(usdm: bool = False) -> Obj:
    if usdm:    # the captured USD-M shape: a before s, nq and st (channels.md 2.1)
        return _o(e="aggTrade", E=1791382992488, a=3477868433, s="BTCUSDT", p="83091.70",
                  q="0.022", nq="0.022", f=8153634393, l=8153634394, T=1791382992338,
                  m=False, st=1)
    return _o(e="aggTrade", E=1672515782136, s="BNBBTC", a=12345, p="0.00100000",
              q="100.00000000", f=100, l=105, T=1672515782136, m=True, M=True)


def _at_trade(tid: str, product: str, price: str, size: str, side: str, time_: str) -> Obj:
    return _o(trade_id=tid, product_id=product, price=price, size=size, side=side, time=time_)


def _cx_match(kind: str = "match") -> Obj:
    return _o(type=kind, trade_id=10, sequence=50,
              maker_order_id="ac928c66-ca53-498f-9c13-a110027a60e8",
              taker_order_id="132fb6ae-456b-4654-b4e0-d681ac05cea1",
              time="2014-11-07T08:19:27.028459Z", product_id="BTC-USD", size="5.23512",
              price="400.23", side="sell")


#: Trade decoders: the same tuple shape, run through decode_trades (snapshot is unused).
TRADE_SEEDS: dict[str, tuple[str, bool, str, str, list[Json]]] = {
    "binance-trades": ("binance", False, "0.01", "0.00000001", [
        _bn_trade(),
        _bn_agg(),
        _bn_agg(usdm=True),
        _o(stream="bnbbtc@trade", data=_bn_trade()),
        _o(stream="btcusdt@aggTrade", data=_bn_agg(usdm=True)),
        _o(e="trade", E=1, s="BNBBTC", t=7, p="1.0", q="2", b=88, a=99, T=1, m=False, M=True),
        _o(result=None, id=7),
        _o(code=-1121, msg="Invalid symbol."),
        _bn_event(),
    ]),
    "coinbase-at-trades": ("coinbase", False, "0.01", "0.00000001", [
        _cb_env("market_trades", 0, [_o(type="snapshot", trades=[
            _at_trade("995098702", "BTC-USD", "21921.73", "0.3", "BUY",
                      "2023-02-09T20:19:35.396Z"),
            _at_trade("995098701", "BTC-USD", "21921.74", "0.00100000", "SELL",
                      "2023-02-09T20:19:35.1Z"),
            _at_trade("000000000", "ETH-USD", "1260.01", "0.3", "BUY",
                      "2019-08-14T20:42:27.265Z")])]),
        _cb_env("market_trades", 5, [_o(type="update", trades=[
            _at_trade("ba2a0a48-8f38-4c9a-8b30-1ea56c0f5a9b", "BTC-USD", "21921.75", "1",
                      "SELL", "2023-02-09T20:19:36.001234567Z")]),
            _o(type="update", trades=[])]),
        _cb_env("heartbeats", 3, [_o(current_time="2023-02-09 20:32:50.7 +0000 UTC",
                                     heartbeat_counter="17")]),
        _cb_env("subscriptions", 1, [_o(subscriptions=_o(market_trades=["BTC-USD"]))]),
        _cb_env("l2_data", 2, [_o(type="update", product_id="BTC-USD", updates=[
            _cb_update("bid", "21921.73", "0.06317902")])]),
        _o(type="error", message="failure", sequence_num=4),
    ]),
    "coinbase-exchange-trades": ("coinbase-exchange", False, "0.01", "0.00000001", [
        _cx_match(),
        _cx_match("last_match"),
        _o(type="heartbeat", sequence=90, last_trade_id=20, product_id="BTC-USD",
           time="2014-11-07T08:19:28.464459Z"),
        _o(type="subscriptions", channels=[_o(name="matches", product_ids=["BTC-USD"])]),
        _o(type="error", message="bad"),
        _o(type="l2update", product_id="BTC-USD", changes=[["buy", "10101.80", "0.16"]],
           time="2019-08-14T20:42:27.265Z"),
    ]),
}
SEEDS.update(TRADE_SEEDS)


def _bn_book(usdm: bool = False) -> Obj:
    if usdm:    # the captured USD-M shape (channels.md 2.2)
        return _o(e="bookTicker", u=11757092630476, s="BTCUSDT", ps="BTCUSDT", b="83091.60",
                  B="4.215", a="83091.70", A="3.763", T=1791382994657, E=1791382994658, st=1)
    return _o(u=400900217, s="BNBUSDT", b="25.35190000", B="31.21000000", a="25.36520000",
              A="40.66000000")


def _bn_ticker(mini: bool = False) -> Obj:
    if mini:
        return _o(e="24hrMiniTicker", E=1672515782136, s="BNBBTC", c="0.00250000",
                  o="0.00100000", h="0.00250000", l="0.00100000", v="10000.00000000",
                  q="18.00000000")
    return _o(e="24hrTicker", E=1672515782136, s="BNBBTC", p="-0.00150000", P="250.00",
              w="0.0018", x="0.0009", c="0.00250000", Q="10.00000000", b="0.0024", B="10",
              a="0.0026", A="100", o="0.00100000", h="0.00250000", l="0.00100000",
              v="10000.00000000", q="93000000000.10000000", O=0, C=86400000, F=0, L=18150,
              n=18151)


def _at_ticker(product: str = "BTC-USD") -> Obj:
    return _o(type="ticker", product_id=product, price="21932.98",
              volume_24_h="16038.28770938", low_24_h="21835.29", high_24_h="23011.18",
              low_52_w="15460", high_52_w="48240", price_percent_chg_24_h="-4.15775596190603",
              best_bid="21931.98", best_bid_quantity="8000.21", best_ask="21933.98",
              best_ask_quantity="8038.07770938")


def _cx_ticker(sizes: bool = True) -> Obj:
    o = _o(type="ticker", sequence=29912240, product_id="BTC-USD", price="40552.26",
           open_24h="40552.26", volume_24h="0.43526841", low_24h="40552.26",
           high_24h="40662.06", volume_30d="160.65999711", best_bid="40552.26",
           best_ask="40553.84", side="sell", time="2022-03-16T18:42:08.145773Z",
           trade_id=131414, last_size="0.00002465")
    if sizes:
        o.insert(10, ("best_bid_size", "0.25"))
        o.insert(12, ("best_ask_size", "1.5"))
    return o


_BN_QUOTES = [_bn_book(), _bn_book(usdm=True), _o(stream="btcusdt@bookTicker",
                                                  data=_bn_book(usdm=True)),
              _bn_ticker(), _bn_ticker(mini=True), _o(stream="bnbbtc@ticker", data=_bn_ticker()),
              _o(result=None, id=7), _o(code=-1121, msg="Invalid symbol."), _bn_trade()]
_AT_QUOTES = [
    _cb_env("ticker", 0, [_o(type="snapshot", tickers=[_at_ticker()])]),
    _cb_env("ticker", 4, [_o(type="update", tickers=[_at_ticker("ETH-USD"), _at_ticker()]),
                          _o(type="update", tickers=[])]),
    _cb_env("ticker_batch", 5, [_o(type="update", tickers=[_at_ticker()])]),
    _cb_env("heartbeats", 3, [_o(current_time="2023-02-09 20:32:50.7 +0000 UTC",
                                 heartbeat_counter="17")]),
    _o(type="error", message="failure", sequence_num=4),
]
_CX_QUOTES = [_cx_ticker(), _cx_ticker(sizes=False), _cx_match(),
              _o(type="heartbeat", sequence=90, last_trade_id=20, product_id="BTC-USD",
                 time="2014-11-07T08:19:28.464459Z"),
              _o(type="subscriptions", channels=[_o(name="ticker", product_ids=["BTC-USD"])])]
#: BBO and ticker decoders: (venue, channel, tick_size, step_size, seeds), run through
#: decode_quotes. The Binance seeds' prices are off the 0.01 tick (kept, counted).
QUOTE_SEEDS: dict[str, tuple[str, str, str, str, list[Json]]] = {
    "binance-bbo": ("binance", "bbo", "0.01", "0.01", _BN_QUOTES),
    "binance-ticker": ("binance", "ticker", "0.01", "0.01", _BN_QUOTES),
    "coinbase-at-bbo": ("coinbase", "bbo", "0.01", "0.00000001", _AT_QUOTES),
    "coinbase-at-ticker": ("coinbase", "ticker", "0.01", "0.00000001", _AT_QUOTES),
    "coinbase-exchange-bbo": ("coinbase-exchange", "bbo", "0.01", "0.00000001", _CX_QUOTES),
    "coinbase-exchange-ticker": ("coinbase-exchange", "ticker", "0.01", "0.00000001",
                                 _CX_QUOTES),
}
SEEDS.update(QUOTE_SEEDS)  # type: ignore[arg-type]


def _bn_kline(usdm: bool = False) -> Obj:
    if usdm:    # the captured USD-M shape (channels.md 2.4)
        k = _o(t=1791382980000, T=1791383039999, s="BTCUSDT", i="1m", f=8153633367,
               L=8153634395, o="83084.90", c="83091.60", h="83091.70", l="83051.20",
               v="13.551", n=1027, x=False, q="1125714.73960", V="6.426", Q="533856.66860",
               B="0")
        return _o(e="kline", E=1791382992723, s="BTCUSDT", k=k)
    k = _o(t=1672515780000, T=1672515839999, s="BNBBTC", i="1m", f=100, L=200, o="0.0010",
           c="0.0020", h="0.0025", l="0.0015", v="1000", n=100, x=False, q="1.0000",
           V="500", Q="0.500", B="123456")
    return _o(e="kline", E=1672515782136, s="BNBBTC", k=k)


def _at_candle(start: str, product: str) -> Obj:
    return _o(start=start, high="1867.72", low="1865.63", open="1867.38", close="1866.81",
              volume="0.20269406", product_id=product)


#: Candle decoders (docs/venues.md, "Candles"), run through decode_candles.
CANDLE_SEEDS: dict[str, tuple[str, bool, str, str, list[Json]]] = {
    "binance-candles": ("binance", False, "0.01", "0.00000001", [
        _bn_kline(),
        _bn_kline(usdm=True),
        _o(stream="btcusdt@kline_1m", data=_bn_kline(usdm=True)),
        _o(e="kline", E=1, s="X", k=_o(t=0, T=999, s="X", i="1s", f=-1, L=-1, o="1", c="1",
                                        h="1", l="1", v="0", n=0, x=True, q="0")),
        _o(result=None, id=7),
        _o(code=-1121, msg="Invalid symbol."),
        _bn_trade(),
    ]),
    "coinbase-at-candles": ("coinbase", False, "0.01", "0.00000001", [
        _cb_env("candles", 0, [_o(type="snapshot", candles=[
            _at_candle("1688998200", "ETH-USD")])]),
        _cb_env("candles", 4, [_o(type="update", candles=[
            _at_candle("1688998500", "ETH-USD"), _at_candle("1688998500", "BTC-USD")]),
            _o(type="update", candles=[])]),
        _cb_env("heartbeats", 3, [_o(current_time="2023-02-09 20:32:50.7 +0000 UTC",
                                     heartbeat_counter="17")]),
        _cb_env("subscriptions", 1, [_o(subscriptions=_o(candles=["ETH-USD"]))]),
        _o(type="error", message="failure", sequence_num=4),
    ]),
}
SEEDS.update(CANDLE_SEEDS)
def _rest_agg(a: int, usdm: bool = False) -> Obj:
    extra = [("nq", "0.02200000")] if usdm else [("M", True)]
    return Obj([("a", a), ("p", "97250.01000000"), ("q", "0.02200000"), ("f", 8153634393 + a),
                ("l", 8153634394 + a), ("T", 1791382992338 + a), ("m", a % 2 == 0), *extra])


def _rest_cx(tid: int, side: str) -> Obj:
    return _o(time="2014-11-07T22:19:28.578544Z", trade_id=tid, price="400.23",
              size="0.01000000", side=side)


#: REST trade bodies for backfill (docs/venues.md, "Backfill"), run through decode_backfill.
BACKFILL_SEEDS: dict[str, tuple[str, bool, str, str, list[Json]]] = {
    "binance-rest-aggtrades": ("binance", False, "0.01", "0.00000001", [
        [_rest_agg(1), _rest_agg(2), _rest_agg(3)],
        [_rest_agg(7, usdm=True)],
        [],
        _o(code=-4166, msg="Search window is restricted to recent 48 hours."),
    ]),
    "coinbase-exchange-rest-trades": ("coinbase-exchange", False, "0.01", "0.00000001", [
        [_rest_cx(75, "buy"), _rest_cx(74, "sell")],
        [_rest_cx(9, "sell")],
        [],
        _o(message="NotFound"),
    ]),
}
SEEDS.update(BACKFILL_SEEDS)


# -- serialisation (duplicates and hand-made escapes survive) ------------------------

class Raw(str):
    """A string emitted verbatim between quotes (it may hold escapes or odd bytes)."""


def dump(v: Json) -> str:
    if isinstance(v, Obj):
        return "{" + ",".join(f"{dump(k)}:{dump(x)}" for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    if isinstance(v, Raw):
        return '"' + str(v) + '"'
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float) and v != v:
        return "NaN"
    return json.dumps(v)


def _copy(v: Json) -> Json:
    if isinstance(v, Obj):
        return Obj((k, _copy(x)) for k, x in v)
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _nodes(v: Json, out: list[Json]) -> list[Json]:
    if isinstance(v, (Obj, list)):
        out.append(v)
        for x in (x for _, x in v) if isinstance(v, Obj) else v:
            _nodes(x, out)
    return out


def _objs(v: Json) -> list[Obj]:
    return [n for n in _nodes(v, []) if isinstance(n, Obj)]


# -- structural mutations --------------------------------------------------------------

_NUMBERS = [-1, 0, 1, -5, 2**62, 2**62 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64,
            1.0, 1e5, -0.0, 10**19, 9223372036854, 9223372036855, 1700000000100]
_STRINGS = ["", "0", "-1", "1e-5", "97250.015", "BTCUSDT", "BTC-USD", "ETH-USD", "bid",
            "offer", "buy", "sell", "depthUpdate", "snapshot", "update", "l2update", "l2_data",
            "heartbeat", "heartbeats", "subscriptions", "error", "trade", "aggTrade", "match",
            "last_match", "market_trades", "BUY", "SELL", "995098701", "ba2a-0a48",
            "bookTicker", "24hrTicker", "24hrMiniTicker", "ticker", "ticker_batch"]
_KEYS = ["e", "E", "T", "s", "U", "u", "pu", "b", "a", "data", "stream", "code", "result", "id",
         "lastUpdateId", "bids", "asks", "type", "product_id", "changes", "time", "sequence",
         "channel", "timestamp", "sequence_num", "events", "updates", "side", "price_level",
         "new_quantity", "event_time", "client_id", "t", "p", "q", "f", "l", "m", "M", "nq",
         "st", "trade_id", "price", "size", "trades", "maker_order_id",
         "B", "A", "c", "Q", "o", "h", "v", "n", "O", "C", "F", "L", "tickers", "best_bid",
         "best_ask", "best_bid_size", "best_bid_quantity", "open_24h", "volume_24_h",
         "last_size"]
# candle decoders' names
_STRINGS += ["kline", "candles", "1m", "5m", "1688998200", "1688998200.5"]
_KEYS += ["k", "i", "o", "c", "h", "x", "v", "n", "L", "start", "high", "low", "open", "close",
          "volume", "candles"]


def _escape(text: str, rng: random.Random) -> Raw:
    """JSON text of ``text`` with one or more characters written as escapes."""
    body = json.dumps(text, ensure_ascii=False)[1:-1]
    if not body:
        return Raw("\\u0041" if rng.random() < 0.3 else "")
    out = []
    for ch in body:
        if ch.isalnum() and rng.random() < 0.4:
            out.append(f"\\u{ord(ch):04{'x' if rng.random() < 0.5 else 'X'}}")
        elif ch == "/" and rng.random() < 0.5:
            out.append("\\/")
        else:
            out.append(ch)
    return Raw("".join(out))


# Units of unknown keys (issue 17: keys compare as JSON means them): code points, lone
# surrogates (only as escapes) and bytes that are not valid UTF-8 (only raw; "\udcXX"
# here is the byte XX, written by surrogateescape).
_KEY_UNITS = ["x", "q", "/", "\n", '"', "\\", "é", "€", "😀", "\ud83d", "\ude00", "\udcc3",
              b"\xc3", b"\xa9", b"\xff"]


def _spell(units: list[str | bytes], rng: random.Random) -> Raw:
    """JSON text of a key, each unit raw or escaped at random (raw bytes stay raw)."""
    out = []
    for u in units:
        if isinstance(u, bytes):
            out.append(u.decode("utf-8", "surrogateescape"))
            continue
        raw_ok = not ("\ud800" <= u <= "\udfff" or u in '"\\' or u < " ")
        if raw_ok and rng.random() < 0.5:
            out.append(u)
            continue
        b = u.encode("utf-16-be", "surrogatepass")
        hexes = [b[i:i + 2].hex() for i in range(0, len(b), 2)]
        out.append("".join(f"\\u{h.upper() if rng.random() < 0.5 else h}" for h in hexes))
    return Raw("".join(out))


def _rand_value(rng: random.Random, src: Json) -> Json:
    r = rng.random()
    if r < 0.3:
        return rng.choice(_NUMBERS)
    if r < 0.55:
        return rng.choice(_STRINGS)
    if r < 0.7:
        return rng.choice([None, True, False, [], Obj(), [[]], [["1.0", "2.0"]]])
    if r < 0.85:
        return [["buy", "1.00", "2"]] if rng.random() < 0.5 else [["97250.00", "1.0"]]
    return _copy(src)


def _mutate_tree(v: Json, rng: random.Random) -> Json:
    v = _copy(v)
    objs = _objs(v)
    if not objs:
        return v
    o = rng.choice(objs)
    op = rng.randrange(13)
    if op == 0 and o:                          # duplicate a key, same or other value
        k, x = rng.choice(o)
        x2 = _copy(x) if rng.random() < 0.5 else _rand_value(rng, x)
        key = _escape(k, rng) if rng.random() < 0.5 else k
        o.insert(rng.randrange(len(o) + 1), (key, x2))
    elif op == 1 and o:                        # escape a key
        i = rng.randrange(len(o))
        o[i] = (_escape(o[i][0], rng), o[i][1])
    elif op == 2:                              # escape a string value somewhere
        strs = [(n, i) for n in _nodes(v, []) for i, x in
                (enumerate(y for _, y in n) if isinstance(n, Obj) else enumerate(n))
                if isinstance(x, str) and not isinstance(x, Raw)]
        if strs:
            n, i = rng.choice(strs)
            if isinstance(n, Obj):
                n[i] = (n[i][0], _escape(n[i][1], rng))
            else:
                n[i] = _escape(n[i], rng)
    elif op == 3 and o:                        # move a member to another object
        k, x = o.pop(rng.randrange(len(o)))
        tgt = rng.choice(objs)
        tgt.insert(rng.randrange(len(tgt) + 1), (k, x))
    elif op == 4 and o:                        # rename a key (e.g. bids -> changes)
        i = rng.randrange(len(o))
        o[i] = (rng.choice(_KEYS), o[i][1])
    elif op == 5 and o:                        # drop a member
        o.pop(rng.randrange(len(o)))
    elif op == 6 and o:                        # replace a value
        i = rng.randrange(len(o))
        o[i] = (o[i][0], _rand_value(rng, o[i][1]))
    elif op == 7:                              # add a member from the venue vocabulary
        o.insert(rng.randrange(len(o) + 1), (rng.choice(_KEYS), _rand_value(rng, o)))
    elif op == 8 and o:                        # shuffle member order
        rng.shuffle(o)
    elif op == 9:                              # invalid UTF-8 / odd bytes in a string
        strs = [(n, i) for n in objs for i, (_, x) in enumerate(n) if isinstance(x, str)]
        if strs:
            n, i = rng.choice(strs)
            s = str(n[i][1])
            bad = rng.choice(["\udcff", "\udcc0\udc80", "\udced\udca0\udc80", "é", "\udce9"])
            j = rng.randrange(len(s) + 1)
            n[i] = (n[i][0], Raw(s[:j] + bad + s[j:]))
    elif op == 11:                             # two unknown keys, same text or not
        a = [rng.choice(_KEY_UNITS) for _ in range(rng.randrange(1, 4))]
        b = a if rng.random() < 0.5 else [rng.choice(_KEY_UNITS) for _ in range(len(a))]
        for units in (a, b):
            o.insert(rng.randrange(len(o) + 1), (_spell(["k", *units], rng), _rand_value(rng, o)))
    elif op == 12:                             # many unknown members (the 64 bound)
        for j in range(rng.randrange(60, 70)):
            o.insert(rng.randrange(len(o) + 1), (f"k{j}", j))
    else:                                      # number edge case
        nums = [(n, i) for n in objs for i, (_, x) in enumerate(n)
                if isinstance(x, int) and not isinstance(x, bool)]
        if nums:
            n, i = rng.choice(nums)
            n[i] = (n[i][0], rng.choice(_NUMBERS))
    return v


def _mutate_bytes(b: bytes, rng: random.Random) -> bytes:
    if not b:
        return b
    op = rng.randrange(6)
    i = rng.randrange(len(b))
    if op == 0:
        return b[:i] + bytes([b[i] ^ (1 << rng.randrange(8))]) + b[i + 1:]
    if op == 1:
        return b[:i] + bytes([rng.choice(b'"\\{}[],:0123456789-.eE \x00\x80\xff')]) + b[i:]
    if op == 2:
        return b[:i] + b[i + 1:]
    if op == 3:
        return b[:i]                           # truncation
    if op == 4:
        j = min(len(b), i + rng.randrange(1, 16))
        return b[:i] + b[i:j] + b[i:]          # repeat a slice
    return b[:i] + b" " + b[i:]                # whitespace where the fast path wants none


def payload(seeds: list[Json], rng: random.Random) -> bytes:
    v = rng.choice(seeds)
    for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
        v = _mutate_tree(v, rng)
    b = dump(v).encode("utf-8", "surrogateescape")
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        b = _mutate_bytes(b, rng)
    return b


# -- the differential property ---------------------------------------------------------

def _run(fn: Callable[[], Any], failed: type[Exception]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except failed:
        return "rejected", None
    except Exception as exc:  # a crash: never allowed
        return "crash", f"{type(exc).__name__}: {exc}"


def scales(name: str) -> tuple[int, int, int, int]:
    """``(price_decimals, size_decimals, price_tick, size_step)`` of decoder ``name``'s
    book: what the engine would use for the seeds' instrument."""
    venue, _, tick, step, _ = SEEDS[name]
    return instrument_scales(venue, tick, step)


def _compare(name: str, p: bytes) -> tuple[str | None, tuple[str, Any]]:
    venue, snap, *_ = SEEDS[name]
    sc = scales(name)
    if name in QUOTE_SEEDS:
        channel = QUOTE_SEEDS[name][1]
        a = _run(lambda: _quotes.decode_quotes(venue, p, channel, *sc), _parse.DecodeFailed)
        b = _run(lambda: ref_quotes.decode_quotes(venue, p, channel, *sc), ref.DecodeFailed)
    elif name in CANDLE_SEEDS:
        a = _run(lambda: _parse.decode_candles(venue, p, *sc[:2]), _parse.DecodeFailed)
        b = _run(lambda: ref_candles.decode_candles(venue, p, *sc[:2]), ref.DecodeFailed)
    elif name in BACKFILL_SEEDS:
        a = _run(lambda: _parse.decode_backfill(venue, p, *sc), _parse.DecodeFailed)
        b = _run(lambda: ref.decode_backfill(venue, p, *sc), ref.DecodeFailed)
    elif name in TRADE_SEEDS:
        a = _run(lambda: _parse.decode_trades(venue, p, *sc), _parse.DecodeFailed)
        b = _run(lambda: ref.decode_trades(venue, p, *sc), ref.DecodeFailed)
    else:
        a = _run(lambda: _parse.decode_message(venue, p, *sc, snapshot=snap),
                 _parse.DecodeFailed)
        b = _run(lambda: ref.decode_message(venue, p, *sc, snapshot=snap), ref.DecodeFailed)
    if a == b:
        return None, a
    return f"compiled {a[0]} {a[1]!r} / reference {b[0]} {b[1]!r}", a


def check(name: str, p: bytes) -> str | None:
    """None if both decoders agree on ``p``, else a description of the difference."""
    return _compare(name, p)[0]


def fuzz(name: str, n: int, seed: int, keep: int = 20) -> dict[str, Any]:
    """``n`` mutated payloads for decoder ``name``; the findings (at most ``keep`` shown),
    the payloads both rejected and the accepted ones holding levels off the grid."""
    seeds = SEEDS[name][4]
    rng = random.Random(f"{name}:{seed}")
    findings: list[dict[str, str]] = []
    n_findings = rejected = off_grid = 0
    t0 = time.perf_counter()
    for _ in range(n):
        p = payload(seeds, rng)
        diff, (status, out) = _compare(name, p)
        if diff is not None:
            n_findings += 1
            if len(findings) < keep:
                findings.append({"payload": p.decode("utf-8", "backslashreplace"),
                                 "diff": diff[:500]})
        elif status == "rejected":
            rejected += 1
        elif any(seg.get("off_grid") for seg in out["segments"]):
            off_grid += 1
    return {"decoder": name, "payloads": n, "seed": seed, "findings": n_findings,
            "rejected": rejected, "off_grid": off_grid,
            "seconds": round(time.perf_counter() - t0, 1), "examples": findings}


def _big_event(levels: int, usdm: bool, combined: bool) -> Obj:
    ev = depth_event(levels)
    o = Obj((k, ev[k]) for k in ("e", "E", "s", "U", "u"))
    if usdm:
        o.insert(2, ("T", ev["E"] - 5))
        o.append(("pu", ev["U"] - 1))
    o += [("b", ev["b"]), ("a", ev["a"])]
    return _o(stream="btcusdt@depth@100ms", data=o) if combined else o


PATHS_SEEDS: dict[str, list[Json]] = {
    "binance-depth": SEEDS["binance-depth"][4] + [
        _big_event(30, False, False), _big_event(30, True, True),
        _big_event(200, False, True), _big_event(200, True, False)],
    "binance-snapshot": SEEDS["binance-snapshot"][4] + [
        _o(lastUpdateId=1027024, bids=depth_event(400)["b"], asks=depth_event(60)["a"])],
}


def fuzz_paths(name: str, n: int, seed: int, keep: int = 20) -> dict[str, Any]:
    """``n`` mutated payloads through ``_parse._bn_paths`` (every SIMD level against the
    general decoder): the findings (at most ``keep`` shown) and how many the fast path
    decided."""
    seeds = PATHS_SEEDS[name]
    sc = scales(name)
    snap = SEEDS[name][1]
    rng = random.Random(f"paths:{name}:{seed}")
    findings: list[dict[str, str]] = []
    n_findings = fast = 0
    t0 = time.perf_counter()
    for _ in range(n):
        p = payload(seeds, rng)
        took_fast, diff = _parse._bn_paths(p, *sc, snapshot=snap)
        fast += took_fast
        if diff is not None:
            n_findings += 1
            if len(findings) < keep:
                findings.append({"payload": p.decode("utf-8", "backslashreplace"), "diff": diff})
    return {"decoder": name, "payloads": n, "seed": seed, "findings": n_findings,
            "fast_path": fast, "levels": list(_parse.simd_levels()),
            "seconds": round(time.perf_counter() - t0, 1), "examples": findings}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--decoder", choices=sorted(SEEDS), action="append",
                    help="decoder (venue dialect) to fuzz; repeatable; default all")
    ap.add_argument("--payloads", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--paths", action="store_true",
                    help="fast paths at every SIMD level vs the general decoder (Binance)")
    args = ap.parse_args(argv)
    if args.paths:
        names = args.decoder or sorted(PATHS_SEEDS)
        bad = sorted(set(names) - set(PATHS_SEEDS))
        if bad:
            ap.error(f"--paths covers {', '.join(sorted(PATHS_SEEDS))}, not {', '.join(bad)}")
        return _report([fuzz_paths(name, args.payloads, args.seed) for name in names],
                       args.json, lambda r: f"{r['fast_path']:>9} by the fast path  levels "
                                            f"{','.join(r['levels'])}")
    names = args.decoder or sorted(SEEDS)
    return _report([fuzz(name, args.payloads, args.seed) for name in names], args.json,
                   lambda r: f"{r['rejected']:>9} rejected by both  {r['off_grid']:>7} off "
                             f"the grid")


def _report(results: list[dict[str, Any]], as_json: bool,
            middle: Callable[[dict[str, Any]], str]) -> int:
    """Print the runs (one JSON object, or a line each with ``middle``'s fields and up to
    three examples); exit status 1 if any found something."""
    if as_json:
        print(json.dumps({"results": results}, indent=1))
    else:
        for r in results:
            print(f"{r['decoder']:18} {r['payloads']:>9} payloads  {r['findings']:>6} findings  "
                  f"{middle(r)}  {r['seconds']:>7} s")
            for ex in r["examples"][:3]:
                print(f"    {ex['payload'][:160]}\n      {ex['diff'][:200]}")
    return 1 if any(r["findings"] for r in results) else 0

if __name__ == "__main__":
    sys.exit(main())
