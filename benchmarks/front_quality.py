"""A search's answer and its reference scored again at more seeds: is the quality gap real?

    .venv/bin/python benchmarks/front_quality.py --study benchmarks/results/search-350m \
        --trials 224,225,77 --seeds 0,1 [--workers 2] [--json-out FILE]

A shipping-size search ranks its front members by one run of the `full` proxy tier, whose seed
spread at 12–24 layers (≈0.07) is as large as the gaps it decides on (issue 23). This script takes
the study's reference (`search.references`, LFM2-350M) and the given trials, and scores each with
the very `full` config the study used at every seed of `--seeds`. Each run is read from, or
written to, the study's own proxy cache under the key the search uses for one seed
(`CandidateEvaluator._start_proxies`), so seed 0 is the search's own run (the script checks that
it reproduces the recorded quality) and a later search with `proxies.tiers={full: {repeats: N}}`
reuses every run made here. It prints, per architecture, each seed's quality, their mean and
spread, the search's measured decode and TTFT relative to the reference, and the two answers of
issue 24 point 6 on the mean: the fastest trial at least as good as the reference, and the best
trial no slower than it. Runs train on the CPU, one thread each, `--workers` at a time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from star_search.json_cache import JsonCache
from star_search.proxies.config import ProxyConfig
from star_search.proxies.proxy_model import proxy_size
from star_search.proxies.suite import run_suite
from star_search.report.load import load_study
from star_search.scaling import proxy_spec
from star_search.search.references import stored_references
from star_search.spec import ArchSpec

FIGURES = ("decode_p50_ms", "ttft_ms")


def run_key(spec: ArchSpec, config: ProxyConfig) -> str:
    """The search's cache key of one proxy run (one seed) of `spec` under `config`."""
    return f"proxy|{proxy_spec(spec, proxy_size(config)).arch_id}|{config.cache_key()}"


def _train(spec_json: str, config: ProxyConfig) -> dict[str, Any]:
    return run_suite(ArchSpec.from_json(spec_json), config).to_dict()


def entries(study: optuna.Study, numbers: list[int], reference: str) -> list[dict[str, Any]]:
    """The reference's record and the trials': name, pattern, spec, the full tier's config, the
    recorded quality and the measured figures. The study keeps the reference's full-tier quality
    but not its config: it is the trials' (one study, one `full` config, checked here)."""
    rows = []
    for number in numbers:
        attrs = study.trials[number].user_attrs
        tiers = attrs.get("proxy_tiers", {})
        if "full" not in tiers or "measurement" not in attrs:
            raise SystemExit(f"trial #{number} was not scored by the full tier and measured whole")
        rows.append({"name": f"#{number}", "pattern": attrs["pattern"], "arch": attrs["arch"],
                     "config": tiers["full"]["config"], "recorded": study.trials[number].values[0],
                     "figures": {k: attrs["measurement"][k] for k in FIGURES}})
    if any(row["config"] != rows[0]["config"] for row in rows):
        raise SystemExit("the trials were scored by different full-tier configs")
    record = next((r for r in stored_references(study) if r.get("name") == reference and "values" in r), None)
    if record is None:
        raise SystemExit(f"the study holds no scored reference {reference!r}")
    return [{"name": reference, "pattern": record["pattern"], "arch": record["arch"],
             "config": rows[0]["config"], "recorded": record["values"][0],
             "figures": {k: record["measurement"][k] for k in FIGURES}}, *rows]


