"""Validation of the predictor against held-out architectures measured whole.

Held-out models are drawn from the space with their own seed and never include a calibration
model. Per metric: the share of predictions within ±10% of the measurement, the mean absolute
percentage error (MAPE), and the worst cases. Errors are (predicted − measured) / measured.

Held-out models are measured together, round by round, under the calibration's protocol (the
profile's with at least `latency.rounds` rounds), as the calibration models were. With
`noise_check`, all of them are measured once more, together, in fresh processes: how often two
measurements of the *same* program agree within ±10% is the noise floor no predictor can beat.

With an `anchor` (a profile's `budgets.relative_to`), models are validated as a search against
that profile uses the predictor: each held-out model is timed in a pair with the anchor, afresh,
under the profile's own protocol (`Anchor.beside`, the search's measure stage), and both the
prediction and the measurement are read relative to the anchor (`Anchor.read`: a time becomes its
ratio to the anchor's time × the anchor's budget figure). The errors are then errors of predicted
ratios, which is what decides a candidate's feasibility in such a search; drift of the machine's
speed shared by the pair cancels in the measurement as it does in the search. The noise check
times every pair once more. Pairs are cached (`pairs`, keyed by the programs' cache keys: see
`pair_key`), so an interrupted validation resumes, and a validation whose pairs are all cached
reads them without lowering anything (say, to see a change of the table's composition).

The errors are given twice: of the table and its calibration alone, and of the predictions as a
search corrects them by its own measured pairs (`latency/correction.py`, on by default), each
held-out model's prediction corrected from the *other* held-out models' measured/predicted ratios
(leave one out), so no model is corrected by its own measurement.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from star_search.json_cache import JsonCache
from star_search.latency.correction import MIN_PAIRS, MeasuredPair, correct
from star_search.latency.predictor import LatencyPredictor
from star_search.latency.relative import RelativePredictions
from star_search.latency.sampling import draw_archs
from star_search.profiler.anchor import Anchor
from star_search.profiler.meter import Meter
from star_search.space.schema import SearchSpace
from star_search.spec import ArchSpec

# Validated figures: prefill (time to first token), decode and memory.
VALIDATED = {"ttft_ms": "prefill (TTFT)", "decode_p50_ms": "decode p50",
             "decode_p95_ms": "decode p95", "peak_rss_bytes": "peak RSS"}
TOLERANCE = 0.10
WORST_SHOWN = 3


@dataclass(frozen=True)
class Case:
    arch_id: str
    pattern: str
    d_model: int
    predicted: dict[str, float]
    measured: dict[str, float]
    remeasured: dict[str, float] | None = None

    def error(self, metric: str) -> float:
        return (self.predicted[metric] - self.measured[metric]) / self.measured[metric]

    def noise(self, metric: str) -> float:
        assert self.remeasured is not None
        return (self.remeasured[metric] - self.measured[metric]) / self.measured[metric]


def noise_summary(cases: list[Case], metric: str) -> dict[str, Any]:
    """How far a second measurement of each program is from the first (the noise floor)."""
    noise = [case.noise(metric) for case in cases if case.remeasured is not None]
    return {"within_10pct": sum(abs(e) <= TOLERANCE for e in noise) / len(noise),
            "mape": statistics.fmean(abs(e) for e in noise)}


def corrected_leave_one_out(cases: list[Case]) -> list[Case]:
    """`cases` with each prediction corrected as a search corrects it (`correct`), from the
    measured/predicted ratios of the other cases only."""
    out = []
    for i, case in enumerate(cases):
        others = [MeasuredPair(other.d_model, other.measured, other.predicted)
                  for j, other in enumerate(cases) if j != i]
        corrected = correct(case.predicted, case.d_model, others)
        out.append(replace(case, predicted={m: float(corrected[m]) for m in VALIDATED}))
    return out


def _error_lines(per_metric: dict[str, Any]) -> list[str]:
    return [f"{label:<16} {per_metric[metric]['within_10pct']:>10.0%} {per_metric[metric]['mape']:>7.1%} "
            f"{per_metric[metric]['median_error']:>+13.1%}" for metric, label in VALIDATED.items()]


def _shown(metric: str, value: float) -> str:
    return f"{value / 2**20:,.1f} MiB" if metric == "peak_rss_bytes" else f"{value:,.3f} ms"


def metric_summary(cases: list[Case], metric: str) -> dict[str, Any]:
    errors = [case.error(metric) for case in cases]
    worst = sorted(cases, key=lambda case: -abs(case.error(metric)))[:WORST_SHOWN]
    return {
        "within_10pct": sum(abs(e) <= TOLERANCE for e in errors) / len(errors),
        "mape": statistics.fmean(abs(e) for e in errors),
        "median_error": statistics.median(errors),
        "worst": [{"arch_id": c.arch_id, "pattern": c.pattern, "d_model": c.d_model,
                   "predicted": c.predicted[metric], "measured": c.measured[metric],
                   "error": c.error(metric)} for c in worst],
    }


@dataclass(frozen=True)
class ValidationResult:
    device_id: str
    table_version: str
    calibration: str | None
    space: str
    cases: list[Case]
    seconds: float
    relative_to: str | None = None  # the anchor every time was read relative to, if any

    def summary(self) -> dict[str, Any]:
        summary = {"device": self.device_id, "table_version": self.table_version,
                   "calibration": self.calibration, "space": self.space, "n": len(self.cases),
                   "seconds": round(self.seconds, 1), "relative_to": self.relative_to,
                   **{metric: metric_summary(self.cases, metric) for metric in VALIDATED}}
        if len(self.cases) > MIN_PAIRS:
            corrected = corrected_leave_one_out(self.cases)
            summary["corrected_leave_one_out"] = {metric: metric_summary(corrected, metric)
                                                  for metric in VALIDATED}
        if any(case.remeasured is not None for case in self.cases):
            summary["noise_floor"] = {metric: noise_summary(self.cases, metric) for metric in VALIDATED}
        return summary

    def report(self) -> str:
        """Human-readable table per metric, then one JSON line of the same figures."""
        summary = self.summary()
        relative = ("" if self.relative_to is None else
                    f", each timed beside {self.relative_to} and read relative to it")
        lines = [f"latency table {self.table_version} on {self.device_id}: {len(self.cases)} held-out "
                 f"architectures from space '{self.space}' measured whole{relative} ({self.seconds:.0f} s)",
                 f"{'figure':<16} {'within ±10%':>11} {'MAPE':>7} {'median error':>13}"]
        lines += _error_lines(summary)
        if "corrected_leave_one_out" in summary:
            lines.append("corrected as a search corrects them, each from the other held-out models' "
                         "measured/predicted ratios (leave one out)")
            lines += _error_lines(summary["corrected_leave_one_out"])
        if "noise_floor" in summary:
            lines.append("noise floor: the same programs measured again in fresh processes")
            for metric, label in VALIDATED.items():
                s = summary["noise_floor"][metric]
                lines.append(f"{label:<16} {s['within_10pct']:>10.0%} {s['mape']:>7.1%}")
        for metric, label in VALIDATED.items():
            lines.append(f"worst {label}:")
            for w in summary[metric]["worst"]:
                lines.append(f"  {w['pattern']:<10} d_model {w['d_model']:<5} "
                             f"predicted {_shown(metric, w['predicted'])} "
                             f"measured {_shown(metric, w['measured'])} ({w['error']:+.1%})")
        lines.append(json.dumps(summary, sort_keys=True))
        return "\n".join(lines)


def validate(predictor: LatencyPredictor, space: SearchSpace, n: int, seed: int,
             echo: Callable[[str], None] = print, noise_check: bool = False,
             extra: Sequence[ArchSpec] = (), anchor: Anchor | None = None,
             pairs: JsonCache | None = None) -> ValidationResult:
    """Predict and measure `n` held-out models drawn from `space` (calibration models excluded),
    plus any `extra` architectures (e.g. a published one). They are measured together, as the
    calibration models were (`Meter.measure_together`), and with `noise_check` all of them once
    more, together, without the cache. With `anchor`, each is instead timed beside the anchor and
    read relative to it (module docstring); the anchor itself is not a held-out model, and `pairs`
    (if given) keeps each timed pair so that a rerun times only the pairs it lacks."""
    start = time.perf_counter()
    specs = held_out_archs(predictor, space, n, seed, anchor)
    skip = excluded(predictor, anchor) | {spec.arch_id for spec in specs}
    for spec in extra:
        if spec.arch_id not in skip:
            specs.append(spec)
    predictions = [*map(RelativePredictions(predictor, anchor), specs)]
    if anchor is None:
        measured, again = _measured_together(predictor, specs, noise_check)
    else:
        measured, again = _measured_beside(predictor, specs, anchor, noise_check, pairs)
    cases = []
    for i, spec in enumerate(specs):
        remeasured = None if again is None else {m: float(again[i][m]) for m in VALIDATED}
        cases.append(Case(spec.arch_id, spec.pattern(), spec.d_model,
                          {m: float(predictions[i][m]) for m in VALIDATED},
                          {m: float(measured[i][m]) for m in VALIDATED}, remeasured))
        errors = ", ".join(f"{label} {cases[-1].error(m):+.1%}" for m, label in VALIDATED.items())
        echo(f"held-out {len(cases)}/{len(specs)} {cases[-1].pattern:<10} d_model {spec.d_model}: "
             f"{errors}")
    return ValidationResult(predictor.meter.backend.device_id, predictor.version, predictor.calibration,
                            space.name, cases, time.perf_counter() - start,
                            None if anchor is None else anchor.name)


def excluded(predictor: LatencyPredictor, anchor: Anchor | None) -> set[str]:
    """Arch ids that are never held out: the calibration's models and the anchor."""
    calibration = predictor.table.calibrations.get(predictor.calibration or "", {})
    ids = {arch["arch_id"] for arch in calibration.get("archs", [])}
    return ids | ({anchor.spec.arch_id} if anchor is not None else set())


