# Included by _parse.pyx. Error texts: the DecodeFailed exception and the human messages
# for DecodeError / DecimalError codes and failed batches (the reference twin in
# fastfeed/reference/ produces the same texts).

class DecodeFailed(ValueError):
    """A payload could not be decoded (or its decimals converted); the message says why."""


def _show(text) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", "replace")
    text = str(text)
    if len(text) > 48:
        text = text[:45] + "..."
    return repr(text)


def decimal_error_message(int code, text, int decimals, unit=1) -> str:
    """Human message for a ``DecimalError`` code about ``text`` at ``decimals``.

    ``unit`` is the tick/step in units (only used for DECIMAL_OFF_TICK).
    """
    t = _show(text)
    if code == DECIMAL_EMPTY:
        return "empty string is not a decimal"
    if code == DECIMAL_SIGN:
        return f"{t} has a sign; prices and sizes are unsigned decimals"
    if code == DECIMAL_NON_DIGIT:
        return (f"{t} is not a plain decimal (expected digits, optionally '.' "
                f"and more digits)")
    if code == DECIMAL_TOO_PRECISE:
        return f"{t} has more decimals than the scale allows ({decimals})"
    if code == DECIMAL_OVERFLOW:
        if not 0 <= decimals <= MAX_DECIMALS:
            return f"decimals must be in 0..{MAX_DECIMALS}, got {decimals}"
        return f"{t} does not fit a 64-bit integer at {decimals} decimals"
    if code == DECIMAL_EXPONENT:
        return f"{t} uses an exponent; only plain decimals are accepted"
    if code == DECIMAL_OFF_TICK:
        return f"{t} is not a multiple of the increment {format_decimal_py(unit, decimals)}"
    return f"{t}: decimal error {code}"


_DECODE_MESSAGES = {
    DEC_MALFORMED_JSON: "malformed JSON",
    DEC_MISSING_FIELD: "missing field",
    DEC_WRONG_TYPE: "field has the wrong type",
    DEC_BAD_DECIMAL: "bad decimal",
    DEC_TOO_MANY_LEVELS: f"too many levels (more than {MAX_BATCH_LEVELS})",
    DEC_UNKNOWN_MESSAGE: "unknown message",
    DEC_BAD_SIDE: "bad side",
    DEC_TRUNCATED: "truncated JSON",
    DEC_BAD_TIMESTAMP: "bad timestamp",
    DEC_OVERFLOW: "integer out of range",
}


def decode_error_message(int code, Py_ssize_t offset=-1, detail=None) -> str:
    """Human message for a ``DecodeError`` code, e.g. ``"malformed JSON at byte 17"``.

    ``detail`` (the batch's static reason, e.g. ``"field 'u' missing"``) is the message
    itself for field errors and a suffix for the others. DEC_BAD_DECIMAL messages are built
    with ``decimal_error_message`` (they need the text and the scale).
    """
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    if detail and code in (DEC_MISSING_FIELD, DEC_WRONG_TYPE, DEC_OVERFLOW, DEC_BAD_SIDE,
                           DEC_BAD_TIMESTAMP, DEC_UNKNOWN_MESSAGE):
        return detail               # already names the field
    msg = _DECODE_MESSAGES.get(code, f"decode error {code}")
    if offset >= 0:
        msg = f"{msg} at byte {offset}"
    if detail:
        msg = f"{msg} ({detail})"
    return msg


cdef str convert_error_message(const DeltaBatch* b, const Segment* seg, const char* payload,
                               int price_decimals, int size_decimals, int64_t price_tick,
                               int64_t size_step):
    cdef const Delta* d = b.levels + seg.start
    cdef const Delta* end = d + seg.count
    cdef int rc
    cdef int64_t v
    while d < end:
        for is_price in (True, False):
            ptr = d.price_ptr if is_price else d.size_ptr
            length = d.price_len if is_price else d.size_len
            decimals = price_decimals if is_price else size_decimals
            unit = price_tick if is_price else size_step
            rc = parse_decimal(ptr, length, decimals, &v)
            if rc == DECIMAL_OK and unit > 1 and v % unit != 0:
                rc = DECIMAL_OFF_TICK
            if rc != DECIMAL_OK:
                text = ptr[:length].decode("utf-8", "replace")
                where = ""
                if payload != NULL:
                    where = f" at byte {<Py_ssize_t>(ptr - payload)}"
                return (f"{'price' if is_price else 'size'}{where}: "
                        + decimal_error_message(rc, text, decimals, unit))
        d += 1
    return "no decimal error in this segment"


cdef str batch_error_message(const DeltaBatch* b):
    detail = None
    if b.error_detail != NULL:
        detail = (<bytes>b.error_detail).decode("utf-8", "replace")
    if b.error == DEC_BAD_DECIMAL:
        return f"bad decimal in {detail or 'a level'}"
    return decode_error_message(b.error, b.error_offset, detail)
