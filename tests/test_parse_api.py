"""The compiled decoders' registry and error vocabulary (fastfeed._parse)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fastfeed import _parse
from fastfeed.venues import VENUES

SPOT = (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,'
        b'"b":[["1.00","2.0"]],"a":[]}')


def test_decoders_are_the_ones_venues_name() -> None:
    assert _parse.DECODERS == ("binance-depth", "binance-snapshot", "coinbase-at",
                               "coinbase-exchange", "binance-trades", "coinbase-at-trades",
                               "coinbase-exchange-trades", "binance-bbo", "binance-ticker",
                               "coinbase-at-bbo", "coinbase-at-ticker",
                               "coinbase-exchange-bbo", "coinbase-exchange-ticker",
                               "binance-candles", "coinbase-at-candles",
                               "binance-stream", "coinbase-at-stream",
                               "coinbase-exchange-stream", "binance-rest-aggtrades",
                               "coinbase-exchange-rest-trades", "bybit", "bybit-trades",
                               "bybit-stream", "kraken", "okx", "okx-trades",
                               "kraken-trades", "kraken-ticker", "kraken-bbo",
                               "kraken-stream", "okx-ticker", "okx-bbo", "okx-candles",
                               "okx-stream",
                               "bybit-ticker", "bybit-bbo",
                               "kraken-candles", "bybit-candles")
    named = {v.decoder for v in VENUES.values()}
    named |= {v.stream_decoder for v in VENUES.values() if v.stream_decoder}
    named |= {d for v in VENUES.values() for d in (v.bbo_decoder, v.ticker_decoder) if d}
    named |= {v.snapshot_decoder for v in VENUES.values() if v.snapshot_decoder}
    named |= {v.trade_decoder for v in VENUES.values() if v.trade_decoder}
    named |= {v.candle_decoder for v in VENUES.values() if v.candle_decoder}
    named |= {v.backfill_decoder for v in VENUES.values() if v.backfill_decoder}
    assert named == set(_parse.DECODERS)


def test_decode_message_follows_the_venue_description(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _parse.decode_message("binance", SPOT, 2, 1)["last_id"] == 2
    monkeypatch.setattr(VENUES["binance"], "decoder", "nope")
    with pytest.raises(ValueError, match=r"^unknown decoder 'nope' \(known: binance-depth, "
                                         r"binance-snapshot, coinbase-at, coinbase-exchange, "
                                         r"binance-trades, coinbase-at-trades, "
                                         r"coinbase-exchange-trades, binance-bbo, "
                                         r"binance-ticker, coinbase-at-bbo, "
                                         r"coinbase-at-ticker, coinbase-exchange-bbo, "
                                         r"coinbase-exchange-ticker, binance-candles, "
                                         r"coinbase-at-candles, binance-stream, "
                                         r"coinbase-at-stream, coinbase-exchange-stream, "
                                         r"binance-rest-aggtrades, "
                                         r"coinbase-exchange-rest-trades, bybit, bybit-trades, "
                                         r"bybit-stream, kraken, okx, okx-trades, "
                                         r"kraken-trades, kraken-ticker, kraken-bbo, "
                                         r"kraken-stream, okx-ticker, okx-bbo, okx-candles, "
                                         r"okx-stream, bybit-ticker, bybit-bbo, "
                                         r"kraken-candles, bybit-candles\)$"):
        _parse.decode_message("binance", SPOT, 2, 1)


def test_unknown_venue_and_in_band_snapshots() -> None:
    with pytest.raises(ValueError, match=r"^unknown venue 'nope' \(expected binance, "
                                         r"binance-usdm, bybit, bybit-linear, coinbase, "
                                         r"coinbase-exchange, kraken or okx\)$"):
        _parse.decode_message("nope", SPOT, 2, 1)
    for venue in ("coinbase", "coinbase-exchange"):
        with pytest.raises(ValueError, match="no snapshot decoder"):
            _parse.decode_message(venue, b"{}", 2, 1, snapshot=True)


# ---------------------------------------------------------------------------------------
# One error vocabulary: every enum member in _types.pxd has a name and a message
# ---------------------------------------------------------------------------------------

def _enum_members(enum: str) -> dict[str, int]:
    """``NAME = value`` members of ``cdef enum <enum>`` in _types.pxd, as written."""
    text = (Path(_parse.__file__).parent / "_types.pxd").read_text()
    block = re.search(rf"^cdef enum {enum}:\n((?:[ \t]+.*\n|\n)+?)(?=\S|\Z)", text, re.M)
    assert block is not None, f"cdef enum {enum} not found in _types.pxd"
    members = re.findall(r"^[ \t]+([A-Z][A-Z0-9_]*)\s*=\s*(\d+)", block.group(1), re.M)
    return {name: int(value) for name, value in members}


def test_every_reject_reason_has_a_name_and_a_message() -> None:
    decode = _enum_members("DecodeError")
    reject = _enum_members("RejectReason")
    bounds = {k: reject.pop(k) for k in ("REJECT_N_DECODE_CODES", "REJECT_N_REASONS")}
    assert bounds == _parse.REJECT_LIMITS       # the compiled values are the written ones
    del decode["DEC_OK"]
    codes = set(decode.values()) | set(reject.values())
    assert len(codes) == len(decode) + len(reject), "two reasons share a code"
    assert all(0 < c < bounds["REJECT_N_DECODE_CODES"] for c in decode.values())
    assert all(bounds["REJECT_N_DECODE_CODES"] <= c < bounds["REJECT_N_REASONS"]
               for c in reject.values())
    # every code of the counter space is a member with an entry, or neither
    for code in range(bounds["REJECT_N_REASONS"]):
        assert (code in codes) == (code in _parse.REJECT_REASONS), code
    for code in codes:
        assert _parse.reason_name(code) == _parse.REJECT_REASONS[code]
        assert not _parse.reason_message(code).startswith("decode error"), code
    assert tuple(_parse.REJECT_REASONS.values()) == (
        "malformed_json", "missing_field", "wrong_type", "bad_decimal", "too_many_levels",
        "unknown_message", "bad_side", "truncated", "bad_timestamp", "overflow",
        "escaped_string", "bad_utf8", "misplaced_field", "id_order",    # issue 17
        "buffer_overflow", "venue_error", "before_snapshot")


def test_every_decimal_error_has_a_name_and_a_message() -> None:
    members = _enum_members("DecimalError")
    assert members.pop("DECIMAL_OK") == 0
    assert set(members.values()) == set(_parse.DECIMAL_ERRORS)
    for code in members.values():
        assert _parse.decimal_error_name(code) == _parse.DECIMAL_ERRORS[code]
        assert "decimal error" not in _parse.decimal_error_message(code, "1.5", 2), code
    # no off_tick: a value off the tick/step grid is kept and counted (issue 10)
    assert tuple(_parse.DECIMAL_ERRORS.values()) == (
        "empty", "sign", "non_digit", "too_precise", "overflow", "exponent")


def test_messages_come_from_the_table() -> None:
    codes = _enum_members("DecodeError")
    assert (_parse.decode_error_message(codes["DEC_MALFORMED_JSON"], 17)
            == "malformed JSON at byte 17")
    assert _parse.reason_message(codes["DEC_TRUNCATED"]) == "truncated JSON"
    assert _parse.reason_name(99) == "reason_99"
