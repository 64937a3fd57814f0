"""Pure-Python twin of the compiled venue decoders (``fastfeed._parse.decode_message``).

Same signature, same output, same error texts, built on ``json`` and exact decimals, for
differential tests. Byte offsets are not tracked here: messages say ``price:`` where the
compiled decoder says ``price at byte 73:``, and malformed JSON is reported without an
offset.

String semantics (docs/venues.md#accepted-json), the same in both: keys and names
(types, channels, sides) are compared as JSON decodes them; data strings (prices, sizes,
timestamps) are taken raw, so an escape in them is a bad decimal or timestamp; a symbol
with an escape is ``escaped_string``, one with invalid UTF-8 ``bad_utf8`` (as is an
unmatched type or channel); invalid UTF-8 anywhere else is ignored like the value it is
in. Nesting deeper than 64 inside skipped values is rejected (mirrored for unknown fields).
Any key given twice in an object the decoder reads is a duplicate (compared decoded, so
Python's own key equality is the rule), and at most 64 unknown keys per object are read.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable
from typing import Any, cast

from fastfeed.reference.decimal import (
    DECIMAL_OK,
    MAX_DECIMALS,
    decimal_code,
    decimal_error_message,
    number_code,
)
from fastfeed.venues import VENUES

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DEPTH = 64
MAX_UPDATE_ID = 2**62  # ids and sequence numbers must leave room for id + 1
MAX_UNKNOWN_KEYS = 64  # per object; duplicates among more cannot be checked cheaply


class DecodeFailed(ValueError):
    """The payload could not be decoded; same messages as the compiled decoder."""


class _Obj(dict):  # type: ignore[type-arg]
    """A JSON object (last value wins) that remembers its keys as written, repeats included."""

    keys_written: list[str]


def _obj(pairs: list[tuple[str, Any]]) -> _Obj:
    o = _Obj(pairs)
    o.keys_written = [k for k, _ in pairs]
    return o


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Esc(str):
    """A string value that had escapes; ``raw`` is its text between the quotes."""

    raw: str


def _scanstring(s: str, end: int, strict: bool = True) -> tuple[str, int]:
    val, e = json.decoder.scanstring(s, end, strict)  # type: ignore[attr-defined]
    raw = s[end : e - 1]
    if "\\" in raw:
        out = _Esc(val)
        out.raw = raw
        return out, e
    return val, e


_DECODER = json.JSONDecoder(object_pairs_hook=_obj, parse_constant=_reject_constant)
_DECODER.parse_string = _scanstring  # type: ignore[attr-defined]
_DECODER.scan_once = json.scanner.py_make_scanner(_DECODER)  # type: ignore[attr-defined]


def _raw(v: str) -> str:
    """A data string as the compiled decoder reads it: raw, escapes and all."""
    return getattr(v, "raw", v)


def _bad_utf8(v: str) -> bool:
    # the payload is decoded with surrogateescape: invalid bytes became U+DC80..U+DCFF
    return any("\udc80" <= ch <= "\udcff" for ch in _raw(v))


def _sym_field(p: _Pending, name: str, v: Any, prefix: str = "field") -> bool:
    if not _str_field(p, name, v, prefix):
        return False
    if isinstance(v, _Esc):
        p.add(f"{prefix} '{name}' contains an escape (symbols must be plain strings)")
    elif _bad_utf8(v):
        p.add(f"{prefix} '{name}' is not valid UTF-8")
    return True


def _load(payload: bytes) -> _Obj:
    try:
        obj = _DECODER.decode(payload.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError) as exc:
        raise DecodeFailed(f"malformed JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise DecodeFailed("malformed JSON (not an object)")
    return obj  # type: ignore[return-value]


def _depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _check_dups(o: _Obj, known: set[str]) -> None:
    """Any key given twice (compared decoded, as ``json`` does) rejects the object; so
    does a key beyond the first MAX_UNKNOWN_KEYS that are not in ``known`` (the fields the
    decoder reads). In written order, so the first problem is the one reported."""
    seen: set[str] = set()
    unknown = 0
    for k in o.keys_written:
        if k in seen:
            raise DecodeFailed("malformed JSON (duplicate field)")
        seen.add(k)
        if k not in known:
            unknown += 1
            if unknown > MAX_UNKNOWN_KEYS:
                raise DecodeFailed(
                    f"malformed JSON (more than {MAX_UNKNOWN_KEYS} unknown fields in one object)")


def _check_unknown_depth(o: dict[str, Any], known: set[str]) -> None:
    for k, v in o.items():
        if k not in known and _depth(v) > MAX_DEPTH:
            raise DecodeFailed("malformed JSON (nesting too deep)")


def _is_int(v: Any) -> bool:
    return type(v) is int


class _Pending:
    def __init__(self) -> None:
        self.msg: str | None = None

    def add(self, msg: str) -> None:
        if self.msg is None:
            self.msg = msg

    def raise_if(self) -> None:
        if self.msg is not None:
            raise DecodeFailed(self.msg)


def _int_field(p: _Pending, name: str, v: Any) -> None:
    if not _is_int(v):
        p.add(f"field '{name}' has the wrong type (expected integer)")
    elif not INT64_MIN <= v <= INT64_MAX:
        p.add(f"field '{name}' out of range")


def _str_field(p: _Pending, name: str, v: Any, prefix: str = "field") -> bool:
    if isinstance(v, str):
        return True
    p.add(f"{prefix} '{name}' has the wrong type (expected string)")
    return False


_PAIRS = "(expected [price, size] string pairs)"
_TRIPLES = "(expected [side, price, size] string triples)"


def _levels(p: _Pending, name: str, v: Any, side: str, with_side: bool) -> list[tuple[str, str, str]]:
    width = 3 if with_side else 2
    ok = isinstance(v, list) and all(
        isinstance(lv, list) and len(lv) == width and all(isinstance(x, str) for x in lv)
        for lv in v
    )
    if not ok:
        p.add(f"field '{name}' has the wrong type {_TRIPLES if with_side else _PAIRS}")
        return []
    out = []
    for lv in v:
        if with_side:
            s = {"buy": "bid", "sell": "ask"}.get(lv[0])
            if s is None:
                p.add("change side is not 'buy' or 'sell'")
                s = "bid"
            out.append((s, _raw(lv[1]), _raw(lv[2])))
        else:
            out.append((side, _raw(lv[0]), _raw(lv[1])))
    return out


_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_rfc3339_ns(text: str) -> int | None:
    """ns since the epoch, or None; same rules as the compiled parser (years 1970..2261)."""
    m = _TS.fullmatch(text)
    if not m:
        return None
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    frac = int((m.group(7) or "").ljust(9, "0"))
    tz = m.group(8)
    off = 0
    if tz not in ("Z", "z"):
        oh, om = int(tz[1:3]), int(tz[4:6])
        if oh > 23 or om > 59:
            return None
        off = (oh * 3600 + om * 60) * (-1 if tz[0] == "-" else 1)
    if not (1970 <= y <= 2261 and 1 <= mo <= 12 and hh <= 23 and mi <= 59 and ss <= 59):
        return None
    if not 1 <= d <= calendar.monthrange(y, mo)[1]:
        return None
    return (calendar.timegm((y, mo, d, hh, mi, ss, 0, 0, 0)) - off) * 1_000_000_000 + frac


def _ms_to_ns(name: str, v: int) -> int:
    ns = v * 1_000_000
    if not INT64_MIN <= ns <= INT64_MAX:
        raise DecodeFailed(f"field '{name}' out of range")
    return ns


def _result(kind: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": kind,
        "first_id": -1,
        "last_id": -1,
        "prev_id": -1,
        "event_time_ns": 0,
        "txn_time_ns": 0,
        "segments": [],
    }
    out.update(kw)
    return out


def _seg(symbol: str | None, kind: str, t: int, levels: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {"symbol": symbol, "kind": kind, "event_time_ns": t, "levels": levels}


_BN_EVENT = {"e", "E", "T", "s", "U", "u", "pu", "b", "a"}
_BN_SNAP = {"lastUpdateId", "bids", "asks", "E", "T"}


def _bn_fields(o: _Obj, snap: bool) -> tuple[_Pending, list[tuple[str, str, str]]]:
    p = _Pending()
    levels: list[tuple[str, str, str]] = []
    for k, v in o.items():
        if k in ("E", "T", "U", "u", "pu", "lastUpdateId"):
            if (k in _BN_SNAP) if snap else (k in _BN_EVENT):
                _int_field(p, k, v)
        elif not snap and k == "e":
            _str_field(p, k, v)
        elif not snap and k == "s":
            _sym_field(p, k, v)
        elif (not snap and k in ("b", "a")) or (snap and k in ("bids", "asks")):
            levels += _levels(p, k, v, "bid" if k in ("b", "bids") else "ask", False)
    return p, levels


def _binance_depth(payload: bytes) -> dict[str, Any]:
    top = _load(payload)
    _check_dups(top, _BN_EVENT | {"data"})
    _check_unknown_depth(top, _BN_EVENT | {"data"})
    ev = top
    if "data" in top:
        if not isinstance(top["data"], _Obj):
            raise DecodeFailed("field 'data' has the wrong type (expected object)")
        if _BN_EVENT & top.keys():
            raise DecodeFailed("event field next to 'data' in a combined-stream envelope")
        ev = top["data"]
        _check_dups(ev, _BN_EVENT)
        _check_unknown_depth(ev, _BN_EVENT)
    p, levels = _bn_fields(ev, snap=False)
    if "e" in ev:
        if not isinstance(ev["e"], str):
            raise DecodeFailed("field 'e' has the wrong type (expected string)")
        if ev["e"] != "depthUpdate":
            if _bad_utf8(ev["e"]):
                raise DecodeFailed("field 'e' is not valid UTF-8")
            return _result("ignored")
        p.raise_if()
        for k in ("E", "s", "U", "u", "b", "a"):
            if k not in ev:
                raise DecodeFailed(f"field '{k}' missing")
        e_ns = _ms_to_ns("E", ev["E"])
        t_ns = _ms_to_ns("T", ev.get("T", 0))
        for k in ("U", "u", "pu"):
            if k in ev and not 0 <= ev[k] <= MAX_UPDATE_ID:
                raise DecodeFailed(f"field '{k}' out of range (expected 0..2**62)")
        if ev["U"] > ev["u"]:
            raise DecodeFailed("field 'U' (first update id) is greater than field 'u' (last)")
        return _result(
            "depth",
            first_id=ev["U"],
            last_id=ev["u"],
            prev_id=ev.get("pu", -1),
            event_time_ns=e_ns,
            txn_time_ns=t_ns,
            segments=[_seg(ev["s"], "update", e_ns, levels)],
        )
    if "code" in ev:
        return _result("venue_error")
    if "result" in ev or "id" in ev:
        return _result("control")
    raise DecodeFailed("field 'e' missing")


def _binance_snapshot(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _BN_SNAP)
    _check_unknown_depth(o, _BN_SNAP)
    if "code" in o and "lastUpdateId" not in o:
        return _result("venue_error")
    p, levels = _bn_fields(o, snap=True)
    p.raise_if()
    for k in ("lastUpdateId", "bids", "asks"):
        if k not in o:
            raise DecodeFailed(f"field '{k}' missing")
    if not 0 <= o["lastUpdateId"] <= MAX_UPDATE_ID:
        raise DecodeFailed("field 'lastUpdateId' out of range (expected 0..2**62)")
    e_ns = _ms_to_ns("E", o.get("E", 0))
    t_ns = _ms_to_ns("T", o.get("T", 0))
    return _result(
        "snapshot",
        last_id=o["lastUpdateId"],
        event_time_ns=e_ns,
        txn_time_ns=t_ns,
        segments=[_seg(None, "snapshot", e_ns, levels)],
    )


_CB_ENV = {"channel", "timestamp", "sequence_num", "events"}
_OBJS = "(expected array of objects)"


def _cb_event(p: _Pending, ev: _Obj) -> dict[str, Any]:
    known = {"type", "product_id", "updates"}
    _check_dups(ev, known)
    _check_unknown_depth(ev, known)
    seg = _seg(None, "update", 0, [])
    for k, v in ev.items():
        if k == "type":
            if _str_field(p, "type", v, "event field"):
                if v == "snapshot":
                    seg["kind"] = "snapshot"
                elif v != "update":
                    p.add("event type is not 'snapshot' or 'update'")
        elif k == "product_id":
            if _sym_field(p, "product_id", v, "event field"):
                seg["symbol"] = v
        elif k == "updates":
            if not isinstance(v, list):
                p.add(f"field 'updates' has the wrong type {_OBJS}")
                continue
            got_time = False
            for up in v:
                if not isinstance(up, dict):
                    p.add(f"field 'updates' has the wrong type {_OBJS}")
                    continue
                got_time = _cb_update(p, up, seg, got_time)  # type: ignore[arg-type]
    for k in ("type", "product_id", "updates"):
        if k not in ev:
            p.add(f"event field '{k}' missing")
    return seg


def _cb_update(p: _Pending, up: _Obj, seg: dict[str, Any], got_time: bool) -> bool:
    known = {"side", "price_level", "new_quantity", "event_time"}
    _check_dups(up, known)
    _check_unknown_depth(up, known)
    side, price, size = "bid", "", ""
    for k, v in up.items():
        if k == "side":
            if _str_field(p, "side", v):
                if v in ("bid", "offer"):
                    side = "bid" if v == "bid" else "ask"
                else:
                    p.add("update side is not 'bid' or 'offer'")
        elif k == "price_level":
            if _str_field(p, "price_level", v):
                price = _raw(v)
        elif k == "new_quantity":
            if _str_field(p, "new_quantity", v):
                size = _raw(v)
        elif k == "event_time":
            is_str = _str_field(p, "event_time", v)
            if not got_time:
                got_time = True
                if is_str:
                    t = parse_rfc3339_ns(_raw(v))
                    if t is None:
                        p.add("field 'event_time' is not an RFC 3339 timestamp")
                    else:
                        seg["event_time_ns"] = t
    for k in ("side", "price_level", "new_quantity"):
        if k not in up:
            p.add(f"update field '{k}' missing")
    seg["levels"].append((side, price, size))
    return got_time


def _coinbase_at(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _CB_ENV | {"type"})
    _check_unknown_depth(o, _CB_ENV | {"type"})
    p, evp = _Pending(), _Pending()
    segs: list[dict[str, Any]] = []
    for k, v in o.items():
        if k == "channel":
            _str_field(p, k, v)
        elif k == "timestamp":
            _str_field(p, k, v)
        elif k == "sequence_num":
            _int_field(p, k, v)
            if _is_int(v) and INT64_MIN <= v <= INT64_MAX and not 0 <= v <= MAX_UPDATE_ID:
                # -1 would read as "absent" and skip the connection check
                p.add("field 'sequence_num' out of range (expected 0..2**62)")
        elif k == "events":
            if not isinstance(v, list):
                evp.add(f"field 'events' has the wrong type {_OBJS}")
                continue
            for ev in v:
                if not isinstance(ev, dict):
                    evp.add(f"field 'events' has the wrong type {_OBJS}")
                    continue
                segs.append(_cb_event(evp, ev))  # type: ignore[arg-type]
    kind, last_id, t = _at_envelope(o, p, evp, "l2_data")
    if kind == "data":
        return _result("depth", last_id=last_id, event_time_ns=t, segments=segs)
    return _result(kind, last_id=last_id, event_time_ns=t)


def _at_envelope(o: dict[str, Any], p: _Pending, evp: _Pending,
                 data_channel: str) -> tuple[str, int, int]:
    """The Advanced Trade envelope after its members were read, for the book and the trade
    twins alike: ``(kind, sequence_num or -1, timestamp ns)`` where kind is ``data`` (the
    ``data_channel``, complete), ``venue_error``, ``heartbeat``, ``control`` or
    ``ignored``; raises what the compiled decoder rejects (pending problems first)."""
    seq: Any = o.get("sequence_num")
    last_id = seq if _is_int(seq) and 0 <= seq <= MAX_UPDATE_ID else -1
    if o.get("type") == "error":
        return "venue_error", last_id, 0
    p.raise_if()
    if "channel" not in o:
        raise DecodeFailed("field 'channel' missing")
    t = 0
    if "timestamp" in o:
        parsed = parse_rfc3339_ns(_raw(o["timestamp"]))
        if parsed is None:
            raise DecodeFailed("field 'timestamp' is not an RFC 3339 timestamp")
        t = parsed
    channel = o["channel"]
    if channel == data_channel:
        for k in ("sequence_num", "timestamp", "events"):
            if k not in o:
                raise DecodeFailed(f"field '{k}' missing")
        evp.raise_if()
        return "data", last_id, t
    kind = {"heartbeats": "heartbeat", "subscriptions": "control"}.get(channel, "ignored")
    if kind == "ignored" and _bad_utf8(channel):
        raise DecodeFailed("field 'channel' is not valid UTF-8")
    return kind, last_id, t


_CX = {"type", "product_id", "changes", "bids", "asks", "time", "sequence"}


def _coinbase_exchange(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _CX)
    _check_unknown_depth(o, _CX)
    p = _Pending()
    levels: list[tuple[str, str, str]] = []
    for k, v in o.items():
        if k == "product_id":
            _sym_field(p, k, v)
        elif k == "time":
            _str_field(p, k, v)
        elif k == "sequence":
            _int_field(p, k, v)
        elif k == "changes":
            levels += _levels(p, k, v, "bid", True)
        elif k in ("bids", "asks"):
            levels += _levels(p, k, v, "bid" if k == "bids" else "ask", False)
    if "type" not in o:
        raise DecodeFailed("field 'type' missing")
    typ = o["type"]
    if not isinstance(typ, str):
        raise DecodeFailed("field 'type' has the wrong type (expected string)")
    if typ in ("snapshot", "l2update", "heartbeat"):
        # levels only from the message type's own field: never apply a misplaced array
        if typ == "snapshot" and "changes" in o:
            raise DecodeFailed("field 'changes' does not belong to a snapshot")
        if typ == "l2update" and ("bids" in o or "asks" in o):
            raise DecodeFailed("fields 'bids'/'asks' do not belong to an l2update")
        p.raise_if()
        need = {"snapshot": ("product_id", "bids", "asks"), "l2update": ("product_id", "changes", "time")}
        for k in need.get(typ, ()):
            if k not in o:
                raise DecodeFailed(f"field '{k}' missing")
        t = 0
        if "time" in o:
            parsed = parse_rfc3339_ns(_raw(o["time"]))
            if parsed is None:
                raise DecodeFailed("field 'time' is not an RFC 3339 timestamp")
            t = parsed
        last_id = o.get("sequence", -1)
        if typ == "heartbeat":
            return _result("heartbeat", last_id=last_id, event_time_ns=t)
        kind = "snapshot" if typ == "snapshot" else "update"
        return _result(
            "snapshot" if typ == "snapshot" else "depth",
            last_id=last_id,
            event_time_ns=t,
            segments=[_seg(o["product_id"], kind, t, levels)],
        )
    kind = {"subscriptions": "control", "error": "venue_error"}.get(typ, "ignored")
    if kind == "ignored" and _bad_utf8(typ):
        raise DecodeFailed("field 'type' is not valid UTF-8")
    return _result(kind)


_BY = {"topic", "type", "ts", "data", "success", "op"}
_BY_DATA = {"s", "b", "a", "u"}
_BY_TS = "field 'ts' has the wrong type (expected integer milliseconds, as a number or a digit string)"


def _by_ms(p: _Pending, v: Any) -> int | None:
    """Bybit ``ts``: integer milliseconds, a number or a digit string (docs/venues.md, "Bybit")."""
    if isinstance(v, str):
        raw = _raw(v)
        if isinstance(v, _Esc) or not 1 <= len(raw) <= 18 or not set(raw) <= _DIGITS:
            p.add(_BY_TS)
            return None
        return int(raw)
    if not _is_int(v):
        p.add(_BY_TS)
        return None
    if not INT64_MIN <= v <= INT64_MAX:
        p.add("field 'ts' out of range")
        return None
    return int(v)


def _bybit(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _BY)
    _check_unknown_depth(o, _BY)
    p = _Pending()
    levels: list[tuple[str, str, str]] = []
    data: _Obj | None = None
    for k, v in o.items():
        if k == "ts":
            _by_ms(p, v)
        elif k == "data":
            if isinstance(v, dict):
                data = v  # type: ignore[assignment]
                _check_dups(v, _BY_DATA)  # type: ignore[arg-type]
                _check_unknown_depth(v, _BY_DATA)
                for dk, dv in v.items():
                    if dk == "s":
                        _sym_field(p, dk, dv)
                    elif dk in ("b", "a"):
                        levels += _levels(p, dk, dv, "bid" if dk == "b" else "ask", False)
                    elif dk == "u":
                        _int_field(p, dk, dv)
            else:
                if _depth(v) > MAX_DEPTH:
                    raise DecodeFailed("malformed JSON (nesting too deep)")
                p.add("field 'data' has the wrong type (expected object)")
    if "topic" not in o:
        # an ack, a pong or an error
        if "success" in o:
            if type(o["success"]) is not bool:
                raise DecodeFailed("field 'success' has the wrong type (expected true or false)")
            if not o["success"]:
                return _result("venue_error")
        if "op" in o:
            op = o["op"]
            if not isinstance(op, str):
                raise DecodeFailed("field 'op' has the wrong type (expected string)")
            return _result("heartbeat" if op in ("ping", "pong") else "control")
        if "success" in o:
            return _result("control")
        raise DecodeFailed("field 'topic' missing")
    topic = o["topic"]
    if not isinstance(topic, str):
        raise DecodeFailed("field 'topic' has the wrong type (expected string)")
    if not _raw(topic).startswith("orderbook."):
        return _result("ignored")
    if "type" not in o:
        raise DecodeFailed("field 'type' missing")
    typ = o["type"]
    if not isinstance(typ, str):
        raise DecodeFailed("field 'type' has the wrong type (expected string)")
    if typ not in ("snapshot", "delta"):
        raise DecodeFailed("field 'type' is not 'snapshot' or 'delta'")
    p.raise_if()
    for k in ("ts", "data"):
        if k not in o:
            raise DecodeFailed(f"field '{k}' missing")
    assert data is not None
    for k in ("s", "b", "a", "u"):
        if k not in data:
            raise DecodeFailed(f"field '{k}' missing")
    u = data["u"]
    if not 0 <= u <= MAX_UPDATE_ID:
        raise DecodeFailed("field 'u' out of range")
    ms = _by_ms(_Pending(), o["ts"])
    assert ms is not None
    t = _ms_to_ns("ts", ms)
    if _raw(topic).rsplit(".", 1)[-1] != _raw(data["s"]):
        raise DecodeFailed("field 's' does not match the topic's symbol")
    snap = typ == "snapshot"
    return _result("snapshot" if snap else "depth", first_id=u, last_id=u, event_time_ns=t,
                   segments=[_seg(data["s"], "snapshot" if snap else "update", t, levels)])


def _bybit_depth_one(payload: bytes) -> bool:
    """A book message ``_bybit`` took is of ``orderbook.1`` (the venue BBO)."""
    return _raw(_load(payload)["topic"]).startswith("orderbook.1.")


_OKX = {"arg", "action", "data", "event"}
_OKX_ARG = {"channel", "instId"}
_OKX_BOOK = {"asks", "bids", "ts", "seqId", "prevSeqId"}
_OKX_DATA = "field 'data' has the wrong type (expected an array of one object)"
_OKX_TS = "field 'ts' has the wrong type (expected a string of integer milliseconds)"
_OKX_LEVELS = "(expected [price, size, \"0\", count] string arrays)"


def _okx_levels(p: _Pending, name: str, v: Any) -> list[tuple[str, str, str]]:
    """``[[price, size, "0", count], ...]``, four strings a level (the last two unused)."""
    ok = isinstance(v, list) and all(
        isinstance(lv, list) and len(lv) == 4 and all(isinstance(x, str) for x in lv) for lv in v)
    if not ok:
        p.add(f"field '{name}' has the wrong type {_OKX_LEVELS}")
        return []
    side = "ask" if name == "asks" else "bid"
    return [(side, _raw(lv[0]), _raw(lv[1])) for lv in v]


def _okx_ms(p: _Pending, v: Any) -> int:
    if not isinstance(v, str) or isinstance(v, _Esc) or not 1 <= len(v) <= 18 \
            or not set(v) <= _DIGITS:
        p.add(_OKX_TS)
        return 0
    return int(v)



def _okx_envelope(o: dict[str, Any], channel: str) -> str | None:
    """The OKX envelope's checks, in the compiled decoders' order: the message kind it
    decides on (``venue_error``, ``control``, ``ignored`` for another channel), or None
    when it is ``channel``'s (``o["arg"]`` is then an object with a string channel)."""
    if "event" in o:
        if not isinstance(o["event"], str):
            raise DecodeFailed("field 'event' has the wrong type (expected string)")
        return "venue_error" if o["event"] == "error" else "control"
    if "arg" not in o:
        raise DecodeFailed("field 'arg' missing")
    arg = o["arg"]
    if not isinstance(arg, dict):
        raise DecodeFailed("field 'arg' has the wrong type (expected object)")
    if "channel" not in arg:
        raise DecodeFailed("field 'channel' missing")
    if not isinstance(arg["channel"], str):
        raise DecodeFailed("field 'channel' has the wrong type (expected string)")
    return None if arg["channel"] == channel else "ignored"

