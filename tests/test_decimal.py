"""Exact decimals: the compiled parser/formatter against Python's Decimal."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fastfeed import _benchkit, _parse
from fastfeed.feed import instrument_scales
from fastfeed.reference import decimal as ref

INT64_MAX = 2**63 - 1

digits = st.text(alphabet="0123456789", min_size=1, max_size=24)


def decimal_text(int_part: str, frac: str | None) -> str:
    return int_part if frac is None else f"{int_part}.{frac}"


def c_code(text: str | bytes, decimals: int) -> tuple[int, int | None]:
    try:
        return 0, _parse.parse_decimal_py(text, decimals)
    except ValueError as exc:
        return -1, str(exc)  # type: ignore[return-value]


@settings(max_examples=2000, deadline=None)
@given(
    int_part=digits,
    frac=st.none() | st.text(alphabet="0123456789", min_size=1, max_size=24),
    zeros=st.integers(0, 12),
    decimals=st.integers(0, 18),
)
@example(int_part="9223372036854775807", frac=None, zeros=0, decimals=0)
@example(int_part="9223372036854775808", frac=None, zeros=0, decimals=0)
@example(int_part="92233720368", frac="54775807", zeros=3, decimals=8)
@example(int_part="92233720368", frac="54775808", zeros=0, decimals=8)
@example(int_part="0000000000000000000000001", frac="5", zeros=0, decimals=18)
@example(int_part="9", frac="223372036854775807", zeros=0, decimals=18)
@example(int_part="9", frac="223372036854775808", zeros=0, decimals=18)
@example(int_part="10", frac=None, zeros=0, decimals=18)
@example(int_part="18446744073709551616", frac=None, zeros=0, decimals=0)
def test_parse_matches_decimal(int_part: str, frac: str | None, zeros: int, decimals: int) -> None:
    """Valid syntax: value equals Decimal's, or the precise/overflow error is right."""
    if frac is not None:
        frac += "0" * zeros
    text = decimal_text(int_part, frac)
    with localcontext() as ctx:
        ctx.prec = 200  # the default 28 digits would round long inputs
        exact = Decimal(text).scaleb(decimals)
        integral = exact == exact.to_integral_value()
    code, value = ref.decimal_code(text, decimals)
    if not integral:
        assert code == ref.DECIMAL_TOO_PRECISE
    elif int(exact) > INT64_MAX:
        assert code == ref.DECIMAL_OVERFLOW
    else:
        assert code == ref.DECIMAL_OK
        assert value == int(exact)
    if code == ref.DECIMAL_OK:
        assert _parse.parse_decimal_py(text, decimals) == value
        assert _parse.parse_decimal_py(text.encode(), decimals) == value
    else:
        with pytest.raises(ValueError) as info:
            _parse.parse_decimal_py(text, decimals)
        assert str(info.value) == _parse.decimal_error_message(code, text, decimals)


@settings(max_examples=1000, deadline=None)
@given(value=st.integers(0, INT64_MAX), decimals=st.integers(0, 18), zeros=st.integers(0, 10))
@example(value=INT64_MAX, decimals=0, zeros=0)
@example(value=INT64_MAX, decimals=18, zeros=5)
@example(value=0, decimals=18, zeros=0)
def test_format_parse_roundtrip(value: int, decimals: int, zeros: int) -> None:
    text = _parse.format_decimal_py(value, decimals)
    assert text == ref.format_decimal(value, decimals)
    assert Decimal(text) == Decimal(value).scaleb(-decimals)
    padded = text + ("0" * zeros if decimals else "")
    assert _parse.parse_decimal_py(padded, decimals) == value


@settings(max_examples=1500, deadline=None)
@given(text=st.text(alphabet="0123456789.-+eE x\u00e9", max_size=22), decimals=st.integers(0, 18))
@example(text="1.2.3", decimals=2)
@example(text="5.e3", decimals=2)
def test_any_text_matches_reference(text: str, decimals: int) -> None:
    """Arbitrary junk: same verdict (code and message) as the pure-Python twin."""
    code, value = ref.decimal_code(text.encode(), decimals)
    if code == ref.DECIMAL_OK:
        assert _parse.parse_decimal_py(text, decimals) == value
    else:
        with pytest.raises(ValueError) as info:
            _parse.parse_decimal_py(text, decimals)
        assert str(info.value) == _parse.decimal_error_message(code, text, decimals)


