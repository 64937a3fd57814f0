"""Stubs for the compiled ``fastfeed._parse`` module (exact decimals, venue decoders)."""

from typing import Any

#: names of the compiled decoders (what ``Venue.decoder`` / ``Venue.snapshot_decoder`` name)
DECODERS: tuple[str, ...]

class DecodeFailed(ValueError):
    """A payload could not be decoded (or its decimals converted)."""

#: every reject reason (DecodeError and RejectReason codes): {code: snake_case name}
REJECT_REASONS: dict[int, str]
#: every DecimalError code: {code: snake_case name}
DECIMAL_ERRORS: dict[int, str]
#: bounds of the reject-reason space: REJECT_N_DECODE_CODES, REJECT_N_REASONS
REJECT_LIMITS: dict[str, int]
#: trade stream names by TradeStream code (the keys of ``Venue.trade_streams``)
TRADE_STREAMS: dict[int, str]
OKX_CANDLE_INTERVALS: tuple[str, ...]
#: Kraken ``ohlc`` intervals: (fastfeed's name, the wire's minutes)
KRAKEN_CANDLE_MINUTES: tuple[tuple[str, int], ...]
#: Bybit ``kline`` interval names
BYBIT_CANDLE_INTERVALS: tuple[str, ...]

def simd_levels() -> tuple[str, ...]:
    """The SIMD levels this machine runs, lowest first (what FASTFEED_SIMD may name)."""

def simd_level() -> str:
    """The SIMD level the level-array fast path uses, chosen once at import."""

def _set_simd_level(name: str) -> str:
    """Switch the SIMD level (tests and benches only); returns the previous one."""

def _init_simd_level(env: str) -> None:
    """Apply a FASTFEED_SIMD value (what import does once)."""

def _level_paths(level: bytes) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """One level through the SWAR matcher and ff_level_avx2 alone (tests)."""

def _bn_paths(
    payload: bytes | bytearray | memoryview,
    price_decimals: int,
    size_decimals: int,
    price_tick: int = 1,
    size_step: int = 1,
    *,
    snapshot: bool = False,
) -> tuple[bool, str | None]:
    """Differential check of the Binance fast paths at every SIMD level on one payload."""

def reason_name(code: int) -> str:
    """snake_case name of a reject reason (e.g. "malformed_json")."""

def reason_message(code: int) -> str:
    """Human message of a reject reason (e.g. "malformed JSON")."""

def decimal_error_name(code: int) -> str:
    """snake_case name of a DecimalError code (e.g. "too_precise")."""

def decimal_error_message(code: int, text: str | bytes, decimals: int) -> str:
    """Human message for a DecimalError code."""

def decode_error_message(code: int, offset: int = -1, detail: str | None = None) -> str:
    """Human message for a DecodeError code (DEC_BAD_DECIMAL needs decimal_error_message)."""

def parse_decimal_py(text: str | bytes, decimals: int) -> int:
    """Parse exact decimal text into an int count of 10**-decimals units."""

def parse_number_py(text: str | bytes, decimals: int) -> int:
    """Parse a JSON number's text exactly (exponent allowed)."""

def format_decimal_py(value: int, decimals: int) -> str:
    """Format an int count of 10**-decimals units as fixed-point text."""

def scale_from_increment(increment: str | bytes) -> tuple[int, int]:
    """(decimals, units) of a tick/step size string."""

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
    """Decode one payload through the compiled path into a plain structure."""

def decode_trades(
    venue: str,
    payload: bytes | bytearray | memoryview,
    price_decimals: int,
    size_decimals: int,
    price_tick: int = 1,
    size_step: int = 1,
) -> dict[str, Any]:
    """Decode one payload through the venue's compiled trade decoder into a plain structure."""

def decode_backfill(
    venue: str,
    payload: bytes | bytearray | memoryview,
    price_decimals: int,
    size_decimals: int,
    price_tick: int = 1,
    size_step: int = 1,
) -> dict[str, Any]:
    """Decode one REST trade body through the venue's compiled backfill decoder."""

def stream_channel(
    venue: str, payload: bytes | bytearray | memoryview
) -> tuple[str, str | None]:
    """Run the venue's stream decoder on one payload: ``(kind, None)``, or, when
    rejected, ``(channel, reason)`` with channel ``"trades"`` or ``"book"``."""

#: candle value fields in phase-2 order (docs/venues.md, "Candles")
CANDLE_FIELDS: tuple[str, ...]

def decode_candles(
    venue: str,
    payload: bytes | bytearray | memoryview,
    price_decimals: int,
    size_decimals: int,
) -> dict[str, Any]:
    """Decode one payload through the venue's compiled candle decoder into a plain structure."""

def parse_decimal128_py(text: str | bytes, decimals: int) -> int:
    """Exact decimal text into a 128-bit count of 10**-decimals units (quote volumes)."""

def _decode_raw(venue: str, payload: bytes | bytearray | memoryview, price_decimals: int,
                size_decimals: int, *, fast: bool = True) -> tuple[Any, ...]:
    """Private (differential checks): the whole DeltaBatch of one decode as a tuple."""