def _okx(payload: bytes) -> dict[str, Any]:
    """OKX v5 ``books`` (docs/venues.md, "OKX"); the text ``pong`` and events are control."""
    if payload == b"pong":
        return _result("control")
    o = _load(payload)
    _check_dups(o, _OKX)
    _check_unknown_depth(o, _OKX)
    p = _Pending()
    levels: list[tuple[str, str, str]] = []
    book: dict[str, Any] = {}
    ts = 0
    for k, v in o.items():
        if k == "arg":
            if isinstance(v, dict):
                _check_dups(v, _OKX_ARG)  # type: ignore[arg-type]
                _check_unknown_depth(v, _OKX_ARG)
                if "instId" in v:
                    _sym_field(p, "instId", v["instId"])
            elif _depth(v) > MAX_DEPTH:
                raise DecodeFailed("malformed JSON (nesting too deep)")
        elif k == "action":
            _str_field(p, k, v)
        elif k == "data":
            if not isinstance(v, list):
                if _depth(v) > MAX_DEPTH:
                    raise DecodeFailed("malformed JSON (nesting too deep)")
                p.add(_OKX_DATA)
                continue
            for el in v:
                if not isinstance(el, dict):
                    if _depth(el) > MAX_DEPTH:
                        raise DecodeFailed("malformed JSON (nesting too deep)")
                    p.add(_OKX_DATA)
                    continue
                _check_dups(el, _OKX_BOOK)  # type: ignore[arg-type]
                _check_unknown_depth(el, _OKX_BOOK)
                book = el
                for dk, dv in el.items():
                    if dk in ("asks", "bids"):
                        levels += _okx_levels(p, dk, dv)
                    elif dk == "ts":
                        ts = _okx_ms(p, dv)
                    elif dk in ("seqId", "prevSeqId"):
                        _int_field(p, dk, dv)
            if len(v) != 1:
                p.add(_OKX_DATA)
    verdict = _okx_envelope(o, "books")
    if verdict is not None:
        return _result(verdict)
    arg = o["arg"]
    p.raise_if()
    for k, where in (("instId", arg), ("action", o), ("data", o)):
        if k not in where:
            raise DecodeFailed(f"field '{k}' missing")
    if o["action"] not in ("snapshot", "update"):
        raise DecodeFailed("field 'action' is not 'snapshot' or 'update'")
    for k in ("asks", "bids", "ts"):
        if k not in book:
            raise DecodeFailed(f"field '{k}' missing")
    if ("seqId" in book) != ("prevSeqId" in book):
        raise DecodeFailed(f"field '{'prevSeqId' if 'seqId' in book else 'seqId'}' missing")
    t = _ms_to_ns("ts", ts)
    ids: dict[str, int] = {}
    if "seqId" in book:
        if not 0 <= book["seqId"] <= MAX_UPDATE_ID:
            raise DecodeFailed("field 'seqId' out of range")
        if not -1 <= book["prevSeqId"] <= MAX_UPDATE_ID:
            raise DecodeFailed("field 'prevSeqId' out of range")
        ids = {"first_id": book["seqId"], "last_id": book["seqId"], "prev_id": book["prevSeqId"]}
    # else: from before OKX added seqId (docs/venues.md, "OKX"): unchained, ids all -1
    snap = o["action"] == "snapshot"
    return _result("snapshot" if snap else "depth", event_time_ns=t, **ids,
                   segments=[_seg(arg["instId"], "snapshot" if snap else "update", t, levels)])