def test_examples() -> None:
    assert _parse.parse_decimal_py("97250.01000000", 2) == 9725001
    assert _parse.parse_decimal_py(b"104250.33000000", 8) == 10425033000000
    assert _parse.parse_decimal_py("5", 0) == 5
    assert _parse.parse_decimal_py("5.0", 0) == 5
    assert _parse.parse_decimal_py("0", 18) == 0
    assert _parse.parse_decimal_py("007.5", 1) == 75
    assert _parse.parse_decimal_py("0.00000001", 8) == 1
    assert _parse.parse_decimal_py("9223372036854775807", 0) == INT64_MAX
    assert _parse.parse_decimal_py("9.223372036854775807", 18) == INT64_MAX
    assert _parse.format_decimal_py(9725001, 2) == "97250.01"
    assert _parse.format_decimal_py(5, 3) == "0.005"
    assert _parse.format_decimal_py(5, 0) == "5"
    assert _parse.format_decimal_py(-5, 2) == "-0.05"
    assert _parse.format_decimal_py(-(2**63), 0) == "-9223372036854775808"


INVALID = [
    ("", 2, ref.DECIMAL_EMPTY, "empty string is not a decimal"),
    ("-1.5", 2, ref.DECIMAL_SIGN, "'-1.5' has a sign; prices and sizes are unsigned decimals"),
    ("+1", 2, ref.DECIMAL_SIGN, "'+1' has a sign; prices and sizes are unsigned decimals"),
    ("-", 2, ref.DECIMAL_SIGN, "'-' has a sign; prices and sizes are unsigned decimals"),
    ("1-", 2, ref.DECIMAL_NON_DIGIT, None),
    (".5", 2, ref.DECIMAL_NON_DIGIT, None),
    ("5.", 2, ref.DECIMAL_NON_DIGIT, None),
    (".", 2, ref.DECIMAL_NON_DIGIT, None),
    ("1.2.3", 2, ref.DECIMAL_NON_DIGIT, None),
    (" 1", 2, ref.DECIMAL_NON_DIGIT, None),
    ("1 ", 2, ref.DECIMAL_NON_DIGIT, None),
    ("1,5", 2, ref.DECIMAL_NON_DIGIT, None),
    ("abc", 2, ref.DECIMAL_NON_DIGIT,
     "'abc' is not a plain decimal (expected digits, optionally '.' and more digits)"),
    ("12345678.1234567x", 8, ref.DECIMAL_NON_DIGIT, None),
    ("1.00000000x", 2, ref.DECIMAL_NON_DIGIT, None),
    ("١", 0, ref.DECIMAL_NON_DIGIT, None),  # Arabic-Indic one: not ASCII
    ("1e-5", 8, ref.DECIMAL_EXPONENT, "'1e-5' uses an exponent; only plain decimals are accepted"),
    ("1E5", 0, ref.DECIMAL_EXPONENT, None),
    ("1.5e3", 2, ref.DECIMAL_EXPONENT, None),
    ("5.e3", 2, ref.DECIMAL_EXPONENT, None),
    ("1.234", 2, ref.DECIMAL_TOO_PRECISE, "'1.234' has more decimals than the scale allows (2)"),
    ("0.000000001", 8, ref.DECIMAL_TOO_PRECISE, None),
    ("1.5", 0, ref.DECIMAL_TOO_PRECISE, None),
    ("1.00000000000000000000001", 8, ref.DECIMAL_TOO_PRECISE, None),
    ("9223372036854775808", 0, ref.DECIMAL_OVERFLOW,
     "'9223372036854775808' does not fit a 64-bit integer at 0 decimals"),
    ("92233720368.54775808", 8, ref.DECIMAL_OVERFLOW, None),
    ("10", 18, ref.DECIMAL_OVERFLOW, None),
    ("99999999999999999999999999999999999999", 0, ref.DECIMAL_OVERFLOW, None),
    ("18446744073709551616", 0, ref.DECIMAL_OVERFLOW, None),  # 2**64: wraps to 0 if unchecked
]


