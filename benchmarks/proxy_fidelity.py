"""Does the `fast` proxy tier rank architectures the way longer training on every eval does?

    nice -n 19 python benchmarks/proxy_fidelity.py [--set shallow|deep|deep-held-back] [--archs 16] \
        [--ref-steps-multiplier 4] [--workers 2] [--seed 0] [--device auto] [--results FILE]

Each architecture of the set (`--set shallow`, `star_search.proxies.fidelity.FIDELITY_PATTERNS`:
pure attention, conv, SSM and linear attention, hybrids at several attention fractions, an MoE
hybrid, 2 to 6 layers; `--set deep`, `FIDELITY_DEEP_PATTERNS`: 12 to 24 layers, LFM2-350M's and
LFM2-8B-A1B's published patterns, attention placed early, late and spread, SSM and linear-attention
hybrids, one pattern at four depths; `--set deep-held-back`, `FIDELITY_DEEP_HELD_BACK`: 8 more deep
patterns written down before any was run and never used to choose a recipe; results in
`benchmarks/results/proxy_fidelity[_deep|_deep_held_back].json`) is scored twice:
by the `fast` tier, and by a reference run: the `full` tier's recipe on every registered setting,
trained for `--ref-steps-multiplier` × the fast tier's steps. The script prints both qualities and
ranks, Kendall's τ-b between the two orderings (overall and per family), and the cost per
candidate of each (wall clock and CPU seconds). Every finished job (one architecture, one kind)
is cached in `--results` at once, so an interrupted run resumes where it stopped: a rerun with
the same file skips the jobs already done with the same configs (`--fast-set` variants of the
fast tier that keep its steps reuse the reference runs; other steps change the reference too).
Fast jobs run first, then the cheapest reference runs, so a partial run already ranks as many
architectures as it could; the report says which are missing (`--report-only` prints it without
running anything). `--archs` takes a count (the first N architectures) or a comma-separated list
of layer strips. Jobs are cached under the device they ran on (`--device auto` takes the GPU when
one is visible), so a GPU run never stands in for a CPU run or the other way round.

After the table come diagnostics from whatever else the cache holds: each side's ranking against
its own repeat at the next seed, and the full suite at the fast tier's steps against the
reference. `--fast-set scoring="probability"` scores the fast tier by the probability of the
right answer; the reference stays on accuracy (the yardstick), and the report also ranks the
same fast runs by accuracy, so both scorings are compared on identical training runs. When
`--fast-set` / `--reference-set` change a recipe (e.g. `residual_init="depth"` on both), the report
ends with each changed side against the tier's own recipe at the same seed, and the changed fast
tier against the unchanged reference: whether a change fixes the tier or moves the yardstick.
"""

from __future__ import annotations

import argparse
import fcntl
import itertools
import json
import math
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

from star_search.atomic import atomic_write
from star_search.progress import console_progress
from star_search.proxies import ProxyConfig, proxy_config_for_tier, run_suite
from star_search.proxies.fidelity import FIDELITY_SETS, SPREAD_BANDS, arch_from_pattern, kendall_tau_b
from star_search.proxies.spread import SPREAD_FILE, Repeat, measure_spread, recipe_key
from star_search.proxies.suite import TIERS, resolve_device, weighted_quality

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS = {"shallow": RESULTS_DIR / "proxy_fidelity.json", "deep": RESULTS_DIR / "proxy_fidelity_deep.json",
           "deep-held-back": RESULTS_DIR / "proxy_fidelity_deep_held_back.json"}
SHIPPED_SPREAD = Path(__file__).resolve().parents[1] / "star_search" / "proxies" / SPREAD_FILE
# A reference run is known by its recipe, not by the multiplier that derived its steps: the same
# 1200 steps are the reference of a 300-step fast tier at ×4 and of a 600-step one at ×2.
REFERENCE_TIER = "reference"
REFERENCE_MULTIPLIER = 4  # the reference trains the full suite for 4x the fast tier's steps