def _convert(seg: dict[str, Any], pd: int, sd: int, tick: int, step: int) -> None:
    # A level is off the grid when its price is not a multiple of the tick or its size of
    # the step (in units of the scale): kept and counted, never an error.
    out = []
    off_grid = 0
    for side, price, size in seg["levels"]:
        vals = []
        for what, text, dec in (("price", price, pd), ("size", size, sd)):
            parse = number_code if isinstance(text, _Num) else decimal_code
            code, value = parse(text.encode("utf-8", "surrogateescape"), dec)
            if code != DECIMAL_OK or value is None:
                raise DecodeFailed(f"{what}: " + decimal_error_message(code, text, dec))
            vals.append(value)
        off_grid += vals[0] % tick != 0 or vals[1] % step != 0
        out.append((side, vals[0], vals[1]))
    seg["levels"] = out
    seg["off_grid"] = off_grid


# ---------------------------------------------------------------------------------------
# Trade decoders (docs/venues.md, "Trades"): same output as fastfeed._parse.decode_trades
# ---------------------------------------------------------------------------------------


def _check_depth(o: dict[str, Any], structural: dict[str, type | tuple[type, ...]]) -> None:
    """Every member value the compiled decoder skips (all but the containers it walks,
    ``structural``: key -> container type) must nest at most 64 deep."""
    for k, v in o.items():
        if k in structural and isinstance(v, structural[k]):
            continue
        if _depth(v) > MAX_DEPTH:
            raise DecodeFailed("malformed JSON (nesting too deep)")


