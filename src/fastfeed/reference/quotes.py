"""Pure-Python twins of the quote decoders and cores (``fastfeed._quotes``).

``decode_quotes`` is the reference of ``fastfeed._quotes.decode_quotes`` (same output,
same messages without byte offsets), written plainly over ``json`` and exact decimals
(:mod:`fastfeed.reference.decode`): each message type's fields are checked in the same
fixed order as the compiled decoders (docs/venues.md, "Best bid/offer" and "Tickers").
``QuoteStream`` is the twin of ``BboFeed``/``TickerFeed(strict=False)``: staleness by
update id, the connection sequence, a bounded ring.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from fastfeed.reference.decimal import DECIMAL_OK, decimal_code, decimal_error_message, number_code
from fastfeed.reference.decode import (
    INT64_MAX,
    INT64_MIN,
    MAX_UPDATE_ID,
    DecodeFailed,
    _bad_utf8,
    _check_depth,
    _check_dups,
    _Esc,
    _kr_channel_top,
    _kr_deep,
    _kr_text,
    _load,
    _Num,
    _Obj,
    _Pending,
    _raw,
    parse_rfc3339_ns,
)
from fastfeed.venues import VENUES, get_venue

QUOTE_MISSING = INT64_MIN
MS_MIN, MS_MAX = -9223372036854, 9223372036854
TICKER_TEXTS = ("last_price", "last_size", "open", "high", "low", "change", "volume",
                "quote_volume")
_ABSENT = object()


class _Fields:
    """One object's fields, checked as the compiled ``_q_str``/``_q_sym``/``_q_int`` do."""

    def __init__(self, o: dict[str, Any], prefix: str = "field") -> None:
        self.o = o
        self.prefix = prefix

    def has(self, name: str) -> bool:
        return name in self.o

    def text(self, name: str, required: bool = True) -> str | None:
        v = self.o.get(name, _ABSENT)
        if v is _ABSENT:
            if required:
                raise DecodeFailed(f"{self.prefix} '{name}' missing")
            return None
        if not isinstance(v, str):
            raise DecodeFailed(f"{self.prefix} '{name}' has the wrong type (expected string)")
        return v

    def symbol(self, name: str) -> str:
        v = self.text(name)
        assert v is not None
        if isinstance(v, _Esc):
            raise DecodeFailed(f"{self.prefix} '{name}' contains an escape "
                               "(symbols must be plain strings)")
        if _bad_utf8(v):
            raise DecodeFailed(f"{self.prefix} '{name}' is not valid UTF-8")
        return v

    def integer(self, name: str, required: bool, lo: int, hi: int) -> int | None:
        v = self.o.get(name, _ABSENT)
        if v is _ABSENT:
            if required:
                raise DecodeFailed(f"{self.prefix} '{name}' missing")
            return None
        if type(v) is int and not (INT64_MIN <= v <= INT64_MAX and lo <= v <= hi):
            raise DecodeFailed(f"{self.prefix} '{name}' out of range")
        if type(v) is not int:
            raise DecodeFailed(f"{self.prefix} '{name}' has the wrong type (expected integer)")
        return v


def _result(kind: str, last_id: int = -1, t: int = 0,
            segments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"kind": kind, "last_id": last_id, "event_time_ns": t, "segments": segments or []}


def _bbo(symbol: str, kind: str, update_id: int, t: int, bid: str, bid_size: str | None,
         ask: str, ask_size: str | None) -> dict[str, Any]:
    return {"symbol": symbol, "kind": kind, "update_id": update_id, "exchange_ns": t,
            "_texts": (_raw(bid), None if bid_size is None else _raw(bid_size), _raw(ask),
                       None if ask_size is None else _raw(ask_size))}


def _ticker(symbol: str, kind: str, t: int, texts: dict[int, str], update_id: int = -1,
            open_ns: int = 0, close_ns: int = 0, first: int = -1, last: int = -1,
            count: int = -1) -> dict[str, Any]:
    return {"symbol": symbol, "kind": kind, "exchange_ns": t, "update_id": update_id,
            "open_ns": open_ns, "close_ns": close_ns, "first_trade_id": first,
            "last_trade_id": last, "trade_count": count,
            "_texts": {k: _raw(v) for k, v in texts.items()}}


def _other_type(typ: str, what: str = "type") -> dict[str, Any]:
    kind = {"heartbeat": "heartbeat", "subscriptions": "control",
            "error": "venue_error"}.get(typ, "ignored")
    if kind == "ignored" and _bad_utf8(typ):
        raise DecodeFailed(f"field '{what}' is not valid UTF-8")
    return _result(kind)


# ---------------------------------------------------------------------------------------
# Binance
# ---------------------------------------------------------------------------------------