def configs(multiplier: int, seed: int, threads: int, device: str, fast_overrides: dict[str, Any],
            reference_overrides: dict[str, Any] | None = None) -> dict[str, ProxyConfig]:
    """The fast tier and its reference: the `full` tier's recipe on every setting for `multiplier`
    × the fast steps. device: "cpu" or "cuda", resolved (not "auto"), so that it is part of every
    cache key. reference_overrides: other `full` fields (e.g. the recipe of an earlier reference)."""
    fast = proxy_config_for_tier("fast", **{"seed": seed, "threads": threads, "device": device,
                                            **fast_overrides})
    full = proxy_config_for_tier("full", **{"seed": seed, "threads": threads, "device": device,
                                            **(reference_overrides or {})})
    reference = replace(full, tier=REFERENCE_TIER, steps=fast.steps * multiplier)
    return {"fast": fast, "reference": reference}


def overrides_from(pairs: list[str]) -> dict[str, Any]:
    """`["steps=1700", "lr=0.004"]` → {"steps": 1700, "lr": 0.004} (values read as JSON)."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not key or not value:
            raise SystemExit(f"--fast-set / --reference-set {pair!r}: expected key=value")
        result[key] = json.loads(value)
    return result


def score(kind: str, pattern: str, config: ProxyConfig) -> dict[str, Any]:
    """One job in a worker process. seconds: wall clock; cpu_seconds: the worker's CPU time over
    the job, the cost on an otherwise idle core (on a shared machine wall clock also counts the
    time other programs held the core)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run_suite(arch_from_pattern(pattern), config)
    record = {"kind": kind, "pattern": pattern, "config": config.cache_key(), "quality": result.quality,
              "families": result.family_means(), "seconds": time.perf_counter() - start,
              "cpu_seconds": time.process_time() - cpu_start, "train_seconds": result.train_seconds,
              "device": result.device, "date": time.strftime("%Y-%m-%d")}
    if config.scoring != "accuracy":  # the same run scored by top-1 accuracy, to compare scorings
        record["families_accuracy"] = result.family_means(by_accuracy=True)
    return record


def stored_key(record: dict[str, Any]) -> str:
    """A stored record's config as today's `cache_key`: fields added since it was written take
    their defaults, which are what those runs did (e.g. `scoring` "accuracy"), a device of
    "auto" becomes the device the job ran on, and a reference's label is `REFERENCE_TIER`
    (earlier runs were labelled with their multiplier)."""
    config = json.loads(record["config"])
    if record["kind"] == "reference":
        config["tier"] = REFERENCE_TIER
    if config.get("device", "auto") == "auto":
        config["device"] = record["device"]
    return ProxyConfig(**config).cache_key()


def patterns_from(argument: str | None, fidelity_set: str = "shallow") -> list[str]:
    """`--archs`: a count (the first N of the set), comma-separated strips, or None (the whole set)."""
    whole = FIDELITY_SETS[fidelity_set]
    if argument is None:
        return list(whole)
    if argument.isdigit():
        count = int(argument)
        if not 2 <= count <= len(whole):
            raise SystemExit(f"--archs {count}: between 2 and {len(whole)}")
        return list(whole[:count])
    patterns = [p.strip() for p in argument.split(",") if p.strip()]
    for pattern in patterns:
        arch_from_pattern(pattern)  # a bad strip fails now, naming the letter
    return patterns


def cost(pattern: str) -> int:
    """Rough relative cost of a strip's proxy run: layers, linear attention and SSM weighing more."""
    return sum({"c": 2, "a": 2, "s": 3, "l": 4, "*": 1}[letter] for letter in pattern)


Stored = dict[tuple[str, str, str], dict[str, Any]]  # (kind, pattern, config key) → record


def load(results_path: Path) -> Stored:
    """Every record ever written, whatever its config."""
    stored: Stored = {}
    if results_path.exists():
        for record in json.loads(results_path.read_text()):
            stored[(record["kind"], record["pattern"], stored_key(record))] = record
    return stored