def _tresult(kind: str, last_id: int = -1, t: int = 0,
             segments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"kind": kind, "last_id": last_id, "event_time_ns": t, "segments": segments or []}


def _trade(stream: str, trade_id: int, first_id: int, last_id: int, time_ns: int,
           price: str, size: str, side: int) -> dict[str, Any]:
    return {"stream": stream, "trade_id": trade_id, "first_id": first_id, "last_id": last_id,
            "time_ns": time_ns, "price": price, "size": size, "side": side}


_BT_EVENT = {"e", "E", "s", "t", "a", "p", "q", "f", "l", "T", "m"}
_BT_COMMON = {"e", "E", "s", "p", "q", "T", "m"}


def _binance_trades(payload: bytes) -> dict[str, Any]:
    top = _load(payload)
    _check_dups(top, _BT_EVENT | {"data"})
    _check_depth(top, {"data": dict})
    ev = top
    if "data" in top:
        if isinstance(top["data"], _Obj):
            _check_dups(top["data"], _BT_EVENT)
            _check_depth(top["data"], {})
        if not isinstance(top["data"], _Obj):
            raise DecodeFailed("field 'data' has the wrong type (expected object)")
        if _BT_EVENT & top.keys():
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
    if e not in ("trade", "aggTrade"):
        if _bad_utf8(e):
            raise DecodeFailed("field 'e' is not valid UTF-8")
        return _tresult("ignored")
    agg = e == "aggTrade"
    relevant = _BT_COMMON | ({"a", "f", "l"} if agg else {"t"})
    p = _Pending()
    for k, v in ev.items():
        if k not in relevant or k == "e":
            continue
        if k in ("E", "T", "t", "a", "f", "l"):
            _int_field(p, k, v)
        elif k == "s":
            _sym_field(p, k, v)
        elif k in ("p", "q"):
            _str_field(p, k, v)
        elif type(v) is not bool:
            p.add("field 'm' has the wrong type (expected boolean)")
    p.raise_if()
    need = ("E", "s", "a", "p", "q", "f", "l", "T", "m") if agg else ("E", "s", "t", "p", "q", "T", "m")
    for k in need:
        if k not in ev:
            raise DecodeFailed(f"field '{k}' missing")
    id_key = "a" if agg else "t"
    if not 0 <= ev[id_key] <= MAX_UPDATE_ID:
        raise DecodeFailed(f"field '{id_key}' out of range (expected 0..2**62)")
    e_ns = _ms_to_ns("E", ev["E"])
    t_ns = _ms_to_ns("T", ev["T"])
    trade = _trade("aggTrade" if agg else "trade", ev[id_key], ev["f"] if agg else -1,
                   ev["l"] if agg else -1, t_ns, _raw(ev["p"]), _raw(ev["q"]),
                   -1 if ev["m"] else 1)
    return _tresult("trades", -1, e_ns, [{"symbol": ev["s"], "kind": "update", "trades": [trade]}])


_CT = {"type", "product_id", "trade_id", "sequence", "time", "price", "size", "side"}


def _coinbase_exchange_trades(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _CT)
    _check_depth(o, {})
    if "type" not in o:
        raise DecodeFailed("field 'type' missing")
    typ = o["type"]
    if not isinstance(typ, str):
        raise DecodeFailed("field 'type' has the wrong type (expected string)")
    if typ not in ("match", "last_match"):
        kind = {"heartbeat": "heartbeat", "subscriptions": "control",
                "error": "venue_error"}.get(typ, "ignored")
        if kind == "ignored" and _bad_utf8(typ):
            raise DecodeFailed("field 'type' is not valid UTF-8")
        return _tresult(kind)
    p = _Pending()
    side = 0
    for k, v in o.items():
        if k == "product_id":
            _sym_field(p, k, v)
        elif k in ("trade_id", "sequence"):
            _int_field(p, k, v)
        elif k in ("time", "price", "size"):
            _str_field(p, k, v)
        elif k == "side" and _str_field(p, k, v):
            # the maker's side: a resting buy order was hit, so the taker sold
            if v in ("buy", "sell"):
                side = -1 if v == "buy" else 1
            else:
                p.add("field 'side' is not 'buy' or 'sell'")
    p.raise_if()
    for k in ("trade_id", "product_id", "price", "size", "side", "time"):
        if k not in o:
            raise DecodeFailed(f"field '{k}' missing")
    if not 0 <= o["trade_id"] <= MAX_UPDATE_ID:
        raise DecodeFailed("field 'trade_id' out of range (expected 0..2**62)")
    t = parse_rfc3339_ns(_raw(o["time"]))
    if t is None:
        raise DecodeFailed("field 'time' is not an RFC 3339 timestamp")
    trade = _trade("matches", o["trade_id"], -1, -1, t, _raw(o["price"]), _raw(o["size"]), side)
    return _tresult("trades", o.get("sequence", -1), t,
                    [{"symbol": o["product_id"], "kind": "update", "trades": [trade]}])


_OKT = {"tradeId", "px", "sz", "side", "ts"}
_OKT_DATA = "field 'data' has the wrong type (expected a non-empty array of trade objects)"


def _okx_trades(payload: bytes) -> dict[str, Any]:
    """OKX v5 ``trades`` (docs/venues.md, "OKX"); ``side`` is the taker's."""
    if payload == b"pong":
        return _tresult("control")
    o = _load(payload)
    _check_dups(o, _OKX)
    _check_unknown_depth(o, _OKX)
    p = _Pending()
    trades: list[dict[str, Any]] = []
    t_last = 0
    for k, v in o.items():
        if k == "arg":
            if isinstance(v, dict):
                _check_dups(v, _OKX_ARG)  # type: ignore[arg-type]
                _check_unknown_depth(v, _OKX_ARG)
                if "instId" in v:
                    _sym_field(p, "instId", v["instId"])
            elif _depth(v) > MAX_DEPTH:
                raise DecodeFailed("malformed JSON (nesting too deep)")
        elif k == "data":
            if not isinstance(v, list) or not v:
                if _depth(v) > MAX_DEPTH:
                    raise DecodeFailed("malformed JSON (nesting too deep)")
                p.add(_OKT_DATA)
                continue
            for el in v:
                if not isinstance(el, dict):
                    if _depth(el) > MAX_DEPTH:
                        raise DecodeFailed("malformed JSON (nesting too deep)")
                    p.add(_OKT_DATA)
                    continue
                _check_dups(el, _OKT)  # type: ignore[arg-type]
                _check_unknown_depth(el, _OKT)
                tr = _trade("trades", -1, -1, -1, 0, "", "", 0)
                for dk, dv in el.items():
                    if dk == "tradeId":
                        if _str_field(p, dk, dv):
                            tr["trade_id"] = _numeric_id(_raw(dv))
                            if tr["trade_id"] < 0:
                                p.add("field 'tradeId' is not a decimal integer string "
                                      "(expected 0..2**62)")
                    elif dk in ("px", "sz"):
                        if _str_field(p, dk, dv):
                            tr["price" if dk == "px" else "size"] = _raw(dv)
                    elif dk == "side":
                        if _str_field(p, dk, dv):
                            if dv in ("buy", "sell"):
                                tr["side"] = 1 if dv == "buy" else -1
                            else:
                                p.add("field 'side' is not 'buy' or 'sell'")
                    elif dk == "ts":
                        if not isinstance(dv, str) or isinstance(dv, _Esc) \
                                or not 1 <= len(dv) <= 18 or not set(dv) <= _DIGITS:
                            p.add(_OKX_TS)
                        elif int(dv) * 1_000_000 <= INT64_MAX:
                            tr["time_ns"] = t_last = int(dv) * 1_000_000
                        else:
                            p.add("field 'ts' out of range")
                for name in ("tradeId", "px", "sz", "side", "ts"):
                    if name not in el:
                        p.add(f"field '{name}' missing")
                        break
                trades.append(tr)
    verdict = _okx_envelope(o, "trades")
    if verdict is not None:
        return _tresult(verdict)
    arg = o["arg"]
    p.raise_if()
    if "instId" not in arg:
        raise DecodeFailed("field 'instId' missing")
    if "data" not in o:
        raise DecodeFailed("field 'data' missing")
    return _tresult("trades", -1, t_last,
                    [{"symbol": arg["instId"], "kind": "update", "trades": trades}])


