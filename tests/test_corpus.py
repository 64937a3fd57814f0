"""Conformance corpus: every scenario in ``tests/corpus/<venue>/*.json`` through BookFeed,
every trade scenario (``trades_*.json``) through TradeFeed, every BBO and ticker
scenario (``bbo_*.json``, ``ticker_*.json``) through BboFeed / TickerFeed, and every
candle scenario (``candles_*.json``) through CandleFeed.

Each scenario is a sequence of real-format venue payloads with the expected state, book
(or trades) and counters after every step (format: ``tests/corpus/README.md``). The
expectations are written by hand from ``docs/venues.md``, never computed with fastfeed
code: expected decimal strings are converted here with :mod:`decimal` and timestamps with
:mod:`calendar`, independently of the compiled parsers.
"""

from __future__ import annotations

import calendar
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from fastfeed import BboFeed, BookFeed, CandleFeed, DecodeRejected, TickerFeed, TradeFeed
from fastfeed.candles import quote_volume

CORPUS = Path(__file__).parent / "corpus"
VENUES = ("binance", "binance-usdm", "coinbase", "coinbase-exchange", "bybit", "bybit-linear",
          "kraken", "okx")
SNAPSHOT_VENUES = ("binance", "binance-usdm")
#: venues without a trade corpus of three scenarios yet
BOOK_ONLY: tuple[str, ...] = ()
#: venues with trades but no BBO or ticker channel yet
NO_QUOTES: tuple[str, ...] = ()
STATES = ("syncing", "live", "gap", "stale", "closed")
SNAPSHOT_RESULTS = ("live", "too_old", "gap", "rejected")

TOP_KEYS = {"description", "rule", "symbol", "tick_size", "step_size", "steps"}
INPUT_KEYS = {"message", "snapshot", "message_repeat", "snapshot_repeat"}
EXPECT_KEYS = {
    "note", "state", "snapshot_result", "bids", "asks", "bids_head", "asks_head", "depth",
    "reject", "applied", "gaps", "resyncs", "old_messages", "rejected", "rejects",
    "last_update_id", "buffered", "gap_reason", "off_grid_levels", "off_grid_snapshot_levels",
    "unchained_messages", "absent_deletes",
}
COUNTERS = ("gaps", "resyncs", "old_messages", "rejected", "last_update_id", "buffered",
            "off_grid_levels", "off_grid_snapshot_levels", "unchained_messages",
            "absent_deletes")

# Scenarios whose docs/venues.md expectation the implementation does not meet yet (the code is
# not changed from here): scenario id -> reason. Strict xfail, so a fix shows up as XPASS.
XFAIL: dict[str, str] = {}


OTHER_CHANNELS = ("trades_", "bbo_", "ticker_", "candles_")  # non-book scenario prefixes


def scenario_files() -> list[Path]:
    """The book scenarios (``trades_*``, ``bbo_*``, ``ticker_*``, ``candles_*`` are other
    channels')."""
    return sorted(p for p in CORPUS.glob("*/*.json") if not p.name.startswith(OTHER_CHANNELS))


def trade_scenario_files() -> list[Path]:
    return sorted(CORPUS.glob("*/trades_*.json"))


def scenario_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _params():
    out = []
    for path in scenario_files():
        sid = scenario_id(path)
        marks = [pytest.mark.xfail(reason=XFAIL[sid], strict=True)] if sid in XFAIL else []
        out.append(pytest.param(path, id=sid, marks=marks))
    return out


# ---------------------------------------------------------------------------------------
# payloads
# ---------------------------------------------------------------------------------------

def _payload(value: Any) -> bytes:
    """A string is sent verbatim; a JSON value is sent as compact JSON in its key order
    (what the venues send), so the file stays readable and the bytes stay real."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _repeat(parts: list[Any]) -> bytes:
    """Concatenate literal strings and repeat blocks ``{"item", "count", "start", "step",
    "sep"}``: ``item`` with ``{i}`` replaced by ``start + k * step`` for k < count, joined
    by ``sep`` (default ``,``). Keeps huge but regular payloads (5000-level snapshots,
    level-count overflow) a few lines long."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        start, step = part.get("start", 0), part.get("step", 1)
        out.append(part.get("sep", ",").join(
            part["item"].replace("{i}", str(start + k * step)) for k in range(part["count"])))
    return "".join(out).encode("utf-8")


