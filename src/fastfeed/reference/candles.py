"""Pure-Python twins of the candle path (docs/venues.md, "Candles").

- ``decode_candles``: the compiled candle decoders (``fastfeed._parse.decode_candles``)
  over ``json`` + ``Decimal``, same output and messages: Binance ``kline`` events and
  Coinbase Advanced Trade ``candles``.
- ``CandleStream``: ``fastfeed._candles.OfflineCandleCore`` (``CandleFeed``) written
  plainly: the open candle, closing on the venue's final update or a later bucket.
- ``LocalCandleBuilder``: ``fastfeed._candles.LocalCandleCore`` (``LocalCandles``):
  candles from trades by exchange time, exact in ints.

Candles are dicts with the ``CANDLE_DTYPE`` field names (``quote_volume`` an int instead
of ``quote_hi``/``quote_lo``; no ``recv_ns``).
"""

from __future__ import annotations

import decimal as _dec
import re
from typing import Any

from fastfeed.reference.decimal import (
    DECIMAL_EMPTY,
    DECIMAL_NON_DIGIT,
    DECIMAL_OK,
    DECIMAL_OVERFLOW,
    DECIMAL_TOO_PRECISE,
    _bad_char,
    decimal_code,
    decimal_error_message,
    number_code,
)
from fastfeed.reference.decode import (
    _OBJS,
    INT64_MAX,
    INT64_MIN,
    MAX_UPDATE_ID,
    DecodeFailed,
    _at_envelope,
    _bad_utf8,
    _check_depth,
    _check_dups,
    _Esc,
    _int_field,
    _is_int,
    _kr_channel_top,
    _kr_deep,
    _kr_int,
    _kr_text,
    _load,
    _ms_to_ns,
    _Num,
    _numeric_id,
    _Obj,
    _Pending,
    _raw,
    _str_field,
    _sym_field,
    _tresult,
    parse_rfc3339_ns,
)
from fastfeed.venues import VENUES

MAX_QUOTE_DECIMALS = 36
I128_MAX = 2**127 - 1
CANDLE_FIELDS = ("open", "high", "low", "close", "volume", "quote_volume")
_DIGITS = frozenset("0123456789")


