"""Validation of the predictor against held-out architectures measured whole.

Held-out models are drawn from the space with their own seed and never include a calibration
model. Per metric: the share of predictions within ±10% of the measurement, the mean absolute
percentage error (MAPE), and the worst cases. Errors are (predicted − measured) / measured.

Held-out models are measured together, round by round, under the calibration's protocol (the
profile's with at least `latency.rounds` rounds), as the calibration models were. With
`noise_check`, all of them are measured once more, together, in fresh processes: how often two
measurements of the *same* program agree within ±10% is the noise floor no predictor can beat.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from star_search.latency.predictor import LatencyPredictor
from star_search.latency.sampling import draw_archs
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

    def summary(self) -> dict[str, Any]:
        summary = {"device": self.device_id, "table_version": self.table_version,
                   "calibration": self.calibration, "space": self.space, "n": len(self.cases),
                   "seconds": round(self.seconds, 1),
                   **{metric: metric_summary(self.cases, metric) for metric in VALIDATED}}
        if any(case.remeasured is not None for case in self.cases):
            summary["noise_floor"] = {metric: noise_summary(self.cases, metric) for metric in VALIDATED}
        return summary

    def report(self) -> str:
        """Human-readable table per metric, then one JSON line of the same figures."""
        summary = self.summary()
        lines = [f"latency table {self.table_version} on {self.device_id}: {len(self.cases)} held-out "
                 f"architectures from space '{self.space}' measured whole ({self.seconds:.0f} s)",
                 f"{'figure':<16} {'within ±10%':>11} {'MAPE':>7} {'median error':>13}"]
        for metric, label in VALIDATED.items():
            s = summary[metric]
            lines.append(f"{label:<16} {s['within_10pct']:>10.0%} {s['mape']:>7.1%} "
                         f"{s['median_error']:>+13.1%}")
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
             extra: Sequence[ArchSpec] = ()) -> ValidationResult:
    """Predict and measure `n` held-out models drawn from `space` (calibration models excluded),
    plus any `extra` architectures (e.g. a published one). They are measured together, as the
    calibration models were (`Meter.measure_together`), and with `noise_check` all of them once
    more, together, without the cache."""
    start = time.perf_counter()
    calibration = predictor.table.calibrations.get(predictor.calibration or "", {})
    exclude = {arch["arch_id"] for arch in calibration.get("archs", [])}
    specs = draw_archs(space, n, seed, predictor.profile.target, exclude=exclude)
    for spec in extra:
        if spec.arch_id not in exclude | {drawn.arch_id for drawn in specs}:
            specs.append(spec)
    predictions = [predictor.predict(spec) for spec in specs]
    protocol = predictor.calibration_protocol
    with predictor.progress.task("latency validation", None, "timed runs") as task:
        measured = predictor.meter.measure_together(specs, protocol, task=task)
    again = None
    if noise_check:
        with predictor.progress.task("latency validation, noise floor", None, "timed runs") as task:
            again = predictor.meter.measure_together(specs, protocol, fresh=True, task=task)
    cases = []
    for i, spec in enumerate(specs):
        remeasured = None if again is None else {m: float(again[i].figures()[m]) for m in VALIDATED}
        cases.append(Case(spec.arch_id, spec.pattern(), spec.d_model,
                          {m: float(predictions[i][m]) for m in VALIDATED},
                          {m: float(measured[i].figures()[m]) for m in VALIDATED}, remeasured))
        errors = ", ".join(f"{label} {cases[-1].error(m):+.1%}" for m, label in VALIDATED.items())
        echo(f"held-out {len(cases)}/{len(specs)} {cases[-1].pattern:<10} d_model {spec.d_model}: "
             f"{errors}")
    return ValidationResult(predictor.meter.backend.device_id, predictor.version, predictor.calibration,
                            space.name, cases, time.perf_counter() - start)
