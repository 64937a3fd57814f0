# Included by _parse.pyx, before the venue files: decoders are registered by name next to
# their code (``_register`` at the end of each venue file), and the venue description
# (``fastfeed.venues``: ``Venue.decoder`` / ``Venue.snapshot_decoder``) picks them by name.
# Also the Python boundary for decoders, ``decode_message``.


@cython.final
cdef class _Decoder:
    """One registered decoder: its name and its C entry point."""
    cdef DecodeFn fn
    cdef readonly str name


cdef dict _REGISTRY = {}            # name -> _Decoder, in registration order
cdef object _get_venue = None       # fastfeed.venues.get_venue, imported on first use
cdef str _venue_names = ""


cdef int _register(str name, DecodeFn fn) except -1:
    cdef _Decoder d
    if name in _REGISTRY:
        raise RuntimeError(f"decoder {name!r} registered twice")
    d = _Decoder.__new__(_Decoder)
    d.fn = fn
    d.name = name
    _REGISTRY[name] = d
    return 0


cdef DecodeFn decoder_named(str name) except NULL:
    cdef _Decoder d = _REGISTRY.get(name)
    if d is None:
        raise ValueError(f"unknown decoder {name!r} (known: {', '.join(_REGISTRY)})")
    return d.fn

_KIND_NAMES = {
    MSG_NONE: "none",
    MSG_DEPTH: "depth",
    MSG_SNAPSHOT: "snapshot",
    MSG_HEARTBEAT: "heartbeat",
    MSG_CONTROL: "control",
    MSG_IGNORED: "ignored",
    MSG_VENUE_ERROR: "venue_error",
    MSG_TRADES: "trades",
    MSG_BBO: "bbo",
    MSG_TICKER: "ticker",
    MSG_CANDLES: "candles",
}


cdef DecodeFn venue_decoder(str venue, bint snapshot) except NULL:
    # The venue description (fastfeed.venues) names the decoders; this module owns them.
    global _get_venue, _venue_names
    if _get_venue is None:
        # imported on first use: it pulls in the REST client, which decoding never needs
        from fastfeed.venues import VENUES, get_venue
        _get_venue = get_venue
        names = sorted(VENUES)
        last = len(names) - 1           # no negative indexes: wraparound is off
        _venue_names = ", ".join(names[:last]) + " or " + names[last]
    try:
        v = _get_venue(venue)
    except ValueError:
        raise ValueError(f"unknown venue {venue!r} (expected {_venue_names})") from None
    name = v.snapshot_decoder if snapshot else v.decoder
    if name is None:
        raise ValueError(f"{venue} has no snapshot decoder: snapshots arrive in-band")
    return decoder_named(name)


cdef DecodeFn venue_trade_decoder(str venue) except NULL:
    # Venue.trade_decoder names it, as Venue.decoder names the book decoder
    venue_decoder(venue, False)         # the venue lookup and its error
    name = _get_venue(venue).trade_decoder
    if not name:
        raise ValueError(f"{venue} has no trade decoder")
    return decoder_named(name)