BINANCE_EVENT = ("e", "E", "T", "s", "u", "b", "B", "a", "A", "c", "Q", "o", "h", "l", "v",
                 "q", "p", "O", "C", "F", "L", "n")
_BN_INNER = set(BINANCE_EVENT) | {"code", "result", "id"}
_BN_TOP = _BN_INNER | {"data"}


def _bn_event(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _BN_TOP)  # type: ignore[arg-type]
    _check_depth(o, {"data": dict})
    if "data" not in o:
        return o
    d = o["data"]
    if not isinstance(d, dict):
        raise DecodeFailed("field 'data' has the wrong type (expected object)")
    _check_dups(d, _BN_INNER)  # type: ignore[arg-type]
    _check_depth(d, {})
    if any(k in o for k in BINANCE_EVENT):
        raise DecodeFailed("event field next to 'data' in a combined-stream envelope")
    return d


def _bn_not_event(o: dict[str, Any], spot_bbo: bool) -> dict[str, Any] | None:
    if "code" in o:
        return _result("venue_error")
    if "result" in o or "id" in o:
        return _result("control")
    if spot_bbo:
        return None
    raise DecodeFailed("field 'e' missing")


def _bn_type(o: dict[str, Any]) -> str:
    e = o["e"]
    if not isinstance(e, str):
        raise DecodeFailed("field 'e' has the wrong type (expected string)")
    return e


def _bn_ignored(e: str) -> dict[str, Any]:
    if _bad_utf8(e):
        raise DecodeFailed("field 'e' is not valid UTF-8")
    return _result("ignored")


def _binance_bbo(payload: bytes) -> dict[str, Any]:
    o = _bn_event(payload)
    usdm = "e" in o
    if usdm:
        if _bn_type(o) != "bookTicker":
            return _bn_ignored(o["e"])
    else:
        out = _bn_not_event(o, True)
        if out is not None:
            return out
    f = _Fields(o)
    u = f.integer("u", True, 0, MAX_UPDATE_ID)
    s = f.symbol("s")
    b, bq, a, aq = f.text("b"), f.text("B"), f.text("a"), f.text("A")
    e_ms = f.integer("E", usdm, MS_MIN, MS_MAX)
    t_ms = f.integer("T", False, MS_MIN, MS_MAX)
    assert u is not None and b is not None and a is not None
    t = 0 if e_ms is None else e_ms * 10**6
    out = _result("bbo", last_id=u, t=t, segments=[_bbo(s, "update", u, t, b, bq, a, aq)])
    out["_txn"] = 0 if t_ms is None else t_ms * 10**6
    return out


def _binance_ticker(payload: bytes) -> dict[str, Any]:
    o = _bn_event(payload)
    if "e" not in o:
        out = _bn_not_event(o, False)
        assert out is not None
        return out
    e = _bn_type(o)
    if e == "24hrTicker":
        full = True
    elif e == "24hrMiniTicker":
        full = False
    else:
        return _bn_ignored(e)
    f = _Fields(o)
    e_ms = f.integer("E", True, MS_MIN, MS_MAX)
    s = f.symbol("s")
    texts = {0: f.text("c")}
    if full:
        texts[1] = f.text("Q")
    texts[2], texts[3], texts[4] = f.text("o"), f.text("h"), f.text("l")
    if full:
        texts[5] = f.text("p")
    texts[6], texts[7] = f.text("v"), f.text("q")
    assert e_ms is not None
    t = e_ms * 10**6
    extra: dict[str, Any] = {}
    if full:
        open_ms = f.integer("O", True, MS_MIN, MS_MAX)
        close_ms = f.integer("C", True, MS_MIN, MS_MAX)
        assert open_ms is not None and close_ms is not None
        extra = {"open_ns": open_ms * 10**6, "close_ns": close_ms * 10**6,
                 "first": f.integer("F", True, -1, MAX_UPDATE_ID),
                 "last": f.integer("L", True, -1, MAX_UPDATE_ID),
                 "count": f.integer("n", True, 0, MAX_UPDATE_ID)}
    return _result("ticker", t=t, segments=[_ticker(s, "update", t, texts,  # type: ignore[arg-type]
                                                    **extra)])


# ---------------------------------------------------------------------------------------
# Coinbase Advanced Trade
# ---------------------------------------------------------------------------------------

_AT_ENV = {"channel", "timestamp", "sequence_num", "events", "type"}
_AT_TICKER = {"product_id", "price", "volume_24_h", "low_24_h", "high_24_h", "best_bid",
              "best_bid_quantity", "best_ask", "best_ask_quantity"}