_DIGITS = frozenset("0123456789")


_BYT_TOP = {"topic", "type", "ts", "data"}
_BYT_TRADE = {"T", "s", "S", "v", "p", "i"}
_BYT_DATA = "field 'data' has the wrong type (expected an array of objects)"


def _byt_trade(p: _Pending, t: _Obj) -> tuple[str | None, dict[str, Any]]:
    """One Bybit trade object: ``S`` is the taker's side; ``i`` a numeric id or -1."""
    symbol: str | None = None
    ms = 0
    out = _trade("publicTrade", -1, -1, -1, 0, "", "", 0)
    for k, v in t.items():
        if k == "T":
            if not _is_int(v):
                p.add("trade field 'T' has the wrong type (expected integer)")
            elif not INT64_MIN <= v <= INT64_MAX:
                p.add("trade field 'T' out of range")
            else:
                ms = v
        elif k == "s":
            if _sym_field(p, k, v, "trade field"):
                symbol = _raw(v)
        elif k not in _BYT_TRADE or not _str_field(p, k, v, "trade field"):
            continue
        elif k == "S":
            if v in ("Buy", "Sell"):
                out["side"] = 1 if v == "Buy" else -1
            else:
                p.add("trade field 'S' is not 'Buy' or 'Sell'")
        elif k == "i":
            out["trade_id"] = _numeric_id(_raw(v))
        else:
            out["price" if k == "p" else "size"] = _raw(v)
    for k in ("T", "s", "S", "v", "p", "i"):
        if k not in t:
            p.add(f"trade field '{k}' missing")
    if not -9223372036854 <= ms <= 9223372036854:
        p.add("trade field 'T' out of range")
    out["time_ns"] = ms * 1_000_000
    return symbol, out


def _bybit_trades(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _BYT_TOP)
    _check_depth(o, {"data": list})
    data = o.get("data")
    if isinstance(data, list):
        for t in data:
            if isinstance(t, _Obj):
                _check_dups(t, _BYT_TRADE)
                _check_depth(t, {})
            elif _depth(t) > MAX_DEPTH:
                raise DecodeFailed("malformed JSON (nesting too deep)")
    if "topic" not in o:
        return _tresult(str(_bybit(payload)["kind"]))   # an ack, a pong or an error
    topic = o["topic"]
    if not isinstance(topic, str):
        raise DecodeFailed("field 'topic' has the wrong type (expected string)")
    if not _raw(topic).startswith("publicTrade."):
        return _tresult("ignored")
    if "type" not in o:
        raise DecodeFailed("field 'type' missing")
    if not isinstance(o["type"], str):
        raise DecodeFailed("field 'type' has the wrong type (expected string)")
    if o["type"] != "snapshot":
        raise DecodeFailed("field 'type' is not 'snapshot'")
    p = _Pending()
    trades: list[tuple[str | None, dict[str, Any]]] = []
    for k, v in o.items():
        if k == "ts":
            _by_ms(p, v)
        elif k == "data":
            if not isinstance(v, list):
                p.add(_BYT_DATA)
                continue
            for t in v:
                if isinstance(t, _Obj):
                    trades.append(_byt_trade(p, t))
                else:
                    p.add(_BYT_DATA)
    p.raise_if()
    for k in ("ts", "data"):
        if k not in o:
            raise DecodeFailed(f"field '{k}' missing")
    ms = _by_ms(_Pending(), o["ts"])
    assert ms is not None
    if not -9223372036854 <= ms <= 9223372036854:
        raise DecodeFailed("field 'ts' out of range")
    segs: list[dict[str, Any]] = []
    for i, (symbol, trade) in enumerate(trades):
        if i == 0 or symbol != trades[i - 1][0]:
            segs.append({"symbol": symbol, "kind": "update", "trades": []})
        segs[-1]["trades"].append(trade)
    return _tresult("trades", -1, ms * 1_000_000, segs)


def _numeric_id(raw: str) -> int:
    """A string trade id that is a plain integer in 0..2**62 (raw text), else -1."""
    if 1 <= len(raw) <= 19 and all(ch in _DIGITS for ch in raw) and int(raw) <= MAX_UPDATE_ID:
        return int(raw)
    return -1


_AT_TRADE = {"trade_id", "product_id", "price", "size", "side", "time"}


def _at_trade(p: _Pending, t: _Obj) -> tuple[str | None, dict[str, Any]]:
    _check_dups(t, _AT_TRADE)
    _check_depth(t, {})
    symbol: str | None = None
    out = _trade("market_trades", -1, -1, -1, 0, "", "", 0)
    for k, v in t.items():
        if k not in _AT_TRADE or not _str_field(p, k, v, "trade field"):
            continue
        if k == "trade_id":
            out["trade_id"] = _numeric_id(_raw(v))
        elif k == "product_id":
            _sym_field(p, k, v, "trade field")
            symbol = _raw(v)
        elif k in ("price", "size"):
            out[k] = _raw(v)
        elif k == "side":
            if v in ("BUY", "SELL"):
                out["side"] = -1 if v == "BUY" else 1     # the maker's side
            else:
                p.add("trade side is not 'BUY' or 'SELL'")
        else:
            ns = parse_rfc3339_ns(_raw(v))
            if ns is None:
                p.add("trade field 'time' is not an RFC 3339 timestamp")
            else:
                out["time_ns"] = ns
    for k in ("trade_id", "product_id", "price", "size", "side", "time"):
        if k not in t:
            p.add(f"trade field '{k}' missing")
    return symbol, out


def _at_trades_event(p: _Pending, ev: _Obj) -> list[dict[str, Any]]:
    _check_dups(ev, {"type", "trades"})
    _check_depth(ev, {"trades": list})
    kind = "update"
    trades: list[tuple[str | None, dict[str, Any]]] = []
    for k, v in ev.items():
        if k == "type":
            if _str_field(p, "type", v, "event field"):
                if v == "snapshot":
                    kind = "snapshot"
                elif v != "update":
                    p.add("event type is not 'snapshot' or 'update'")
        elif k == "trades":
            if not isinstance(v, list):
                p.add(f"field 'trades' has the wrong type {_OBJS}")
                continue
            for t in v:
                if not isinstance(t, dict):
                    if _depth(t) > MAX_DEPTH:
                        raise DecodeFailed("malformed JSON (nesting too deep)")
                    p.add(f"field 'trades' has the wrong type {_OBJS}")
                    continue
                trades.append(_at_trade(p, t))  # type: ignore[arg-type]
    for k in ("type", "trades"):
        if k not in ev:
            p.add(f"event field '{k}' missing")
    trades.reverse()                # newest first on the wire; the venue's order is oldest first
    segs: list[dict[str, Any]] = []
    for i, (symbol, trade) in enumerate(trades):
        if i == 0 or symbol != trades[i - 1][0]:
            segs.append({"symbol": symbol, "kind": kind, "trades": []})
        segs[-1]["trades"].append(trade)
    return segs


_AT_ENV = {"channel", "timestamp", "sequence_num", "events", "type"}


def _coinbase_at_trades(payload: bytes) -> dict[str, Any]:
    o = _load(payload)
    _check_dups(o, _AT_ENV)
    _check_depth(o, {"events": list})
    p, evp = _Pending(), _Pending()
    segs: list[dict[str, Any]] = []
    for k, v in o.items():
        if k in ("channel", "timestamp"):
            _str_field(p, k, v)
        elif k == "sequence_num":
            _int_field(p, k, v)
            if _is_int(v) and INT64_MIN <= v <= INT64_MAX and not 0 <= v <= MAX_UPDATE_ID:
                p.add("field 'sequence_num' out of range (expected 0..2**62)")
        elif k == "events":
            if not isinstance(v, list):
                evp.add(f"field 'events' has the wrong type {_OBJS}")
                continue
            for ev in v:
                if not isinstance(ev, dict):
                    if _depth(ev) > MAX_DEPTH:
                        raise DecodeFailed("malformed JSON (nesting too deep)")
                    evp.add(f"field 'events' has the wrong type {_OBJS}")
                    continue
                segs += _at_trades_event(evp, ev)  # type: ignore[arg-type]
    kind, last_id, t = _at_envelope(o, p, evp, "market_trades")
    if kind == "data":
        return _tresult("trades", last_id, t, segs)
    return _tresult(kind, last_id, t)


def _convert_trades(seg: dict[str, Any], pd: int, sd: int, tick: int, step: int) -> None:
    for trade in seg["trades"]:
        for what, dec in (("price", pd), ("size", sd)):
            text = trade[what]
            # a value off the instrument's grid is kept exactly (docs/venues.md#instrument-scales)
            parse = number_code if isinstance(text, _Num) else decimal_code
            code, value = parse(text.encode("utf-8", "surrogateescape"), dec)
            if code != DECIMAL_OK or value is None:
                shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise DecodeFailed(f"{what}: " + decimal_error_message(code, shown, dec))
            trade[what] = value


