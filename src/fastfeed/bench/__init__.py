"""``fastfeed bench``: throughput and latency, side by side with the usual alternatives.

One command, no network. By default (socket mode) it starts the simulator
(``python -m fastfeed.sim --json-ready --burst N``) in a **child process** and, in the
same run, lets each contender connect over loopback and receive the same burst of
pre-framed venue messages (written as fast as the socket takes them):

``ceiling``
    picows + ``CountingListener`` (compiled): frames are counted, nothing is parsed.
    What the transport alone can do on this machine: the ceiling.
``fastfeed``
    picows + ``FeedListener`` + one ``BookCore`` per symbol: the production hot path
    (decode → sequence check → int64 book → latency record), books synced from the
    simulator's REST snapshot (Binance) or its in-band snapshot (Coinbase) first.
``picows-orjson``
    picows with a Python ``WSListener``: ``orjson.loads(frame payload)`` then a dict
    book (``bench.baselines.DictBook``). Same transport as fastfeed, Python above it.
``websockets-json``
    ``websockets`` (asyncio client, no compression): ``async for msg in ws`` then
    ``json.loads`` and the same dict book. What most Python code does.

The dict-book baselines are kept honest (see :mod:`fastfeed.bench.baselines`): every level is
applied as ``float(price) -> float(size)``, a zero size deletes, and the venue's sequence
rule is checked exactly as fastfeed checks it. Everything runs on uvloop.

Measured per contender and run: messages/s and MB/s from the first to the last frame
of the burst (payload bytes; Coinbase's ``subscriptions`` ack, sent before the simulator
renders the burst, is left out), CPU µs per message (this process's CPU time from the moment
the first connection is open to the last frame, divided by the frames; the simulator's
CPU is not included), the ratio of its rate to the ceiling, fastfeed's speedup over each baseline
(per run, then the median), and receive→applied latency percentiles (p50, p90, p99,
p99.9, max) from fastfeed's ``recv_to_apply`` histograms (stamped once per socket read,
recorded after the book update: a frame's figure includes its wait behind the frames
before it in the same read, which in a burst holds hundreds). ``picows-orjson`` records
the same interval with the same clock and the same per-read stamp (a Python call per
message, ~0.3 µs, included in its figures). With
``--repeat N`` rates are the median of N runs (contender order rotates between runs)
and latencies come from all runs merged.

Exactness: after every burst each contender's books are compared, level by level, with
the simulator's ground truth (``GET /debug/truth``). A contender whose book differs (or
is not live) is reported and the command exits with status 3. ``--corrupt NAME`` is a
test aid: it changes one level of contender NAME's book after the burst, to prove the
check bites (``tests/test_bench_cli.py`` uses it).

``--no-socket`` measures decode + apply in-process instead: ``BookFeed.apply_message``
against ``json.loads`` + dict book and ``orjson.loads`` + dict book, on messages
generated with the simulator's model (no transport, no ceiling).

Output: a rich table on the terminal (progress bar on stderr), ``--json`` (every field,
machine readable), ``--hlog PATH`` (one HdrHistogram interval per run and contender,
via ``latency.HlogWriter``), ``--plot PATH.png`` (latency by percentile; needs
matplotlib from the ``bench`` extra). Exit status: 0 ok, 1 a contender failed (timeout,
gap, simulator error), 2 usage, 3 a book disagreed with the truth.

Simulator notes: bursts are pre-rendered and pre-framed for every venue, so one connection
carries every stream; on Coinbase Advanced Trade the simulator numbers the combined burst
for that connection (consecutive ``sequence_num``). The timed window runs from the first
burst frame to the last (the ``subscriptions`` ack is left out).

Layout: :mod:`~fastfeed.bench.cli` (options, table/JSON/.hlog/plot output),
:mod:`~fastfeed.bench.runner` (runs and the result dict), :mod:`~fastfeed.bench.socket`
(socket-mode contenders), :mod:`~fastfeed.bench.nosocket` (in-process contenders),
:mod:`~fastfeed.bench.workload` (workloads, ground truth, exactness),
:mod:`~fastfeed.bench.baselines` (json/orjson + dict-book baselines),
:mod:`~fastfeed.bench.config` (options and result records).
"""

from __future__ import annotations

from fastfeed.bench.cli import build_parser, main
from fastfeed.bench.config import CONTENDERS, LABELS, BenchConfig, RunResult
from fastfeed.bench.runner import run_bench

__all__ = ["CONTENDERS", "LABELS", "BenchConfig", "RunResult", "build_parser", "main", "run_bench"]