_EVENTS = "field 'events' has the wrong type (expected array of objects)"
_TICKERS = "event field 'tickers' has the wrong type (expected array of objects)"


def _coinbase_at(payload: bytes, bbo: bool) -> dict[str, Any]:
    from fastfeed.reference.decode import parse_rfc3339_ns
    o = _load(payload)
    _check_dups(o, _AT_ENV)  # type: ignore[arg-type]
    _check_depth(o, {"events": list})
    seq = o.get("sequence_num")
    last_id = seq if type(seq) is int and 0 <= seq <= MAX_UPDATE_ID else -1
    typ = o.get("type")
    if isinstance(typ, str) and typ == "error":
        return _result("venue_error", last_id=last_id)
    f = _Fields(o)
    channel = f.text("channel")
    ts = f.text("timestamp", False)
    f.integer("sequence_num", False, 0, MAX_UPDATE_ID)
    t = 0
    if ts is not None:
        parsed = parse_rfc3339_ns(_raw(ts))
        if parsed is None:
            raise DecodeFailed("field 'timestamp' is not an RFC 3339 timestamp")
        t = parsed
    assert channel is not None
    if channel == "ticker" or (not bbo and channel == "ticker_batch"):
        f.integer("sequence_num", True, 0, MAX_UPDATE_ID)
        f.text("timestamp")
        if "events" not in o:
            raise DecodeFailed("field 'events' missing")
        events = o["events"]
        if not isinstance(events, list):
            raise DecodeFailed(_EVENTS)
        segments = []
        for ev in events:
            if not isinstance(ev, dict):
                raise DecodeFailed(_EVENTS)
            _check_dups(ev, {"type", "tickers"})  # type: ignore[arg-type]
            _check_depth(ev, {"tickers": list})
            fe = _Fields(ev, "event field")
            etype = fe.text("type")
            if etype not in ("snapshot", "update"):
                raise DecodeFailed("event type is not 'snapshot' or 'update'")
            kind = "snapshot" if etype == "snapshot" else "update"
            if "tickers" not in ev:
                raise DecodeFailed("event field 'tickers' missing")
            tickers = ev["tickers"]
            if not isinstance(tickers, list):
                raise DecodeFailed(_TICKERS)
            for tk in tickers:
                if not isinstance(tk, dict):
                    raise DecodeFailed(_TICKERS)
                _check_dups(tk, _AT_TICKER)  # type: ignore[arg-type]
                _check_depth(tk, {})
                ft = _Fields(tk, "ticker field")
                sym = ft.symbol("product_id")
                if bbo:
                    b, bq = ft.text("best_bid"), ft.text("best_bid_quantity")
                    a, aq = ft.text("best_ask"), ft.text("best_ask_quantity")
                    assert b is not None and a is not None
                    segments.append(_bbo(sym, kind, -1, t, b, bq, a, aq))
                else:
                    texts = {0: ft.text("price"), 6: ft.text("volume_24_h"),
                             4: ft.text("low_24_h"), 3: ft.text("high_24_h")}
                    segments.append(_ticker(sym, kind, t, texts))  # type: ignore[arg-type]
        return _result("bbo" if bbo else "ticker", last_id=last_id, t=t, segments=segments)
    if channel == "heartbeats":
        return _result("heartbeat", last_id=last_id, t=t)
    if channel == "subscriptions":
        return _result("control", last_id=last_id, t=t)
    if _bad_utf8(channel):
        raise DecodeFailed("field 'channel' is not valid UTF-8")
    return _result("ignored", last_id=last_id, t=t)


# ---------------------------------------------------------------------------------------
# Coinbase Exchange
# ---------------------------------------------------------------------------------------

_CX = {"type", "product_id", "sequence", "time", "best_bid", "best_bid_size", "best_ask",
       "best_ask_size", "price", "open_24h", "volume_24h", "low_24h", "high_24h",
       "last_size", "trade_id"}