def step_input(step: dict[str, Any]) -> tuple[str, bytes]:
    if "message" in step:
        return "message", _payload(step["message"])
    if "snapshot" in step:
        return "snapshot", _payload(step["snapshot"])
    if "message_repeat" in step:
        return "message", _repeat(step["message_repeat"])
    return "snapshot", _repeat(step["snapshot_repeat"])


# ---------------------------------------------------------------------------------------
# decimals (independent of fastfeed's parser)
# ---------------------------------------------------------------------------------------

def to_units(text: str, decimals: int) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise AssertionError(f"corpus value {text!r} is not a decimal") from None
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise AssertionError(f"corpus value {text!r} has more than {decimals} decimals")
    return int(scaled)


def to_text(units: int, decimals: int) -> str:
    return str(Decimal(units).scaleb(-decimals)) if decimals else str(units)


def expected_side(rows: list[list[str]], feed: BookFeed) -> list[tuple[int, int]]:
    return [(to_units(p, feed.price_decimals), to_units(q, feed.size_decimals))
            for p, q in rows]


def actual_side(feed: BookFeed, side: str) -> list[tuple[int, int]]:
    arr = feed.book.bids_int() if side == "bids" else feed.book.asks_int()
    return [(int(p), int(q)) for p, q in arr.tolist()]


def show_side(rows: list[tuple[int, int]], feed: BookFeed, limit: int = 12) -> str:
    text = [f'["{to_text(p, feed.price_decimals)}","{to_text(q, feed.size_decimals)}"]'
            for p, q in rows[:limit]]
    more = f" ... (+{len(rows) - limit})" if len(rows) > limit else ""
    return "[" + ",".join(text) + "]" + more


# ---------------------------------------------------------------------------------------
# validation of the files themselves
# ---------------------------------------------------------------------------------------

def validate(path: Path) -> list[str]:
    """Problems with a scenario file's shape (empty list: fine)."""
    problems = []
    try:
        sc = load(path)
    except (OSError, ValueError) as exc:
        return [f"not valid JSON: {exc}"]
    venue = path.parent.name
    if venue not in VENUES:
        problems.append(f"directory {venue!r} is not a venue id {VENUES}")
    if not isinstance(sc, dict):
        return [*problems, "top level is not an object"]
    if unknown := set(sc) - TOP_KEYS:
        problems.append(f"unknown top-level keys {sorted(unknown)}")
    for key in ("description", "symbol", "tick_size", "step_size"):
        if not isinstance(sc.get(key), str) or not sc[key].strip():
            problems.append(f"{key!r} missing or not a non-empty string")
    steps = sc.get("steps")
    if not isinstance(steps, list) or not steps:
        return [*problems, "'steps' missing or empty"]
    for i, step in enumerate(steps):
        where = f"step {i}"
        if not isinstance(step, dict):
            problems.append(f"{where}: not an object")
            continue
        if unknown := set(step) - INPUT_KEYS - EXPECT_KEYS:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        inputs = set(step) & INPUT_KEYS
        if len(inputs) != 1:
            problems.append(f"{where}: needs exactly one of {sorted(INPUT_KEYS)}")
        elif inputs & {"snapshot", "snapshot_repeat"}:
            if venue not in SNAPSHOT_VENUES:
                problems.append(f"{where}: {venue} has no REST snapshot step")
            if "snapshot_result" not in step:
                problems.append(f"{where}: snapshot step without 'snapshot_result'")
        elif "snapshot_result" in step:
            problems.append(f"{where}: 'snapshot_result' on a message step")
        if step.get("state") not in STATES:
            problems.append(f"{where}: 'state' must be one of {STATES}")
        if step.get("snapshot_result", "live") not in SNAPSHOT_RESULTS:
            problems.append(f"{where}: 'snapshot_result' must be one of {SNAPSHOT_RESULTS}")
        for side in ("bids", "asks"):
            if side not in step and "depth" not in step:
                problems.append(f"{where}: {side!r} missing (give the book, or 'depth')")
            for key in (side, f"{side}_head"):
                rows = step.get(key, [])
                if not (isinstance(rows, list) and all(
                        isinstance(r, list) and len(r) == 2
                        and all(isinstance(x, str) for x in r) for r in rows)):
                    problems.append(f"{where}: {key!r} must be a list of [price, size] strings")
    return problems


