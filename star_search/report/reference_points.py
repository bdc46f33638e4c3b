"""Where each reference architecture of a study (`search/references.py`) falls against its trials.

A reference is compared with the feasible, complete trials on every objective: the trials that
dominate it, the ones it dominates, and whether it would sit on the front (no feasible trial
dominates it). Its quality spread, when measured, is carried for the error bars; the comparison
itself uses the recorded values, and the report says so.

Two answers to "did the search beat it?" are picked among the trials whose latency was measured
(not predicted): the fastest trial with quality at least the reference's, fastest meaning the
highest lesser of its decode and TTFT speed-ups over the reference; and the trial with the
highest quality that is no slower than the reference on either.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from optuna.trial import FrozenTrial

from star_search.report.model import Beside, ReferencePoint
from star_search.scoring.pareto import dominates


def reference_points(records: Sequence[Any], trials: Sequence[FrozenTrial], names: tuple[str, ...],
                     maximize: Sequence[bool]) -> tuple[ReferencePoint, ...]:
    """One point per stored reference record; `trials`: the feasible complete ones with values."""
    points = []
    for record in records:
        if not isinstance(record, dict):
            continue
        values = record.get("values")
        usable = (isinstance(values, list) and len(values) == len(names)
                  and all(isinstance(v, int | float) and math.isfinite(v) for v in values))
        base = dict(name=str(record.get("name", "?")), pattern=str(record.get("pattern", "")),
                    arch_id=str(record.get("arch_id", "")))
        if not usable:
            error = str(record.get("error") or "no objective values recorded")
            points.append(ReferencePoint(**base, error=error))
            continue
        dominated_by = tuple(t.number for t in trials if dominates(t.values, values, maximize))
        beaten = tuple(t.number for t in trials if dominates(values, t.values, maximize))
        measured = [t for t in trials if _measured(t)]
        sd = record.get("quality_sd")
        points.append(ReferencePoint(
            **base, values=dict(zip(names, (float(v) for v in values), strict=True)),
            quality_sd=float(sd) if isinstance(sd, int | float) else None,
            params=int(record["params"]) if isinstance(record.get("params"), int) else None,
            feasible=bool(record.get("feasible", True)), dominated_by=dominated_by, dominates=beaten,
            **_answers(values, measured, names)))
    return tuple(points)


def _measured(trial: FrozenTrial) -> bool:
    measurement = trial.user_attrs.get("measurement")
    return isinstance(measurement, dict) and measurement.get("source") == "measured"


def _beside(trial: FrozenTrial, reference: Sequence[float], names: tuple[str, ...]) -> Beside:
    values = dict(zip(names, trial.values, strict=True))
    ref = dict(zip(names, reference, strict=True))
    return Beside(trial.number, str(trial.user_attrs.get("pattern", "")), float(values["quality"]),
                  ref["decode_p50_ms"] / values["decode_p50_ms"], ref["ttft_ms"] / values["ttft_ms"])


def _answers(reference: Sequence[float], trials: Sequence[FrozenTrial],
             names: tuple[str, ...]) -> dict[str, Beside | None]:
    if not {"quality", "decode_p50_ms", "ttft_ms"} <= set(names):
        return {}
    beside = [_beside(t, reference, names) for t in trials]
    quality = float(reference[names.index("quality")])
    as_good = [b for b in beside if b.quality >= quality]
    as_fast = [b for b in beside if min(b.decode_speedup, b.ttft_speedup) >= 1.0]
    return {"fastest_as_good": max(as_good, key=lambda b: (min(b.decode_speedup, b.ttft_speedup), b.quality),
                                   default=None),
            "best_as_fast": max(as_fast, key=lambda b: (b.quality, min(b.decode_speedup, b.ttft_speedup)),
                                default=None)}