#: The twins of the compiled decoders, by the names venue descriptions use
#: (``Venue.decoder`` / ``Venue.snapshot_decoder`` / ``Venue.trade_decoder``;
#: ``fastfeed._parse.DECODERS``).
# -- REST trade bodies for backfill (parse/rest_trades.pxi) ------------------------------

def _rest_body(payload: bytes) -> Any:
    try:
        return _DECODER.decode(payload.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError) as exc:
        raise DecodeFailed(f"malformed JSON ({exc})") from None


_RB = {"a", "p", "q", "f", "l", "T", "m"}


def _rb_row(o: _Obj) -> dict[str, Any]:
    p = _Pending()
    for k, v in o.items():
        if k in ("a", "f", "l", "T"):
            _int_field(p, k, v)
        elif k in ("p", "q"):
            _str_field(p, k, v)
        elif k == "m" and type(v) is not bool:
            p.add("field 'm' has the wrong type (expected boolean)")
    p.raise_if()
    for k in ("a", "p", "q", "f", "l", "T", "m"):
        if k not in o:
            raise DecodeFailed(f"field '{k}' missing")
    if not 0 <= o["a"] <= MAX_UPDATE_ID:
        raise DecodeFailed("field 'a' out of range (expected 0..2**62)")
    t = _ms_to_ns("T", o["T"])
    return _trade("aggTrade", o["a"], o["f"], o["l"], t, _raw(o["p"]), _raw(o["q"]),
                  -1 if o["m"] else 1)


_RX = {"time", "trade_id", "price", "size", "side"}


def _rx_row(o: _Obj) -> dict[str, Any]:
    p = _Pending()
    side = 0
    for k, v in o.items():
        if k == "trade_id":
            _int_field(p, k, v)
        elif k in ("time", "price", "size"):
            _str_field(p, k, v)
        elif k == "side" and _str_field(p, k, v):
            # the maker's side, as on matches (UNCERTAIN for REST): buy → the taker sold
            if v in ("buy", "sell"):
                side = -1 if v == "buy" else 1
            else:
                p.add("field 'side' is not 'buy' or 'sell'")
    p.raise_if()
    for k in ("trade_id", "price", "size", "side", "time"):
        if k not in o:
            raise DecodeFailed(f"field '{k}' missing")
    if not 0 <= o["trade_id"] <= MAX_UPDATE_ID:
        raise DecodeFailed("field 'trade_id' out of range (expected 0..2**62)")
    t = parse_rfc3339_ns(_raw(o["time"]))
    if t is None:
        raise DecodeFailed("field 'time' is not an RFC 3339 timestamp")
    return _trade("matches", o["trade_id"], -1, -1, t, _raw(o["price"]), _raw(o["size"]), side)


def _rest_trades(payload: bytes, known: set[str], row: Callable[[_Obj], dict[str, Any]],
                 newest_first: bool) -> dict[str, Any]:
    body = _rest_body(payload)
    if isinstance(body, dict):                      # the venue's error body
        if _depth(body) > MAX_DEPTH:
            raise DecodeFailed("malformed JSON (nesting too deep)")
        return _tresult("venue_error")
    if not isinstance(body, list):
        raise DecodeFailed("body has the wrong type (expected array)")
    for r in body:                                  # malformed anywhere comes first
        if isinstance(r, _Obj):
            _check_dups(r, known)
            _check_depth(r, {})
        elif _depth(r) > MAX_DEPTH:
            raise DecodeFailed("malformed JSON (nesting too deep)")
    trades = []
    for r in body:
        if not isinstance(r, _Obj):
            raise DecodeFailed("trade has the wrong type (expected object)")
        trades.append(row(r))
    if not trades:
        return _tresult("trades")
    if newest_first:
        trades.reverse()
    t = trades[-1]["time_ns"]
    return _tresult("trades", -1, t, [{"symbol": None, "kind": "update", "trades": trades}])


def _binance_rest_aggtrades(payload: bytes) -> dict[str, Any]:
    return _rest_trades(payload, _RB, _rb_row, False)


def _coinbase_exchange_rest_trades(payload: bytes) -> dict[str, Any]:
    return _rest_trades(payload, _RX, _rx_row, True)


def decode_backfill(
    venue: str,
    payload: bytes | bytearray | memoryview,
    price_decimals: int,
    size_decimals: int,
    price_tick: int = 1,
    size_step: int = 1,
) -> dict[str, Any]:
    """Reference of ``fastfeed._parse.decode_backfill`` (same output and messages)."""
    return _decode_trades_with(venue, "backfill_decoder", "has no REST trade backfill",
                               payload, price_decimals, size_decimals, price_tick, size_step)


def _decode_trades_with(venue: str, decoder_attr: str, missing: str,
                        payload: bytes | bytearray | memoryview, price_decimals: int,
                        size_decimals: int, price_tick: int, size_step: int) -> dict[str, Any]:
    """Decode with the venue's ``decoder_attr`` decoder, then convert every trade."""
    for name, value in (("price_decimals", price_decimals), ("size_decimals", size_decimals)):
        if not 0 <= value <= MAX_DECIMALS:
            raise ValueError(f"{name} must be in 0..{MAX_DECIMALS}, got {value}")
    spec = VENUES.get(venue)
    if spec is None:
        raise ValueError(f"unknown venue {venue!r}")
    decoder = getattr(spec, decoder_attr)
    if not decoder:
        raise ValueError(f"{venue} {missing}")
    out = DECODERS[decoder](bytes(payload))
    for seg in out["segments"]:
        _convert_trades(seg, price_decimals, size_decimals, price_tick, size_step)
    return out


# -- stream decoders: every channel of a connection (parse/streams.pxi) -----------------

def _channel_decoder(name: str) -> Callable[[bytes], dict[str, Any]]:
    """A reference decoder of any channel by its registered name (the quote and candle
    twins live in their own modules, which import this one)."""
    if name in DECODERS:
        return DECODERS[name]
    from fastfeed.reference import candles, quotes
    found = quotes.DECODERS.get(name) or candles.DECODERS.get(name)
    if found is None:
        raise KeyError(name)
    return cast(Callable[[bytes], dict[str, Any]], found)


def _verdict(name: str, payload: bytes, channel: str) -> tuple[str, str | None]:
    try:
        return str(_channel_decoder(name)(payload)["kind"]), None
    except DecodeFailed as exc:
        return channel, str(exc)


def _first_taker(payload: bytes, names: tuple[str, ...]) -> tuple[str, str | None]:
    """The channel field was not first: the first decoder that takes the payload as its
    own decides, else the first (book) decoder's verdict."""
    for name in names:
        kind, error = _verdict(name, payload, "book")
        if error is None and kind != "ignored":
            return kind, None
    return _verdict(names[0], payload, "book")


def _named(name: str, payload: bytes, channel: str) -> tuple[str, str | None]:
    """The stream name chose the channel: an event its decoder ignores is rejected."""
    kind, error = _verdict(name, payload, channel)
    if error is None and kind == "ignored":
        return channel, "the event is not of the channel its stream name says"
    return kind, error


def _string_at(payload: bytes, at: int) -> bytes | None:
    """The bytes from ``at`` up to the next quote (None: no quote)."""
    end = payload.find(b'"', at)
    return None if end < 0 else payload[at:end]


# in the order a payload whose channel field is not first is offered to them
_BINANCE_CHANNELS = ("binance-depth", "binance-trades", "binance-ticker", "binance-candles",
                     "binance-bbo")
_BINANCE_NAMED = {b"aggTrade": ("binance-trades", "trades"), b"trade": ("binance-trades", "trades"),
                  b"bookTicker": ("binance-bbo", "bbo"), b"ticker": ("binance-ticker", "ticker"),
                  b"miniTicker": ("binance-ticker", "ticker")}
_BINANCE_EVENTS = {b"aggTrade": ("binance-trades", "trades"), b"trade": ("binance-trades", "trades"),
                   b"bookTicker": ("binance-bbo", "bbo"),
                   b"24hrTicker": ("binance-ticker", "ticker"),
                   b"24hrMiniTicker": ("binance-ticker", "ticker"),
                   b"kline": ("binance-candles", "candles")}


def _binance_stream_channel(payload: bytes) -> tuple[str, str | None]:
    head = b'{"stream":"'
    if len(payload) > len(head) and payload.startswith(head):
        window = payload[len(head):len(head) + 64]
        cut = min((i for i in (window.find(b"@"), window.find(b'"')) if i >= 0),
                  default=-1)
        if cut >= 0 and window[cut:cut + 1] == b"@":
            at = len(head) + cut + 1
            if payload[at:at + 5] == b"depth":
                return _named("binance-depth", payload, "book")
            name = _string_at(payload, at)
            if name is not None and name in _BINANCE_NAMED:
                decoder, channel = _BINANCE_NAMED[name]
                return _named(decoder, payload, channel)
            if payload[at:at + 6] == b"kline_":
                return _named("binance-candles", payload, "candles")
    elif len(payload) > 6 and payload.startswith(b'{"e":"'):
        name = _string_at(payload, 6)
        if name == b"depthUpdate":
            return _verdict("binance-depth", payload, "book")
        if name is not None and name in _BINANCE_EVENTS:
            return _verdict(_BINANCE_EVENTS[name][0], payload, _BINANCE_EVENTS[name][1])
    return _first_taker(payload, _BINANCE_CHANNELS)


def _by_head(payload: bytes, head: bytes, book: tuple[bytes, ...],
             others: dict[bytes, tuple[str, str]],
             names: tuple[str, ...]) -> tuple[str, str | None]:
    if len(payload) > len(head) and payload.startswith(head):
        value = _string_at(payload, len(head))
        if value is not None and value in others:
            return _verdict(others[value][0], payload, others[value][1])
        if value in book:
            return _verdict(names[0], payload, "book")
    return _first_taker(payload, names)