cdef DecodeFn venue_candle_decoder(str venue) except NULL:
    # Venue.candle_decoder names it (docs/venues.md, "Candles")
    venue_decoder(venue, False)         # the venue lookup and its error
    name = getattr(_get_venue(venue), "candle_decoder", None)
    if not name:
        raise ValueError(f"{venue} has no venue candles (local candles from trades: "
                         f"fastfeed.LocalCandles)")
    return decoder_named(name)


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
    "segments": [{"symbol", "kind", "event_time_ns", "levels": [(side, price, size)],
    "off_grid"}]}`` with ``side`` ``"bid"``/``"ask"``, integer counts of
    ``10**-price_decimals`` / ``10**-size_decimals`` units, and ``off_grid`` the number of
    levels whose price is not a multiple of ``price_tick`` units or whose size is not one
    of ``size_step`` units (kept, not rejected: docs/venues.md#instrument-scales). Raises
    ``DecodeFailed`` with a specific message when the payload or one of its decimals is bad.
    """
    cdef DecodeFn fn = venue_decoder(venue, snapshot)
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef DeltaBatch b
    cdef Grid price_grid, size_grid
    cdef Segment* seg
    cdef Delta* d
    cdef Py_ssize_t si, li
    cdef int rc
    _check_scale(price_decimals, size_decimals, price_tick, size_step)
    grid_init(&price_grid, price_decimals, price_tick)
    grid_init(&size_grid, size_decimals, size_step)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        rc = fn(p, len(data), &b)
        if rc != DEC_OK:
            raise DecodeFailed(batch_error_message(&b))
        segments = []
        for si in range(b.n_segs):
            seg = &b.segs[si]
            if convert_segment(&b, seg, &price_grid, &size_grid) != DEC_OK:
                raise DecodeFailed(convert_error_message(&b, seg, p, price_decimals,
                                                         size_decimals))
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
                "off_grid": b.off_grid,
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


def decode_trades(str venue, payload, int price_decimals, int size_decimals,
                  int64_t price_tick=1, int64_t size_step=1) -> dict:
    """Decode one payload through the venue's compiled trade decoder and convert it.

    Returns ``{"kind", "last_id", "event_time_ns", "segments": [{"symbol", "kind",
    "trades": [{"stream", "trade_id", "first_id", "last_id", "time_ns", "price", "size",
    "side"}]}]}``: trades oldest first in the venue's order, prices and sizes in integer
    ticks and lots, ``side`` +1 (the taker bought), -1 (the taker sold) or 0, ``stream``
    a name of ``TRADE_STREAMS``. ``kind`` is ``"trades"`` or what else the message is
    (``"ignored"``, ``"control"``, ...); ``last_id`` the connection sequence (Coinbase
    Advanced Trade) or -1. Raises ``DecodeFailed`` with a specific message when the
    payload or one of its decimals is bad.
    """
    return _decode_trades_with(venue_trade_decoder(venue), payload, price_decimals,
                               size_decimals, price_tick, size_step)


def decode_backfill(str venue, payload, int price_decimals, int size_decimals,
                    int64_t price_tick=1, int64_t size_step=1) -> dict:
    """Decode one REST trade body (a backfill page) through the venue's compiled
    ``Venue.backfill_decoder``; the output of ``decode_trades`` (one segment, symbol
    None: the request named it; trades oldest first). Raises ``ValueError`` for a venue
    without one, ``DecodeFailed`` with a specific message for a bad body."""
    venue_decoder(venue, False)         # the venue lookup and its error
    name = _get_venue(venue).backfill_decoder
    if not name:
        raise ValueError(f"{venue} has no REST trade backfill")
    return _decode_trades_with(decoder_named(name), payload, price_decimals, size_decimals,
                               price_tick, size_step)


cdef dict _decode_trades_with(DecodeFn fn, payload, int price_decimals, int size_decimals,
                              int64_t price_tick, int64_t size_step):
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef DeltaBatch b
    cdef Grid price_grid, size_grid
    cdef Segment* seg
    cdef Trade* t
    cdef Py_ssize_t si, li
    cdef int rc
    _check_scale(price_decimals, size_decimals, price_tick, size_step)
    grid_init(&price_grid, price_decimals, price_tick)
    grid_init(&size_grid, size_decimals, size_step)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        rc = fn(p, len(data), &b)
        if rc != DEC_OK:
            raise DecodeFailed(batch_error_message(&b))
        segments = []
        for si in range(b.n_segs):
            seg = &b.segs[si]
            if convert_segment(&b, seg, &price_grid, &size_grid) != DEC_OK:
                raise DecodeFailed(convert_error_message(&b, seg, p, price_decimals,
                                                         size_decimals))
            trades = []
            for li in range(seg.start, seg.start + seg.count):
                t = &b.trades[li]
                trades.append({
                    "stream": TRADE_STREAMS.get(t.stream, str(t.stream)),
                    "trade_id": t.trade_id,
                    "first_id": t.first_id,
                    "last_id": t.last_id,
                    "time_ns": t.time_ns,
                    "price": b.levels[li].price,
                    "size": b.levels[li].size,
                    "side": t.side,
                })
            segments.append({
                "symbol": (None if seg.symbol_ptr == NULL else
                           seg.symbol_ptr[:seg.symbol_len].decode("utf-8", "replace")),
                "kind": "snapshot" if seg.kind == SEG_SNAPSHOT else "update",
                "trades": trades,
            })
        return {
            "kind": _KIND_NAMES.get(b.msg_kind, str(b.msg_kind)),
            "last_id": b.last_id,
            "event_time_ns": b.event_time_ns,
            "segments": segments,
        }
    finally:
        batch_free(&b)


def decode_candles(str venue, payload, int price_decimals, int size_decimals) -> dict:
    """Decode one payload through the venue's compiled candle decoder and convert it.

    Returns ``{"kind", "last_id", "event_time_ns", "segments": [{"symbol", "kind",
    "candles": [{"interval", "open_ns", "close_ns", "open", "high", "low", "close",
    "volume", "quote_volume", "trades", "first_id", "last_id", "closed"}]}]}``: prices in
    ticks and the base volume in lots at the instrument's scales, the quote volume an int
    in ``10**-(price_decimals + size_decimals)`` units (-1: the venue gives none),
    ``close_ns`` exclusive, ``interval`` the venue's name (None when implied: Coinbase's
    5 minutes), ``trades``/``first_id``/``last_id`` -1 when absent, ``closed`` 1 / 0 / -1
    (final / not final / the venue does not say). ``kind`` is ``"candles"`` or what else
    the message is. Raises ``DecodeFailed`` with a specific message (docs/venues.md,
    "Candles").
    """
    cdef DecodeFn fn = venue_candle_decoder(venue)
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef DeltaBatch b
    cdef Segment* seg
    cdef Candle* cd
    cdef CandleValues v
    cdef Py_ssize_t si, li
    cdef int rc
    _check_scale(price_decimals, size_decimals, 1, 1)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        rc = fn(p, len(data), &b)
        if rc != DEC_OK:
            raise DecodeFailed(batch_error_message(&b))
        segments = []
        for si in range(b.n_segs):
            seg = &b.segs[si]
            candles = []
            for li in range(seg.start, seg.start + seg.count):
                cd = &b.candles[li]
                if convert_candle(cd, price_decimals, size_decimals, &v) != DEC_OK:
                    raise DecodeFailed(candle_error_message(cd, &v, p, price_decimals,
                                                            size_decimals))
                candles.append({
                    "interval": (None if cd.interval_ptr == NULL else
                                 cd.interval_ptr[:cd.interval_len].decode("utf-8", "replace")),
                    "open_ns": cd.open_ns,
                    "close_ns": cd.close_ns,
                    "open": v.open,
                    "high": v.high,
                    "low": v.low,
                    "close": v.close,
                    "volume": v.volume,
                    "quote_volume": i128_to_int(v.quote),
                    "trades": cd.trades,
                    "first_id": cd.first_id,
                    "last_id": cd.last_id,
                    "closed": cd.closed,
                })
            segments.append({
                "symbol": seg.symbol_ptr[:seg.symbol_len].decode("utf-8", "replace"),
                "kind": "snapshot" if seg.kind == SEG_SNAPSHOT else "update",
                "candles": candles,
            })
        return {
            "kind": _KIND_NAMES.get(b.msg_kind, str(b.msg_kind)),
            "last_id": b.last_id,
            "event_time_ns": b.event_time_ns,
            "segments": segments,
        }
    finally:
        batch_free(&b)
