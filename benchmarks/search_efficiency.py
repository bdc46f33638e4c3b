"""Hypervolume against trials for NSGA-II, multi-objective TPE and random search, side by side.

    .venv/bin/python benchmarks/search_efficiency.py [--space demo] [--device laptop_cpu]
        [--seeds 0 1 2] [--trials 100] [--random-trials 300] [--tier fast] [--steps N]
        [--cache-dir DIR]   (e.g. the cache of `star-search latency build`, to reuse its table)

Every run is a real search (`run_search`) of the same space and device profile with the pipeline
static → predicted latency → proxy tier: latency and memory come from the device's latency table
(`star_search.latency`, labelled predicted), quality from the proxy tier. All runs share one
result cache, so an architecture any run evaluated is scored once and every sampler sees the same
value for it (the evaluation is deterministic for the proxy seed); runs differ only in which
architectures their sampler proposes, which is what the benchmark compares.

Hypervolumes are computed at the end in one common box (the device budgets; unbudgeted costs up
to 1.1 × the worst feasible value seen by any run), so curves are comparable. The script prints,
per sampler, the median hypervolume over seeds at a few trial counts, and the number of trials
each run needs to reach the median 300-trial (`--random-trials`) hypervolume of random search.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from star_search.profiler.device_profile import load_profile
from star_search.progress import console_progress
from star_search.proxies.suite import proxy_config_for_tier
from star_search.resources import resolve_config
from star_search.scoring.hypervolume import hypervolume_box, hypervolume_history
from star_search.scoring.objectives import OBJECTIVES
from star_search.scoring.pareto import trial_feasible
from star_search.search import SearchSettings, open_study, run_search
from star_search.space import load_space

MAXIMIZE = [o.direction == optuna.study.StudyDirection.MAXIMIZE for o in OBJECTIVES]
NAMES = [o.name for o in OBJECTIVES]


def run_one(args: argparse.Namespace, sampler: str, seed: int, n_trials: int) -> list[FrozenTrial]:
    space = load_space(resolve_config(args.space, "search_spaces", "space"))
    profile = load_profile(resolve_config(args.device, "device_profiles", "device"))
    overrides = {"steps": args.steps} if args.steps else {}
    proxies = proxy_config_for_tier(args.tier, **overrides)
    settings = SearchSettings(space=space, profile=profile, out_dir=args.out / f"{sampler}-{seed}",
                              n_trials=n_trials, sampler=sampler, seed=seed,
                              population_size=args.population, proxies=proxies,
                              cache_dir=args.cache_dir or args.out / "cache",
                              parallel_proxies=False,
                              pipeline=("static", "predict", proxies.tier), workers=args.workers)
    start = time.perf_counter()
    run_search(settings, echo=lambda _: None)
    trials = sorted(open_study(settings).get_trials(deepcopy=False), key=lambda t: t.number)
    seconds = time.perf_counter() - start
    print(f"  {sampler:>6} seed {seed}: {len(trials)} trials in {seconds:.0f} s", flush=True)
    return trials


def feasible_values(trial: FrozenTrial) -> np.ndarray | None:
    if trial.state != TrialState.COMPLETE or trial.values is None or not trial_feasible(trial):
        return None
    return np.asarray(trial.values, dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", default="demo")
    parser.add_argument("--device", default="laptop_cpu")
    parser.add_argument("--samplers", nargs="+", default=["nsga2", "tpe", "random"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=100, help="trials per NSGA-II / TPE run")
    parser.add_argument("--random-trials", type=int, default=300, help="trials per random-search run")
    parser.add_argument("--tier", default="fast", help="proxy tier scoring quality")
    parser.add_argument("--steps", type=int, default=None, help="override the tier's training steps")
    parser.add_argument("--population", type=int, default=SearchSettings.population_size,
                        help="NSGA-II population size (default: the search's own default)")
    parser.add_argument("--workers", type=int, default=1, help="search processes per run")
    parser.add_argument("--out", type=Path, default=Path("runs/search-efficiency"))
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="shared cache (latency table, proxy scores); default OUT/cache")
    parser.add_argument("--json", type=Path, default=None, help="also write the curves here")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    runs: dict[tuple[str, int], list[FrozenTrial]] = {}
    # Interleave samplers within each seed so the shared cache fills evenly.
    with console_progress().task("searches", len(args.seeds) * len(args.samplers), "runs") as task:
        for seed in args.seeds:
            for sampler in args.samplers:
                n = args.random_trials if sampler == "random" else args.trials
                task.update(note=f"{sampler} seed {seed}")
                runs[sampler, seed] = run_one(args, sampler, seed, n)
                task.advance()

    points = {key: [feasible_values(t) for t in trials] for key, trials in runs.items()}
    every = np.asarray([p for ps in points.values() for p in ps if p is not None]).reshape(-1, len(NAMES))
    budgets = vars(load_profile(resolve_config(args.device, "device_profiles", "device")).budgets)
    box = hypervolume_box(NAMES, MAXIMIZE, budgets, every)
    unit = [1.0] * len(NAMES)
    curves = {key: hypervolume_history([None if p is None else box.normalise(p) for p in ps], unit)
              for key, ps in points.items()}

    print("\nbox (ideal, reference, basis):")
    for row in zip(box.names, box.ideal, box.reference, box.basis, strict=True):
        print(f"  {row[0]}: {row[1]:g} .. {row[2]:g} ({row[3]})")
    longest = max(len(curve) for curve in curves.values())
    checkpoints = [c for c in (25, 50, 100, 200, 300) if c <= longest]
    print("median hypervolume over seeds at trial count:")
    print(f"{'sampler':>8} " + " ".join(f"{c:>8}" for c in checkpoints))
    for sampler in args.samplers:
        row = []
        for c in checkpoints:
            at = [curve[c - 1] for (s, _), curve in curves.items() if s == sampler and len(curve) >= c]
            row.append(f"{statistics.median(at):8.4f}" if at else f"{'-':>8}")
        print(f"{sampler:>8} " + " ".join(row))

    random_final = [curve[-1] for (s, _), curve in curves.items() if s == "random"]
    if random_final:
        target = statistics.median(random_final)
        print(f"\ntrials to reach random search's median {args.random_trials}-trial hypervolume "
              f"({target:.4f}):")
        for (sampler, seed), curve in curves.items():
            reached = next((i + 1 for i, v in enumerate(curve) if v >= target), None)
            shown = reached if reached is not None else f"not within {len(curve)}"
            print(f"  {sampler:>6} seed {seed}: {shown}")
    distinct = {t.user_attrs.get("arch_id") for trials in runs.values() for t in trials}
    print(f"\ndistinct architectures evaluated: {len(distinct)}")
    if args.json:
        args.json.write_text(json.dumps({f"{s}-{seed}": c for (s, seed), c in curves.items()}))


if __name__ == "__main__":
    main()
