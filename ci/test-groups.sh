# The test files in two groups, read by ci/test.sh and ci/debug.sh (sourced; one place for
# the list). IN_PROCESS: everything that drives the compiled modules in-process (book,
# decimal/decode, feed, histogram, sequencer, corpus, the bench smoke tests): CPU-bound,
# independent, run in parallel, and under the sanitizers by ci/debug.sh. END_TO_END: the
# tests that start the simulator, an engine, nats-server or CLI processes over sockets:
# two at a time (each uses its own ports, segment names and temporary directories; their
# timeouts allow for sharing the machine with one other such test).
# A test file in neither list fails both jobs, so a new one gets a deliberate choice.
IN_PROCESS=(
    tests/test_book.py tests/test_decimal.py tests/test_decode_binance.py
    tests/test_decode_coinbase.py tests/test_decode_kraken.py tests/test_decode_okx.py tests/test_feed_binance.py tests/test_feed_coinbase.py
    tests/test_hist.py tests/test_sync.py tests/test_corpus.py tests/test_corpus_listener.py
    tests/test_states.py tests/test_venues.py tests/test_parse_api.py tests/test_shm.py
    tests/test_fuzz_smoke.py tests/test_snapshots.py tests/test_memory.py tests/test_view.py
    tests/test_decode_trades.py tests/test_trades.py tests/test_router_channels.py
    tests/test_decode_quotes.py tests/test_decode_candles.py tests/test_local_candles.py
    tests/test_simd_dispatch.py tests/test_cross_aarch64.py
    benches/test_bench_book.py benches/test_bench_feed.py benches/test_bench_hist.py
    benches/test_bench_parse.py benches/test_bench_trades.py benches/test_bench_quotes.py
    benches/test_bench_candles.py
    tests/test_decode_backfill.py tests/test_trades_backfill.py tests/test_recording_file.py
    tests/test_recorder.py benches/test_bench_recording.py tests/test_export.py
    tests/test_decode_bybit.py tests/test_tokenmetrics_decode.py
    tests/test_decode_okx_trades.py tests/test_decode_bybit_trades.py tests/test_wire.py
    tests/test_fanout_hub.py tests/test_decode_kraken_trades.py tests/test_decode_kraken_quotes.py
    tests/test_decode_okx_quotes.py tests/test_decode_okx_candles.py
    tests/test_decode_bybit_quotes.py tests/test_decode_bybit_candles.py
    tests/test_decode_kraken_candles.py tests/test_fanout_writer.py tests/test_per_read.py
)
END_TO_END=(
    tests/test_engine_*.py tests/test_chaos.py tests/test_sim_*.py tests/test_cli.py
    tests/test_bench_cli.py tests/test_robust.py tests/test_rest_hostile.py tests/test_shm_mp.py
    tests/test_honest_live.py tests/test_scale.py tests/test_audit.py tests/test_bench_scale.py
    tests/test_backfill.py tests/test_cli_record.py tests/test_replay_serve.py
    tests/test_tokenmetrics.py tests/test_fanout_publisher.py benches/test_bench_fanout.py
    benches/test_bench_fanout_e2e.py
    tests/test_workers.py tests/test_fanout_consumer.py benches/test_bench_workers.py
)
unlisted=()
for f in tests/test_*.py benches/test_*.py; do
    case " ${IN_PROCESS[*]} ${END_TO_END[*]} " in *" $f "*) ;; *) unlisted+=("$f") ;; esac
done
if [ ${#unlisted[@]} -gt 0 ]; then
    echo "ci/test-groups.sh: add to IN_PROCESS or END_TO_END: ${unlisted[*]}" >&2
    exit 1
fi