def decimal128_code(text: str | bytes, decimals: int) -> tuple[int, int | None]:
    """``decimal_code`` into a 128-bit signed value (quote volumes)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")
    if not text:
        return DECIMAL_EMPTY, None
    if not 0 <= decimals <= MAX_QUOTE_DECIMALS:
        return DECIMAL_OVERFLOW, None
    n, i = len(text), 0
    while i < n and text[i] in _DIGITS:
        i += 1
    if i == 0:
        return _bad_char(text[0], 0), None
    if i < n:
        if text[i] != ".":
            return _bad_char(text[i], i), None
        j = k = i + 1
        while k < n and text[k] in _DIGITS:
            k += 1
        if k < n:
            return _bad_char(text[k], k), None
        if k == j:
            return DECIMAL_NON_DIGIT, None
    with _dec.localcontext() as ctx:
        ctx.prec = n + MAX_QUOTE_DECIMALS + 10
        ctx.Emax = ctx.prec * 2
        scaled = _dec.Decimal(text).scaleb(decimals)
        if scaled != scaled.to_integral_value():
            return DECIMAL_TOO_PRECISE, None
        value = int(scaled)
    if value > I128_MAX:
        return DECIMAL_OVERFLOW, None
    return DECIMAL_OK, value


def _candle(interval: str | None, open_ns: int, close_ns: int, texts: dict[str, str | None],
            trades: int, first_id: int, last_id: int, closed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"interval": interval, "open_ns": open_ns, "close_ns": close_ns}
    out.update({f: texts.get(f) for f in CANDLE_FIELDS})
    out.update({"trades": trades, "first_id": first_id, "last_id": last_id, "closed": closed})
    return out


# ------------------------------------------------------------------------- Binance

_BK_EVENT = {"e", "E", "s", "k"}
_KK = "tTsifLochlvnxq"
_KK_INT = set("tTfLn")
_KK_STR = set("siochlvq")
_BK_MAX_MS = 9223372036853


def _bk_fields(p: _Pending, ev: _Obj) -> None:
    for key, v in ev.items():
        if key == "E":
            _int_field(p, "E", v)
        elif key == "s":
            _sym_field(p, "s", v)
        elif key == "k":
            if not isinstance(v, dict):
                p.add("field 'k' has the wrong type (expected object)")
                continue
            for kk, kv in v.items():
                name = f"k.{kk}"
                if kk == "s":
                    _sym_field(p, name, kv)
                elif kk in _KK_STR:
                    if _str_field(p, name, kv) and kk == "i" and _bad_utf8(kv):
                        p.add("field 'k.i' is not valid UTF-8")
                elif kk in _KK_INT:
                    _int_field(p, name, kv)
                elif kk == "x" and type(kv) is not bool:
                    p.add("field 'k.x' has the wrong type (expected boolean)")


def _binance_candles(payload: bytes) -> dict[str, Any]:
    top = _load(payload)
    _check_dups(top, _BK_EVENT | {"data"})
    _check_depth(top, {"data": dict, "k": dict})
    for obj in (top, top.get("data")):
        if isinstance(obj, _Obj):
            if obj is not top:
                _check_dups(obj, _BK_EVENT)
                _check_depth(obj, {"k": dict})
            if isinstance(obj.get("k"), _Obj):
                _check_dups(obj["k"], set(_KK))
                _check_depth(obj["k"], {})
    ev = top
    if "data" in top:
        if not isinstance(top["data"], _Obj):
            raise DecodeFailed("field 'data' has the wrong type (expected object)")
        if _BK_EVENT & top.keys():
            raise DecodeFailed("event field next to 'data' in a combined-stream envelope")
        ev = top["data"]
    if "e" not in ev:
        if "code" in ev:
            return _tresult("venue_error")
        if "result" in ev or "id" in ev:
            return _tresult("control")
        raise DecodeFailed("field 'e' missing")
    e = ev["e"]
    if not isinstance(e, str):
        raise DecodeFailed("field 'e' has the wrong type (expected string)")
    if e != "kline":
        if _bad_utf8(e):
            raise DecodeFailed("field 'e' is not valid UTF-8")
        return _tresult("ignored")
    p = _Pending()
    _bk_fields(p, ev)
    p.raise_if()
    for key in ("E", "s", "k"):
        if key not in ev:
            raise DecodeFailed(f"field '{key}' missing")
    k = ev["k"]
    for key in _KK:
        if key not in k:
            raise DecodeFailed(f"field 'k.{key}' missing")
    e_ns = _ms_to_ns("E", ev["E"])
    for key in "tT":
        if not 0 <= k[key] <= _BK_MAX_MS:
            raise DecodeFailed(f"field 'k.{key}' out of range")
    if k["T"] < k["t"]:
        raise DecodeFailed("field 'k.T' is before 'k.t'")
    for key in "fL":
        if not -1 <= k[key] <= MAX_UPDATE_ID:
            raise DecodeFailed(f"field 'k.{key}' out of range (expected -1..2**62)")
    if not 0 <= k["n"] <= MAX_UPDATE_ID:
        raise DecodeFailed("field 'k.n' out of range (expected 0..2**62)")
    if _raw(ev["s"]) != _raw(k["s"]):
        raise DecodeFailed("field 'k.s' differs from 's'")
    texts: dict[str, str | None] = {"open": _raw(k["o"]), "high": _raw(k["h"]), "low": _raw(k["l"]),
             "close": _raw(k["c"]), "volume": _raw(k["v"]), "quote_volume": _raw(k["q"])}
    candle = _candle(_raw(k["i"]), k["t"] * 10**6, (k["T"] + 1) * 10**6, texts, k["n"],
                     k["f"], k["L"], 1 if k["x"] else 0)
    return _tresult("candles", -1, e_ns,
                    [{"symbol": k["s"], "kind": "update", "candles": [candle]}])


# ------------------------------------------------------------------------- Coinbase AT

AT_CANDLE_NS = 300 * 10**9
_AC_MAX_START = 9223372036 - 300
_AC_FIELDS = ("start", "high", "low", "open", "close", "volume", "product_id")


def _ac_candle(p: _Pending, c: _Obj) -> tuple[str | None, dict[str, Any]]:
    _check_dups(c, set(_AC_FIELDS))
    _check_depth(c, {})
    symbol: str | None = None
    open_ns = close_ns = 0
    texts: dict[str, str | None] = {"quote_volume": None}
    for key, v in c.items():
        if key not in _AC_FIELDS:
            continue
        if key == "product_id":
            if _sym_field(p, key, v, "candle field"):
                symbol = _raw(v)
            continue
        if not _str_field(p, key, v, "candle field"):
            continue
        if key == "start":
            start = _numeric_id(_raw(v))
            if start < 0:
                p.add("candle field 'start' is not a whole number of seconds")
            elif start > _AC_MAX_START:
                p.add("candle field 'start' out of range")
            else:
                open_ns = start * 10**9
                close_ns = open_ns + AT_CANDLE_NS
        else:
            texts[key] = _raw(v)
    for key in _AC_FIELDS:
        if key not in c:
            p.add(f"candle field '{key}' missing")
    return symbol, _candle(None, open_ns, close_ns, texts, -1, -1, -1, -1)


def _ac_event(p: _Pending, ev: _Obj) -> list[dict[str, Any]]:
    _check_dups(ev, {"type", "candles"})
    _check_depth(ev, {"candles": list})
    kind = "update"
    candles: list[tuple[str | None, dict[str, Any]]] = []
    for key, v in ev.items():
        if key == "type":
            if _str_field(p, "type", v, "event field"):
                if v == "snapshot":
                    kind = "snapshot"
                elif v != "update":
                    p.add("event type is not 'snapshot' or 'update'")
        elif key == "candles":
            if not isinstance(v, list):
                p.add(f"field 'candles' has the wrong type {_OBJS}")
                continue
            for c in v:
                if not isinstance(c, dict):
                    if _check_nesting(c):
                        raise DecodeFailed("malformed JSON (nesting too deep)")
                    p.add(f"field 'candles' has the wrong type {_OBJS}")
                    continue
                candles.append(_ac_candle(p, c))  # type: ignore[arg-type]
    for key in ("type", "candles"):
        if key not in ev:
            p.add(f"event field '{key}' missing")
    segs: list[dict[str, Any]] = []
    for i, (symbol, candle) in enumerate(candles):
        if i == 0 or symbol != candles[i - 1][0]:
            segs.append({"symbol": symbol, "kind": kind, "candles": []})
        segs[-1]["candles"].append(candle)
    return segs


def _check_nesting(v: Any) -> bool:
    from fastfeed.reference.decode import MAX_DEPTH, _depth
    return _depth(v) > MAX_DEPTH


def _coinbase_at_candles(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, {"channel", "timestamp", "sequence_num", "events", "type"})
    _check_depth(o, {"events": list})
    p, evp = _Pending(), _Pending()
    segs: list[dict[str, Any]] = []
    for key, v in o.items():
        if key in ("channel", "timestamp"):
            _str_field(p, key, v)
        elif key == "sequence_num":
            _int_field(p, key, v)
            if _is_int(v) and INT64_MIN <= v <= INT64_MAX and not 0 <= v <= MAX_UPDATE_ID:
                p.add("field 'sequence_num' out of range (expected 0..2**62)")
        elif key == "events":
            if not isinstance(v, list):
                evp.add(f"field 'events' has the wrong type {_OBJS}")
                continue
            for ev in v:
                if not isinstance(ev, dict):
                    if _check_nesting(ev):
                        raise DecodeFailed("malformed JSON (nesting too deep)")
                    evp.add(f"field 'events' has the wrong type {_OBJS}")
                    continue
                segs += _ac_event(evp, ev)  # type: ignore[arg-type]
    kind, last_id, t = _at_envelope(o, p, evp, "candles")
    if kind == "data":
        return _tresult("candles", last_id, t, segs)
    return _tresult(kind, last_id, t)


# ------------------------------------------------------------------------- OKX

#: OKX bars (``candle<bar>``) and their lengths in seconds (parse/okx_candles.pxi)
OKX_BARS = {"1s": 1, "1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1H": 3600,
            "2H": 7200, "4H": 14400, "6H": 21600, "12H": 43200, "1D": 86400, "2D": 172800,
            "3D": 259200, "5D": 432000, "1W": 604800, "6Hutc": 21600, "12Hutc": 43200,
            "1Dutc": 86400, "2Dutc": 172800, "3Dutc": 259200, "5Dutc": 432000,
            "1Wutc": 604800}
_OKC_WRONG = "field 'data' has the wrong type (expected arrays of 9 strings)"


def _okx_candles(payload: bytes) -> dict[str, Any]:
    from fastfeed.reference.quotes import _okx_head
    out, sym, data = _okx_head(payload, "candle", prefix=True)
    if out is not None:
        return out
    bar = _raw(_load(payload)["arg"]["channel"])[6:]
    if bar not in OKX_BARS:
        raise DecodeFailed("field 'channel' is not a candle bar fastfeed knows")
    bar_ns = OKX_BARS[bar] * 10**9
    spot = sym.count("-") == 1
    candles = []
    for el in data:
        if not isinstance(el, list) or len(el) != 9 or not all(isinstance(x, str) for x in el):
            raise DecodeFailed(_OKC_WRONG)
        ts = el[0]
        if (isinstance(ts, _Esc) or not 1 <= len(ts) <= 18
                or not all("0" <= ch <= "9" for ch in ts)):
            raise DecodeFailed("field 'ts' has the wrong type "
                               "(expected a string of integer milliseconds)")
        t = int(ts) * 10**6
        if int(ts) > 9223372036854 or t > INT64_MAX - bar_ns:
            raise DecodeFailed("field 'ts' out of range")
        if isinstance(el[8], _Esc) or el[8] not in ("0", "1"):
            raise DecodeFailed("candle 'confirm' is not '0' or '1'")
        texts: dict[str, str | None] = {
            "open": _raw(el[1]), "high": _raw(el[2]), "low": _raw(el[3]), "close": _raw(el[4]),
            "volume": _raw(el[5] if spot else el[6]), "quote_volume": _raw(el[7])}
        candles.append(_candle(bar, t, t + bar_ns, texts, -1, -1, -1, int(el[8])))
    return _tresult("candles", -1, 0, [{"symbol": sym, "kind": "update", "candles": candles}])


# ------------------------------------------------------------------------- Kraken

#: Kraken ``ohlc`` intervals: fastfeed's name -> the wire's minutes
KRAKEN_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440,
                  "1w": 10080, "15d": 21600}
_KC_NAME = {m: name for name, m in KRAKEN_MINUTES.items()}
_KC = ("symbol", "open", "high", "low", "close", "volume", "vwap", "trades",
       "interval_begin", "interval", "timestamp")
_KC_REQUIRED = ("symbol", "open", "high", "low", "close", "volume", "interval_begin",
                "interval")
_KC_DATA = "field 'data' has the wrong type (expected an array of candle objects)"
_KC_INTERVAL = "field 'interval' is not an interval fastfeed knows"


def _kc_candle(p: _Pending, el: _Obj) -> tuple[str | None, dict[str, Any] | None]:
    """Twin of ``_kc_element`` (parse/kraken_candles.pxi)."""
    _check_dups(el, set(_KC))
    symbol: str | None = None
    texts: dict[str, str | None] = {"quote_volume": None}
    trades = -1
    begin = 0
    minutes = -1
    for k, x in el.items():
        if k == "symbol":
            if _kr_text(p, k, x, symbol=True):
                symbol = x
        elif k in ("interval_begin", "timestamp"):
            if _kr_text(p, k, x) and k == "interval_begin":
                t = parse_rfc3339_ns(_raw(x))
                if t is None:
                    p.add("field 'interval_begin' is not an RFC 3339 timestamp")
                else:
                    begin = t
        elif k == "trades":
            v = _kr_int(p, k, x)
            if v is not None:
                trades = v
        elif k == "interval":
            if not isinstance(x, _Num) or not re.fullmatch(r"-?[0-9]+", x):
                p.add("field 'interval' has the wrong type (expected integer)")
                _kr_deep(x)
            elif int(x) not in _KC_NAME:
                p.add(_KC_INTERVAL)
            else:
                minutes = int(x)
        elif k in _KC:
            if not isinstance(x, _Num):
                p.add(f"field '{k}' has the wrong type (expected number)")
                _kr_deep(x)
            elif k != "vwap":
                texts[k] = x
        else:
            _kr_deep(x)
    for name in _KC_REQUIRED:
        if name not in el:
            p.add(f"field '{name}' missing")
            return None, None
    if p.msg is not None:
        return None, None
    span = minutes * 60 * 10**9
    if begin > INT64_MAX - span:
        p.add("field 'interval_begin' out of range")
        return None, None
    return symbol, _candle(_KC_NAME[minutes], begin, begin + span, texts, trades, -1, -1, -1)


def _kc_data(p: _Pending, v: Any) -> list[tuple[str | None, dict[str, Any]]]:
    if not isinstance(v, list):
        p.add(_KC_DATA)
        _kr_deep(v)
        return []
    out = []
    for el in v:
        if not isinstance(el, _Obj):
            p.add(_KC_DATA)
            _kr_deep(el)
            continue
        sym, c = _kc_candle(p, el)
        if c is not None:
            out.append((sym, c))
    return out


def _kraken_candles(payload: bytes) -> dict[str, Any]:
    """Kraken v2 ``ohlc`` (docs/venues.md, "Kraken candles"): one segment per run of one
    symbol and interval; no closed flag (closed -1)."""
    verdict, snap, data = _kr_channel_top(payload, "ohlc", _kc_data)
    if verdict is not None:
        return _tresult(verdict["kind"])
    segs: list[dict[str, Any]] = []
    for sym, c in data:
        if segs and segs[-1]["symbol"] == sym and segs[-1]["candles"][-1]["interval"] == c[
                "interval"]:
            segs[-1]["candles"].append(c)
        else:
            segs.append({"symbol": sym, "kind": "snapshot" if snap else "update",
                         "candles": [c]})
    return _tresult("candles", -1, 0, segs)


# ------------------------------------------------------------------------- Bybit

#: the ``kline.{interval}`` order of checks (parse/bybit_candles.pxi's table)
BYBIT_KLINE = ("start", "end", "interval", "open", "close", "high", "low", "volume",
               "turnover", "confirm", "timestamp")
_BYK_MAX_MS = 9223372036853
_DAY_MS = 86_400_000


def _byk_candle(el: dict[str, Any], interval: str, iv_ms: int) -> dict[str, Any]:
    from fastfeed.reference.quotes import MS_MAX, _Fields
    f = _Fields(el, "kline field")
    start = f.integer("start", True, 0, _BYK_MAX_MS)
    end = f.integer("end", True, 0, _BYK_MAX_MS)
    assert start is not None and end is not None
    texts = {name: f.text(name) for name in BYBIT_KLINE[2:9]}
    if "confirm" not in el:
        raise DecodeFailed("kline field 'confirm' missing")
    confirm = el["confirm"]
    if type(confirm) is not bool:
        raise DecodeFailed("kline field 'confirm' has the wrong type (expected boolean)")
    f.integer("timestamp", False, 0, MS_MAX)
    if end < start:
        raise DecodeFailed("kline field 'end' is before 'start'")
    if _raw(texts["interval"]) != interval:  # type: ignore[arg-type]
        raise DecodeFailed("kline field 'interval' differs from the topic's")
    length = end + 1 - start
    if length != iv_ms if iv_ms > 0 else not 28 * _DAY_MS <= length <= 31 * _DAY_MS:
        raise DecodeFailed("kline 'start'..'end' is not one interval long")
    values: dict[str, str | None] = {
        "open": _raw(texts["open"]), "high": _raw(texts["high"]),  # type: ignore[arg-type]
        "low": _raw(texts["low"]), "close": _raw(texts["close"]),  # type: ignore[arg-type]
        "volume": _raw(texts["volume"]),  # type: ignore[arg-type]
        "quote_volume": _raw(texts["turnover"])}  # type: ignore[arg-type]
    return _candle(interval, start * 10**6, (end + 1) * 10**6, values, -1, -1, -1,
                   1 if confirm else 0)


def _bybit_candles(payload: bytes) -> dict[str, Any]:
    from fastfeed.reference.quotes import _by_envelope
    from fastfeed.venues.bybit import KLINE_MS
    done, f, _ = _by_envelope(payload, "kline.", data_array=True)
    if done is not None:
        return _tresult(done["kind"])
    topic = f.o["topic"]
    if isinstance(topic, _Esc):
        raise DecodeFailed("field 'topic' contains an escape (symbols must be plain strings)")
    interval, dot, sym = topic[6:].partition(".")
    if not dot or interval not in KLINE_MS:
        raise DecodeFailed("field 'topic' is not kline.{interval}.{symbol} with an "
                           "interval fastfeed knows")
    if not sym:
        raise DecodeFailed("field 'topic' has no symbol")
    if _bad_utf8(sym):
        raise DecodeFailed("field 'topic' is not valid UTF-8")
    if _raw(f.o["type"]) != "snapshot":
        raise DecodeFailed("field 'type' is not 'snapshot'")
    data = f.o["data"]
    if not data:
        raise DecodeFailed("field 'data' is an empty array")
    candles = []
    for el in data:
        if not isinstance(el, dict):
            raise DecodeFailed("field 'data' has the wrong type (expected array of objects)")
        _check_dups(el, set(BYBIT_KLINE))  # type: ignore[arg-type]
        _check_depth(el, {})
        candles.append(_byk_candle(el, interval, KLINE_MS[interval]))
    t = f.o["ts"] * 10**6
    return _tresult("candles", -1, t, [{"symbol": sym, "kind": "update", "candles": candles}])


#: The twins of the compiled candle decoders, by the names ``Venue.candle_decoder`` uses.
DECODERS = {"binance-candles": _binance_candles, "coinbase-at-candles": _coinbase_at_candles,
            "okx-candles": _okx_candles, "kraken-candles": _kraken_candles,
            "bybit-candles": _bybit_candles}


def convert_candles(seg: dict[str, Any], pd: int, sd: int) -> None:
    """Phase 2 of a segment's candles in place (``convert_candle``'s order and messages)."""
    for candle in seg["candles"]:
        for field in CANDLE_FIELDS:
            text = candle[field]
            if field == "quote_volume":
                if text is None:
                    candle[field] = -1
                    continue
                code, value = decimal128_code(text.encode("utf-8", "surrogateescape"),
                                              pd + sd)
            else:
                # a bare JSON number (Kraken, ``_Num``) may have an exponent
                parse = number_code if isinstance(text, _Num) else decimal_code
                code, value = parse(text.encode("utf-8", "surrogateescape"),
                                    pd if field != "volume" else sd)
            if code != DECIMAL_OK or value is None:
                shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                if field == "quote_volume" and code == DECIMAL_OVERFLOW:
                    from fastfeed.reference.decimal import _show
                    msg = f"{_show(shown)} does not fit a 128-bit integer at {pd + sd} decimals"
                else:
                    msg = decimal_error_message(code, shown,
                                                pd + sd if field == "quote_volume" else
                                                sd if field == "volume" else pd)
                raise DecodeFailed(f"{field}: {msg}")
            candle[field] = value


def decode_candles(venue: str, payload: bytes | bytearray | memoryview, price_decimals: int,
                   size_decimals: int) -> dict[str, Any]:
    """Reference of ``fastfeed._parse.decode_candles`` (same output and messages, without
    the byte offsets)."""
    for name, value in (("price_decimals", price_decimals), ("size_decimals", size_decimals)):
        if not 0 <= value <= 18:
            raise ValueError(f"{name} must be in 0..18, got {value}")
    spec = VENUES.get(venue)
    if spec is None:
        raise ValueError(f"unknown venue {venue!r}")
    if not spec.candle_decoder:
        raise ValueError(f"{venue} has no venue candles")
    out = DECODERS[spec.candle_decoder](bytes(payload))
    for seg in out["segments"]:
        convert_candles(seg, price_decimals, size_decimals)
    return out


# ------------------------------------------------------------------------- streams

class CandleStream:
    """A venue candle stream fed payload by payload, as ``CandleFeed(strict=False)``."""

    def __init__(self, venue: str, symbol: str, interval: str, price_decimals: int,
                 size_decimals: int, *, capacity: int = 8192) -> None:
        spec = VENUES[venue]
        self.venue, self.symbol, self.interval = venue, symbol.upper(), interval
        self.scale = (price_decimals, size_decimals)
        if not spec.candle_decoder:
            raise ValueError(f"{venue} has no venue candles")
        self.decoder: str = spec.candle_decoder
        self.has_closed_flag = spec.candle_decoder not in ("coinbase-at-candles",
                                                          "kraken-candles")
        self.connection_sequence = spec.connection_sequence
        self.capacity = capacity
        self.closed: list[dict[str, Any]] = []
        self.cur: dict[str, Any] | None = None
        self.last_closed_open_ns = -1
        self.gap_since_update = False
        self.conn_seq = -1
        self.counters = dict.fromkeys(("updates", "unconfirmed", "stale", "duplicates",
                                       "other_interval", "rejected", "sequence_gaps",
                                       "unknown_symbol", "messages"), 0)

    def _push(self, c: dict[str, Any]) -> None:
        self.closed.append(c)
        del self.closed[:-self.capacity]
        self.last_closed_open_ns = c["open_ns"]

    def apply_message(self, payload: bytes) -> int:
        """The candle updates applied from one payload."""
        try:
            out = DECODERS[self.decoder](bytes(payload))
        except DecodeFailed:
            self.counters["rejected"] += 1
            self.gap_since_update = True
            return 0
        if self.connection_sequence and out["last_id"] >= 0:
            if self.conn_seq >= 0 and out["last_id"] != self.conn_seq + 1:
                self.counters["sequence_gaps"] += 1
                self.gap_since_update = True
            self.conn_seq = out["last_id"]
        if out["kind"] == "venue_error":
            self.counters["rejected"] += 1
        if out["kind"] != "candles":
            return 0
        n = 0
        for seg in out["segments"]:
            if seg["symbol"] != self.symbol:
                self.counters["unknown_symbol"] += 1
                continue
            n += self._segment(seg)
        return n

    def _segment(self, seg: dict[str, Any]) -> int:
        first = seg["candles"][0]
        if first["interval"] is not None and first["interval"] != self.interval:
            self.counters["other_interval"] += 1
            return 0
        self.counters["messages"] += 1
        n = 0
        for c in seg["candles"]:
            try:
                convert_candles({"candles": [c]}, *self.scale)
            except DecodeFailed:
                self.counters["rejected"] += 1
                continue
            cur = self.cur
            if (cur is not None and c["open_ns"] < cur["open_ns"]) or (
                    cur is None and c["open_ns"] < self.last_closed_open_ns):
                self.counters["stale"] += 1
                continue
            if cur is None and c["open_ns"] == self.last_closed_open_ns:
                self.counters["duplicates"] += 1
                continue
            if cur is not None and c["open_ns"] > cur["open_ns"]:
                if self.has_closed_flag or self.gap_since_update:
                    cur["closed"] = 0
                    self.counters["unconfirmed"] += 1
                else:
                    cur["closed"] = 1
                self._push(cur)
                cur = self.cur = None
            updates = 0 if cur is None else cur["updates"]
            self.gap_since_update = False
            rec = {k: c[k] for k in ("open_ns", "close_ns", *CANDLE_FIELDS, "trades",
                                     "first_id", "last_id")}
            rec["updates"] = updates + 1
            rec["closed"] = 0
            self.cur = rec
            self.counters["updates"] += 1
            n += 1
            if c["closed"] == 1:
                rec["closed"] = 1
                self._push(rec)
                self.cur = None
        return n


class LocalCandleBuilder:
    """Candles from trades, written plainly (``LocalCandleCore``'s rules)."""

    def __init__(self, interval_ns: int, offset_ns: int = 0, *, capacity: int = 8192,
                 fill_empty: bool = False) -> None:
        self.ival, self.offset = interval_ns, offset_ns
        self.capacity, self.fill_empty = capacity, fill_empty
        self.closed: list[dict[str, Any]] = []
        self.cur: dict[str, Any] | None = None
        self.first_t = self.last_t = 0
        self.max_t = -1
        self.last_closed_open_ns = -1
        self.late = self.out_of_order = self.added = self.empty_filled = 0

    def _push(self, c: dict[str, Any]) -> None:
        self.closed.append(c)
        del self.closed[:-self.capacity]
        self.last_closed_open_ns = c["open_ns"]

    def _roll(self, bucket: int) -> None:
        cur = self.cur
        assert cur is not None
        cur["closed"] = 1
        self._push(cur)
        self.cur = None
        if not self.fill_empty:
            return
        n_empty = (bucket - cur["close_ns"]) // self.ival
        start = cur["close_ns"]
        if n_empty > self.capacity:
            start += (n_empty - self.capacity) * self.ival
            n_empty = self.capacity
        for k in range(n_empty):
            o = start + k * self.ival
            self._push({"open_ns": o, "close_ns": o + self.ival, "open": cur["close"],
                        "high": cur["close"], "low": cur["close"], "close": cur["close"],
                        "volume": 0, "quote_volume": 0, "trades": 0, "first_id": -1,
                        "last_id": -1, "updates": 0, "closed": 1})
        self.empty_filled += n_empty

    def add(self, t: int, price: int, size: int, trade_id: int = -1) -> None:
        """One trade (exchange time ns, ticks, lots, id or -1)."""
        bucket = (t - self.offset) // self.ival * self.ival + self.offset
        if t < self.max_t:
            self.out_of_order += 1
        else:
            self.max_t = t
        if self.cur is not None and bucket > self.cur["open_ns"]:
            self._roll(bucket)
        elif (self.cur is not None and bucket < self.cur["open_ns"]) or (
                self.cur is None and 0 <= self.last_closed_open_ns and bucket <= self.last_closed_open_ns):
            self.late += 1
            return
        c = self.cur
        if c is None:
            c = self.cur = {"open_ns": bucket, "close_ns": bucket + self.ival, "open": price,
                            "high": price, "low": price, "close": price, "volume": 0,
                            "quote_volume": 0, "trades": 0, "first_id": trade_id,
                            "last_id": trade_id, "updates": 0, "closed": 0}
            self.first_t = self.last_t = t
        else:
            if t < self.first_t:
                self.first_t, c["open"] = t, price
            if t >= self.last_t:
                self.last_t, c["close"] = t, price
            c["high"], c["low"] = max(c["high"], price), min(c["low"], price)
            if trade_id >= 0:
                if c["first_id"] < 0 or trade_id < c["first_id"]:
                    c["first_id"] = trade_id
                c["last_id"] = max(c["last_id"], trade_id)
        if c["volume"] >= 0:
            c["volume"] = c["volume"] + size if c["volume"] + size <= INT64_MAX else -1
        if c["quote_volume"] >= 0:
            q = c["quote_volume"] + price * size
            c["quote_volume"] = q if q <= I128_MAX else -1
        c["trades"] += 1
        c["updates"] += 1
        self.added += 1

    def advance(self, t: int) -> None:
        """Exchange time reached ``t``: close the open candle if its bucket ended."""
        if self.cur is not None and t >= self.cur["close_ns"]:
            self._roll((t - self.offset) // self.ival * self.ival + self.offset)