# ---------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------

def check_step(feed: BookFeed, step: dict[str, Any], got: dict[str, Any],
               before_rejected: int) -> list[str]:
    """Every expectation of one step against the feed; returns the mismatches."""
    errors = []

    def mismatch(what: str, expected: Any, actual: Any) -> None:
        errors.append(f"{what}: expected {expected!r}, got {actual!r}")

    if feed.state != step["state"]:
        mismatch("state", step["state"], feed.state)
    if "snapshot_result" in step and got.get("snapshot_result") != step["snapshot_result"]:
        mismatch("snapshot_result", step["snapshot_result"], got.get("snapshot_result"))
    if "applied" in step and got.get("applied") != step["applied"]:
        mismatch("applied (apply_message return)", step["applied"], got.get("applied"))
    for side in ("bids", "asks"):
        actual = actual_side(feed, side)
        if side in step:
            expected = expected_side(step[side], feed)
            if actual != expected:
                errors.append(f"{side}:\n    expected {show_side(expected, feed)}"
                              f"\n    got      {show_side(actual, feed)}")
        if f"{side}_head" in step:
            expected = expected_side(step[f"{side}_head"], feed)
            if actual[:len(expected)] != expected:
                errors.append(f"{side} (head):\n    expected {show_side(expected, feed)}"
                              f"\n    got      {show_side(actual[:len(expected)], feed)}")
    if "depth" in step:
        depth = [feed.book.bid_depth, feed.book.ask_depth]
        if depth != step["depth"]:
            mismatch("depth [bids, asks]", step["depth"], depth)
    for name in COUNTERS:
        if name in step and getattr(feed, name) != step[name]:
            mismatch(name, step[name], getattr(feed, name))
    if "rejects" in step and feed.rejects != step["rejects"]:
        mismatch("rejects", step["rejects"], feed.rejects)
    if "reject" in step:
        text = got.get("reject_text")
        if text is None:
            errors.append(f"expected a reject containing {step['reject']!r}, "
                          f"but the input was accepted")
        elif step["reject"] not in text:
            mismatch("reject text (substring)", step["reject"], text)
    else:
        if got.get("reject_text") is not None:
            errors.append(f"unexpected reject: {got['reject_text']!r}")
        elif ("rejected" not in step and "rejects" not in step
              and feed.rejected != before_rejected):
            errors.append(f"rejected went {before_rejected} -> {feed.rejected} "
                          f"({feed.rejects}); declare 'reject'/'rejects' if intended")
    if "gap_reason" in step and step["gap_reason"] not in (feed.last_gap_reason or ""):
        mismatch("last_gap_reason (substring)", step["gap_reason"], feed.last_gap_reason)
    return errors


def _textual_rejects(feed: BookFeed) -> int:
    # "before_snapshot" (a Coinbase update while not live) is counted without a text
    return feed.rejected - feed.rejects.get("before_snapshot", 0)


def run_step(feed: BookFeed, kind: str, payload: bytes) -> dict[str, Any]:
    got: dict[str, Any] = {}
    if kind == "snapshot":
        try:
            got["snapshot_result"] = feed.apply_snapshot(payload)
        except DecodeRejected as exc:
            got["snapshot_result"] = "rejected"
            got["reject_text"] = str(exc)
    else:
        before = _textual_rejects(feed)
        got["applied"] = feed.apply_message(payload)
        # strict=False: a rejected payload is counted and described in last_reject
        if _textual_rejects(feed) != before:
            got["reject_text"] = feed.last_reject or ""
    return got


