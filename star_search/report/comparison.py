"""Several studies in one report (e.g. one space searched on two device profiles).

Each study is collected as usual, but every hypervolume is measured in ONE box so the numbers
compare: quality from 1 to 0, and each cost from 0 to the loosest budget the studies share (or
1.1 × the worst feasible value over all studies where some study has no budget on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.study import StudyDirection

from star_search.errors import StarSearchError
from star_search.report.collect import collect, metric_names
from star_search.report.model import ReportModel
from star_search.report.progress import counted_values
from star_search.report.summary import study_facts
from star_search.scoring.hypervolume import HypervolumeBox, hypervolume_box


@dataclass(frozen=True)
class Comparison:
    """labels[i] names reports[i] (unique, in the order given)."""

    labels: tuple[str, ...]
    reports: tuple[ReportModel, ...]


def unique_labels(labels: Sequence[str]) -> tuple[str, ...]:
    """`labels` with repeats numbered ("a", "a (2)") so every study has its own legend entry."""
    seen: dict[str, int] = {}
    result = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        result.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return tuple(result)


def shared_box(studies: Sequence[optuna.Study]) -> HypervolumeBox:
    """One hypervolume box for every study (they must have the same objectives)."""
    names = metric_names(studies[0])
    for study in studies[1:]:
        if metric_names(study) != names or study.directions != studies[0].directions:
            raise StarSearchError(f"study '{study.study_name}' has objectives {metric_names(study)}, "
                                  f"'{studies[0].study_name}' has {names}; compare studies with the "
                                  f"same ones")
    maximize = [d == StudyDirection.MAXIMIZE for d in studies[0].directions]
    budgets = [study_facts(study)["budgets"] for study in studies]
    loosest = {name: (max(float(b[name]) for b in budgets) if all(b.get(name) is not None for b in budgets)
                      else None) for name in names}
    counted = [v for study in studies for t in study.get_trials(deepcopy=False)
               if (v := counted_values(t, len(names))) is not None]
    return hypervolume_box(names, maximize, loosest, np.array(counted).reshape(len(counted), len(names)))


def collect_comparison(studies: Sequence[optuna.Study], labels: Sequence[str]) -> Comparison:
    if len(studies) != len(labels) or not studies:
        raise StarSearchError(f"got {len(studies)} studies and {len(labels)} labels; "
                              f"give one label per study")
    box = shared_box(studies)
    return Comparison(unique_labels(labels), tuple(collect(study, box) for study in studies))