def _coinbase_exchange(payload: bytes, bbo: bool) -> dict[str, Any]:
    from fastfeed.reference.decode import parse_rfc3339_ns
    o = _load(payload)
    _check_dups(o, _CX)  # type: ignore[arg-type]
    _check_depth(o, {})
    f = _Fields(o)
    typ = f.text("type")
    assert typ is not None
    if typ != "ticker":
        return _other_type(typ)
    sym = f.symbol("product_id")
    seq = f.integer("sequence", True, 0, MAX_UPDATE_ID)
    ts = f.text("time", False)
    assert seq is not None
    t = 0
    if ts is not None:
        parsed = parse_rfc3339_ns(_raw(ts))
        if parsed is None:
            raise DecodeFailed("field 'time' is not an RFC 3339 timestamp")
        t = parsed
    if bbo:
        sizes = "best_bid_size" in o or "best_ask_size" in o
        b, bq = f.text("best_bid"), f.text("best_bid_size", sizes)
        a, aq = f.text("best_ask"), f.text("best_ask_size", sizes)
        assert b is not None and a is not None
        return _result("bbo", last_id=seq, t=t,
                       segments=[_bbo(sym, "update", seq, t, b, bq, a, aq)])
    texts = {0: f.text("price"), 2: f.text("open_24h"), 6: f.text("volume_24h"),
             4: f.text("low_24h"), 3: f.text("high_24h")}
    last_size = f.text("last_size", False)
    trade_id = f.integer("trade_id", False, 0, MAX_UPDATE_ID)
    if last_size is not None:
        texts[1] = last_size
    return _result("ticker", last_id=seq, t=t, segments=[_ticker(
        sym, "update", t, texts, update_id=seq,  # type: ignore[arg-type]
        last=-1 if trade_id is None else trade_id)])


# ---------------------------------------------------------------------------------------
# Kraken v2 ticker (docs/venues.md, "Kraken ticker and best bid/offer")
# ---------------------------------------------------------------------------------------

KRAKEN_TICKER = ("symbol", "bid", "bid_qty", "ask", "ask_qty", "last", "volume", "vwap",
                 "low", "high", "change", "change_pct", "timestamp")
_KQ_BBO = ("bid", "bid_qty", "ask", "ask_qty")
_KQ_TICKER = ("last", "volume", "low", "high", "change")
_KQ_DATA = "field 'data' has the wrong type (expected an array of ticker objects)"


def _kq_data(bbo: bool) -> Any:
    def read(p: _Pending, v: Any) -> list[dict[str, Any]]:
        if not isinstance(v, list):
            p.add(_KQ_DATA)
            _kr_deep(v)
            return []
        out = []
        for el in v:
            if not isinstance(el, _Obj):
                p.add(_KQ_DATA)
                _kr_deep(el)
                continue
            _check_dups(el, set(KRAKEN_TICKER))
            t = 0
            for k, x in el.items():
                if k == "symbol":
                    _kr_text(p, k, x, symbol=True)
                elif k == "timestamp":
                    if _kr_text(p, k, x):
                        parsed = parse_rfc3339_ns(_raw(x))
                        if parsed is None:
                            p.add("field 'timestamp' is not an RFC 3339 timestamp")
                        else:
                            t = parsed
                elif k in KRAKEN_TICKER:
                    if not isinstance(x, _Num):
                        p.add(f"field '{k}' has the wrong type (expected number)")
                        _kr_deep(x)
                else:
                    _kr_deep(x)
            need = ("symbol",) + (_KQ_BBO if bbo else _KQ_TICKER)
            missing = [name for name in KRAKEN_TICKER if name in need and name not in el]
            if missing:
                p.add(f"field '{missing[0]}' missing")
                continue
            if p.msg is not None:
                continue
            if bbo:
                out.append(_bbo(el["symbol"], "update", -1, t, el["bid"], el["bid_qty"],
                                el["ask"], el["ask_qty"]))
            else:
                out.append(_ticker(el["symbol"], "update", t, {
                    0: el["last"], 6: el["volume"], 4: el["low"], 3: el["high"],
                    5: el["change"]}))
        return out
    return read


def _kraken(payload: bytes, bbo: bool) -> dict[str, Any]:
    verdict, snap, segs = _kr_channel_top(payload, "ticker", _kq_data(bbo))
    if verdict is not None:
        return _result(verdict["kind"])
    for seg in segs:
        seg["kind"] = "snapshot" if snap else "update"
    return _result("bbo" if bbo else "ticker", -1, segs[-1]["exchange_ns"] if segs else 0,
                   segs)


# ---------------------------------------------------------------------------------------
# OKX (parse/okx_quotes.pxi)
# ---------------------------------------------------------------------------------------

_OKX_TOP = {"arg", "data", "event"}
_OKX_ARG = {"channel", "instId"}
OKX_TICKER = ("ts", "instType", "last", "lastSz", "open24h", "high24h", "low24h", "vol24h",
              "volCcy24h", "instId", "askPx", "askSz", "bidPx", "bidSz", "sodUtc0", "sodUtc8")
_OKX_DATA = "field 'data' has the wrong type (expected array of objects)"
_OKX_TS = "field 'ts' has the wrong type (expected a string of integer milliseconds)"


def _okx_ms(f: _Fields) -> int:
    """``ts``: a plain string of 1..18 ASCII digits (ms) whose ns fit int64."""
    v = f.text("ts")
    assert v is not None
    if isinstance(v, _Esc) or not 1 <= len(v) <= 18 or not all("0" <= ch <= "9" for ch in v):
        raise DecodeFailed(_OKX_TS)
    ms = int(v)
    if ms > MS_MAX:
        raise DecodeFailed("field 'ts' out of range")
    return ms * 10**6


