# cython: language_level=3
"""Benchmark kit: compiled timing loops and listeners used by ``benches/`` and ``fastfeed bench``.

Nothing in the production path imports this module. Each part lives in its own include
(``benchkit/*.pxi``, next to this file) beside the module it measures:

- ``benchkit/book.pxi``: ``bench_apply_deltas`` (``L2Book.apply_deltas`` from C);
- ``benchkit/hist.pxi``: ``bench_record`` / ``bench_baseline`` (``LatencyHistogram.record``
  in a nogil loop, and the same loop without it), ``bench_record_pair`` (a book's and its
  connection's histogram, as ``BookCore`` records);
- ``benchkit/listener.pxi``: ``CountingListener`` (the raw picows ceiling) and
  ``TimedFeedListener`` (the production ``FeedListener`` plus a frame-count hook);
- ``benchkit/parse.pxi``: the decoder timing loops (owned by the parser; cimports of
  ``fastfeed._parse`` go in that file);
- ``benchkit/trades.pxi``: ``bench_trades`` (a trade stream's decode + record path);
- ``benchkit/quotes.pxi``: ``bench_quotes`` (a BBO or ticker stream's decode + record path);
- ``benchkit/record.pxi``: ``bench_record_frames`` (the listener's per-message recording
  work) and ``bench_stamp_only`` (the same loop without it).
"""

include "benchkit/book.pxi"
include "benchkit/hist.pxi"
include "benchkit/listener.pxi"
include "benchkit/parse.pxi"
include "benchkit/trades.pxi"
include "benchkit/quotes.pxi"
include "benchkit/record.pxi"