def score(rows: list[dict[str, Any]], seeds: list[int], cache: JsonCache, workers: int) -> None:
    """Fill each row's `qualities` (seed → quality), training the runs the cache lacks."""
    todo = []
    for row in rows:
        spec = ArchSpec.from_dict(row["arch"])
        row["qualities"] = {}
        for seed in seeds:
            config = replace(ProxyConfig(**row["config"]), seed=seed, repeats=1)
            key = run_key(spec, config)
            found = cache.get(key)
            if found is not None:
                row["qualities"][seed] = found["quality"]
            else:
                todo.append((row, seed, key, spec, config))
    print(f"{sum(len(r['qualities']) for r in rows)} runs cached, {len(todo)} to train on {workers} "
          f"worker(s)", flush=True)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [(row, seed, key, pool.submit(_train, spec.to_json(), config))
                   for row, seed, key, spec, config in todo]
        for row, seed, key, future in futures:
            start = time.perf_counter()
            result = future.result()
            cache.put(key, result)
            row["qualities"][seed] = result["quality"]
            print(f"{time.strftime('%H:%M:%S')} {row['name']} seed {seed}: quality {result['quality']:.3f} "
                  f"({result['train_seconds']:.0f} s training; waited {time.perf_counter() - start:.0f} s)",
                  flush=True)


def summarise(rows: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Mean and spread per row, speed relative to the reference, and the two point-6 answers."""
    ref = rows[0]
    for row in rows:
        values = [row["qualities"][s] for s in seeds]
        row["mean"] = statistics.fmean(values)
        row["sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        row["decode_speedup"] = ref["figures"]["decode_p50_ms"] / row["figures"]["decode_p50_ms"]
        row["prefill_speedup"] = ref["figures"]["ttft_ms"] / row["figures"]["ttft_ms"]
    trials = rows[1:]
    good = [r for r in trials if r["mean"] >= ref["mean"]]
    no_slower = [r for r in trials if r["decode_speedup"] >= 1 and r["prefill_speedup"] >= 1]
    fastest = max(good, key=lambda r: min(r["decode_speedup"], r["prefill_speedup"]), default=None)
    best = max(no_slower, key=lambda r: r["mean"], default=None)
    return {"fastest_as_good": fastest["name"] if fastest else None,
            "best_no_slower": best["name"] if best else None}


def table(rows: list[dict[str, Any]], seeds: list[int]) -> str:
    head = " | ".join(f"seed {s}" for s in seeds)
    lines = [f"| | pattern | recorded | {head} | mean | sd | decode speed-up | prefill speed-up |",
             "|---|---|---|" + "---|" * len(seeds) + "---|---|---|---|"]
    for row in rows:
        cells = " | ".join(f"{row['qualities'][s]:.3f}" for s in seeds)
        lines.append(f"| {row['name']} | `{row['pattern']}` | {row['recorded']:.3f} | {cells} | "
                     f"{row['mean']:.3f} | {row['sd']:.3f} | {row['decode_speedup']:.2f}× | "
                     f"{row['prefill_speedup']:.2f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", required=True, help="a search's out_dir (holding study.db and cache/)")
    parser.add_argument("--trials", required=True, help="comma-separated trial numbers")
    parser.add_argument("--seeds", default="0,1", help="comma-separated proxy seeds (default 0,1)")
    parser.add_argument("--reference", default="lfm2-350m", help="the study's reference, by name")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directory = Path(args.study)
    study = load_study(f"sqlite:///{(directory / 'study.db').resolve()}", None)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = entries(study, [int(n) for n in args.trials.split(",")], args.reference)
    score(rows, seeds, JsonCache(directory / "cache" / "results"), args.workers)
    for row in rows:  # the search's own run must come back from the cache as it was recorded
        if row["config"]["seed"] in row["qualities"] and \
                abs(row["qualities"][row["config"]["seed"]] - row["recorded"]) > 1e-9:
            raise SystemExit(f"{row['name']}: cached run {row['qualities'][row['config']['seed']]:.6f} "
                             f"differs from the recorded quality {row['recorded']:.6f}")
    answers = summarise(rows, seeds)
    print(table(rows, seeds))
    print(f"\non the mean of seeds {seeds}: fastest trial at least as good as {args.reference}: "
          f"{answers['fastest_as_good'] or 'none'}; best trial no slower than it: "
          f"{answers['best_no_slower'] or 'none'} (speed-ups: the search's own measurements)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(
            {"study": study.study_name, "seeds": seeds, "answers": answers,
             "rows": [{k: v for k, v in r.items() if k not in ("arch", "config")} for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