def run_scenario(path: Path) -> None:
    sc = load(path)
    sid = scenario_id(path)
    venue = path.parent.name
    feed = BookFeed(venue, sc["symbol"], sc["tick_size"], sc["step_size"], strict=False)
    failures = []
    for i, step in enumerate(sc["steps"]):
        kind, payload = step_input(step)
        before = feed.rejected
        got = run_step(feed, kind, payload)
        errors = check_step(feed, step, got, before)
        if errors:
            shown = payload if len(payload) <= 300 else payload[:297] + b"..."
            note = f" ({step['note']})" if "note" in step else ""
            failures.append(f"{sid} step {i}{note}: {kind} {shown.decode('utf-8', 'replace')}\n  "
                            + "\n  ".join(errors))
            break   # later steps build on this one; their errors would only be noise
    if failures:
        pytest.fail(f"{sc['description']}\n" + "\n".join(failures), pytrace=False)


# ---------------------------------------------------------------------------------------
# trade scenarios (docs/venues.md, "Trades")
# ---------------------------------------------------------------------------------------

TRADE_TOP_KEYS = {"description", "rule", "symbol", "tick_size", "step_size", "stream",
                  "capacity", "steps"}
TRADE_INPUT_KEYS = {"message", "message_repeat", "backfill"}   # backfill: a REST trade body
TRADE_EXPECT_KEYS = {
    "note", "state", "applied", "trades", "trades_tail", "stream", "missing", "reject",
    "rejects", "gap_reason", "held", "recorded", "overwritten", "duplicates", "gaps",
    "id_jumps", "other_stream", "unknown_symbol", "sequence_gaps", "rejected", "backfilled",
}
TRADE_COUNTERS = ("held", "recorded", "overwritten", "duplicates", "gaps", "id_jumps",
                  "other_stream", "unknown_symbol", "sequence_gaps", "rejected", "stream",
                  "backfilled")
TRADE_ROW_KEYS = {"id", "price", "size", "side"}
TRADE_STATES = ("live", "gap", "closed")
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")


def rfc3339_ns(text: str) -> int:
    """ns since the epoch of a ``YYYY-MM-DDTHH:MM:SS[.frac]Z`` time (corpus rows only)."""
    m = _RFC3339.fullmatch(text)
    if not m:
        raise AssertionError(f"corpus time {text!r} is not YYYY-MM-DDTHH:MM:SS[.f]Z")
    secs = calendar.timegm((*(int(m.group(i)) for i in range(1, 7)), 0, 0, 0))
    return secs * 10**9 + int((m.group(7) or "").ljust(9, "0"))


def validate_trades(path: Path) -> list[str]:
    """Problems with a trade scenario file's shape (empty list: fine)."""
    try:
        sc = load(path)
    except (OSError, ValueError) as exc:
        return [f"not valid JSON: {exc}"]
    problems = []
    if path.parent.name not in VENUES:
        problems.append(f"directory {path.parent.name!r} is not a venue id {VENUES}")
    if unknown := set(sc) - TRADE_TOP_KEYS:
        problems.append(f"unknown top-level keys {sorted(unknown)}")
    for key in ("description", "rule", "symbol", "tick_size", "step_size"):
        if not isinstance(sc.get(key), str) or not sc[key].strip():
            problems.append(f"{key!r} missing or not a non-empty string")
    steps = sc.get("steps")
    if not isinstance(steps, list) or not steps:
        return [*problems, "'steps' missing or empty"]
    for i, step in enumerate(steps):
        where = f"step {i}"
        if not isinstance(step, dict):
            problems.append(f"{where}: not an object")
            continue
        if unknown := set(step) - TRADE_INPUT_KEYS - TRADE_EXPECT_KEYS:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if len(set(step) & TRADE_INPUT_KEYS) != 1:
            problems.append(f"{where}: needs exactly one of {sorted(TRADE_INPUT_KEYS)}")
        if step.get("state") not in TRADE_STATES:
            problems.append(f"{where}: 'state' must be one of {TRADE_STATES}")
        for key in ("trades", "trades_tail"):
            for row in step.get(key, []):
                if not (isinstance(row, dict) and TRADE_ROW_KEYS <= set(row)
                        and len(set(row) & {"time", "ms"}) == 1
                        and set(row) <= TRADE_ROW_KEYS | {"time", "ms"}):
                    problems.append(f"{where}: {key!r} rows need id, price, size, side and "
                                    f"one of time (RFC 3339) / ms: {row!r}")
    return problems