def _okx_head(payload: bytes, channel: str,
              prefix: bool = False) -> tuple[dict[str, Any] | None, str, list[Any]]:
    """``(result, instId, data)``: a result for a message not of ``channel`` (with
    ``prefix``: whose channel does not start with it), else None with the symbol and the
    non-empty ``data`` elements."""
    if payload == b"pong":
        return _result("control"), "", []
    o = _load(payload)
    _check_dups(o, _OKX_TOP)  # type: ignore[arg-type]
    _check_depth(o, {"arg": dict, "data": list})
    if "event" in o:
        ev = o["event"]
        if not isinstance(ev, str):
            raise DecodeFailed("field 'event' has the wrong type (expected string)")
        return _result("venue_error" if _raw(ev) == "error" else "control"), "", []
    if "arg" not in o:
        raise DecodeFailed("field 'arg' missing")
    arg = o["arg"]
    if not isinstance(arg, dict):
        raise DecodeFailed("field 'arg' has the wrong type (expected object)")
    _check_dups(arg, _OKX_ARG)  # type: ignore[arg-type]
    _check_depth(arg, {})
    fa = _Fields(arg)
    chan = fa.text("channel")
    assert chan is not None
    raw = _raw(chan)
    if raw != channel and not (prefix and len(raw.encode("utf-8", "surrogateescape"))
                               > len(channel) and raw.startswith(channel)):
        return _result("ignored"), "", []
    sym = fa.symbol("instId")
    if "data" not in o:
        raise DecodeFailed("field 'data' missing")
    data = o["data"]
    if not isinstance(data, list):
        raise DecodeFailed(_OKX_DATA)
    if not data:
        raise DecodeFailed("field 'data' is an empty array")
    return None, sym, data


def _okx_ticker(payload: bytes) -> dict[str, Any]:
    out, sym, data = _okx_head(payload, "tickers")
    if out is not None:
        return out
    segments = []
    t = 0
    for el in data:
        if not isinstance(el, dict):
            raise DecodeFailed(_OKX_DATA)
        _check_dups(el, set(OKX_TICKER))  # type: ignore[arg-type]
        _check_depth(el, {})
        f = _Fields(el)
        t = _okx_ms(f)
        inst_type = f.text("instType")
        last, last_sz, o24, h24, l24 = (f.text(k) for k in ("last", "lastSz", "open24h",
                                                            "high24h", "low24h"))
        vol, vol_ccy = f.text("vol24h"), f.text("volCcy24h")
        assert inst_type is not None
        texts = {0: last, 1: last_sz, 2: o24, 3: h24, 4: l24}
        if _raw(inst_type) in ("SPOT", "MARGIN"):
            texts[6], texts[7] = vol, vol_ccy      # base, quote
        else:
            texts[6] = vol_ccy                     # base (vol24h counts contracts)
        segments.append(_ticker(sym, "update", t, texts))  # type: ignore[arg-type]
    return _result("ticker", t=t, segments=segments)


OKX_BBO = ("ts", "seqId", "bids", "asks", "instId", "checksum", "prevSeqId")


def _okx_level(el: dict[str, Any], name: str) -> tuple[str, str]:
    """``[[price, size, "0", count]]``: one level of four strings."""
    v = el[name]
    wrong = (f"field '{name}' has the wrong type "
             "(expected one [price, size, \"0\", count] level)")
    if (not isinstance(v, list) or len(v) != 1 or not isinstance(v[0], list)
            or len(v[0]) != 4 or not all(isinstance(x, str) for x in v[0])):
        raise DecodeFailed(wrong)
    return v[0][0], v[0][1]


def _okx_bbo(payload: bytes) -> dict[str, Any]:
    out, sym, data = _okx_head(payload, "bbo-tbt")
    if out is not None:
        return out
    segments = []
    t, seq = 0, -1
    for el in data:
        if not isinstance(el, dict):
            raise DecodeFailed(_OKX_DATA)
        _check_dups(el, set(OKX_BBO))  # type: ignore[arg-type]
        _check_depth(el, {})
        f = _Fields(el)
        t = _okx_ms(f)
        got = f.integer("seqId", False, 0, MAX_UPDATE_ID)
        seq = -1 if got is None else got
        if "bids" not in el:
            raise DecodeFailed("field 'bids' missing")
        b, bq = _okx_level(el, "bids")
        if "asks" not in el:
            raise DecodeFailed("field 'asks' missing")
        a, aq = _okx_level(el, "asks")
        segments.append(_bbo(sym, "update", seq, t, b, bq, a, aq))
    return _result("bbo", last_id=seq, t=t, segments=segments)


