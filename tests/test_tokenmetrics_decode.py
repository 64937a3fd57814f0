"""Token Metrics price messages: exact numbers from their text, key handling (no sockets)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fastfeed.reference.decimal import INT64_MAX
from fastfeed.sim.tokenmetrics import number_text, price_message
from fastfeed.tokenmetrics import (
    ENV_VARS,
    MissingApiKey,
    PriceDecodeError,
    PriceStream,
    TokenMetrics,
    decode_price,
    redact,
    resolve_api_key,
    subscribe_message,
)

DOC_EXAMPLE = (b'{"timestamp":"2025-06-24 15:41:02","event_timestamp":"2025-06-24 15:41:02",'
               b'"arrival_timestamp":"2025-06-24 15:41:02","epoch":1750779662052,"token_address":null,'
               b'"token_name":"Bitcoin","token_symbol":"BTC","token_id":3375,"cg_id":"bitcoin",'
               b'"instrument":"BTC","exchange":"gate","exchange_rank":13,"exchange_type":"cex",'
               b'"amount":null,"amount_in_usd":null,"price":105376.15,"price_in_usd":105376.15,'
               b'"price_against_side_currency":105376.15,"volume":976826225.67417,"side_amount":null,'
               b'"transaction_type":null,"isBid":false,"sequence":0,"maker_address":null,'
               b'"signature":null,"last_5s_messages":[]}')


def test_documented_example_is_exact() -> None:
    u = decode_price(DOC_EXAMPLE)
    assert (u.token, u.symbol, u.token_id, u.exchange, u.epoch_ms) == ("bitcoin", "BTC", 3375, "gate",
                                                                       1750779662052)
    assert (u.price_mantissa, u.price_decimals) == (10537615, 2)
    assert (u.volume_mantissa, u.volume_decimals) == (97682622567417, 5)
    assert u.price == Decimal("105376.15") and u.volume == Decimal("976826225.67417")


def _with(price: str, volume: str = "null") -> bytes:
    return DOC_EXAMPLE.replace(b'"price":105376.15', b'"price":' + price.encode()).replace(
        b'"volume":976826225.67417', b'"volume":' + volume.encode())


@pytest.mark.parametrize(("text", "expected"), [
    ("5.1e-05", (51, 6)), ("5.1E-05", (51, 6)), ("1e3", (1000, 0)), ("1E+3", (1000, 0)),
    ("0.10000000000000002", (10000000000000002, 17)), ("7", (7, 0)), ("0", (0, 0)),
    ("105376.150", (105376150, 3)), ("1.234567e-05", (1234567, 11)),
])
def test_number_forms(text: str, expected: tuple[int, int]) -> None:
    u = decode_price(_with(text))
    assert (u.price_mantissa, u.price_decimals) == expected
    assert u.price == Decimal(text)
    assert u.volume is None


@pytest.mark.parametrize(("payload", "reason"), [
    (_with('"105376.15"'), "price: expected a JSON number"),
    (_with("-1.5"), "price: negative"),
    (_with("1e-99"), "price: exponent out of range"),
    (_with("1e99"), "price: exponent out of range"),
    (_with("NaN"), "non-finite"),
    (_with("Infinity"), "non-finite"),
    (_with(str(INT64_MAX + 1)), "price: mantissa beyond int64"),
    (_with("true"), "price: expected a JSON number"),
    (_with("1", '"x"'), "volume: expected a JSON number"),
    (DOC_EXAMPLE.replace(b'"exchange":"gate"', b'"exchange":null'), "exchange"),
    (DOC_EXAMPLE.replace(b'"epoch":1750779662052', b'"epoch":"1750779662052"'), "epoch"),
    (DOC_EXAMPLE.replace(b'"cg_id":"bitcoin"', b'"cg_id":3'), "cg_id"),
    (DOC_EXAMPLE.replace(b'"price":105376.15,', b''), "price: missing"),
    (b"[1]", "expected a JSON object"),
    (b"{not json", "not JSON"),
])
def test_rejects_name_the_field(payload: bytes, reason: str) -> None:
    with pytest.raises(PriceDecodeError, match=reason):
        decode_price(payload)


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, 10**18), st.integers(0, 18), st.sampled_from(["plain", "exponent", "integer"]),
       st.integers(0, 10**15))
@example(51, 6, "exponent", 0)
@example(0, 3, "exponent", 1)
def test_property_rendered_text_decodes_to_the_same_value(mantissa: int, decimals: int, style: str,
                                                          volume: int) -> None:
    """The simulator's renderer and the decoder agree exactly, for every print style (an
    integer style is only possible without decimals)."""
    if style == "integer":
        decimals = 0
    text = number_text(mantissa, decimals, style)
    u = decode_price(price_message("bitcoin", "gate", 1, text, number_text(volume, 5, "plain")))
    # exact rational equality: m1 * 10^d2 == m2 * 10^d1, no float anywhere
    assert u.price_mantissa * 10**decimals == mantissa * 10**u.price_decimals
    assert u.volume_mantissa is not None
    assert u.volume_mantissa * 10**5 == volume * 10**u.volume_decimals
    assert u.price == Decimal(text)


def test_subscribe_message_is_the_documented_body() -> None:
    assert subscribe_message(["bitcoin", "ethereum"]) == '{"is_append":0,"tokens":["bitcoin","ethereum"]}'
    assert subscribe_message(["solana"], append=True) == '{"is_append":1,"tokens":["solana"]}'


def test_key_resolution_order_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for v in ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(MissingApiKey, match="FASTFEED_TOKENMETRICS_API_KEY or TOKENMETRICS_API_KEY"):
        resolve_api_key()
    with pytest.raises(MissingApiKey):
        PriceStream(["bitcoin"])          # before any connection: no loop needed
    with pytest.raises(MissingApiKey):
        TokenMetrics()
    monkeypatch.setenv("TOKENMETRICS_API_KEY", "second")
    assert resolve_api_key() == "second"
    monkeypatch.setenv("FASTFEED_TOKENMETRICS_API_KEY", "first")
    assert resolve_api_key() == "first"
    assert resolve_api_key("explicit") == "explicit"
    with pytest.raises(MissingApiKey, match="control character"):
        resolve_api_key("a\r\nX-Evil: 1")


def test_key_never_in_repr_or_stats() -> None:
    key = "sk-SECRET-123"
    s = PriceStream(["bitcoin"], api_key=key, url=f"wss://user:{key}@h/")
    assert key not in repr(s) and key not in str(s.stats())
    assert key not in repr(TokenMetrics(api_key=key))
    assert redact(f"x {key} y", key) == "x *** y"