def _expected_trade(row: dict[str, Any], feed: TradeFeed) -> tuple[int, int, int, int, int]:
    t = row["ms"] * 10**6 if "ms" in row else rfc3339_ns(row["time"])
    return (row["id"], to_units(row["price"], feed.price_decimals),
            to_units(row["size"], feed.size_decimals), row["side"], t)


def _held(feed: TradeFeed) -> list[tuple[int, int, int, int, int]]:
    a = feed.trades()
    return list(zip(a["trade_id"].tolist(), a["price"].tolist(), a["size"].tolist(),
                    a["side"].tolist(), a["exchange_ns"].tolist(), strict=True))


def check_trade_step(feed: TradeFeed, step: dict[str, Any], applied: int,
                     reject_text: str | None) -> list[str]:
    errors = []

    def mismatch(what: str, expected: Any, actual: Any) -> None:
        errors.append(f"{what}: expected {expected!r}, got {actual!r}")

    if feed.state != step["state"]:
        mismatch("state", step["state"], feed.state)
    if "applied" in step and applied != step["applied"]:
        mismatch("applied (apply_message return)", step["applied"], applied)
    held = _held(feed)
    if "trades" in step:
        expected = [_expected_trade(r, feed) for r in step["trades"]]
        if held != expected:
            mismatch("trades (id, price, size, side, exchange_ns)", expected, held)
    if "trades_tail" in step:
        expected = [_expected_trade(r, feed) for r in step["trades_tail"]]
        if held[len(held) - len(expected):] != expected:
            mismatch("trades (tail)", expected, held[len(held) - len(expected):])
    for name in TRADE_COUNTERS:
        if name in step and getattr(feed, name) != step[name]:
            mismatch(name, step[name], getattr(feed, name))
    if "missing" in step and feed.missing != [tuple(r) for r in step["missing"]]:
        mismatch("missing", step["missing"], feed.missing)
    if "rejects" in step and feed.rejects != step["rejects"]:
        mismatch("rejects", step["rejects"], feed.rejects)
    if "reject" in step:
        if reject_text is None:
            errors.append(f"expected a reject containing {step['reject']!r}, "
                          f"but the input was accepted")
        elif step["reject"] not in reject_text:
            mismatch("reject text (substring)", step["reject"], reject_text)
    elif reject_text is not None and "rejects" not in step and "rejected" not in step:
        errors.append(f"unexpected reject: {reject_text!r}")
    if "gap_reason" in step and step["gap_reason"] not in (feed.last_gap_reason or ""):
        mismatch("last_gap_reason (substring)", step["gap_reason"], feed.last_gap_reason)
    return errors


def run_trade_scenario(path: Path) -> None:
    sc = load(path)
    sid = scenario_id(path)
    feed = TradeFeed(path.parent.name, sc["symbol"], sc["tick_size"], sc["step_size"],
                     stream=sc.get("stream"), capacity=sc.get("capacity", 65536),
                     strict=False)
    for i, step in enumerate(sc["steps"]):
        if "backfill" in step:          # TradeCore.backfill (docs/venues.md#backfill)
            payload = _payload(step["backfill"])
            try:
                applied, reject_text = feed.backfill(payload), None
            except DecodeRejected as exc:
                applied, reject_text = 0, str(exc)
            errors = check_trade_step(feed, step, applied, reject_text)
            if errors:
                pytest.fail(f"{sc['description']}\n{sid} step {i} (backfill): "
                            + "\n  ".join(errors), pytrace=False)
            continue
        payload = (_payload(step["message"]) if "message" in step
                   else _repeat(step["message_repeat"]))
        before = feed.rejected
        applied = feed.apply_message(payload)
        reject_text = (feed.last_reject or "") if feed.rejected != before else None
        errors = check_trade_step(feed, step, applied, reject_text)
        if errors:
            shown = payload if len(payload) <= 300 else payload[:297] + b"..."
            note = f" ({step['note']})" if "note" in step else ""
            pytest.fail(f"{sc['description']}\n{sid} step {i}{note}: "
                        f"{shown.decode('utf-8', 'replace')}\n  " + "\n  ".join(errors),
                        pytrace=False)


