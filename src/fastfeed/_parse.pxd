# cython: language_level=3
"""Exact decimals and zero-copy venue decoders (see ``_parse.pyx``).

Everything declared here is ``noexcept nogil`` and returns a status code:
``DecimalError`` for the decimal functions, ``DecodeError`` for the decoders.
"""

from libc.stdint cimport int64_t

from fastfeed._cdefs cimport ff_i128
from fastfeed._types cimport Candle, DeltaBatch, Grid, Segment


# Largest supported scale: 10**18 is the largest power of ten that fits int64.
cdef enum:
    MAX_DECIMALS = 18


# Exact decimal text -> int64 count of 10**-decimals units. Returns a DecimalError code;
# *out is written only on success. Grammar: digits ['.' digits] (no sign, no exponent,
# at least one digit on each side of the point). decimals outside 0..18 -> DECIMAL_OVERFLOW.
cdef int parse_decimal(const char* p, Py_ssize_t n, int decimals, int64_t* out) noexcept nogil
# parse_decimal plus an exponent: a bare JSON number (Kraken v2; docs/venues.md, "Exact numbers")
cdef int parse_number(const char* p, Py_ssize_t n, int decimals, int64_t* out) noexcept nogil
# A value's text (a pointer into its payload): a bare JSON number when not followed by '"'
cdef bint is_bare_number(const char* s, Py_ssize_t n) noexcept nogil
# parse_number for a bare number, else parse_decimal (book levels, tickers, candles)
cdef int parse_text(const char* s, Py_ssize_t n, int decimals, int64_t* out) noexcept nogil

# Inverse of parse_decimal: v units at `decimals` -> text with exactly `decimals` fractional
# digits (no point when decimals == 0; '-' for negatives). Returns the length written
# (no NUL terminator) or -1 if `cap` is too small or decimals is outside 0..18.
cdef Py_ssize_t format_decimal(int64_t v, int decimals, char* out, Py_ssize_t cap) noexcept nogil

# A book's Grid (_types.pxd) for values at `decimals` on an increment of `step` units:
# grid_decimals and modulo derived from step. Returns -1 for decimals outside 0..18 or
# step < 1 (callers check first and raise), else 0.
cdef int grid_init(Grid* g, int decimals, int64_t step) noexcept nogil

# Phase 2 of decoding: parse each Delta's price/size strings of one segment at the book's
# scales (`price`, `size`) and count the levels whose price or size is off the grid (not a
# multiple of the tick/step) into b.off_grid; such values are kept exactly, never rejected
# (docs/venues.md#instrument-scales).
# Between the phases, Delta.price/size hold this module's scratch: a negative value is a
# scale-free pre-parse made while scanning (exact; see ff_pre_decimal), anything >= 0
# means "parse the text". Decoders here always set them; nothing else may read them
# before convert_segment (a second call re-parses the text, so it is still exact).
# Returns DEC_OK or DEC_BAD_DECIMAL (b.error, b.decimal_error set; b.error_detail is
# "price" or "size"; b.error_offset is -1 because the batch does not know the payload
# base: use convert_error_message() on the cold path for a full message with the offset).
cdef int convert_segment(DeltaBatch* b, const Segment* seg, const Grid* price,
                         const Grid* size) noexcept nogil

# Cold path (GIL): human message for a failed convert_segment call (re-scans the segment to
# find the first bad level; `payload` is the decoded payload, used for the byte offset).
cdef str convert_error_message(const DeltaBatch* b, const Segment* seg, const char* payload,
                               int price_decimals, int size_decimals)


# ---------------------------------------------------------------------------------------
# JSON cursor toolkit (zero-copy, nogil). Functions return >= 0 on success and -1 on
# failure, with c.err (a DecodeError), c.err_at (byte offset) and c.err_detail set.
# Running off the end of the payload is always reported as DEC_TRUNCATED.
# ---------------------------------------------------------------------------------------

from libc.string cimport memcmp

from fastfeed._types cimport DEC_MALFORMED_JSON, DEC_TRUNCATED


cdef enum:
    JSON_MAX_DEPTH = 64     # nesting allowed inside skipped values


ctypedef struct Cursor:
    const char* p
    Py_ssize_t n
    Py_ssize_t i
    int err
    Py_ssize_t err_at
    const char* err_detail
    char kbuf[16]               # the last escaped key, decoded (cur_key)
    const char* kraw            # the last escaped key, raw (cur_key; duplicate-key checks)
    Py_ssize_t kraw_len


