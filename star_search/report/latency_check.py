"""Predicted against measured latency, for trials that carry both.

A trial's latency records are the dict user attrs `measurement`, `predicted`, `prediction` and
`measured`, and a `predicted` / `prediction` dict nested inside `measurement`. Each record is
`measured` or `predicted` by its `source` field, or by its key when it has none (`measurement`
without a source counts as measured, as every record written before predictions existed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

RECORD_KEYS = {"measurement": "measured", "measured": "measured", "predicted": "predicted",
               "prediction": "predicted"}
NESTED_KEYS = ("predicted", "prediction")
COMPARED = ("decode_p50_ms", "ttft_ms")


@dataclass(frozen=True)
class LatencyPair:
    """One figure of one trial, predicted and measured, in the figure's unit (ms)."""

    number: int
    metric: str
    predicted: float
    measured: float

    @property
    def relative_error(self) -> float:
        """(predicted − measured) / measured: positive when the prediction was too slow."""
        return (self.predicted - self.measured) / self.measured


@dataclass(frozen=True)
class LatencyComparison:
    """n_predicted / n_measured: trials with at least one record of that source; pairs: every
    compared figure of every trial that has both."""

    n_predicted: int = 0
    n_measured: int = 0
    pairs: tuple[LatencyPair, ...] = ()

    def for_metric(self, metric: str) -> tuple[LatencyPair, ...]:
        return tuple(pair for pair in self.pairs if pair.metric == metric)


def _records(attrs: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for key, implied in RECORD_KEYS.items():
        record = attrs.get(key)
        if not isinstance(record, dict):
            continue
        source = record.get("source")
        found.append((source if source in ("measured", "predicted") else implied, record))
        for nested in NESTED_KEYS:
            inner = record.get(nested)
            if key == "measurement" and isinstance(inner, dict):
                found.append(("predicted", inner))
    return found


def _figure(record: dict[str, Any], metric: str) -> float | None:
    value = record.get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if value > 0 else None


def latency_comparison(trials: Iterable[FrozenTrial]) -> LatencyComparison:
    n_predicted = n_measured = 0
    pairs = []
    for trial in trials:
        records = _records(trial.user_attrs)
        predicted = [r for source, r in records if source == "predicted"]
        measured = [r for source, r in records if source == "measured"]
        n_predicted += bool(predicted)
        n_measured += bool(measured)
        if not (predicted and measured):
            continue
        for metric in COMPARED:
            guess, truth = _figure(predicted[0], metric), _figure(measured[0], metric)
            if guess is not None and truth is not None:
                pairs.append(LatencyPair(trial.number, metric, guess, truth))
    return LatencyComparison(n_predicted, n_measured, tuple(pairs))