# ---------------------------------------------------------------------------------------
# BBO and ticker scenarios (docs/venues.md, "Best bid/offer" and "Tickers")
# ---------------------------------------------------------------------------------------

QUOTE_TOP_KEYS = {"description", "rule", "symbol", "tick_size", "step_size", "capacity",
                  "steps"}
QUOTE_EXPECT_KEYS = {"note", "applied", "bbo", "ticker", "reject", "rejects", "held", "unmerged",
                     "recorded", "overwritten", "stale", "rejected", "unknown_symbol",
                     "connection_gaps", "off_grid"}
QUOTE_COUNTERS = ("held", "recorded", "overwritten", "stale", "rejected", "unknown_symbol",
                  "connection_gaps", "off_grid", "unmerged")
# expected values: decimal strings (null: the venue gives none) at these scales, or ints
_PRICE_FIELDS = ("bid", "ask", "last_price", "open", "high", "low", "change")
_SIZE_FIELDS = ("bid_size", "ask_size", "last_size")
_BBO_NAMES = {"bid": "bid_price", "ask": "ask_price"}


def quote_scenario_files() -> list[Path]:
    return sorted(p for c in ("bbo_", "ticker_") for p in CORPUS.glob(f"*/{c}*.json"))


def _quote_expected(key: str, value: Any, feed: Any) -> Any:
    if key in ("ms", "time"):
        return value * 10**6 if key == "ms" else rfc3339_ns(value)
    if value is None:
        return -(2**63)                                 # QUOTE_MISSING
    if key in _PRICE_FIELDS:
        neg = value.startswith("-")
        units = to_units(value.lstrip("-"), feed.price_decimals)
        return -units if neg else units
    if key in _SIZE_FIELDS:
        return to_units(value, feed.size_decimals)
    if key in ("volume", "quote_volume"):
        return Decimal(value)
    return value                                        # ids and counts


def _quote_actual(key: str, latest: Any) -> Any:
    if key in ("ms", "time"):
        return latest.exchange_ns
    if key in ("volume", "quote_volume"):
        v = getattr(latest, key)
        return None if v == -(2**63) else Decimal(v).scaleb(-getattr(latest, key + "_decimals"))
    return getattr(latest, _BBO_NAMES.get(key, key))


