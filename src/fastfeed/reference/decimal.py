"""Pure-Python twin of ``fastfeed._parse.parse_decimal`` (same grammar, codes and order).

Grammar: ``digits ['.' digits]``. The first offending character decides the syntax error
(``e``/``E`` → exponent, a leading ``+``/``-`` → sign, anything else → non-digit); then a
non-zero digit beyond the scale → too precise; then a value beyond int64 → overflow.
"""

from __future__ import annotations

import decimal as _dec

DECIMAL_OK = 0
DECIMAL_EMPTY = 1
DECIMAL_SIGN = 2
DECIMAL_NON_DIGIT = 3
DECIMAL_TOO_PRECISE = 4
DECIMAL_OVERFLOW = 5
DECIMAL_EXPONENT = 6

MAX_DECIMALS = 18
INT64_MAX = 2**63 - 1
_DIGITS = frozenset("0123456789")


def _bad_char(c: str, i: int) -> int:
    if c in "eE":
        return DECIMAL_EXPONENT
    if i == 0 and c in "+-":
        return DECIMAL_SIGN
    return DECIMAL_NON_DIGIT


def decimal_code(text: str | bytes, decimals: int) -> tuple[int, int | None]:
    """``(DecimalError code, value or None)`` for ``text`` at ``decimals``."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")  # byte-wise, like the C code
    if not text:
        return DECIMAL_EMPTY, None
    if not 0 <= decimals <= MAX_DECIMALS:
        return DECIMAL_OVERFLOW, None
    n = len(text)
    i = 0
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
        ctx.prec = n + MAX_DECIMALS + 10
        ctx.Emax = ctx.prec * 2
        scaled = _dec.Decimal(text).scaleb(decimals)
        if scaled != scaled.to_integral_value():
            return DECIMAL_TOO_PRECISE, None
        value = int(scaled)
    if value > INT64_MAX:
        return DECIMAL_OVERFLOW, None
    return DECIMAL_OK, value


def parse_decimal(text: str | bytes, decimals: int) -> int:
    """Exact value of ``text`` in ``10**-decimals`` units; ``ValueError`` (with the code as
    ``args[1]``) when it is not representable."""
    code, value = decimal_code(text, decimals)
    if code != DECIMAL_OK or value is None:
        raise ValueError(f"decimal error {code} for {text!r}", code)
    return value


def format_decimal(value: int, decimals: int) -> str:
    """``value`` units at ``decimals`` as fixed-point text with exactly ``decimals`` digits."""
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def _show(text: str | bytes) -> str:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if len(text) > 48:
        text = text[:45] + "..."
    return repr(text)


def decimal_error_message(code: int, text: str | bytes, decimals: int) -> str:
    """Same text as ``fastfeed._parse.decimal_error_message``."""
    t = _show(text)
    if code == DECIMAL_EMPTY:
        return "empty string is not a decimal"
    if code == DECIMAL_SIGN:
        return f"{t} has a sign; prices and sizes are unsigned decimals"
    if code == DECIMAL_NON_DIGIT:
        return f"{t} is not a plain decimal (expected digits, optionally '.' and more digits)"
    if code == DECIMAL_TOO_PRECISE:
        return f"{t} has more decimals than the scale allows ({decimals})"
    if code == DECIMAL_OVERFLOW:
        if not 0 <= decimals <= MAX_DECIMALS:
            return f"decimals must be in 0..{MAX_DECIMALS}, got {decimals}"
        return f"{t} does not fit a 64-bit integer at {decimals} decimals"
    if code == DECIMAL_EXPONENT:
        return f"{t} uses an exponent; only plain decimals are accepted"
    return f"{t}: decimal error {code}"


def number_code(text: str | bytes, decimals: int) -> tuple[int, int | None]:
    """Twin of ``fastfeed._parse.parse_number``: ``decimal_code``'s grammar plus an
    optional exponent (``5.1e-05``), exact. Without an ``e``/``E`` (or with one first) it
    is ``decimal_code``."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")
    m = next((i for i, c in enumerate(text) if c in "eE"), len(text))
    if m in (0, len(text)):
        return decimal_code(text, decimals)
    if not 0 <= decimals <= MAX_DECIMALS:
        return DECIMAL_OVERFLOW, None
    mant, exp = text[:m], text[m + 1:]
    point = -1
    for i, c in enumerate(mant):
        if c == ".":
            if point >= 0 or i in (0, len(mant) - 1):
                return DECIMAL_NON_DIGIT, None
            point = i
        elif c not in _DIGITS:
            return _bad_char(c, i), None
    if exp[:1] in ("+", "-"):
        exp_digits = exp[1:]
    else:
        exp_digits = exp
    if not exp_digits or any(c not in _DIGITS for c in exp_digits):
        return DECIMAL_NON_DIGIT, None
    if not mant.replace(".", "").strip("0"):
        return DECIMAL_OK, 0
    e = min(int(exp_digits), 100000) * (-1 if exp[:1] == "-" else 1)
    with _dec.localcontext() as ctx:
        ctx.prec = len(mant) + 50
        ctx.Emax = 10**6
        ctx.Emin = -(10**6)
        scaled = _dec.Decimal(mant).scaleb(e + decimals)
        if scaled != scaled.to_integral_value():
            return DECIMAL_TOO_PRECISE, None
        if scaled > INT64_MAX:
            return DECIMAL_OVERFLOW, None
        return DECIMAL_OK, int(scaled)
