"""Two latency tables and two sets of validation pairs of the same held-out models, side by side.

`latency validate` reports one table against one cache folder's pairs. To tell a table's errors
from a machine's, this reads (nothing is timed or lowered) the held-out models of a validation
and, per model and metric, prints:
  - earlier/here: the ratio to the anchor in the other folder's pairs over the one in this folder's
    (how much the same programs' ratios moved between the machines that timed them);
  - other table: the other folder's table's relative prediction against this folder's pairs;
  - this table: this folder's table's relative prediction against this folder's pairs.
Only first timings of pairs in the profile's protocol count (no noise-check replicates).

    python benchmarks/tables_side_by_side.py --here benchmarks/results/latency-350m-onehost \
        --other benchmarks/results/latency-350m --n 16
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from star_search.commands.latency import device_profile, profile_anchor
from star_search.json_cache import JsonCache
from star_search.latency.predictor import LatencyPredictor
from star_search.latency.relative import RelativePredictions
from star_search.latency.validation import TOLERANCE, VALIDATED, held_out_archs, pair_key
from star_search.profiler.meter import Meter
from star_search.resources import resolve_config
from star_search.space import load_space


def _predictor(profile, root: Path) -> LatencyPredictor:
    """The folder's table with its latest calibration, opened without timing anything (no space)."""
    return LatencyPredictor.load_or_build(profile, root / "latency", Meter.for_profile(profile, root),
                                          echo=lambda line: None)


def _summary(errors: list[float]) -> str:
    within = sum(abs(e) <= TOLERANCE for e in errors)
    return (f"{within}/{len(errors)} within ±10%, MAPE {statistics.mean(map(abs, errors)):.1%}, "
            f"median {statistics.median(errors):+.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--here", type=Path, required=True, help="cache folder whose pairs are the truth")
    parser.add_argument("--other", type=Path, required=True, help="cache folder of the other table and pairs")
    parser.add_argument("--device", default="laptop_cpu_350m")
    parser.add_argument("--space", default="lfm2_hybrid_350m")
    parser.add_argument("--n", type=int, default=16, help="held-out models drawn (as `latency validate n=`)")
    parser.add_argument("--seed", type=int, default=2000, help="as `latency validate seed=`")
    args = parser.parse_args()

    profile = device_profile(args.device)
    anchor = profile_anchor(profile)
    if anchor is None:
        raise SystemExit(f"{args.device} has no budgets.relative_to: its pairs are not read relative")
    space = load_space(resolve_config(args.space, "search_spaces", "space"))
    here, other = _predictor(profile, args.here), _predictor(profile, args.other)
    specs = held_out_archs(here, space, args.n, args.seed, anchor)
    pairs_here, pairs_other = JsonCache(args.here / "validation"), JsonCache(args.other / "validation")
    predict_here, predict_other = RelativePredictions(here, anchor), RelativePredictions(other, anchor)
    columns = {"earlier/here": {m: [] for m in VALIDATED}, "other table": {m: [] for m in VALIDATED},
               "this table": {m: [] for m in VALIDATED}}
    for index, spec in enumerate(specs, 1):
        key = pair_key(here.meter, spec, anchor, 0)
        measured = pairs_here.get(key)
        if measured is None:
            continue
        earlier = pairs_other.get(key)
        by_other, by_here = predict_other(spec), predict_here(spec)
        cells = []
        for metric, label in VALIDATED.items():
            row = {"other table": by_other[metric] / measured[metric] - 1,
                   "this table": by_here[metric] / measured[metric] - 1}
            if earlier is not None:
                row["earlier/here"] = earlier[metric] / measured[metric] - 1
            for column, error in row.items():
                columns[column][metric].append(error)
            cells.append(f"{label}: " + ", ".join(f"{column} {error:+.1%}" for column, error in row.items()))
        print(f"{index:2d} {spec.pattern():<24} d_model {spec.d_model} | " + " | ".join(cells))
    for column, per_metric in columns.items():
        for metric, errors in per_metric.items():
            if errors:
                print(f"{column:<13} {VALIDATED[metric]:<15} {_summary(errors)}")


if __name__ == "__main__":
    main()