def run_quote_scenario(path: Path) -> None:
    sc = load(path)
    sid = scenario_id(path)
    assert not set(sc) - QUOTE_TOP_KEYS, f"{sid}: unknown keys {set(sc) - QUOTE_TOP_KEYS}"
    cls = BboFeed if path.name.startswith("bbo_") else TickerFeed
    feed = cls(path.parent.name, sc["symbol"], sc["tick_size"], sc["step_size"],
               capacity=sc.get("capacity", 65536), strict=False)
    for i, step in enumerate(sc["steps"]):
        assert not set(step) - QUOTE_EXPECT_KEYS - {"message"}, f"{sid} step {i}: keys"
        payload = _payload(step["message"])
        before = feed.rejected
        applied = feed.apply_message(payload)
        reject_text = (feed.last_reject or "") if feed.rejected != before else None
        errors = []
        if "applied" in step and applied != step["applied"]:
            errors.append(f"applied: expected {step['applied']}, got {applied}")
        for name in QUOTE_COUNTERS:
            if name in step and getattr(feed, name) != step[name]:
                errors.append(f"{name}: expected {step[name]}, got {getattr(feed, name)}")
        if "rejects" in step and feed.rejects != step["rejects"]:
            errors.append(f"rejects: expected {step['rejects']}, got {feed.rejects}")
        if "reject" in step and step["reject"] not in (reject_text or ""):
            errors.append(f"reject text: expected {step['reject']!r} in {reject_text!r}")
        elif "reject" not in step and reject_text is not None and "rejected" not in step:
            errors.append(f"unexpected reject: {reject_text!r}")
        want = step.get("bbo" if cls is BboFeed else "ticker")
        if want is not None:
            latest = feed.bbo() if cls is BboFeed else feed.ticker()
            for key, value in want.items():
                exp, got = _quote_expected(key, value, feed), _quote_actual(key, latest)
                if exp != got and not (value is None and got is None):
                    errors.append(f"{key}: expected {exp!r}, got {got!r}")
        if errors:
            note = f" ({step['note']})" if "note" in step else ""
            pytest.fail(f"{sc['description']}\n{sid} step {i}{note}: "
                        f"{payload[:300].decode('utf-8', 'replace')}\n  " + "\n  ".join(errors),
                        pytrace=False)


@pytest.mark.parametrize("path", [pytest.param(p, id=scenario_id(p))
                                  for p in quote_scenario_files()])
def test_quote_scenario(path):
    run_quote_scenario(path)


# ---------------------------------------------------------------------------------------
# candle scenarios (docs/venues.md, "Candles")
# ---------------------------------------------------------------------------------------

CANDLE_TOP_KEYS = {"description", "rule", "symbol", "interval", "tick_size", "step_size",
                   "steps"}
CANDLE_EXPECT_KEYS = {"note", "applied", "closed", "current", "reject", "rejects", "updates",
                      "unconfirmed", "stale", "duplicates", "other_interval", "rejected",
                      "sequence_gaps", "unknown_symbol"}
CANDLE_COUNTERS = ("updates", "unconfirmed", "stale", "duplicates", "other_interval",
                   "rejected", "sequence_gaps", "unknown_symbol")
CANDLE_ROW_KEYS = {"open", "high", "low", "close", "volume", "quote_volume", "trades",
                   "closed"}


def candle_scenario_files() -> list[Path]:
    return sorted(CORPUS.glob("*/candles_*.json"))


def _expected_candle(row: dict[str, Any], feed: CandleFeed) -> tuple[int, ...]:
    """(open_ns, open, high, low, close, volume, quote, trades, closed) of a corpus row:
    ``open_ms`` (Binance) or ``open_s`` (Coinbase), decimals as strings, ``quote_volume``
    a string or null (none)."""
    if set(row) - CANDLE_ROW_KEYS - {"open_ms", "open_s"} or len(set(row) & {"open_ms",
                                                                           "open_s"}) != 1:
        raise AssertionError(f"candle row needs {sorted(CANDLE_ROW_KEYS)} and open_ms / "
                             f"open_s: {row!r}")
    t = row["open_ms"] * 10**6 if "open_ms" in row else row["open_s"] * 10**9
    pd, sd = feed.price_decimals, feed.size_decimals
    q = -1 if row["quote_volume"] is None else to_units(row["quote_volume"], pd + sd)
    return (t, *(to_units(row[k], pd) for k in ("open", "high", "low", "close")),
            to_units(row["volume"], sd), q, row["trades"], row["closed"])


def _candle_rows(arr: Any) -> list[tuple[int, ...]]:
    if arr is None:
        return []
    return [(int(r["open_ns"]), int(r["open"]), int(r["high"]), int(r["low"]),
             int(r["close"]), int(r["volume"]), int(quote_volume(r)), int(r["trades"]),
             int(r["closed"])) for r in arr]