# ---------------------------------------------------------------------------------------
# Bybit v5 (docs/venues.md, "Bybit tickers")
# ---------------------------------------------------------------------------------------

_BY_ENV = {"topic", "type", "ts", "cs", "data", "success", "op"}
_BY_TICKER = ("symbol", "lastPrice", "highPrice24h", "lowPrice24h", "prevPrice24h",
              "volume24h", "turnover24h")
_BY_TEXT = {"lastPrice": 0, "highPrice24h": 3, "lowPrice24h": 4, "prevPrice24h": 2,
            "volume24h": 6, "turnover24h": 7}


def _by_envelope(payload: bytes, prefix: str,
                 data_array: bool = False) -> tuple[dict[str, Any] | None, _Fields,
                                                    _Fields | None]:
    """The envelope checks of the compiled ``_byq_envelope``: (a decided result, or None
    with the envelope's and ``data``'s fields; ``data_array``: ``data`` must be an array,
    the kline's, read by the caller from ``f.o["data"]``)."""
    from fastfeed.reference.decode import _bybit
    o = _load(payload)
    _check_dups(o, _BY_ENV)  # type: ignore[arg-type]
    _check_depth(o, {"data": (list, dict) if data_array else dict})
    d = o.get("data")
    if isinstance(d, dict):
        _check_dups(d, set(_BY_TICKER))  # type: ignore[arg-type]
        _check_depth(d, {})
    f = _Fields(o)
    if "topic" not in o:
        return _result(_bybit(payload)["kind"]), f, None
    topic = f.text("topic")
    assert topic is not None
    if not _raw(topic).startswith(prefix):
        return _result("ignored"), f, None
    f.text("type")
    f.integer("ts", True, 0, MS_MAX)
    f.integer("cs", False, 0, MAX_UPDATE_ID)
    if "data" not in o:
        raise DecodeFailed("field 'data' missing")
    if data_array:
        if not isinstance(d, list):
            raise DecodeFailed("field 'data' has the wrong type (expected array of objects)")
        return None, f, None
    if not isinstance(d, dict):
        raise DecodeFailed("field 'data' has the wrong type (expected object)")
    return None, f, _Fields(d, "ticker field")


def _bybit_ticker(payload: bytes) -> dict[str, Any]:
    done, f, fd = _by_envelope(payload, "tickers.")
    if done is not None:
        return done
    assert fd is not None
    typ = f.o["type"]
    if typ not in ("snapshot", "delta"):
        raise DecodeFailed("field 'type' is not 'snapshot' or 'delta'")
    snap = typ == "snapshot"
    sym = fd.symbol("symbol")
    texts: dict[int, str] = {}
    for name in _BY_TICKER[1:]:
        v = fd.text(name, snap)
        if v is not None and (v != "" or not snap):
            texts[_BY_TEXT[name]] = v
    t = f.o["ts"] * 10**6
    return _result("ticker", t=t, segments=[_ticker(sym, "snapshot" if snap else "update",
                                                    t, texts)])


def _bybit_bbo(payload: bytes) -> dict[str, Any]:
    """``orderbook.1`` (the 1-level book, snapshot-only) as one BBO, read by the book
    twin first (docs/venues.md, "Bybit BBO")."""
    from fastfeed.reference.decode import _bybit, _bybit_depth_one
    out = _bybit(payload)
    if out["kind"] not in ("snapshot", "depth"):
        return _result(out["kind"])
    if not _bybit_depth_one(payload):
        return _result("ignored")
    if out["kind"] == "depth":
        raise DecodeFailed("orderbook.1 is snapshot-only: a 'delta' is not a best bid/offer")
    (seg,) = out["segments"]
    sides: dict[str, tuple[str, str]] = {}
    for side, price, size in seg["levels"]:
        if side in sides:
            raise DecodeFailed("orderbook.1 has more than one level on a side")
        sides[side] = (price, size)
    b, bq = sides.get("bid", ("0", "0"))
    a, aq = sides.get("ask", ("0", "0"))
    u, t = out["last_id"], out["event_time_ns"]
    return _result("bbo", last_id=u, t=t,
                   segments=[_bbo(seg["symbol"], "snapshot", u, t, b, bq, a, aq)])


