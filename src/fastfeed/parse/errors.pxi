# Included by _parse.pyx. The one error vocabulary: every DecodeError, RejectReason and
# DecimalError code has its snake_case name (the keys of BookCore.rejects) and its human
# message in the tables below, keyed by the enum constants; every formatter reads them.
# The reference twin (fastfeed/reference/) produces the same texts, and
# tests/test_parse_api.py fails if an enum member in _types.pxd has no entry here.

class DecodeFailed(ValueError):
    """A payload could not be decoded (or its decimals converted); the message says why."""


cdef dict _table(tuple entries):
    # {code: (name, message)}; a repeated code or name is a bug in the table
    cdef dict out = {}
    names = set()
    for code, name, message in entries:
        if code in out or name in names:
            raise RuntimeError(f"error table: {code} / {name!r} listed twice")
        out[code] = (name, message)
        names.add(name)
    return out


# Reject reasons: the DecodeError codes, then the book core's own (RejectReason).
_REASONS = _table((
    (DEC_MALFORMED_JSON, "malformed_json", "malformed JSON"),
    (DEC_MISSING_FIELD, "missing_field", "missing field"),
    (DEC_WRONG_TYPE, "wrong_type", "field has the wrong type"),
    (DEC_BAD_DECIMAL, "bad_decimal", "bad decimal"),
    (DEC_TOO_MANY_LEVELS, "too_many_levels", f"too many levels (more than {MAX_BATCH_LEVELS})"),
    (DEC_UNKNOWN_MESSAGE, "unknown_message", "unknown message"),
    (DEC_BAD_SIDE, "bad_side", "bad side"),
    (DEC_TRUNCATED, "truncated", "truncated JSON"),
    (DEC_BAD_TIMESTAMP, "bad_timestamp", "bad timestamp"),
    (DEC_OVERFLOW, "overflow", "integer out of range"),
    (DEC_ESCAPED_STRING, "escaped_string", "a symbol contains a JSON escape"),
    (DEC_BAD_UTF8, "bad_utf8", "a symbol or type is not valid UTF-8"),
    (DEC_MISPLACED_FIELD, "misplaced_field", "a field does not belong to this message type"),
    (DEC_ID_ORDER, "id_order", "update ids out of order (first after last)"),
    (REJECT_BUFFER_OVERFLOW, "buffer_overflow",
     "too many live messages buffered while the book was syncing"),
    (REJECT_VENUE_ERROR, "venue_error", "the venue sent an error message"),
    (REJECT_BEFORE_SNAPSHOT, "before_snapshot", "an update arrived before the book's snapshot"),
))

# DecimalError: messages are templates over {text} (the offending text, quoted and
# shortened) and {decimals} (the scale). A value off the tick/step grid is no error: it is
# kept and counted (docs/venues.md#instrument-scales).
_DECIMAL_REASONS = _table((
    (DECIMAL_EMPTY, "empty", "empty string is not a decimal"),
    (DECIMAL_SIGN, "sign", "{text} has a sign; prices and sizes are unsigned decimals"),
    (DECIMAL_NON_DIGIT, "non_digit",
     "{text} is not a plain decimal (expected digits, optionally '.' and more digits)"),
    (DECIMAL_TOO_PRECISE, "too_precise",
     "{text} has more decimals than the scale allows ({decimals})"),
    (DECIMAL_OVERFLOW, "overflow", "{text} does not fit a 64-bit integer at {decimals} decimals"),
    (DECIMAL_EXPONENT, "exponent", "{text} uses an exponent; only plain decimals are accepted"),
))

#: Every reject reason: ``{code: name}`` in code order (the names BookCore.rejects uses).
REJECT_REASONS = {code: entry[0] for code, entry in _REASONS.items()}
#: Every DecimalError: ``{code: name}``.
DECIMAL_ERRORS = {code: entry[0] for code, entry in _DECIMAL_REASONS.items()}
#: The bounds of the reject-reason space (see RejectReason in _types.pxd), for counters.
REJECT_LIMITS = {"REJECT_N_DECODE_CODES": REJECT_N_DECODE_CODES,
                 "REJECT_N_REASONS": REJECT_N_REASONS}


