"""Runs a configured benchmark (socket or in-process) and builds the result dict (``--json``)."""

from __future__ import annotations

import time
from typing import Any

from fastfeed.bench.config import (
    BASELINES,
    LABELS,
    PERCENTILES,
    BenchConfig,
    RunResult,
    loop_runner,
    machine_info,
    median,
)
from fastfeed.bench.nosocket import inproc_run
from fastfeed.bench.socket import SocketBench, sim_process
from fastfeed.bench.workload import make_workload, model_levels_for, symbol_names
from fastfeed.latency import LatencyHistogram, summary


def run_bench(cfg: BenchConfig, progress: Any = None) -> tuple[dict[str, Any],
                                                                dict[str, list[RunResult]]]:
    """Run the benchmark described by ``cfg``; returns (result dict, raw runs)."""
    t_start = time.monotonic()
    symbols = symbol_names(cfg.venue, cfg.symbols)
    runs: dict[str, list[RunResult]] = {n: [] for n in cfg.contenders}
    order = list(cfg.contenders)

    def step(desc: str) -> None:
        if progress is not None:
            progress(desc)

    if cfg.no_socket:
        step("generating messages")
        workloads = [make_workload(cfg.venue, s, messages=cfg.per_symbol,
                                   levels_per_message=cfg.levels_per_message,
                                   depth=cfg.book_depth, seed=cfg.seed, index=i)
                     for i, s in enumerate(symbols)]
        n_msgs = sum(len(w.messages) for w in workloads)
        inproc_extra: dict[str, Any] = {"workload": {
            "messages": n_msgs, "bytes": sum(w.bytes for w in workloads),
            "avg_message_bytes": round(sum(w.bytes for w in workloads) / n_msgs, 1),
            "level_changes_per_message": round(sum(w.level_changes for w in workloads)
                                               / n_msgs, 2)}}
        for r in range(cfg.repeat):
            k = r % len(order)
            for name in order[k:] + order[:k]:
                step(f"run {r + 1}/{cfg.repeat}: {name}")
                runs[name].append(inproc_run(cfg, workloads, name))
        result = summarize(cfg, "no-socket", runs, inproc_extra)
        result["elapsed_s"] = round(time.monotonic() - t_start, 2)
        return result, runs

    sim = sim_process(cfg, symbols)
    try:
        step("starting the simulator (generating the burst)")
        ready = sim.start(timeout=120 + cfg.messages * 1e-3)
        bench = SocketBench(cfg, ready, symbols)

        async def go() -> None:
            await bench.prepare()
            for r in range(cfg.repeat):
                k = r % len(order)
                for name in order[k:] + order[:k]:
                    step(f"run {r + 1}/{cfg.repeat}: {name}")
                    runs[name].append(await bench.run(name))

        loop_runner()(go())
    finally:
        sim.stop()
    total = next((r for n in ("fastfeed", "ceiling") for r in runs.get(n, []) if r.messages),
                 None)
    extra: dict[str, Any] = {"simulator": {"cmd": " ".join(sim.cmd[1:])}}
    if total is not None:
        lc = next((r.level_changes for r in runs.get("fastfeed", []) if r.level_changes), 0)
        extra["workload"] = {
            "messages": total.messages, "bytes": total.bytes,
            "avg_message_bytes": round(total.bytes / max(1, total.messages), 1),
            "level_changes_per_message": round(lc / max(1, total.messages), 2)}
    result = summarize(cfg, "socket", runs, extra)
    result["elapsed_s"] = round(time.monotonic() - t_start, 2)
    return result, runs


