"""Candle cores (docs/venues.md, "Candles"): LocalCandles vs the pure-Python builder,
CandleFeed vs the reference stream, closing rules, late trades, empty intervals, exact
128-bit quote volumes and the local/venue cross-check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastfeed
import fastfeed.venues
from fastfeed import DecodeRejected
from fastfeed.candles import CandleFeed, LocalCandles, cross_check, parse_interval, quote_volume
from fastfeed.reference.candles import CandleStream, LocalCandleBuilder
from fastfeed.trades import TRADE_DTYPE

MIN = 60 * 10**9
_KEYS = ("open_ns", "close_ns", "open", "high", "low", "close", "volume", "trades",
         "first_id", "last_id", "updates", "closed")


def as_dicts(arr: np.ndarray | None) -> list[dict[str, int]]:
    if arr is None:
        return []
    out = []
    for r in arr:
        d = {k: int(r[k]) for k in _KEYS}
        d["quote_volume"] = int(quote_volume(r))
        out.append(d)
    return out


def ref_dicts(cs: list[dict[str, Any]]) -> list[dict[str, int]]:
    return [{k: c[k] for k in (*_KEYS, "quote_volume")} for c in cs]


def trades_array(rows: list[tuple[int, int, int, int]]) -> np.ndarray:
    arr = np.zeros(len(rows), dtype=TRADE_DTYPE)
    for i, (t, price, size, tid) in enumerate(rows):
        arr[i]["exchange_ns"], arr[i]["price"], arr[i]["size"], arr[i]["trade_id"] = (
            t, price, size, tid)
    return arr


# ---------------------------------------------------------------------------------------
# local candles
# ---------------------------------------------------------------------------------------

def test_local_candles_by_exchange_time() -> None:
    lc = LocalCandles("1m", 2, 3)
    n = lc.add_trades(trades_array([
        (MIN + 1, 500, 1000, 1), (MIN + 5, 700, 2000, 2), (MIN + 3, 300, 1, 3),  # arrived last
        (2 * MIN, 400, 4, 4), (5 * MIN + 7, 900, 5, 5),
    ]))
    assert n == 5
    c = as_dicts(lc.candles())
    assert [x["open_ns"] for x in c] == [MIN, 2 * MIN]
    # open/close by exchange time: the trade at MIN+3 arrived last but is not the close
    assert c[0] == {"open_ns": MIN, "close_ns": 2 * MIN, "open": 500, "high": 700,
                         "low": 300, "close": 700, "volume": 3001, "trades": 3,
                         "first_id": 1, "last_id": 3, "updates": 3, "closed": 1,
                         "quote_volume": 500 * 1000 + 700 * 2000 + 300}
    assert lc.out_of_order == 1 and lc.late == 0
    (cur,) = as_dicts(lc.current())
    assert cur["open_ns"] == 5 * MIN and cur["closed"] == 0
    assert lc.quote_decimals == 5


def test_late_trades_are_dropped_and_counted() -> None:
    lc = LocalCandles(MIN, 0, 0)
    lc.add_trades(trades_array([(MIN, 1, 1, 1), (2 * MIN, 2, 1, 2), (MIN + 9, 3, 1, 3)]))
    assert lc.late == 1 and lc.out_of_order == 1
    assert as_dicts(lc.candles())[0]["trades"] == 1


def test_empty_intervals() -> None:
    rows = [(MIN, 10, 1, 1), (4 * MIN, 20, 1, 2)]
    plain = LocalCandles("1m", 0, 0)
    plain.add_trades(trades_array(rows))
    assert [c["open_ns"] for c in as_dicts(plain.candles())] == [MIN]
    filled = LocalCandles("1m", 0, 0, fill_empty=True)
    filled.add_trades(trades_array(rows))
    got = as_dicts(filled.candles())
    assert [c["open_ns"] for c in got] == [MIN, 2 * MIN, 3 * MIN]
    assert got[1] == {"open_ns": 2 * MIN, "close_ns": 3 * MIN, "open": 10, "high": 10,
                           "low": 10, "close": 10, "volume": 0, "trades": 0, "first_id": -1,
                           "last_id": -1, "updates": 0, "closed": 1, "quote_volume": 0}
    assert filled.empty_filled == 2


def test_advance_closes_the_open_candle() -> None:
    lc = LocalCandles("1s", 0, 0)
    lc.add_trade(10**9 + 5, 7, 1)
    assert lc.advance(10**9 + 999_999_999) == 0
    assert lc.advance(2 * 10**9) == 1
    assert lc.current() is None and as_dicts(lc.candles())[0]["close"] == 7


def test_quote_volume_is_exact_beyond_int64_and_overflow_is_flagged() -> None:
    lc = LocalCandles("1h", 8, 8)
    big = 9 * 10**18
    lc.add_trades(trades_array([(0, big, big, 1), (1, big, big, 2)]))
    (cur,) = as_dicts(lc.current())
    assert cur["quote_volume"] == 2 * big * big           # 1.6e38: needs 128 bits
    assert cur["volume"] == -1 and lc.overflows == 1      # 1.8e19 lots: beyond int64
    lc.add_trade(2, big, big)
    (cur,) = as_dicts(lc.current())
    assert cur["quote_volume"] == -1 and lc.overflows == 2   # beyond 2**127


def test_intervals() -> None:
    assert parse_interval("1s") == (10**9, 0)
    assert parse_interval("15m") == (15 * MIN, 0)
    assert parse_interval("4h") == (4 * 60 * MIN, 0)
    assert parse_interval("1d") == (24 * 60 * MIN, 0)
    week, offset = parse_interval("1w")
    assert week == 7 * 86400 * 10**9 and offset == 4 * 86400 * 10**9   # Mondays
    assert parse_interval(250) == (250, 0)
    for bad in ("3d", "1M", "0m", "m", "1y", 0, -5, 1.5):
        with pytest.raises((ValueError, TypeError)):
            parse_interval(bad)
    lc = LocalCandles("1w", 0, 0)
    monday = 1672617600 * 10**9         # 2023-01-02 00:00 UTC, a Monday
    lc.add_trade(monday - 1, 1, 1)
    lc.add_trade(monday, 2, 1)
    assert int(lc.candles()[0]["close_ns"]) == monday


def test_add_trades_checks_its_input() -> None:
    lc = LocalCandles("1m", 0, 0)
    with pytest.raises(TypeError, match="TRADE_DTYPE"):
        lc.add_trades(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="negative"):
        lc.add_trades(trades_array([(0, -1, 1, 1)]))


@st.composite
def trade_runs(draw: st.DrawFn) -> tuple[int, bool, int, list[tuple[int, int, int, int]]]:
    ival = draw(st.sampled_from([1, 7, 10, 60]))
    fill = draw(st.booleans())
    cap = draw(st.sampled_from([1, 2, 5, 100]))
    rows = []
    t = draw(st.integers(0, 50))
    for i in range(draw(st.integers(0, 60))):
        t = max(0, t + draw(st.integers(-15, 25)))
        rows.append((t, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)),
                     draw(st.sampled_from([-1, i]))))
    return ival, fill, cap, rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trade_runs())
def test_local_candles_match_reference(case: tuple[int, bool, int, list]) -> None:
    ival, fill, cap, rows = case
    lc = LocalCandles(ival, 2, 2, capacity=cap, fill_empty=fill)
    ref = LocalCandleBuilder(ival, capacity=cap, fill_empty=fill)
    lc.add_trades(trades_array(rows))
    for t, price, size, tid in rows:
        ref.add(t, price, size, tid)
    assert as_dicts(lc.candles()) == ref_dicts(ref.closed)
    assert as_dicts(lc.current()) == ref_dicts([ref.cur] if ref.cur else [])
    assert (lc.late, lc.out_of_order, lc.added, lc.empty_filled) == (
        ref.late, ref.out_of_order, ref.added, ref.empty_filled)


# ---------------------------------------------------------------------------------------
# venue candles
# ---------------------------------------------------------------------------------------

def kline(t_ms: int, closed: bool, close: str = "100.50", interval: str = "1m",
          symbol: str = "BTCUSDT", n: int = 3, span_ms: int = 60_000) -> bytes:
    return json.dumps({"e": "kline", "E": t_ms + 5, "s": symbol, "k": {
        "t": t_ms, "T": t_ms + span_ms - 1, "s": symbol, "i": interval, "f": 1, "L": 3,
        "o": "100.00", "c": close, "h": "101.00", "l": "99.00", "v": "1.50000", "n": n,
        "x": closed, "q": "150.75", "V": "1", "Q": "1", "B": "0"}}).encode()


def at_candle(start_s: int, close: str, seq: int, product: str = "ETH-USD") -> bytes:
    return json.dumps({"channel": "candles", "client_id": "",
                       "timestamp": "2023-06-09T20:19:35Z", "sequence_num": seq,
                       "events": [{"type": "update", "candles": [{
                           "start": str(start_s), "high": "2.00", "low": "1.00",
                           "open": "1.50", "close": close, "volume": "3",
                           "product_id": product}]}]}).encode()


def feed(venue: str = "binance", interval: str | None = "1m", **kw: Any) -> CandleFeed:
    return fastfeed.CandleFeed(venue, "BTCUSDT" if venue.startswith("binance") else "ETH-USD",
                               interval, tick_size="0.01", step_size="0.00001", **kw)


def test_binance_open_candle_updates_in_place_and_closes_on_x() -> None:
    f = feed()
    assert f.apply_message(kline(60_000, False, "100.10")) == 1
    assert f.apply_message(kline(60_000, False, "100.20")) == 1
    assert len(f.candles()) == 0
    (cur,) = as_dicts(f.current())
    assert cur["close"] == 10020 * 10**6 and cur["updates"] == 2 and cur["closed"] == 0
    f.apply_message(kline(60_000, True, "100.30"))
    (c,) = as_dicts(f.candles())
    assert c["closed"] == 1 and c["close"] == 10030 * 10**6 and c["updates"] == 3
    assert c["quote_volume"] == 15075 * 10**14 and f.quote_decimals == 16
    assert f.current() is None
    f.apply_message(kline(60_000, True))            # the final update again
    f.apply_message(kline(0, False))                # an older bucket
    assert (f.duplicates, f.stale) == (1, 1)


def test_binance_missed_final_update_is_unconfirmed() -> None:
    f = feed()
    f.apply_message(kline(60_000, False))
    f.apply_message(kline(120_000, False))
    (c,) = as_dicts(f.candles())
    assert c["open_ns"] == MIN and c["closed"] == 0 and f.unconfirmed == 1


def test_other_interval_and_symbol_are_counted() -> None:
    f = feed()
    assert f.apply_message(kline(0, False, interval="5m", span_ms=300_000)) == 0
    assert f.apply_message(kline(0, False, symbol="ETHUSDT")) == 0
    assert (f.other_interval, f.counters()["unknown_symbol"]) == (1, 1)


def test_rejects_strict_and_counted() -> None:
    f = feed()
    with pytest.raises(DecodeRejected, match="high"):
        f.apply_message(kline(0, False).replace(b'"101.00"', b'"1e2"'))
    lax = feed(strict=False)
    assert lax.apply_message(kline(0, False).replace(b'"101.00"', b'"1e2"')) == 0
    assert lax.apply_message(b'{"e":"kline"') == 0
    assert lax.rejects == {"bad_decimal": 1, "truncated": 1} and lax.current() is None


def test_coinbase_later_start_closes_and_sequence_gap_unconfirms() -> None:
    f = feed("coinbase", None)
    assert f.interval == "5m"
    f.apply_message(at_candle(300, "1.60", 1))
    f.apply_message(at_candle(300, "1.70", 2))
    f.apply_message(at_candle(600, "1.80", 3))
    (c,) = as_dicts(f.candles())
    assert (c["open_ns"], c["close_ns"], c["close"], c["closed"]) == (
        300 * 10**9, 600 * 10**9, 170, 1)
    f.apply_message(at_candle(600, "1.90", 5))      # sequence_num 4 lost
    f.apply_message(at_candle(900, "2.00", 6))
    # the gap was before the last update of 600: that update still arrived, so 600 is
    # confirmed by the next bucket
    assert as_dicts(f.candles())[-1]["closed"] == 1
    f.apply_message(at_candle(900, "2.00", 8))      # 7 lost, after 900's last update
    f.reset_connection()
    assert f.counters()["sequence_gaps"] == 2
    with pytest.raises(ValueError, match="no '1m' candles"):
        feed("coinbase", "1m")
    with pytest.raises(ValueError, match="no venue candles"):
        fastfeed.CandleFeed("coinbase-exchange", "BTC-USD", "5m", tick_size="0.01",
                            step_size="0.01")


def test_coinbase_gap_after_last_update_leaves_bucket_unconfirmed() -> None:
    f = feed("coinbase", None)
    f.apply_message(at_candle(300, "1.60", 1))
    f.apply_message(at_candle(600, "1.80", 3))      # 2 lost: 300's last updates?
    (c,) = as_dicts(f.candles())
    assert c["closed"] == 0 and f.unconfirmed == 1


@st.composite
def kline_runs(draw: st.DrawFn) -> list[bytes]:
    out = []
    for _ in range(draw(st.integers(0, 30))):
        t = draw(st.integers(0, 6)) * 60_000
        out.append(kline(t, draw(st.booleans()),
                         close=draw(st.sampled_from(["100.10", "100.20", "99.5", "1e2"])),
                         interval=draw(st.sampled_from(["1m", "1m", "1m", "5m"]))))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kline_runs(), st.sampled_from([1, 3, 100]))
def test_candle_feed_matches_reference(payloads: list[bytes], cap: int) -> None:
    f = feed(capacity=cap, strict=False)
    ref = CandleStream("binance", "BTCUSDT", "1m", f.price_decimals, f.size_decimals,
                       capacity=cap)
    for p in payloads:
        assert f.apply_message(p) == ref.apply_message(p)
    assert as_dicts(f.candles()) == ref_dicts(ref.closed)
    assert as_dicts(f.current()) == ref_dicts([ref.cur] if ref.cur else [])
    got = f.counters()
    for k in ("updates", "unconfirmed", "stale", "duplicates", "other_interval"):
        assert got[k] == ref.counters[k], k
    assert f.rejected == ref.counters["rejected"]


# ---------------------------------------------------------------------------------------
# cross-check
# ---------------------------------------------------------------------------------------

def _venue_klines_from(builder: LocalCandleBuilder) -> list[bytes]:
    out = []
    for c in builder.closed:
        t_ms = c["open_ns"] // 10**6
        k = json.loads(kline(t_ms, True))
        fmt = lambda v, d: f"{v // 10**d}.{v % 10**d:0{d}d}"  # noqa: E731
        k["k"].update({"o": fmt(c["open"], 8), "h": fmt(c["high"], 8), "l": fmt(c["low"], 8),
                       "c": fmt(c["close"], 8), "v": fmt(c["volume"], 8), "n": c["trades"],
                       "q": fmt(c["quote_volume"], 16)})
        out.append(json.dumps(k).encode())
    return out


def test_cross_check_equal_and_different() -> None:
    rng = np.random.default_rng(7)
    rows = [(int(t), int(rng.integers(10**9, 2 * 10**9)), int(rng.integers(1, 10**8)), i)
            for i, t in enumerate(sorted(rng.integers(0, 10 * MIN, 500)))]
    f = feed()
    local = LocalCandles.for_feed(f, "1m")
    local.add_trades(trades_array(rows))
    local.advance(10 * MIN)
    ref = LocalCandleBuilder(MIN)
    for r in rows:
        ref.add(*r)
    ref.advance(10 * MIN)
    for p in _venue_klines_from(ref):
        f.apply_message(p)
    out = cross_check(local, f, fields=("open", "high", "low", "close", "volume",
                                        "quote_volume", "trades"))
    assert out["compared"] == out["equal"] == 10 and out["mismatches"] == []
    # one venue candle off by one tick in its high, one missing
    payloads = _venue_klines_from(ref)
    bad = json.loads(payloads[3])
    bad["k"]["h"] = f"{int(bad['k']['h'].split('.')[0]) + 1}.{bad['k']['h'].split('.')[1]}"
    f2 = feed()
    for p in [*payloads[:3], json.dumps(bad).encode(), *payloads[5:]]:
        f2.apply_message(p)
    out = cross_check(local, f2)
    assert out["compared"] == 9 and out["equal"] == 8
    (m,) = out["mismatches"]
    assert m["field"] == "high" and m["venue"] - m["local"] == 10**8
    assert out["only_local"] == [4 * MIN]
    with pytest.raises(ValueError, match="unknown candle field"):
        cross_check(local, f, fields=("colour",))
    with pytest.raises(ValueError, match="price_decimals"):
        cross_check(LocalCandles("1m", 2, 8), f)


@pytest.mark.parametrize("venue", sorted(fastfeed.venues.VENUES))
def test_every_venue_describes_its_candles(venue: str) -> None:
    spec = fastfeed.venues.get_venue(venue)
    if spec.candle_decoder is None:
        assert spec.candle_intervals == ()
        return
    symbol = spec.symbol_example
    for interval in spec.candle_intervals:
        f = CandleFeed(venue, symbol, interval, tick_size="0.01", step_size="0.001")
        assert f.interval == interval and f.state == "live"
    assert list((Path(__file__).parent / "corpus" / venue).glob("candles_*.json")), \
        "no candle corpus"


def test_attached_to_a_trade_feed_equals_offline() -> None:
    from benches.trades import binance_agg_trade
    tf = fastfeed.TradeFeed("binance-usdm", "BTCUSDT", "0.10", "0.001")
    live = LocalCandles.for_feed(tf, "1s")
    live.attach(tf)
    payloads = [binance_agg_trade(i * 37) for i in range(400)]   # T spread over ~15 s
    assert sum(tf.apply_message(p) for p in payloads) == 400
    offline = LocalCandles.for_feed(tf, "1s")
    offline.add_trades(tf.trades())
    assert live.added == 400 and len(live.candles()) > 5
    assert as_dicts(live.candles()) == as_dicts(offline.candles())
    assert as_dicts(live.current()) == as_dicts(offline.current())
    LocalCandles.detach(tf)
    tf.apply_message(binance_agg_trade(400 * 37))
    assert live.added == 400
    with pytest.raises(ValueError, match="scales differ"):
        LocalCandles("1s", 2, 2).attach(tf)
