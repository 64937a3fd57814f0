# Included by _benchkit.pyx. Timed loops over the compiled decimal parser and decoders:
# the loop and the clock are in C, so the result is the per-call cost without Python
# overhead. The functions are reached through _parse's cimport surface, as the book core
# and the listener reach them.

from libc.stdint cimport int64_t

from fastfeed._cdefs cimport ff_barrier, ff_monotonic_ns
from fastfeed._parse cimport DecodeFn, convert_segment, grid_init, parse_decimal, venue_decoder
from fastfeed._types cimport DEC_OK, DECIMAL_OK, DeltaBatch, Grid, batch_free, batch_init

from fastfeed._parse import DecodeFailed, decimal_error_message, decode_message


def bench_parse_decimal(bytes text, int decimals, long long iterations) -> int:
    """Total nanoseconds (monotonic clock, measured in C) for ``iterations`` parses."""
    cdef const char* p = text
    cdef Py_ssize_t n = len(text)
    cdef int64_t v = 0
    cdef int64_t sink = 0
    cdef long long _k, t0, t1
    cdef int rc = parse_decimal(p, n, decimals, &v)
    if rc != DECIMAL_OK:
        raise ValueError(decimal_error_message(rc, text, decimals))
    with nogil:
        t0 = ff_monotonic_ns()
        for _k in range(iterations):
            ff_barrier()            # the text "may have changed": no hoisting the parse
            parse_decimal(p, n, decimals, &v)
            sink += v
        t1 = ff_monotonic_ns()
    if sink == 42:                  # keep the result alive
        print(end="")
    return t1 - t0


def bench_decode(str venue, bytes payload, long long iterations, int price_decimals,
                 int size_decimals, *, bint snapshot=False, bint convert=True) -> int:
    """Total nanoseconds (monotonic clock, measured in C) for ``iterations`` rounds of
    decode + convert of every segment of ``payload`` (``convert=False``: decode alone);
    the payload must decode cleanly."""
    cdef DecodeFn fn = venue_decoder(venue, snapshot)
    cdef const char* p = payload
    cdef Py_ssize_t n = len(payload)
    cdef DeltaBatch b
    cdef Grid price_grid, size_grid
    cdef long long _k, t0, t1
    cdef Py_ssize_t si
    cdef int rc = 0
    # checks the scale and that the payload decodes cleanly (raises like decode_message)
    decode_message(venue, payload, price_decimals, size_decimals, snapshot=snapshot)
    grid_init(&price_grid, price_decimals, 1)
    grid_init(&size_grid, size_decimals, 1)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    with nogil:
        t0 = ff_monotonic_ns()
        for _k in range(iterations):
            ff_barrier()
            rc |= fn(p, n, &b)
            if not convert:
                continue
            for si in range(b.n_segs):
                rc |= convert_segment(&b, &b.segs[si], &price_grid, &size_grid)
        t1 = ff_monotonic_ns()
    batch_free(&b)
    if rc != DEC_OK:
        raise DecodeFailed("payload stopped decoding during the benchmark")
    return t1 - t0