def single_runs(config: ProxyConfig) -> list[ProxyConfig]:
    """The one-seed runs a config averages (itself when `repeats` is 1)."""
    return [replace(config, seed=config.seed + r, repeats=1) for r in range(config.repeats)]


def assembled(kind: str, pattern: str, config: ProxyConfig, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A `repeats` > 1 record from its one-seed runs: what `run_suite` computes for it (the mean
    of the runs' qualities and family means; seconds added up), without training anything twice."""
    record = {"kind": kind, "pattern": pattern, "config": config.cache_key(),
              "quality": statistics.fmean(r["quality"] for r in runs),
              "families": {f: statistics.fmean(r["families"][f] for r in runs) for f in runs[0]["families"]},
              "device": runs[0]["device"], "date": max(r["date"] for r in runs),
              "assembled_from_seeds": [json.loads(r["config"])["seed"] for r in runs]}
    for name in ("seconds", "cpu_seconds", "train_seconds"):
        if all(name in r for r in runs):
            record[name] = sum(r[name] for r in runs)
    return record


def run_jobs(patterns: list[str], kinds: dict[str, ProxyConfig], workers: int, results_path: Path,
             run: bool = True) -> dict[tuple[str, str], dict[str, Any]]:
    """Each (kind, pattern)'s record: stored, or run now; a config with `repeats` > 1 is
    assembled from one-seed runs (stored and reused one by one)."""
    stored = load(results_path)
    wanted = {(kind, p): config for kind, config in kinds.items() for p in patterns}
    jobs = {(kind, p, single.cache_key()): single for (kind, p), config in wanted.items()
            for single in single_runs(config)}
    # Fast jobs first, then the cheapest reference runs first (fewer layers, fewer linear-attention
    # and SSM layers): on a shared machine a run may be stopped early, and a partial run then
    # already ranks as many architectures as its time allowed.
    todo = sorted((key for key in jobs if key not in stored), key=lambda k: (k[0] != "fast", cost(k[1])))
    print(f"{len(jobs) - len(todo)} jobs already in {results_path}, {len(todo)} to run on {workers} workers",
          flush=True)
    if run and todo:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool, \
                console_progress().task("proxy fidelity", len(todo), "jobs") as task:
            futures = [pool.submit(score, kind, pattern, jobs[(kind, pattern, key)])
                       for kind, pattern, key in todo]
            for future in as_completed(futures):
                record = future.result()
                task.advance(note=f"{record['kind']} {record['pattern']}")
                stored[(record["kind"], record["pattern"], stored_key(record))] = record
                print(f"  {record['kind']:<9} {record['pattern']:<10} quality {record['quality']:.3f} "
                      f"in {record['seconds']:.0f} s ({record['cpu_seconds']:.0f} s CPU)", flush=True)
                add(results_path, record)
    found = {key: record_for(stored, *key, config) for key, config in wanted.items()}
    return {key: record for key, record in found.items() if record is not None}


def record_for(stored: Stored, kind: str, pattern: str, config: ProxyConfig) -> dict[str, Any] | None:
    """The stored record of one job, a `repeats` > 1 one assembled from its one-seed runs; None
    when a run is missing."""
    runs = [stored.get((kind, pattern, single.cache_key())) for single in single_runs(config)]
    if not all(runs):
        return None
    return runs[0] if config.repeats == 1 else assembled(kind, pattern, config, runs)  # type: ignore[arg-type]


def save(path: Path, records: list[dict[str, Any]]) -> None:
    """Write atomically, so that an interrupt never leaves a truncated cache behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(records, indent=1).encode())


def add(path: Path, record: dict[str, Any]) -> None:
    """Add one finished job to the cache as it is on disk now, under an exclusive lock on its
    folder: two runs sharing a cache (say a fast variant beside a reference run) each add their
    own records and never write back an older copy over the other's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        stored = load(path)
        stored[(record["kind"], record["pattern"], stored_key(record))] = record
        save(path, list(stored.values()))
    finally:
        os.close(folder)  # closing drops the lock


def cpu(record: dict[str, Any]) -> str:
    return f"{record['cpu_seconds']:.0f}" if "cpu_seconds" in record else "n/a"


def ranks(values: list[float]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: -values[i])
    rank = [0] * len(values)
    for position, index in enumerate(order):
        rank[index] = position + 1
    return rank


def report(patterns: list[str], done: dict[tuple[str, str], dict[str, Any]], kinds: dict[str, ProxyConfig]
           ) -> None:
    missing = [p for p in patterns if ("fast", p) not in done or ("reference", p) not in done]
    if missing:
        print(f"\nPARTIAL: {len(missing)} of {len(patterns)} architectures lack a result: "
              f"{', '.join(missing)}")
        patterns = [p for p in patterns if p not in missing]
    if len(patterns) < 2:
        print("fewer than two architectures with both results: nothing to rank")
        return
    fast = [done[("fast", p)] for p in patterns]
    ref = [done[("reference", p)] for p in patterns]
    fast_q, ref_q = [r["quality"] for r in fast], [r["quality"] for r in ref]
    fast_rank, ref_rank = ranks(fast_q), ranks(ref_q)
    print(f"\nfast: {len(kinds['fast'].select_tasks())} settings, {kinds['fast'].steps} steps; "
          f"reference: {len(kinds['reference'].select_tasks())} settings, {kinds['reference'].steps} steps; "
          f"device {fast[0]['device']}, {os.cpu_count()} CPUs, threads {kinds['fast'].threads} per job\n")
    print("| pattern | fast quality | reference quality | fast rank | reference rank "
          "| fast s (CPU s) | reference s (CPU s) |")
    print("|---|---|---|---|---|---|---|")
    for i, pattern in enumerate(patterns):
        print(f"| {pattern} | {fast_q[i]:.3f} | {ref_q[i]:.3f} | {fast_rank[i]} | {ref_rank[i]} | "
              f"{fast[i]['seconds']:.0f} ({cpu(fast[i])}) | {ref[i]['seconds']:.0f} ({cpu(ref[i])}) |")
    tau = kendall_tau_b(fast_q, ref_q)
    fast_s, ref_s = [r["seconds"] for r in fast], [r["seconds"] for r in ref]
    fast_cpu = [r["cpu_seconds"] for r in fast if "cpu_seconds" in r]
    ref_cpu = [r["cpu_seconds"] for r in ref if "cpu_seconds" in r]
    print(f"\nKendall tau-b (fast vs reference quality), {len(patterns)} architectures: {tau:.3f}")
    if kinds["fast"].scoring != "accuracy" and all("families_accuracy" in r for r in fast):
        weights = {family: kinds["fast"].family_weight(family) for family in fast[0]["families_accuracy"]}
        by_accuracy = [weighted_quality(r["families_accuracy"], weights) for r in fast]
        print(f"the same fast runs scored by top-1 accuracy instead of {kinds['fast'].scoring}: "
              f"{kendall_tau_b(by_accuracy, ref_q):.3f}")
    print(f"fast tier per candidate: median {statistics.median(fast_s):.0f} s, "
          f"min {min(fast_s):.0f} s, max {max(fast_s):.0f} s")
    print(f"reference per candidate: median {statistics.median(ref_s):.0f} s, "
          f"min {min(ref_s):.0f} s, max {max(ref_s):.0f} s")
    for name, values in (("fast", fast_cpu), ("reference", ref_cpu)):
        if values:
            print(f"{name} CPU seconds per candidate ({len(values)} jobs): median "
                  f"{statistics.median(values):.0f} s, min {min(values):.0f} s, max {max(values):.0f} s")
    print("\nper family: tau-b of the fast family mean vs the reference quality, "
          "and vs the reference family mean")
    for family in fast[0]["families"]:
        mine = [r["families"][family] for r in fast]
        same = [r["families"].get(family, math.nan) for r in ref]
        print(f"  {family:<18} {kendall_tau_b(mine, ref_q):6.3f} {kendall_tau_b(mine, same):6.3f}")


Side = tuple[str, ProxyConfig]  # (kind, config) of one stored run per architecture


def stored_tau(patterns: list[str], stored: Stored, a: Side, b: Side) -> tuple[float, int] | None:
    """τ-b between two stored sides over the architectures both hold (None if under two)."""
    pairs = [(record_for(stored, a[0], p, a[1]), record_for(stored, b[0], p, b[1])) for p in patterns]
    both = [(x["quality"], y["quality"]) for x, y in pairs if x is not None and y is not None]
    if len(both) < 2:
        return None
    return kendall_tau_b([x for x, _ in both], [y for _, y in both]), len(both)


def diagnostics(patterns: list[str], stored: Stored, kinds: dict[str, ProxyConfig]) -> None:
    """τ-b of runs the cache may hold beside the pair compared above, to read that τ against:
    each side against itself at the next seed (how far one run's ranking is from its own
    repeat), the full suite at the fast tier's steps against the reference (the part of the gap
    that comes from training length alone, not from the fast tier's subset of settings), and
    the comparison itself at every pairing of two fast seeds with two reference seeds, with
    their mean (one pairing moves with seed luck; the mean of four much less), and the fast
    run against every other training length of the full suite the cache holds.
    Only what is stored is shown; the command that adds a missing one is printed instead."""
    fast, reference = kinds["fast"], kinds["reference"]
    multiplier = reference.steps // fast.steps
    following = fast.seed + fast.repeats  # the next seed, or the next block of seeds a mean takes
    pairs: list[tuple[str, Side, Side, str]] = [
        ("fast vs fast at the next seed(s)", ("fast", fast), ("fast", replace(fast, seed=following)),
         f"this command with --fast-only and seed={following} among the --fast-set values"),
        ("reference vs reference at the next seed", ("reference", reference),
         ("reference", replace(reference, seed=reference.seed + reference.repeats)),
         f"this command with --seed {reference.seed + reference.repeats}: every reference run again"),
        (f"full suite at {fast.steps} steps vs reference",
         ("reference", replace(reference, steps=fast.steps)), ("reference", reference),
         f"this command with steps={fast.steps // multiplier} among the --fast-set values: its reference"),
    ]
    print("\ndiagnostics (Kendall tau-b, architectures that have both runs):")
    for label, a, b, how in pairs:
        found = stored_tau(patterns, stored, a, b)
        print(f"  {label}: " + (f"{found[0]:.3f} ({found[1]} architectures)" if found
                                  else f"not stored (run {how})"))
    seed_pairings(patterns, stored, fast, reference)
    noise_against_gaps(patterns, stored, fast, replace(fast, seed=following), reference)
    # The fast tier against the full suite trained for other lengths: where along the reference's
    # training its ranking sits (the order keeps moving with training at proxy scale).
    lengths = sorted({json.loads(key)["steps"] for kind, _, key in stored if kind == "reference"}
                     - {reference.steps})
    for steps in lengths:
        found = stored_tau(patterns, stored, ("fast", fast), ("reference", replace(reference, steps=steps)))
        if found:
            print(f"  fast seed {fast.seed} vs the full suite at {steps} steps, seed {reference.seed}: "
                  f"{found[0]:.3f} ({found[1]} architectures)")


def against_tier_recipes(patterns: list[str], stored: Stored, kinds: dict[str, ProxyConfig],
                         tiers: dict[str, ProxyConfig]) -> None:
    """When `--fast-set` / `--reference-set` change a recipe (say `residual_init`), the changed
    side against the tier's own recipe at the same seed (how far the change moves its ranking),
    and the changed fast tier against the unchanged reference (the yardstick before the change),
    at both of the first two seeds the cache holds. Nothing when no recipe was changed."""
    changed = [kind for kind in ("fast", "reference")
               if replace(kinds[kind], seed=0) != replace(tiers[kind], seed=0)]
    if not changed:
        return
    print("\nagainst the tiers' own recipes (Kendall tau-b, architectures that have both runs):")
    for kind in changed:
        for offset in (0, kinds[kind].repeats):
            a, b = (replace(kinds[kind], seed=kinds[kind].seed + offset),
                    replace(tiers[kind], seed=tiers[kind].seed + offset))
            found = stored_tau(patterns, stored, (kind, a), (kind, b))
            if found:
                print(f"  {kind} (this recipe) vs {kind} (the tier's own), seed {a.seed}: {found[0]:.3f} "
                      f"({found[1]} architectures)")
    if "reference" in changed:  # the changed fast tier against the yardstick before the change
        seed_pairings(patterns, stored, kinds["fast"], tiers["reference"],
                      labels=(" (this recipe)", " (the tier's own)"))


def write_spread(path: Path = SHIPPED_SPREAD) -> None:
    """Pool the seed repeats of both sets' caches into the shipped seed-spread table, for the
    recipes of today's tiers (`star_search.proxies.spread`), and print its bands. A tier that
    averages k seeds is measured on disjoint blocks of k one-seed runs (seeds 0…k-1, k…2k-1, …)."""
    shipped = {recipe_key(config): name for name, config in TIERS.items()}
    runs = []
    for fidelity_set, results in RESULTS.items():
        stored = load(results)
        for tier in TIERS.values():
            canonical = recipe_key(tier)
            for kind, pattern, key in list(stored):
                config = replace(ProxyConfig(**json.loads(key)), repeats=tier.repeats)
                if config.seed % tier.repeats or recipe_key(config) != canonical:
                    continue
                block = record_for(stored, kind, pattern, config)
                if block is not None and pattern in FIDELITY_SETS[fidelity_set]:
                    runs.append(Repeat(canonical, pattern, arch_from_pattern(pattern).n_layers, config.seed,
                                       block["quality"], block.get("date", ""), block["device"]))
    table = measure_spread(runs, SPREAD_BANDS)
    atomic_write(path, table.to_json().encode())
    print(f"seed spread of one run's quality, written to {path}:")
    for key, bands in table.bands.items():
        for band in bands:
            print(f"  {shipped[key]:<5} {band.set:<8} sd {band.sd:.3f} ({band.describe()}, {band.dof} dof)")


def seed_pairings(patterns: list[str], stored: Stored, fast: ProxyConfig, reference: ProxyConfig,
                  labels: tuple[str, str] = ("", "")) -> None:
    """The fast tier against the reference at every pairing of their first two seeds (blocks of
    seeds for a mean) the cache holds, and the mean over the pairings found."""
    taus = []
    for fast_seed in (fast.seed, fast.seed + fast.repeats):
        for reference_seed in (reference.seed, reference.seed + reference.repeats):
            found = stored_tau(patterns, stored, ("fast", replace(fast, seed=fast_seed)),
                               ("reference", replace(reference, seed=reference_seed)))
            if found:
                taus.append(found[0])
                print(f"  fast{labels[0]} seed {fast_seed} vs reference{labels[1]} seed {reference_seed}: "
                      f"{found[0]:.3f} ({found[1]} architectures)")
    if len(taus) > 1:
        print(f"  mean over these {len(taus)} seed pairings: {statistics.mean(taus):.3f}")


def noise_against_gaps(patterns: list[str], stored: Stored, fast: ProxyConfig, repeat: ProxyConfig,
                       reference: ProxyConfig) -> None:
    """One fast run's seed spread (from `fast` and its `repeat` at other seeds) beside the gaps it
    must rank: the median gap between neighbouring reference qualities, and the share of pattern
    pairs whose reference gap exceeds two standard deviations of a difference of two fast runs."""
    pairs = [(record_for(stored, "fast", p, fast), record_for(stored, "fast", p, repeat)) for p in patterns]
    diffs = [a["quality"] - b["quality"] for a, b in pairs if a is not None and b is not None]
    if len(diffs) < 2:
        return
    sd = math.sqrt(sum(d * d for d in diffs) / len(diffs) / 2)
    print(f"\nseed noise against the gaps to rank ({len(diffs)} architectures with both fast runs):")
    print(f"  one fast score's spread ({fast.repeats} seed(s) per score; sd pooled over the set): {sd:.3f}")
    found = [record_for(stored, "reference", p, reference) for p in patterns]
    ref_q = sorted(r["quality"] for r in found if r is not None)
    if len(ref_q) < 2:
        return
    gaps = [b - a for a, b in itertools.pairwise(ref_q)]
    margin = 2 * math.sqrt(2) * sd
    apart = [abs(x - y) > margin for i, x in enumerate(ref_q) for y in ref_q[i + 1:]]
    print(f"  median gap between neighbouring reference qualities: {statistics.median(gaps):.3f} "
          f"({len(ref_q)} architectures)")
    print(f"  pattern pairs whose reference gap exceeds 2 sd of a difference ({margin:.3f}): "
          f"{sum(apart)} of {len(apart)} ({sum(apart) / len(apart):.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(FIDELITY_SETS), default="shallow", dest="fidelity_set",
                        help="the architecture set: shallow (2-6 layers), deep (12-24 layers, where "
                             "backbones ship) or deep-held-back (8 more deep patterns, never used to "
                             "choose a recipe); each has its own --results file")
    parser.add_argument("--archs", default=None,
                        help="number of architectures (first N of the set) or comma-separated layer strips")
    parser.add_argument("--ref-steps-multiplier", type=int, default=REFERENCE_MULTIPLIER)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per job")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="the reference with other ProxyConfig fields than the full tier's, e.g. "
                             "batch_size=14 final_lr_fraction=0.1 (the reference before 2026-12-04)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the proxies train (auto: the GPU when one is visible)")
    parser.add_argument("--results", type=Path, default=None,
                        help="job cache (committed, so a later session resumes instead of recomputing)")
    parser.add_argument("--fast-set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="try the fast tier with other ProxyConfig fields, e.g. steps=400 batch_size=10")
    parser.add_argument("--fast-only", action="store_true",
                        help="run only the fast jobs (e.g. --fast-set seed=N): no reference, no report")
    parser.add_argument("--report-only", action="store_true",
                        help="report what --results holds, running nothing")
    parser.add_argument("--write-spread", action="store_true",
                        help=f"pool the seed repeats both sets' caches hold into star_search/proxies/"
                             f"{SPREAD_FILE} (the per-candidate quality spread the search and report "
                             f"show), running nothing")
    args = parser.parse_args()
    if args.write_spread:
        write_spread()
        return
    if args.ref_steps_multiplier < 1 or args.workers < 1:
        raise SystemExit("--ref-steps-multiplier and --workers must be at least 1")
    patterns = patterns_from(args.archs, args.fidelity_set)
    args.results = args.results or RESULTS[args.fidelity_set]
    # A report of stored GPU runs needs no GPU here: only a run resolves (and checks) the device.
    device = args.device if args.report_only and args.device != "auto" else resolve_device(args.device)
    kinds = configs(args.ref_steps_multiplier, args.seed, args.threads, device, overrides_from(args.fast_set),
                    overrides_from(args.reference_set))
    if args.fast_only:
        done = run_jobs(patterns, {"fast": kinds["fast"]}, args.workers, args.results,
                        run=not args.report_only)
        print(f"fast jobs stored in {args.results}: {len(done)} of {len(patterns)}")
        return
    done = run_jobs(patterns, kinds, args.workers, args.results, run=not args.report_only)
    report(patterns, done, kinds)
    diagnostics(patterns, load(args.results), kinds)
    against_tier_recipes(patterns, load(args.results), kinds,
                         configs(REFERENCE_MULTIPLIER, args.seed, args.threads, device, {}))


if __name__ == "__main__":
    main()