def reason_name(int code) -> str:
    """snake_case name of a reject reason (a DecodeError or RejectReason code), e.g.
    ``"malformed_json"``; ``"reason_<code>"`` for a code that is neither."""
    entry = _REASONS.get(code)
    return entry[0] if entry is not None else f"reason_{code}"


def reason_message(int code) -> str:
    """Human message of a reject reason, e.g. ``"malformed JSON"``."""
    entry = _REASONS.get(code)
    return entry[1] if entry is not None else f"decode error {code}"


def decimal_error_name(int code) -> str:
    """snake_case name of a DecimalError code, e.g. ``"too_precise"``."""
    entry = _DECIMAL_REASONS.get(code)
    return entry[0] if entry is not None else f"decimal_{code}"


def _show(text) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", "replace")
    text = str(text)
    if len(text) > 48:
        text = text[:45] + "..."
    return repr(text)


def decimal_error_message(int code, text, int decimals) -> str:
    """Human message for a ``DecimalError`` code about ``text`` at ``decimals``."""
    t = _show(text)
    entry = _DECIMAL_REASONS.get(code)
    if entry is None:
        return f"{t}: decimal error {code}"
    if code == DECIMAL_OVERFLOW and not 0 <= decimals <= MAX_DECIMALS:
        return f"decimals must be in 0..{MAX_DECIMALS}, got {decimals}"
    return entry[1].format(text=t, decimals=decimals)


def decode_error_message(int code, Py_ssize_t offset=-1, detail=None) -> str:
    """Human message for a ``DecodeError`` code, e.g. ``"malformed JSON at byte 17"``.

    ``detail`` (the batch's static reason, e.g. ``"field 'u' missing"``) is the message
    itself for field errors and a suffix for the others. DEC_BAD_DECIMAL messages are built
    with ``decimal_error_message`` (they need the text and the scale).
    """
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    if detail and code in (DEC_MISSING_FIELD, DEC_WRONG_TYPE, DEC_OVERFLOW, DEC_BAD_SIDE,
                           DEC_BAD_TIMESTAMP, DEC_UNKNOWN_MESSAGE,
                           DEC_ESCAPED_STRING, DEC_BAD_UTF8, DEC_MISPLACED_FIELD,
                           DEC_ID_ORDER):
        return detail               # already names the field
    msg = reason_message(code)
    if offset >= 0:
        msg = f"{msg} at byte {offset}"
    if detail:
        msg = f"{msg} ({detail})"
    return msg


cdef str convert_error_message(const DeltaBatch* b, const Segment* seg, const char* payload,
                               int price_decimals, int size_decimals):
    cdef const Delta* d = b.levels + seg.start
    cdef const Delta* end = d + seg.count
    cdef int rc
    cdef int64_t v
    while d < end:
        for is_price in (True, False):
            ptr = d.price_ptr if is_price else d.size_ptr
            length = d.price_len if is_price else d.size_len
            decimals = price_decimals if is_price else size_decimals
            rc = _parse_level_text(ptr, length, decimals, &v)
            if rc != DECIMAL_OK:
                text = ptr[:length].decode("utf-8", "replace")
                where = ""
                if payload != NULL:
                    where = f" at byte {<Py_ssize_t>(ptr - payload)}"
                return (f"{'price' if is_price else 'size'}{where}: "
                        + decimal_error_message(rc, text, decimals))
        d += 1
    return "no decimal error in this segment"


cdef str batch_error_message(const DeltaBatch* b):
    detail = None
    if b.error_detail != NULL:
        detail = (<bytes>b.error_detail).decode("utf-8", "replace")
    if b.error == DEC_BAD_DECIMAL:
        return f"bad decimal in {detail or 'a level'}"
    return decode_error_message(b.error, b.error_offset, detail)
