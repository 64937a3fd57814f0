# cython: language_level=3
"""Exact decimals and zero-copy venue decoders.

Decimals: ``parse_decimal`` turns decimal text into an int64 count of ``10**-decimals``
units without going through float, rejecting anything it cannot represent exactly.

Grammar accepted (a deliberate subset of JSON/Decimal syntax, what venues actually send)::

    digits [ '.' digits ]        e.g. "5", "5.0", "0.00010000", "007.5"

Rejected: "" (DECIMAL_EMPTY); a leading '+'/'-' (DECIMAL_SIGN: prices and sizes are never
negative); "1e-5"/"1E5" (DECIMAL_EXPONENT); ".5", "5.", ".", "1.2.3", spaces, anything else
(DECIMAL_NON_DIGIT: ".5" and "5." are not valid JSON-ish numbers and no venue sends them,
so accepting them would only hide a corrupted payload). The first offending character
decides between SIGN / EXPONENT / NON_DIGIT. A well-formed string with a non-zero digit
beyond the scale is DECIMAL_TOO_PRECISE (trailing zeros are fine); one whose value does not
fit int64 at the scale is DECIMAL_OVERFLOW. Priority: syntax, then precision, then overflow.

This module only gathers its parts (``include``, as one compilation unit, so calls between
them stay direct C calls); ``_parse.pxd`` is the cimport surface for other modules::

    parse/errors.pxi             DecodeFailed, error names and messages, batch/convert texts
    parse/decimal.pxi            parse_decimal, format_decimal, convert_segment, Python wrappers
    parse/cursor.pxi             JSON cursor (the inline part lives in _parse.pxd)
    parse/time.pxi               RFC 3339 timestamps
    parse/levels.pxi             helpers shared by the venue decoders, level arrays
    parse/registry.pxi           decoders by name, decode_message
    parse/binance.pxi            Binance depth events and REST snapshots
    parse/coinbase_at.pxi        Coinbase Advanced Trade
    parse/coinbase_exchange.pxi  Coinbase Exchange
    parse/trades.pxi             what the trade decoders share (docs/venues.md, "Trades")
    parse/binance_trades.pxi     Binance trade and aggTrade events
    parse/coinbase_at_trades.pxi Coinbase Advanced Trade market_trades
    parse/coinbase_exchange_trades.pxi  Coinbase Exchange matches
    parse/quotes.pxi             what the BBO and ticker decoders share (flat field tables)
    parse/binance_quotes.pxi     Binance bookTicker, 24hrTicker, 24hrMiniTicker
    parse/coinbase_at_quotes.pxi Coinbase Advanced Trade ticker / ticker_batch
    parse/coinbase_exchange_quotes.pxi  Coinbase Exchange ticker
    parse/streams.pxi            per venue, every channel of a connection: the stream decoders
    parse/kraken.pxi             Kraken WebSocket v2 book (JSON-number levels)
    parse/okx.pxi                OKX v5 books
    parse/okx_trades.pxi         OKX v5 trades, and the OKX stream decoder
    parse/bybit_quotes.pxi       Bybit v5 tickers
    parse/bybit_candles.pxi      Bybit v5 kline

The C helpers (SWAR scanners, bit scans, clocks) are headers in ``include/``, declared in
``_cdefs.pxd``.
"""

cimport cython
from libc.stdint cimport (
    int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t, INT32_MAX, INT64_MAX,
)
from libc.string cimport memchr, memcmp, memcpy, memset, strcmp