DECODERS = {
    "binance-bbo": _binance_bbo,
    "binance-ticker": _binance_ticker,
    "coinbase-at-bbo": lambda p: _coinbase_at(p, True),
    "coinbase-at-ticker": lambda p: _coinbase_at(p, False),
    "coinbase-exchange-bbo": lambda p: _coinbase_exchange(p, True),
    "coinbase-exchange-ticker": lambda p: _coinbase_exchange(p, False),
    "kraken-ticker": lambda p: _kraken(p, False),
    "kraken-bbo": lambda p: _kraken(p, True),
    "okx-ticker": _okx_ticker,
    "okx-bbo": _okx_bbo,
    "bybit-ticker": _bybit_ticker,
    "bybit-bbo": _bybit_bbo,
}


# ---------------------------------------------------------------------------------------
# conversion (phase 2)
# ---------------------------------------------------------------------------------------

def _shown(text: str) -> str:
    # the compiled message shows the text's bytes decoded with "replace"
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _dec(what: str, text: str, decimals: int, shown: str | None = None) -> int:
    # a bare JSON number (Kraken, ``_Num``) may have an exponent
    parse = number_code if isinstance(text, _Num) else decimal_code
    code, value = parse(text.encode("utf-8", "surrogateescape"), decimals)
    if code != DECIMAL_OK or value is None:
        raise DecodeFailed(f"{what}: " + decimal_error_message(
            code, _shown(text if shown is None else shown), decimals))
    return value


def scale_free_decimals(text: str) -> int:
    """A volume's decimals: its significant fraction digits (trailing zeros dropped, at
    most 18), as the compiled ``_scale_free``; the value is exact at them."""
    raw = text.encode("utf-8", "surrogateescape")
    e, neg = 0, False
    if isinstance(text, _Num):      # less a bare number's exponent
        at = next((i for i, c in enumerate(raw) if c in b"eE"), len(raw))
        if at < len(raw) - 1:
            exp = raw[at + 1:]
            raw = raw[:at]
            if exp[:1] in (b"-", b"+"):
                neg = exp[:1] == b"-"
                exp = exp[1:]
            for c in exp:
                if not 48 <= c <= 57 or e >= 1000:
                    break
                e = e * 10 + c - 48
    dot = raw.find(b".")
    f = 0 if dot < 0 else len(raw[dot + 1:].rstrip(b"0"))
    f = f + e if neg else f - e
    return max(0, min(f, 18))


def _convert_bbo(seg: dict[str, Any], pd: int, sd: int, tick: int, step: int) -> None:
    bid, bid_size, ask, ask_size = seg.pop("_texts")
    no_sizes = bid_size is None
    vals = []
    off = 0
    for price, size in ((bid, bid_size), (ask, ask_size)):
        p = _dec("price", price, pd)
        s = _dec("size", size if size is not None else "0", sd)
        off += p % tick != 0 or s % step != 0
        vals += [p, s]
    seg.update(bid_price=vals[0], bid_size=QUOTE_MISSING if no_sizes else vals[1],
               ask_price=vals[2], ask_size=QUOTE_MISSING if no_sizes else vals[3],
               off_grid=off)


def _delta_view(seg: dict[str, Any]) -> set[int]:
    """A delta ticker (``Venue.ticker_deltas``): ``""`` (no value) becomes absent; returns
    the texts the delta does not carry (kept from the last ticker when merged)."""
    texts = seg["_texts"]
    absent = {i for i in range(len(TICKER_TEXTS)) if i not in texts}
    seg["_texts"] = {i: v for i, v in texts.items() if v != ""}
    return absent


def _merge(rec: dict[str, Any], last: dict[str, Any], absent: set[int]) -> None:
    for i in absent:
        rec[TICKER_TEXTS[i]] = last[TICKER_TEXTS[i]]
        if i in (6, 7):
            key = "volume_decimals" if i == 6 else "quote_volume_decimals"
            rec[key] = last[key]


def _convert_ticker(seg: dict[str, Any], pd: int, sd: int) -> None:
    texts = seg.pop("_texts")
    values: dict[str, int] = {}
    decs = {6: 0, 7: 0}
    for i, name in enumerate(TICKER_TEXTS):
        text = texts.get(i)
        if text is None:
            values[name] = QUOTE_MISSING
        elif i in (6, 7):
            decs[i] = scale_free_decimals(text)
            values[name] = _dec(name, text, decs[i])
        elif i == 5 and text.startswith("-"):
            rest = _Num(text[1:]) if isinstance(text, _Num) else text[1:]
            values[name] = -_dec(name, rest, pd, shown=text)
        else:
            values[name] = _dec(name, text, sd if i == 1 else pd)
    exchange_ns = seg.pop("exchange_ns")
    update_id = seg.pop("update_id")
    open_ns, close_ns = seg.pop("open_ns"), seg.pop("close_ns")
    first, last, count = seg.pop("first_trade_id"), seg.pop("last_trade_id"), seg.pop("trade_count")
    seg.update(exchange_ns=exchange_ns, update_id=update_id, open_ns=open_ns, close_ns=close_ns)
    seg.update(values)
    seg.update(first_trade_id=first, last_trade_id=last, trade_count=count,
               volume_decimals=decs[6], quote_volume_decimals=decs[7])


