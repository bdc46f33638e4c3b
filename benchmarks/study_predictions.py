"""How well the latency predictor foresaw a finished study's own measurements, as recorded and now.

    .venv/bin/python benchmarks/study_predictions.py --study benchmarks/results/search-350m \
        --device laptop_cpu_350m --space lfm2_hybrid_350m

Every trial a search measures whole also holds the prediction it was pruned or admitted by. This
reads the study's measured architectures (each once: twins share one measurement) and scores two
predictions of each against its measurement: the one recorded when the trial ran, and the one
the predictor makes now from the trial's target spec, with the study's own latency table
(`<study>/cache/latency/`) and the code of this checkout (composition, calibration). Both
uncorrected and corrected as a search corrects them (each from the *other* measured trials'
ratios, leave one out: `latency/validation.py`). Nothing is lowered or timed: the numbers say
what a change of the composition or the calibration does to the search's own evidence, a second
held-out set beside `star-search latency validate`'s.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from star_search.commands.latency import device_profile, profile_anchor, table_predictor
from star_search.latency.correction import pairs_of
from star_search.latency.relative import RelativePredictions
from star_search.latency.validation import VALIDATED, Case, corrected_leave_one_out, metric_summary
from star_search.spec import ArchSpec

SCORED = ("ttft_ms", "decode_p50_ms", "peak_rss_bytes")


def measured_trials(study_dir: Path, device_id: str) -> list[dict[str, Any]]:
    """User attributes of the complete trials measured on `device_id`, one per architecture."""
    storage = f"sqlite:///{study_dir / 'study.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    unique: dict[str, dict[str, Any]] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if pairs_of([trial.user_attrs], device_id):
            unique.setdefault(ArchSpec.from_dict(trial.user_attrs["target_arch"]).arch_id, trial.user_attrs)
    return list(unique.values())


def cases(trials: list[dict[str, Any]], device_id: str, predict: Any = None) -> list[Case]:
    out = []
    for attrs, pair in zip(trials, pairs_of(trials, device_id, predict=predict), strict=True):
        spec = ArchSpec.from_dict(attrs["target_arch"])
        out.append(Case(spec.arch_id, spec.pattern(), spec.d_model,
                        {m: float(pair.uncorrected[m]) for m in VALIDATED},
                        {m: float(pair.measurement[m]) for m in VALIDATED}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", type=Path, required=True, help="a search's out_dir (study.db, cache/)")
    parser.add_argument("--device", required=True, help="the device profile the study ran against")
    parser.add_argument("--space", required=True, help="the study's search space")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    profile = device_profile(args.device)
    predictor, _ = table_predictor(profile, args.space, str(args.study / "cache"))
    relative = RelativePredictions(predictor, profile_anchor(profile))

    def now(target: Any) -> dict[str, Any]:
        return relative(ArchSpec.from_dict(dict(target)))

    device_id = predictor.meter.device_id
    trials = measured_trials(args.study, device_id)
    print(f"{len(trials)} architectures measured whole on {device_id} in {args.study}; "
          f"table {predictor.version}, calibration {predictor.calibration}")
    print(f"{'prediction':<10} {'figure':<16} {'uncorrected: ±10%':>18} {'MAPE':>6} {'median':>7}   "
          f"{'corrected (LOO): ±10%':>22} {'MAPE':>6} {'median':>7}")
    for label, predict in (("recorded", None), ("now", now)):
        scored = cases(trials, device_id, predict)
        corrected = corrected_leave_one_out(scored)
        for metric in SCORED:
            raw, loo = metric_summary(scored, metric), metric_summary(corrected, metric)
            within = sum(abs(case.error(metric)) <= 0.10 for case in scored)
            within_loo = sum(abs(case.error(metric)) <= 0.10 for case in corrected)
            print(f"{label:<10} {VALIDATED[metric]:<16} {within:>12}/{len(scored):<5} {raw['mape']:>6.1%} "
                  f"{raw['median_error']:>+7.1%}   {within_loo:>16}/{len(scored):<5} {loo['mape']:>6.1%} "
                  f"{loo['median_error']:>+7.1%}")


if __name__ == "__main__":
    main()
