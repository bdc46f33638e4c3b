"""Predicted against measured latency and memory, for trials that carry both.

The search records two latency records per trial (`search/objective.py`): `measurement`, the
figures the objectives used (`source` "measured" when the pipeline timed the whole program,
"predicted" when it only consulted the latency table), and `prediction`, the latency table's
output (`source` "predicted", `table_version`), present when the pipeline ran `predict`. A trial
is compared when its `measurement` was measured and it has a `prediction`; each figure in
`COMPARED` is compared where both records hold a positive, finite value.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

# figure → (display unit, factor from the record's unit to the display unit)
COMPARED: dict[str, tuple[str, float]] = {
    "ttft_ms": ("ms", 1.0),
    "prefill_tok_s": ("tok/s", 1.0),
    "decode_p50_ms": ("ms", 1.0),
    "decode_p95_ms": ("ms", 1.0),
    "peak_rss_bytes": ("MiB", 1 / 2**20),
}
WITHIN = 0.10  # the share of predictions within ±10% of the measurement is reported


@dataclass(frozen=True)
class LatencyPair:
    """One figure of one trial, predicted and measured, in the record's unit (see `COMPARED`)."""

    number: int
    metric: str
    predicted: float
    measured: float

    @property
    def relative_error(self) -> float:
        """(predicted − measured) / measured: positive when the prediction was too high."""
        return (self.predicted - self.measured) / self.measured


@dataclass(frozen=True)
class MetricError:
    """Error of one figure over every compared trial, as fractions (0.1 = 10%).

    mape: mean |relative error|; median_abs / max_abs: median and largest |relative error|;
    bias: mean signed relative error (positive: predictions too high); within: share of trials
    whose |relative error| ≤ `WITHIN`.
    """

    metric: str
    n: int
    mape: float
    median_abs: float
    max_abs: float
    bias: float
    within: float


@dataclass(frozen=True)
class LatencyComparison:
    """n_predicted: trials with a `prediction`; n_measured: trials whose `measurement` was
    measured; pairs: every compared figure of every trial that has both; errors: per figure in
    `COMPARED` order (figures with no pair left out); table_versions: of the compared predictions."""

    n_predicted: int = 0
    n_measured: int = 0
    pairs: tuple[LatencyPair, ...] = ()
    errors: tuple[MetricError, ...] = ()
    table_versions: tuple[str, ...] = ()

    def for_metric(self, metric: str) -> tuple[LatencyPair, ...]:
        return tuple(pair for pair in self.pairs if pair.metric == metric)

    @property
    def n_compared(self) -> int:
        return len({pair.number for pair in self.pairs})


def _figure(record: dict[str, Any], metric: str) -> float | None:
    value = record.get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if value > 0 else None


def metric_error(metric: str, pairs: tuple[LatencyPair, ...]) -> MetricError:
    signed = [pair.relative_error for pair in pairs]
    absolute = [abs(error) for error in signed]
    return MetricError(metric, len(pairs), statistics.fmean(absolute), statistics.median(absolute),
                       max(absolute), statistics.fmean(signed),
                       sum(error <= WITHIN for error in absolute) / len(absolute))


def latency_comparison(trials: Iterable[FrozenTrial]) -> LatencyComparison:
    n_predicted = n_measured = 0
    pairs: list[LatencyPair] = []
    versions: dict[str, None] = {}
    for trial in trials:
        measurement, prediction = trial.user_attrs.get("measurement"), trial.user_attrs.get("prediction")
        measured = measurement if isinstance(measurement, dict) and measurement.get("source") == "measured" \
            else None
        predicted = prediction if isinstance(prediction, dict) else None
        n_predicted += predicted is not None
        n_measured += measured is not None
        if measured is None or predicted is None:
            continue
        found = [LatencyPair(trial.number, metric, guess, truth) for metric in COMPARED
                 if (guess := _figure(predicted, metric)) is not None
                 and (truth := _figure(measured, metric)) is not None]
        if found and predicted.get("table_version") is not None:
            versions[str(predicted["table_version"])] = None
        pairs += found
    errors = tuple(metric_error(metric, chosen) for metric in COMPARED
                   if (chosen := tuple(p for p in pairs if p.metric == metric)))
    return LatencyComparison(n_predicted, n_measured, tuple(pairs), errors, tuple(versions))
