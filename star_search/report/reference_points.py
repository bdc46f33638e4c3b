"""Where each reference architecture of a study (`search/references.py`) falls against its trials.

A reference is compared with the feasible, complete trials on every objective: the trials that
dominate it, the ones it dominates, and whether it would sit on the front (no feasible trial
dominates it). Its quality spread, when measured, is carried for the error bars; the comparison
itself uses the recorded values, and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from optuna.trial import FrozenTrial

from star_search.report.model import ReferencePoint
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
        sd = record.get("quality_sd")
        points.append(ReferencePoint(
            **base, values=dict(zip(names, (float(v) for v in values), strict=True)),
            quality_sd=float(sd) if isinstance(sd, int | float) else None,
            params=int(record["params"]) if isinstance(record.get("params"), int) else None,
            feasible=bool(record.get("feasible", True)), dominated_by=dominated_by, dominates=beaten))
    return tuple(points)