def run_candle_scenario(path: Path) -> None:
    sc = load(path)
    if unknown := set(sc) - CANDLE_TOP_KEYS:
        raise AssertionError(f"unknown top-level keys {sorted(unknown)}")
    feed = CandleFeed(path.parent.name, sc["symbol"], sc.get("interval"),
                      tick_size=sc["tick_size"], step_size=sc["step_size"], strict=False)
    for i, step in enumerate(sc["steps"]):
        if unknown := set(step) - CANDLE_EXPECT_KEYS - {"message"}:
            raise AssertionError(f"step {i}: unknown keys {sorted(unknown)}")
        payload = _payload(step["message"])
        before = feed.rejected
        applied = feed.apply_message(payload)
        reject_text = (feed.last_reject or "") if feed.rejected != before else None
        errors = []
        if "applied" in step and applied != step["applied"]:
            errors.append(f"applied: expected {step['applied']}, got {applied}")
        if "closed" in step:
            expected = [_expected_candle(r, feed) for r in step["closed"]]
            if _candle_rows(feed.candles()) != expected:
                errors.append(f"closed candles: expected {expected}, "
                              f"got {_candle_rows(feed.candles())}")
        if "current" in step:
            expected = [] if step["current"] is None else [_expected_candle(step["current"],
                                                                            feed)]
            if _candle_rows(feed.current()) != expected:
                errors.append(f"current: expected {expected}, "
                              f"got {_candle_rows(feed.current())}")
        counters = feed.counters()
        for name in CANDLE_COUNTERS:
            got = feed.rejected if name == "rejected" else counters[name]
            if name in step and got != step[name]:
                errors.append(f"{name}: expected {step[name]}, got {got}")
        if "rejects" in step and feed.rejects != step["rejects"]:
            errors.append(f"rejects: expected {step['rejects']}, got {feed.rejects}")
        if "reject" in step:
            if reject_text is None or step["reject"] not in reject_text:
                errors.append(f"reject text: expected {step['reject']!r}, got {reject_text!r}")
        elif reject_text is not None and "rejected" not in step and "rejects" not in step:
            errors.append(f"unexpected reject: {reject_text!r}")
        if errors:
            note = f" ({step['note']})" if "note" in step else ""
            pytest.fail(f"{sc['description']}\n{scenario_id(path)} step {i}{note}: "
                        f"{payload.decode('utf-8', 'replace')[:300]}\n  "
                        + "\n  ".join(errors), pytrace=False)


@pytest.mark.parametrize("path", [pytest.param(p, id=scenario_id(p))
                                  for p in candle_scenario_files()])
def test_candle_scenario(path):
    run_candle_scenario(path)


# ---------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------

def test_corpus_has_every_venue():
    for venue in VENUES:
        files = [p for p in (CORPUS / venue).glob("*.json")
                 if not p.name.startswith(OTHER_CHANNELS)]
        # bybit-linear shares bybit's decoder and rule: its corpus holds the market's own shapes
        assert len(files) >= (3 if venue == "bybit-linear" else 8), f"{venue}: only {len(files)} scenarios"
        if venue in BOOK_ONLY:
            continue
        trades = list((CORPUS / venue).glob("trades_*.json"))
        assert len(trades) >= 3, f"{venue}: only {len(trades)} trade scenarios"
        for channel in ("bbo", "ticker") if venue not in NO_QUOTES else ():
            assert list((CORPUS / venue).glob(f"{channel}_*.json")), f"{venue}: no {channel}"
    assert (CORPUS / "README.md").is_file()


@pytest.mark.parametrize("path", [pytest.param(p, id=scenario_id(p))
                                  for p in trade_scenario_files()])
def test_trade_scenario(path):
    problems = validate_trades(path)
    assert not problems, f"{scenario_id(path)}: malformed scenario:\n  " + "\n  ".join(problems)
    run_trade_scenario(path)


@pytest.mark.parametrize("path", [pytest.param(p, id=scenario_id(p)) for p in scenario_files()])
def test_scenario_file_is_well_formed(path):
    problems = validate(path)
    assert not problems, f"{scenario_id(path)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", _params())
def test_scenario(path):
    problems = validate(path)
    assert not problems, f"{scenario_id(path)}: malformed scenario:\n  " + "\n  ".join(problems)
    run_scenario(path)