from fastfeed._types cimport (
    MAX_BATCH_LEVELS, SIDE_BID, SIDE_ASK, SEG_UPDATE, SEG_SNAPSHOT,
    MSG_NONE, MSG_DEPTH, MSG_SNAPSHOT, MSG_HEARTBEAT, MSG_CONTROL, MSG_IGNORED, MSG_VENUE_ERROR,
    MSG_TRADES, MSG_CANDLES,
    MSG_BBO, MSG_TICKER, Quote, batch_next_quote,
    TK_LAST, TK_LAST_SIZE, TK_OPEN, TK_HIGH, TK_LOW, TK_CHANGE, TK_VOLUME, TK_QUOTE_VOLUME,
    batch_reset, batch_next_level, batch_next_seg, batch_next_trade, batch_init, batch_free,
    batch_next_candle,
    DeltaBatch, Delta, Grid, Segment, Trade, Candle,
    TRADE_STREAM_TRADE, TRADE_STREAM_AGG, TRADE_STREAM_MARKET_TRADES, TRADE_STREAM_MATCHES,
    TRADE_STREAM_PUBLIC_TRADE, TRADE_STREAM_OKX_TRADES, TRADE_STREAM_KRAKEN,
    DEC_OK, DEC_BAD_DECIMAL,
    DECIMAL_OK, DECIMAL_EMPTY, DECIMAL_SIGN, DECIMAL_NON_DIGIT, DECIMAL_TOO_PRECISE,
    DECIMAL_OVERFLOW, DECIMAL_EXPONENT,
    DEC_MALFORMED_JSON, DEC_MISSING_FIELD, DEC_WRONG_TYPE, DEC_TOO_MANY_LEVELS,
    DEC_UNKNOWN_MESSAGE, DEC_BAD_SIDE, DEC_TRUNCATED, DEC_BAD_TIMESTAMP, DEC_OVERFLOW,
    DEC_ESCAPED_STRING, DEC_BAD_UTF8, DEC_MISPLACED_FIELD, DEC_ID_ORDER,
    REJECT_N_DECODE_CODES, REJECT_BUFFER_OVERFLOW, REJECT_VENUE_ERROR, REJECT_BEFORE_SNAPSHOT,
    REJECT_N_REASONS,
)


from fastfeed._cdefs cimport (
    FF_I64_LIM, FF_POW10, ff_ctz64, ff_fast_uint, ff_pre_decimal, ff_scan_string, ff_skip_zeros,
    ff_take_digits,
)
from fastfeed._cdefs cimport (
    FF_AVX2_READ, FF_SIMD_AVX2, FF_SIMD_NEON, FF_SIMD_SCALAR, FF_SIMD_SSE2, ff_bits_at,
    ff_level_avx2, ff_levels_avx2, ff_lv, ff_simd_available, ff_simd_classify, ff_simd_level,
    ff_simd_set, ff_tight_level, ff_tight_lv,
)
from fastfeed._cdefs cimport (
    ff_i128, ff_i128_add, ff_i128_from64, ff_i128_hi, ff_i128_lo, ff_i128_mul,
)


include "parse/errors.pxi"
include "parse/decimal.pxi"
include "parse/cursor.pxi"
include "parse/time.pxi"
include "parse/levels.pxi"
# the registry comes before the venues: each venue file registers its decoders
include "parse/registry.pxi"
include "parse/binance.pxi"
include "parse/coinbase_at.pxi"
include "parse/coinbase_exchange.pxi"
include "parse/trades.pxi"
include "parse/binance_trades.pxi"
include "parse/coinbase_at_trades.pxi"
include "parse/coinbase_exchange_trades.pxi"
include "parse/quotes.pxi"
include "parse/binance_quotes.pxi"
include "parse/coinbase_at_quotes.pxi"
include "parse/coinbase_exchange_quotes.pxi"
include "parse/candles.pxi"
include "parse/binance_candles.pxi"
include "parse/coinbase_at_candles.pxi"
include "parse/streams.pxi"
include "parse/rest_trades.pxi"
include "parse/bybit.pxi"
include "parse/bybit_trades.pxi"
include "parse/kraken.pxi"
include "parse/okx.pxi"
include "parse/okx_trades.pxi"
include "parse/kraken_trades.pxi"
include "parse/kraken_quotes.pxi"
include "parse/okx_quotes.pxi"
include "parse/okx_candles.pxi"
include "parse/okx_stream.pxi"
include "parse/bybit_quotes.pxi"
include "parse/kraken_candles.pxi"
include "parse/bybit_candles.pxi"

DECODERS = tuple(_REGISTRY)             # every decoder name registered above
