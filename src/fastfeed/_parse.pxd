# cython: language_level=3
"""Exact decimals and zero-copy venue decoders (see ``_parse.pyx``).

Everything declared here is ``noexcept nogil`` and returns a status code:
``DecimalError`` for the decimal functions, ``DecodeError`` for the decoders.
"""

from libc.stdint cimport int64_t

from fastfeed._types cimport DeltaBatch, Segment


# Largest supported scale: 10**18 is the largest power of ten that fits int64.
cdef enum:
    MAX_DECIMALS = 18


# Exact decimal text -> int64 count of 10**-decimals units. Returns a DecimalError code;
# *out is written only on success. Grammar: digits ['.' digits] (no sign, no exponent,
# at least one digit on each side of the point). decimals outside 0..18 -> DECIMAL_OVERFLOW.
cdef int parse_decimal(const char* p, Py_ssize_t n, int decimals, int64_t* out) noexcept nogil

# Inverse of parse_decimal: v units at `decimals` -> text with exactly `decimals` fractional
# digits (no point when decimals == 0; '-' for negatives). Returns the length written
# (no NUL terminator) or -1 if `cap` is too small or decimals is outside 0..18.
cdef Py_ssize_t format_decimal(int64_t v, int decimals, char* out, Py_ssize_t cap) noexcept nogil

# Phase 2 of decoding: parse each Delta's price/size strings of one segment at the
# instrument's scale and check they are multiples of price_tick / size_step units.
# Returns DEC_OK or DEC_BAD_DECIMAL (b.error, b.decimal_error set; b.error_detail is
# "price" or "size"; b.error_offset is -1 because the batch does not know the payload
# base: use convert_error_message() on the cold path for a full message with the offset).
cdef int convert_segment(DeltaBatch* b, const Segment* seg, int price_decimals,
                         int size_decimals, int64_t price_tick,
                         int64_t size_step) noexcept nogil

# Cold path (GIL): human message for a failed convert_segment call (re-scans the segment to
# find the first bad level; `payload` is the decoded payload, used for the byte offset).
cdef str convert_error_message(const DeltaBatch* b, const Segment* seg, const char* payload,
                               int price_decimals, int size_decimals, int64_t price_tick,
                               int64_t size_step)