def _coinbase_at_stream_channel(payload: bytes) -> tuple[str, str | None]:
    return _by_head(payload, b'{"channel":"', (b"l2_data", b"heartbeats", b"subscriptions"),
                    {b"market_trades": ("coinbase-at-trades", "trades"),
                     b"ticker": ("coinbase-at-ticker", "ticker"),
                     b"ticker_batch": ("coinbase-at-ticker", "ticker"),
                     b"candles": ("coinbase-at-candles", "candles")},
                    ("coinbase-at", "coinbase-at-trades", "coinbase-at-ticker",
                     "coinbase-at-candles"))


def _coinbase_exchange_stream_channel(payload: bytes) -> tuple[str, str | None]:
    return _by_head(payload, b'{"type":"', (b"l2update", b"snapshot", b"heartbeat"),
                    {b"match": ("coinbase-exchange-trades", "trades"),
                     b"last_match": ("coinbase-exchange-trades", "trades"),
                     b"ticker": ("coinbase-exchange-ticker", "ticker")},
                    ("coinbase-exchange", "coinbase-exchange-trades",
                     "coinbase-exchange-ticker"))


def _bybit_stream_channel(payload: bytes) -> tuple[str, str | None]:
    head = b'{"topic":"'
    if len(payload) > len(head) and payload.startswith(head):
        if payload[len(head):len(head) + 12] == b"orderbook.1.":
            return _verdict("bybit-bbo", payload, "bbo")
        if payload[len(head):len(head) + 10] == b"orderbook.":
            return _verdict("bybit", payload, "book")
        if payload[len(head):len(head) + 12] == b"publicTrade.":
            return _verdict("bybit-trades", payload, "trades")
        if payload[len(head):len(head) + 8] == b"tickers.":
            return _verdict("bybit-ticker", payload, "ticker")
        if payload[len(head):len(head) + 6] == b"kline.":
            return _verdict("bybit-candles", payload, "candles")
    return _first_taker(payload, ("bybit-bbo", "bybit", "bybit-trades", "bybit-ticker",
                                  "bybit-candles"))


def _kraken_stream_channel(payload: bytes) -> tuple[str, str | None]:
    return _by_head(payload, b'{"channel":"', (b"book", b"heartbeat", b"status"),
                    {b"trade": ("kraken-trades", "trades"),
                     b"ticker": ("kraken-ticker", "ticker"),
                     b"ohlc": ("kraken-candles", "candles")},
                    ("kraken", "kraken-trades", "kraken-ticker", "kraken-candles"))


def _okx_stream_channel(payload: bytes) -> tuple[str, str | None]:
    head = b'{"arg":{"channel":"candle'
    if payload.startswith(head):
        return _verdict("okx-candles", payload, "candles")
    return _by_head(payload, b'{"arg":{"channel":"', (b"books",),
                    {b"trades": ("okx-trades", "trades"), b"tickers": ("okx-ticker", "ticker"),
                     b"bbo-tbt": ("okx-bbo", "bbo")},
                    ("okx", "okx-trades", "okx-ticker", "okx-bbo", "okx-candles"))


#: Reference of the stream decoders, by the names venue descriptions use
#: (``Venue.stream_decoder``): each returns what ``fastfeed._parse.stream_channel`` does.
STREAM_DECODERS: dict[str, Callable[[bytes], tuple[str, str | None]]] = {
    "binance-stream": _binance_stream_channel,
    "coinbase-at-stream": _coinbase_at_stream_channel,
    "coinbase-exchange-stream": _coinbase_exchange_stream_channel,
    "bybit-stream": _bybit_stream_channel,
    "okx-stream": _okx_stream_channel,
    "kraken-stream": _kraken_stream_channel,
}


def stream_channel(venue: str, payload: bytes | bytearray | memoryview) -> tuple[str, str | None]:
    """Reference of ``fastfeed._parse.stream_channel``."""
    spec = VENUES.get(venue)
    if spec is None:
        raise ValueError(f"unknown venue {venue!r}")
    return STREAM_DECODERS[spec.stream_decoder](bytes(payload))


# ---------------------------------------------------------------------------------------
# Kraken WebSocket v2 (docs/venues.md, "Kraken"): levels are bare JSON numbers, read
# from their text (``_Num``) and converted by ``number_code`` (exponent allowed)
# ---------------------------------------------------------------------------------------


class _Num(str):
    """A bare JSON number, as its text."""


_KR_DECODER = json.JSONDecoder(object_pairs_hook=_obj, parse_constant=_reject_constant,
                               parse_float=_Num, parse_int=_Num)
_KR_DECODER.parse_string = _scanstring  # type: ignore[attr-defined]
_KR_DECODER.scan_once = json.scanner.py_make_scanner(_KR_DECODER)  # type: ignore[attr-defined]
_KR_TOP = {"channel", "type", "data", "method", "success", "error", "Error"}
_KR_ENTRY = {"symbol", "bids", "asks", "checksum", "timestamp"}


def _kr_deep(v: Any) -> None:
    if _depth(v) > MAX_DEPTH:
        raise DecodeFailed("malformed JSON (nesting too deep)")


def _kr_levels(p: _Pending, v: Any, side: str) -> list[tuple[str, str, str]]:
    if not isinstance(v, list):
        p.add("field 'bids'/'asks' has the wrong type (expected an array of levels)")
        _kr_deep(v)
        return []
    out = []
    for lv in v:
        if not isinstance(lv, _Obj):
            p.add('a level has the wrong type (expected {"price":N,"qty":N})')
            _kr_deep(lv)
            continue
        _check_dups(lv, {"price", "qty"})
        price = qty = ""
        for k, x in lv.items():
            if k in ("price", "qty"):
                if not isinstance(x, _Num):
                    p.add(f"field '{k}' has the wrong type (expected number)")
                    _kr_deep(x)
                elif k == "price":
                    price = x
                else:
                    qty = x
            else:
                p.add("a level has an unknown field (expected price and qty)")
                _kr_deep(x)
        if "price" not in lv or "qty" not in lv:
            p.add("a level lacks 'price' or 'qty'")
        out.append((side, price, qty))
    return out


def _kraken(payload: bytes) -> dict[str, Any]:
    try:
        o = _KR_DECODER.decode(payload.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError) as exc:
        raise DecodeFailed(f"malformed JSON ({exc})") from None
    if not isinstance(o, _Obj):
        raise DecodeFailed("malformed JSON (not an object)")
    _check_dups(o, _KR_TOP)
    p = _Pending()
    levels: list[tuple[str, str, str]] = []
    entries = 0
    seen: set[str] = set()
    symbol: str | None = None
    checksum = -1
    t = 0
    for k, v in o.items():
        if k in ("channel", "type"):
            _kr_text(p, k, v)
        elif k == "data" and isinstance(v, list):
            for e in v:
                if not isinstance(e, _Obj):
                    p.add("field 'data' has the wrong type (expected objects)")
                    _kr_deep(e)
                    continue
                entries += 1
                _check_dups(e, _KR_ENTRY)
                for ek, ev in e.items():
                    if ek == "symbol":
                        seen.add(ek)
                        if _kr_text(p, ek, ev, symbol=True):
                            symbol = ev
                    elif ek in ("bids", "asks"):
                        seen.add(ek)
                        levels += _kr_levels(p, ev, "bid" if ek == "bids" else "ask")
                    elif ek == "checksum":
                        seen.add(ek)
                        if not isinstance(ev, _Num) or not re.fullmatch(r"-?[0-9]+", ev):
                            p.add("field 'checksum' has the wrong type (expected integer)")
                            _kr_deep(ev)
                        elif not INT64_MIN <= int(ev) <= INT64_MAX:
                            p.add("field 'checksum' out of range")
                        elif not 0 <= int(ev) <= 0xFFFFFFFF:
                            p.add("field 'checksum' out of range (unsigned 32-bit)")
                        else:
                            checksum = int(ev)
                    elif ek == "timestamp":
                        seen.add(ek)
                        if _kr_text(p, ek, ev):
                            parsed = parse_rfc3339_ns(_raw(ev))
                            if parsed is None:
                                p.add("field 'timestamp' is not an RFC 3339 timestamp")
                            else:
                                t = parsed
                    else:
                        _kr_deep(ev)
        else:
            _kr_deep(v)
    if "error" in o or "Error" in o or (
            "success" in o and o["success"] is False):
        return _result("venue_error")
    if "method" in o:
        return _result("control")
    if "channel" not in o:
        raise DecodeFailed("field 'channel' missing")
    chan = o["channel"]
    if not isinstance(chan, str) or isinstance(chan, _Num):
        raise DecodeFailed("field 'channel' has the wrong type (expected string)")
    if chan != "book":
        kind = {"heartbeat": "heartbeat", "status": "control"}.get(chan, "ignored")
        if kind == "ignored" and _bad_utf8(chan):
            raise DecodeFailed("field 'channel' is not valid UTF-8")
        return _result(kind)
    if "type" not in o:
        raise DecodeFailed("field 'type' missing")
    typ = o["type"]
    if not isinstance(typ, str) or isinstance(typ, _Num):
        raise DecodeFailed("field 'type' has the wrong type (expected string)")
    if typ not in ("snapshot", "update"):
        raise DecodeFailed("book message type is not 'snapshot' or 'update'")
    p.raise_if()
    if "data" not in o:
        raise DecodeFailed("field 'data' missing")
    if entries != 1:
        raise DecodeFailed("a book message must carry exactly one entry in 'data'")
    if "symbol" not in seen:
        raise DecodeFailed("field 'symbol' missing")
    if "checksum" not in seen:
        raise DecodeFailed("field 'checksum' missing")
    if typ == "snapshot" and not {"bids", "asks"} <= seen:
        raise DecodeFailed("field 'bids'/'asks' missing")
    kind = "snapshot" if typ == "snapshot" else "update"
    return _result("snapshot" if kind == "snapshot" else "depth", prev_id=checksum,
                   segments=[_seg(symbol, kind, t, levels)])