def held_out_archs(predictor: LatencyPredictor, space: SearchSpace, n: int, seed: int,
                   anchor: Anchor | None) -> list[ArchSpec]:
    """The `n` held-out models `validate` draws with `seed` (never a calibration model or the anchor)."""
    return draw_archs(space, n, seed, predictor.profile.target, exclude=excluded(predictor, anchor))


Figures = dict[str, Any]


def _measured_together(predictor: LatencyPredictor, specs: list[ArchSpec],
                       noise_check: bool) -> tuple[list[Figures], list[Figures] | None]:
    """All of `specs` timed together under the calibration's protocol; with `noise_check`, again."""
    protocol = predictor.calibration_protocol
    with predictor.progress.task("latency validation", None, "timed runs") as task:
        measured = predictor.meter.measure_together(specs, protocol, task=task)
    if not noise_check:
        return [reading.figures() for reading in measured], None
    with predictor.progress.task("latency validation, noise floor", None, "timed runs") as task:
        again = predictor.meter.measure_together(specs, protocol, fresh=True, task=task)
    return [reading.figures() for reading in measured], [reading.figures() for reading in again]


def pair_key(meter: Meter, spec: ArchSpec, anchor: Anchor, timing: int) -> str:
    """The cache key of `spec`'s `timing`-th pair with the anchor: device, protocol, both programs
    by their program cache keys (known without lowering, so cached pairs are read again without
    lowering anything), the anchor's budget figures, and the timing (0, or 1 for the noise check)."""
    return (f"validate-pair|{meter.device_id}|{meter.protocol.key()}|{meter.program_key(spec)}|"
            f"{meter.program_key(anchor.spec)}|{anchor.ttft_ms!r}|{anchor.decode_p50_ms!r}|{timing}")


def _measured_beside(predictor: LatencyPredictor, specs: list[ArchSpec], anchor: Anchor, noise_check: bool,
                     pairs: JsonCache | None) -> tuple[list[Figures], list[Figures] | None]:
    """Each of `specs` timed in a pair with the anchor and read relative to it, pair after pair
    (a second pair each with `noise_check`); pairs found in `pairs` are not timed again."""
    meter = predictor.meter
    timings = (0, 1) if noise_check else (0,)
    readings: dict[int, list[Figures]] = {timing: [] for timing in timings}
    with predictor.progress.task("latency validation beside the anchor", len(specs) * len(timings),
                                 "pairs") as task:
        for spec in specs:
            for timing in timings:
                key = pair_key(meter, spec, anchor, timing)
                read = pairs.get(key) if pairs is not None else None
                if read is None:
                    read, _ = anchor.beside(meter, spec)
                    read = {**read, "arch_id": spec.arch_id, "pattern": spec.pattern()}
                    if pairs is not None:
                        pairs.put(key, read)
                readings[timing].append(read)
                task.advance()
    return readings[0], readings.get(1)
