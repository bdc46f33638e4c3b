"""Per-task and per-family proxy scores of chosen and front trials, as heatmap rows.

Read defensively from each trial's `proxy` user attr: `tasks` maps a task name to a record with
`score` (0–1, chance-normalised) and `family`, or directly to a score; `families` maps a family
to its mean score. Tasks are ordered by family, then name, so a suite of 50+ settings reads as
blocks. Unknown or missing entries become gaps, never errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NO_FAMILY = "(no family)"


@dataclass(frozen=True)
class TaskHeatmap:
    """numbers/labels: the rows (trials); tasks with task_families: the columns; scores[r][c]
    is the score of row r on task c (None = not run). families and family_scores: the same rows
    by family mean. left_out: front members not drawn (rows are capped)."""

    numbers: tuple[int, ...]
    labels: tuple[str, ...]
    tasks: tuple[str, ...]
    task_families: tuple[str, ...]
    scores: tuple[tuple[float | None, ...], ...]
    families: tuple[str, ...]
    family_scores: tuple[tuple[float | None, ...], ...]
    left_out: int = 0


def _score(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("score")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _tasks(proxy: dict[str, Any]) -> dict[str, tuple[str, float | None]]:
    raw = proxy.get("tasks")
    if not isinstance(raw, dict):
        return {}
    result = {}
    for name, record in raw.items():
        family = record.get("family") if isinstance(record, dict) else None
        result[str(name)] = (str(family) if family else NO_FAMILY, _score(record))
    return result


def _families(proxy: dict[str, Any]) -> dict[str, float | None]:
    raw = proxy.get("families")
    return {str(name): _score(value) for name, value in raw.items()} if isinstance(raw, dict) else {}


def task_heatmap(rows: Sequence[tuple[int, str, Any]], max_rows: int = 60) -> TaskHeatmap | None:
    """Heatmap of (trial number, row label, proxy attr) rows; None when no row has a task score."""
    shown = list(rows[:max_rows])
    per_row = [_tasks(proxy) if isinstance(proxy, dict) else {} for _, _, proxy in shown]
    family_rows = [_families(proxy) if isinstance(proxy, dict) else {} for _, _, proxy in shown]
    family_of: dict[str, str] = {}
    for tasks in per_row:
        for name, (family, _) in tasks.items():
            family_of.setdefault(name, family)
    if not family_of:
        return None
    columns = sorted(family_of, key=lambda name: (family_of[name], name))
    families = sorted({name for row in family_rows for name in row})
    return TaskHeatmap(
        numbers=tuple(number for number, _, _ in shown),
        labels=tuple(label for _, label, _ in shown),
        tasks=tuple(columns),
        task_families=tuple(family_of[name] for name in columns),
        scores=tuple(tuple(tasks.get(name, ("", None))[1] for name in columns) for tasks in per_row),
        families=tuple(families),
        family_scores=tuple(tuple(row.get(name) for name in families) for row in family_rows),
        left_out=max(0, len(rows) - max_rows),
    )