def decode_quotes(venue: str, payload: bytes | bytearray | memoryview, channel: str,
                  price_decimals: int, size_decimals: int, price_tick: int = 1,
                  size_step: int = 1) -> dict[str, Any]:
    """Reference of ``fastfeed._quotes.decode_quotes`` (same output and messages)."""
    attr = {"bbo": "bbo_decoder", "ticker": "ticker_decoder"}.get(channel)
    if attr is None:
        raise ValueError(f"unknown quote channel {channel!r}")
    spec = VENUES.get(venue)
    if spec is None:
        raise ValueError(f"unknown venue {venue!r}")
    name = getattr(spec, attr)
    if not name:
        raise ValueError(f"{venue} has no {channel} channel")
    out = DECODERS[name](bytes(payload))
    out.pop("_txn", None)
    for seg in out["segments"]:
        if out["kind"] == "bbo":
            _convert_bbo(seg, price_decimals, size_decimals, price_tick, size_step)
        else:
            if spec.ticker_deltas and seg["kind"] == "update":
                _delta_view(seg)
            _convert_ticker(seg, price_decimals, size_decimals)
    return out


# ---------------------------------------------------------------------------------------
# the stream (BboFeed / TickerFeed with strict=False)
# ---------------------------------------------------------------------------------------

class QuoteStream:
    """One BBO or ticker stream fed payload by payload. Records are the segment dicts of
    ``decode_quotes`` without ``symbol``, ``kind`` and ``off_grid``."""

    def __init__(self, venue: str, symbol: str, channel: str, price_decimals: int,
                 size_decimals: int, price_tick: int = 1, size_step: int = 1, *,
                 capacity: int = 65536) -> None:
        spec = get_venue(venue)
        self.venue, self.channel = venue, channel
        self.symbol = symbol.upper()
        self.scale = (price_decimals, size_decimals, price_tick, size_step)
        self.connection_sequence = spec.connection_sequence
        self.merges_deltas = channel == "ticker" and spec.ticker_deltas
        self.id_restarts = spec.quote_id_restarts
        self.has_snapshot = False
        self.unmerged = 0
        self.ring: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.last_update_id = self.conn_seq = -1
        self.recorded = self.overwritten = self.messages = self.stale = 0
        self.rejected = self.connection_gaps = self.unknown_symbol = self.off_grid = 0

    def apply_message(self, payload: bytes) -> int:
        """The records made from one payload."""
        try:
            raw = DECODERS[getattr(get_venue(self.venue), self.channel + "_decoder")](
                bytes(payload))
        except DecodeFailed:
            self.rejected += 1
            self.has_snapshot = False    # it may have been a delta of this stream
            return 0
        raw.pop("_txn", None)
        if self.connection_sequence and raw["last_id"] >= 0:
            if self.conn_seq >= 0 and raw["last_id"] != self.conn_seq + 1:
                self.connection_gaps += 1
            self.conn_seq = raw["last_id"]
        if raw["kind"] == "venue_error":
            self.rejected += 1
            return 0
        if raw["kind"] != self.channel:
            return 0
        n = 0
        for seg in raw["segments"]:
            if seg["symbol"] != self.symbol:
                self.unknown_symbol += 1
                continue
            self.messages += 1
            delta = self.merges_deltas and seg["kind"] == "update"
            if delta and not self.has_snapshot:
                self.unmerged += 1
                continue
            absent = _delta_view(seg) if delta else set()
            try:
                if self.channel == "bbo":
                    _convert_bbo(seg, *self.scale)
                else:
                    _convert_ticker(seg, *self.scale[:2])
            except DecodeFailed:
                self.rejected += 1
                self.has_snapshot = False
                continue
            if delta:
                _merge(seg, self.ring[-1], absent)
            elif self.merges_deltas:
                self.has_snapshot = True
            uid = seg["update_id"]
            if (uid >= 0 and self.last_update_id >= 0 and uid <= self.last_update_id
                    and not (self.id_restarts and uid == 1)):
                self.stale += 1
                continue
            if uid >= 0:
                self.last_update_id = uid
            self.off_grid += seg.pop("off_grid", 0)
            del seg["symbol"], seg["kind"]
            if len(self.ring) == self.ring.maxlen:
                self.overwritten += 1
            self.ring.append(seg)
            self.recorded += 1
            n += 1
        return n

    def records(self) -> list[dict[str, Any]]:
        """The records held, oldest first."""
        return list(self.ring)