_KT_TOP = {"channel", "type", "data"}
_KT = {"symbol", "side", "price", "qty", "trade_id", "timestamp"}
_KT_DATA = "field 'data' has the wrong type (expected an array of trade objects)"


def _kr_load(payload: bytes) -> _Obj:
    try:
        o = _KR_DECODER.decode(payload.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError) as exc:
        raise DecodeFailed(f"malformed JSON ({exc})") from None
    if not isinstance(o, _Obj):
        raise DecodeFailed("malformed JSON (not an object)")
    return o


def _kr_text(p: _Pending, name: str, v: Any, symbol: bool = False) -> bool:
    """A JSON string (a bare number parses to ``_Num``, a ``str`` too: not a string)."""
    if isinstance(v, _Num):
        p.add(f"field '{name}' has the wrong type (expected string)")
        return False
    return _sym_field(p, name, v) if symbol else _str_field(p, name, v)


def _kr_int(p: _Pending, name: str, v: Any) -> int | None:
    """A JSON integer (a ``_Num`` without fraction or exponent) in 0..2**62, else pended."""
    if not isinstance(v, _Num) or not re.fullmatch(r"-?[0-9]+", v):
        p.add(f"field '{name}' has the wrong type (expected integer)")
        _kr_deep(v)
    elif not 0 <= int(v) <= MAX_UPDATE_ID:
        p.add(f"field '{name}' out of range (expected 0..2**62)")
    else:
        return int(v)
    return None


def _kr_channel_top(payload: bytes, channel: str, data_fn: Callable[[_Pending, Any], Any]
                    ) -> tuple[dict[str, Any] | None, bool, Any]:
    """Twin of ``_kr_top`` (parse/kraken_trades.pxi): ``(verdict, snapshot, data)``;
    a verdict that is not None is final (not a message of ``channel``)."""
    o = _kr_load(payload)
    _check_dups(o, _KT_TOP)
    p = _Pending()
    data = None
    for k, v in o.items():
        if k == "data":
            data = data_fn(p, v)
        else:
            _kr_deep(v)
    if "channel" not in o:
        return _kraken(payload), False, None
    chan = o["channel"]
    if not isinstance(chan, str) or isinstance(chan, _Num):
        raise DecodeFailed("field 'channel' has the wrong type (expected string)")
    if chan != channel:
        kind = {"heartbeat": "heartbeat", "status": "control"}.get(chan, "ignored")
        if kind == "ignored" and _bad_utf8(chan):
            raise DecodeFailed("field 'channel' is not valid UTF-8")
        return {"kind": kind}, False, None
    if "type" not in o:
        raise DecodeFailed("field 'type' missing")
    typ = o["type"]
    if not isinstance(typ, str) or isinstance(typ, _Num):
        raise DecodeFailed("field 'type' has the wrong type (expected string)")
    if typ not in ("snapshot", "update"):
        raise DecodeFailed("field 'type' is not 'snapshot' or 'update'")
    p.raise_if()
    if "data" not in o:
        raise DecodeFailed("field 'data' missing")
    return None, typ == "snapshot", data


def _kt_data(p: _Pending, v: Any) -> list[tuple[str | None, dict[str, Any]]]:
    if not isinstance(v, list):
        p.add(_KT_DATA)
        _kr_deep(v)
        return []
    out = []
    for el in v:
        if not isinstance(el, _Obj):
            p.add(_KT_DATA)
            _kr_deep(el)
            continue
        _check_dups(el, _KT)
        symbol: str | None = None
        tr = _trade("kraken-trade", -1, -1, -1, 0, "", "", 0)
        for k, x in el.items():
            if k == "symbol":
                if _kr_text(p, k, x, symbol=True):
                    symbol = x
            elif k == "side":
                if _kr_text(p, k, x):
                    if x in ("buy", "sell"):        # the taker's side
                        tr["side"] = 1 if x == "buy" else -1
                    else:
                        p.add("field 'side' is not 'buy' or 'sell'")
            elif k in ("price", "qty"):
                if not isinstance(x, _Num):
                    p.add(f"field '{k}' has the wrong type (expected number)")
                    _kr_deep(x)
                else:
                    tr["price" if k == "price" else "size"] = x
            elif k == "trade_id":
                tid = _kr_int(p, k, x)
                if tid is not None:
                    tr["trade_id"] = tid
            elif k == "timestamp":
                if _kr_text(p, k, x):
                    t = parse_rfc3339_ns(_raw(x))
                    if t is None:
                        p.add("field 'timestamp' is not an RFC 3339 timestamp")
                    else:
                        tr["time_ns"] = t
            else:
                _kr_deep(x)
        for name in ("symbol", "side", "price", "qty", "trade_id", "timestamp"):
            if name not in el:
                p.add(f"field '{name}' missing")
                break
        out.append((symbol, tr))
    return out


def _kraken_trades(payload: bytes) -> dict[str, Any]:
    """Kraken v2 ``trade`` (docs/venues.md, "Kraken trades"); ``side`` is the taker's."""
    verdict, snap, data = _kr_channel_top(payload, "trade", _kt_data)
    if verdict is not None:
        return _tresult(verdict["kind"])
    segs: list[dict[str, Any]] = []
    for symbol, tr in data:
        if segs and segs[-1]["symbol"] == symbol:
            segs[-1]["trades"].append(tr)
        else:
            segs.append({"symbol": symbol, "kind": "snapshot" if snap else "update",
                         "trades": [tr]})
    return _tresult("trades", -1, data[-1][1]["time_ns"] if data else 0, segs)


def kraken_checksum(asks: list[tuple[int, int]], bids: list[tuple[int, int]],
                    price_decimals: int, size_decimals: int, price_precision: int,
                    qty_precision: int, levels: int = 10) -> int:
    """Twin of the compiled Kraken book checksum (``BookCore.checksum``): the top
    ``levels`` asks (best first) then bids (best first), each price then qty formatted
    with the fixed precisions, point removed, leading zeros stripped; CRC32 (zlib)."""
    import zlib

    def digits(v: int, dec: int, prec: int) -> str:
        v = v // 10 ** (dec - prec) if dec >= prec else v * 10 ** (prec - dec)
        return str(v).lstrip("0")

    text = "".join(digits(px, price_decimals, price_precision)
                   + digits(sz, size_decimals, qty_precision)
                   for px, sz in sorted(asks)[:levels])
    text += "".join(digits(px, price_decimals, price_precision)
                    + digits(sz, size_decimals, qty_precision)
                    for px, sz in sorted(bids, reverse=True)[:levels])
    return zlib.crc32(text.encode("ascii"))


DECODERS: dict[str, Callable[[bytes], dict[str, Any]]] = {
    "binance-depth": _binance_depth,
    "binance-snapshot": _binance_snapshot,
    "coinbase-at": _coinbase_at,
    "coinbase-exchange": _coinbase_exchange,
    "binance-trades": _binance_trades,
    "coinbase-at-trades": _coinbase_at_trades,
    "coinbase-exchange-trades": _coinbase_exchange_trades,
    "binance-rest-aggtrades": _binance_rest_aggtrades,
    "coinbase-exchange-rest-trades": _coinbase_exchange_rest_trades,
    "bybit": _bybit,
    "bybit-trades": _bybit_trades,
    "kraken": _kraken,
    "okx": _okx,
    "okx-trades": _okx_trades,
    "kraken-trades": _kraken_trades,
}


def decode_message(
    venue: str,
    payload: bytes | bytearray | memoryview,
    price_decimals: int,
    size_decimals: int,
    price_tick: int = 1,
    size_step: int = 1,
    *,
    snapshot: bool = False,
) -> dict[str, Any]:
    """Reference of ``fastfeed._parse.decode_message`` (same output and messages)."""
    for name, value in (("price_decimals", price_decimals), ("size_decimals", size_decimals)):
        if not 0 <= value <= MAX_DECIMALS:
            raise ValueError(f"{name} must be in 0..{MAX_DECIMALS}, got {value}")
    if price_tick < 1 or size_step < 1:
        raise ValueError("price_tick and size_step are counts of units and must be >= 1")
    spec = VENUES.get(venue)
    if spec is None:
        raise ValueError(f"unknown venue {venue!r}")
    decoder = spec.snapshot_decoder if snapshot else spec.decoder
    if decoder is None:
        raise ValueError(f"{venue} has no snapshot decoder: snapshots arrive in-band")
    out = DECODERS[decoder](bytes(payload))
    for seg in out["segments"]:
        _convert(seg, price_decimals, size_decimals, price_tick, size_step)
    return out


def decode_trades(
    venue: str,
    payload: bytes | bytearray | memoryview,
    price_decimals: int,
    size_decimals: int,
    price_tick: int = 1,
    size_step: int = 1,
) -> dict[str, Any]:
    """Reference of ``fastfeed._parse.decode_trades`` (same output and messages)."""
    return _decode_trades_with(venue, "trade_decoder", "has no trade decoder", payload,
                               price_decimals, size_decimals, price_tick, size_step)
