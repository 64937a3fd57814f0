# Included by _parse.pyx. Dispatch and the Python boundary for decoders.

cdef DecodeFn decoder_for(str venue, bint snapshot) noexcept:
    if venue == "binance" or venue == "binance-usdm":
        if snapshot:
            return decode_binance_snapshot
        return decode_binance_depth
    if venue == "coinbase":
        if snapshot:
            return NULL                                     # no REST step
        return decode_coinbase_at
    if venue == "coinbase-exchange":
        return decode_coinbase_exchange                     # snapshots come in-band
    return NULL


_KIND_NAMES = {
    MSG_NONE: "none",
    MSG_DEPTH: "depth",
    MSG_SNAPSHOT: "snapshot",
    MSG_HEARTBEAT: "heartbeat",
    MSG_CONTROL: "control",
    MSG_IGNORED: "ignored",
    MSG_VENUE_ERROR: "venue_error",
}


cdef DecodeFn _checked_decoder(str venue, bint snapshot) except NULL:
    cdef DecodeFn fn = decoder_for(venue, snapshot)
    if fn == NULL:
        if venue == "coinbase" and snapshot:
            raise ValueError("coinbase (Advanced Trade) has no snapshot decoder: "
                             "snapshots arrive in-band on l2_data")
        raise ValueError(f"unknown venue {venue!r} (expected binance, binance-usdm, "
                         f"coinbase or coinbase-exchange)")
    return fn


def _check_scale(int price_decimals, int size_decimals, int64_t price_tick,
                 int64_t size_step):
    for name, value in (("price_decimals", price_decimals), ("size_decimals", size_decimals)):
        if not 0 <= value <= MAX_DECIMALS:
            raise ValueError(f"{name} must be in 0..{MAX_DECIMALS}, got {value}")
    if price_tick < 1 or size_step < 1:
        raise ValueError("price_tick and size_step are counts of units and must be >= 1")


def decode_message(str venue, payload, int price_decimals, int size_decimals,
                   int64_t price_tick=1, int64_t size_step=1, *, bint snapshot=False) -> dict:
    """Decode one payload through the compiled decoder and convert its levels.

    Returns ``{"kind", "first_id", "last_id", "prev_id", "event_time_ns", "txn_time_ns",
    "segments": [{"symbol", "kind", "event_time_ns", "levels": [(side, price, size)]}]}``
    with ``side`` ``"bid"``/``"ask"`` and integer ticks/lots. Raises ``DecodeFailed``
    with a specific message when the payload or one of its decimals is bad.
    """
    cdef DecodeFn fn = _checked_decoder(venue, snapshot)
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef DeltaBatch b
    cdef Segment* seg
    cdef Delta* d
    cdef Py_ssize_t si, li
    cdef int rc
    _check_scale(price_decimals, size_decimals, price_tick, size_step)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        rc = fn(p, len(data), &b)
        if rc != DEC_OK:
            raise DecodeFailed(batch_error_message(&b))
        segments = []
        for si in range(b.n_segs):
            seg = &b.segs[si]
            if convert_segment(&b, seg, price_decimals, size_decimals, price_tick,
                               size_step) != DEC_OK:
                raise DecodeFailed(convert_error_message(&b, seg, p, price_decimals,
                                                         size_decimals, price_tick, size_step))
            levels = []
            for li in range(seg.start, seg.start + seg.count):
                d = &b.levels[li]
                levels.append(("bid" if d.side == SIDE_BID else "ask", d.price, d.size))
            symbol = None
            if seg.symbol_ptr != NULL:
                symbol = seg.symbol_ptr[:seg.symbol_len].decode("utf-8", "replace")
            segments.append({
                "symbol": symbol,
                "kind": "snapshot" if seg.kind == SEG_SNAPSHOT else "update",
                "event_time_ns": seg.event_time_ns,
                "levels": levels,
            })
        return {
            "kind": _KIND_NAMES.get(b.msg_kind, str(b.msg_kind)),
            "first_id": b.first_id,
            "last_id": b.last_id,
            "prev_id": b.prev_id,
            "event_time_ns": b.event_time_ns,
            "txn_time_ns": b.txn_time_ns,
            "segments": segments,
        }
    finally:
        batch_free(&b)