def summarize(cfg: BenchConfig, mode: str, runs: dict[str, list[RunResult]],
               extra: dict[str, Any]) -> dict[str, Any]:
    contenders: dict[str, Any] = {}
    ceiling_runs = runs.get("ceiling", [])
    for name, rs in runs.items():
        ok = [r for r in rs if r.error is None]
        hist = LatencyHistogram()
        have_hist = False
        for r in ok:
            if r.hist is not None and r.hist.total_count:
                hist.add(r.hist)
                have_hist = True
        lat: dict[str, Any] | None = None
        if have_hist:
            s = summary(hist)
            lat = {k: int(s[k]) for k in ("count", *PERCENTILES)}
            lat["mean"] = round(float(s["mean"]), 1)
        entry: dict[str, Any] = {
            "label": ("fastfeed (BookFeed.apply_message)" if mode == "no-socket"
                      and name == "fastfeed" else LABELS[name]),
            "runs": [{"messages": r.messages - (1 if mode == "no-socket" else 0),
                      "bytes": r.bytes, "elapsed_s": round(r.elapsed_s, 6),
                      "cpu_s": round(r.cpu_s, 6), "messages_per_s": round(r.rate, 1),
                      "mb_per_s": round(r.mb_s, 3), "cpu_us_per_msg": round(r.cpu_us, 4),
                      "ns_per_msg": round(1e9 / r.rate, 1) if r.rate else None,
                      "exact": r.exact, "error": r.error} for r in rs],
            "messages_per_s": round(median([r.rate for r in ok]), 1) if ok else None,
            "mb_per_s": round(median([r.mb_s for r in ok]), 3) if ok else None,
            "cpu_us_per_msg": round(median([r.cpu_us for r in ok]), 4) if ok else None,
            "ns_per_msg": round(1e9 / median([r.rate for r in ok]), 1) if ok else None,
            "latency_ns": lat,
            "exact": None if name == "ceiling" else (
                all(r.exact for r in rs) if rs and all(r.error is None for r in rs) else False),
            "mismatch": next((r.mismatch for r in rs if r.mismatch), None),
            "error": next((r.error for r in rs if r.error), None),
        }
        if ok and ok[0].level_changes:
            entry["level_changes_per_message"] = round(
                ok[0].level_changes / max(1, ok[0].messages), 2)
        if ceiling_runs and name != "ceiling":
            to_ceiling = [r.rate / c.rate for r, c in zip(rs, ceiling_runs, strict=False)
                          if r.error is None and c.error is None and c.rate]
            entry["ratio_to_ceiling"] = round(median(to_ceiling), 4) if to_ceiling else None
        elif name == "ceiling":
            entry["ratio_to_ceiling"] = 1.0
        else:
            entry["ratio_to_ceiling"] = None
        contenders[name] = entry
    ratios: dict[str, Any] = {}
    ff = runs.get("fastfeed", [])
    for base in BASELINES[mode]:
        if base not in runs:
            continue
        pairs = [(f, b) for f, b in zip(ff, runs[base], strict=False) if f.error is None and b.error is None]
        if pairs:
            ratios[f"fastfeed_vs_{base}"] = round(median([f.rate / b.rate for f, b in pairs
                                                           if b.rate]), 2)
            ratios[f"fastfeed_vs_{base}_cpu"] = round(median(
                [b.cpu_us / f.cpu_us for f, b in pairs if f.cpu_us]), 2)
    if "ratio_to_ceiling" in contenders.get("fastfeed", {}) and ceiling_runs:
        ratios["fastfeed_vs_ceiling"] = contenders["fastfeed"]["ratio_to_ceiling"]
    exact = all(c["exact"] is not False for n, c in contenders.items() if n != "ceiling")
    failed = any(c["error"] for c in contenders.values())
    return {
        "bench": "fastfeed",
        "mode": mode,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine_info(),
        "config": {"venue": cfg.venue, "symbols": cfg.symbols, "messages": cfg.messages,
                   "messages_per_symbol": cfg.per_symbol,
                   "levels_per_message": cfg.levels_per_message,
                   "model_levels_per_message": model_levels_for(cfg.levels_per_message),
                   "book_depth": cfg.book_depth, "repeat": cfg.repeat, "seed": cfg.seed,
                   "corrupt": cfg.corrupt},
        **extra,
        "contenders": contenders,
        "ratios": ratios,
        "exact": exact,
        "ok": exact and not failed,
        "notes": cfg.notes,
    }