cdef inline void cur_init(Cursor* c, const char* p, Py_ssize_t n) noexcept nogil:
    c.p = p
    c.n = n
    c.i = 0
    c.err = 0
    c.err_at = -1
    c.err_detail = NULL
    c.kraw = NULL
    c.kraw_len = 0


cdef inline int cur_fail(Cursor* c, int err, const char* detail) noexcept nogil:
    if c.i >= c.n and err == DEC_MALFORMED_JSON:
        err = DEC_TRUNCATED
    c.err = err
    c.err_at = c.i if c.i < c.n else c.n
    c.err_detail = detail
    return -1


cdef inline int cur_peek(Cursor* c) noexcept nogil:
    """Skip whitespace; the next byte (0..255) or -1 at the end."""
    cdef const char* p = c.p
    cdef Py_ssize_t i = c.i
    cdef Py_ssize_t n = c.n
    while i < n and (p[i] == b' ' or p[i] == b'\n' or p[i] == b'\r' or p[i] == b'\t'):
        i += 1
    c.i = i
    if i < n:
        return <unsigned char>p[i]
    return -1


cdef inline int cur_expect(Cursor* c, char ch) noexcept nogil:
    """Skip whitespace and consume `ch`."""
    if cur_peek(c) != <unsigned char>ch:
        return cur_fail(c, DEC_MALFORMED_JSON, NULL)
    c.i += 1
    return 0


cdef inline bint _is_hex(char ch) noexcept nogil:
    return (b'0' <= ch <= b'9') or (b'a' <= ch <= b'f') or (b'A' <= ch <= b'F')


# At a '"' (callers peek first): the raw span between the quotes (escapes are validated,
# not decoded). Returns 1 if the string has escapes, 0 if not, -1 on error.
cdef int cur_string(Cursor* c, const char** s, Py_ssize_t* length) noexcept nogil

# The raw (validated) string s[0:n] with its escapes decoded into out[0:cap]: the length,
# or -1 if it decodes to anything but ASCII or longer than cap. Only names (keys, types,
# sides) are compared decoded; no known name is non-ASCII.
cdef Py_ssize_t unescape_ascii(const char* s, Py_ssize_t n, char* out,
                               Py_ssize_t cap) noexcept nogil

# Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
cdef bint utf8_ok(const char* s, Py_ssize_t n) noexcept nogil


cdef inline int cur_key(Cursor* c, const char** k, Py_ssize_t* klen) noexcept nogil:
    """An object key and its ':'. An escaped key is matched decoded (JSON semantics:
    ``"\\u0062"`` is ``"b"``); one that decodes to no ASCII name stays raw (its
    backslash matches no known key). The raw span of an escaped key stays in
    ``c.kraw``/``c.kraw_len`` until the next escaped key (key_set_add needs it)."""
    cdef int rc
    cdef Py_ssize_t m
    if cur_peek(c) != b'"':
        return cur_fail(c, DEC_MALFORMED_JSON, "expected a key")
    rc = cur_string(c, k, klen)
    if rc < 0:
        return -1
    if rc == 1:
        c.kraw = k[0]
        c.kraw_len = klen[0]
        m = unescape_ascii(k[0], klen[0], c.kbuf, 16)
        if m >= 0:
            k[0] = c.kbuf
            klen[0] = m
    return cur_expect(c, b':')


cdef inline int cur_next(Cursor* c, char close) noexcept nogil:
    """After a member/element: 1 if a ',' follows (consumed), 0 if `close` (consumed)."""
    cdef int ch = cur_peek(c)
    if ch == b',':
        c.i += 1
        return 1
    if ch == <unsigned char>close:
        c.i += 1
        return 0
    return cur_fail(c, DEC_MALFORMED_JSON, NULL)


cdef inline bint key_is(const char* k, Py_ssize_t klen, const char* lit,
                        Py_ssize_t litlen) noexcept nogil:
    return klen == litlen and memcmp(k, lit, <size_t>litlen) == 0


# A JSON integer into int64. Returns 0 (consumed), -1 (malformed JSON), -2 (a valid value
# of another JSON type, e.g. a string or 1.5: cursor left at its start) or -3 (an integer
# outside int64: cursor left at its start).
cdef int cur_int64(Cursor* c, int64_t* out) noexcept nogil

# Skip one JSON value of any type, validating it; nesting deeper than JSON_MAX_DEPTH fails.
cdef int cur_skip_value(Cursor* c, int depth) noexcept nogil

# RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|+HH:MM|-HH:MM)) -> ns since the
# epoch. Years 1970..2261 only (the int64 ns range, with margin). 0 or -1.
cdef int parse_rfc3339_ns(const char* p, Py_ssize_t n, int64_t* out) noexcept nogil


# ---------------------------------------------------------------------------------------
# Venue decoders (phase 1: record spans; convert_segment does phase 2). Each resets the
# batch, returns a DecodeError and on failure sets b.error/error_offset/error_detail.
# ---------------------------------------------------------------------------------------

ctypedef int (*DecodeFn)(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil

cdef int decode_binance_depth(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_binance_snapshot(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_at(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_exchange(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil

# Trade decoders (docs/venues.md, "Trades"): MSG_TRADES batches, one Trade per Delta,
# oldest first, one segment per run of a symbol; other messages as the book decoders say.
cdef int decode_binance_trades(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_at_trades(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_exchange_trades(const char* p, Py_ssize_t n,
                                         DeltaBatch* b) noexcept nogil

# Quote decoders (docs/venues.md, "Best bid/offer" and "Tickers"): MSG_BBO / MSG_TICKER
# batches, one Quote per segment (a BBO segment: two Deltas, bid then ask).
cdef int decode_binance_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_binance_ticker(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_at_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_at_ticker(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_exchange_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_exchange_ticker(const char* p, Py_ssize_t n,
                                         DeltaBatch* b) noexcept nogil

# A decoder by its registered name: "binance-depth", "binance-snapshot", "coinbase-at",
# "coinbase-exchange", and the trade decoders "binance-trades", "coinbase-at-trades",
# "coinbase-exchange-trades" (the Python-level tuple DECODERS lists them; Venue.decoder,
# Venue.snapshot_decoder and Venue.trade_decoder in fastfeed.venues name them).
# ValueError naming the known ones.
cdef DecodeFn decoder_named(str name) except NULL

# A venue id's stream decoder, or with snapshot=True its REST snapshot decoder, as
# fastfeed.venues.get_venue(venue) describes it. ValueError for an unknown venue or a venue
# whose snapshots arrive in-band (snapshot_decoder None).
cdef DecodeFn venue_decoder(str venue, bint snapshot) except NULL

# A venue id's trade decoder (Venue.trade_decoder). ValueError for an unknown venue or
# one without trades.
cdef DecodeFn venue_trade_decoder(str venue) except NULL

# Cold path: the full human message for a failed decode (b.error != DEC_OK), e.g.
# "malformed JSON at byte 17". With convert_error_message, the one formatter of decode
# errors (the texts come from the tables in parse/errors.pxi).
cdef str batch_error_message(const DeltaBatch* b)


# ---------------------------------------------------------------------------------------
# Candles (docs/venues.md, "Candles"): decoders fill one Candle per Delta (MSG_CANDLES);
# phase 2 is convert_candle, at the instrument's scales.
# ---------------------------------------------------------------------------------------

cdef enum:
    MAX_QUOTE_DECIMALS = 36     # price + size decimals; 10**36 < 2**127

ctypedef struct CandleValues:
    # One candle at the instrument's scales: prices in ticks, volume in lots (int64), the
    # quote volume in 10**-(price_decimals + size_decimals) units, 128-bit (-1: absent).
    int64_t open
    int64_t high
    int64_t low
    int64_t close
    int64_t volume
    ff_i128 quote
    int bad_field               # on failure: index into _parse.CANDLE_FIELDS
    int decimal_error           # on failure: the DecimalError

# parse_decimal's grammar and codes into a 128-bit count (decimals 0..MAX_QUOTE_DECIMALS).
cdef int parse_decimal128(const char* p, Py_ssize_t n, int decimals, ff_i128* out) noexcept nogil

# Phase 2 of one candle: DEC_OK, or DEC_BAD_DECIMAL with out.bad_field/decimal_error set.
cdef int convert_candle(const Candle* c, int price_decimals, int size_decimals,
                        CandleValues* out) noexcept nogil

# Cold path: the message for a failed convert_candle ("high at byte 40: ...").
cdef str candle_error_message(const Candle* c, const CandleValues* v, const char* payload,
                              int price_decimals, int size_decimals)

# A 128-bit value as a Python int.
cdef object i128_to_int(ff_i128 v)

cdef int decode_binance_candles(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil
cdef int decode_coinbase_at_candles(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil

# A venue id's candle decoder (Venue.candle_decoder). ValueError for an unknown venue or
# one without venue candles.
cdef DecodeFn venue_candle_decoder(str venue) except NULL