@pytest.mark.parametrize(("text", "decimals", "code", "message"), INVALID)
def test_invalid(text: str, decimals: int, code: int, message: str | None) -> None:
    assert ref.decimal_code(text, decimals)[0] == code
    expected = message or _parse.decimal_error_message(code, text, decimals)
    with pytest.raises(ValueError) as info:
        _parse.parse_decimal_py(text, decimals)
    assert str(info.value) == expected


def test_bad_decimals_argument() -> None:
    with pytest.raises(ValueError, match=r"decimals must be in 0\.\.18, got 19"):
        _parse.parse_decimal_py("1", 19)
    with pytest.raises(ValueError, match="decimals must be in"):
        _parse.format_decimal_py(1, -1)


def test_long_message_is_shortened() -> None:
    with pytest.raises(ValueError) as info:
        _parse.parse_decimal_py("1" * 200, 0)
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(
    ("increment", "expected"),
    [
        ("0.01", (2, 1)),
        ("0.5", (1, 5)),
        ("0.00000001", (8, 1)),
        ("1.00000000", (0, 1)),
        ("10", (0, 10)),
        ("0.0050", (3, 5)),
        ("10.50", (1, 105)),
        ("0.10000000", (1, 1)),
        (b"0.001", (3, 1)),
    ],
)
def test_scale_from_increment(increment: str, expected: tuple[int, int]) -> None:
    assert _parse.scale_from_increment(increment) == expected


@pytest.mark.parametrize(
    ("increment", "match"),
    [
        ("0", "must be positive"),
        ("0.00000000", "must be positive"),
        ("-0.01", "has a sign"),
        ("abc", "not a plain decimal"),
        ("", "empty string"),
        ("1e-8", "exponent"),
        ("0.0000000000000000001", "more than 18 decimals"),
    ],
)
def test_scale_from_increment_rejects(increment: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _parse.scale_from_increment(increment)


def test_scale_from_increment_type() -> None:
    with pytest.raises(TypeError):
        _parse.scale_from_increment(0.01)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("venue", "tick", "step", "expected"),
    [
        # Binance: books at 8 decimals (value_decimals), tick and step counted in its units
        ("binance", "0.01000000", "0.00001000", (8, 8, 10**6, 10**3)),
        ("binance", "0.01", "1.00000000", (8, 8, 10**6, 10**8)),        # NKNUSDT step 1
        ("binance-usdm", "0.00100", "1", (8, 8, 10**5, 10**8)),         # CTKUSDT tick 0.001
        ("binance-usdm", "0.5", "0.002", (8, 8, 5 * 10**7, 2 * 10**5)),
        ("binance", "0.0000000001", "10", (10, 8, 1, 10**9)),          # finer than 8: its own
        # Coinbase: the increments' own decimals (no value_decimals)
        ("coinbase", "0.01", "0.00000001", (2, 8, 1, 1)),
        ("coinbase-exchange", "0.5", "10", (1, 0, 5, 10)),
    ],
)
def test_instrument_scales(venue: str, tick: str, step: str,
                           expected: tuple[int, int, int, int]) -> None:
    assert instrument_scales(venue, tick, step) == expected


def test_instrument_scales_rejects() -> None:
    # 10**11 at 8 decimals is 10**19 units: beyond int64, a clear error, not a wrap
    with pytest.raises(ValueError, match="does not fit a 64-bit integer at 8 decimals"):
        instrument_scales("binance", "100000000000", "1")
    instrument_scales("coinbase", "100000000000", "1")      # 0 decimals there: fine
    with pytest.raises(ValueError, match="must be positive"):
        instrument_scales("binance-usdm", "0.01", "0")
    with pytest.raises(ValueError, match="unknown venue"):
        instrument_scales("kraken-x", "0.01", "0.01")


def test_bench_helper_runs() -> None:
    assert _benchkit.bench_parse_decimal(b"104250.33000000", 8, 1000) >= 0
    with pytest.raises(ValueError):
        _benchkit.bench_parse_decimal(b"1.234", 2, 10)
