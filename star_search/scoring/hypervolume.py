"""Exact hypervolume, its history over a study, and the normalised box it is measured in.

`hypervolume(points, reference)` is the volume dominated by `points` (every coordinate
minimised) inside the box bounded by `reference`. It is exact: two axes are swept directly;
three are cut into slabs along x whose (y, z) areas come from one prefix-minimum table (O(n²)
numpy work); more axes are cut into slabs along the first axis, each slab holding the
lower-dimensional volume of the points before it. The history over a study is incremental: a
new point adds its own box minus what the earlier front already covers inside it.

The report measures the hypervolume in a normalised box so that the number reads as a fraction:
each objective is mapped to `(value - ideal) / (reference - ideal)`, so the ideal point is 0
and the reference point is 1 on every axis (see `HypervolumeBox` for the choice of both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# Objectives with a natural best and worst value: (ideal, reference). Proxy quality is a
# chance-normalised score, 1 = perfect and 0 = no better than guessing.
KNOWN_BOUNDS: dict[str, tuple[float, float]] = {"quality": (1.0, 0.0)}
# Cost objectives (≥ 0, minimised) whose reference is their budget when one is set.
COST_IDEAL = 0.0
# Without a budget, the reference is this factor times the worst feasible value seen, so the
# worst point still adds a thin slab instead of nothing.
UNBUDGETED_MARGIN = 1.1


def _minimal(points: np.ndarray) -> np.ndarray:
    """The distinct rows of `points` that no other row weakly dominates (minimisation)."""
    if len(points) <= 1:
        return points
    points = np.unique(points, axis=0)
    leq = np.all(points[:, None, :] <= points[None, :, :], axis=2)
    lt = np.any(points[:, None, :] < points[None, :, :], axis=2)
    dominated = np.any(leq & lt, axis=0)
    return points[~dominated]


def _sweep_2d(points: np.ndarray, reference: np.ndarray) -> float:
    ordered = points[np.lexsort((points[:, 1], points[:, 0]))]
    best_y_before = np.minimum.accumulate(np.concatenate([[np.inf], ordered[:-1, 1]]))
    steps = ordered[ordered[:, 1] < best_y_before]
    widths = np.diff(np.concatenate([steps[:, 0], reference[:1]]))
    return float(np.sum(widths * (reference[1] - steps[:, 1])))


def _sweep_3d(points: np.ndarray, reference: np.ndarray) -> float:
    """Slices along x; the (y, z) area of each slice comes from one n × n prefix-minimum table:
    cell [i, j] is the lowest z among the first i points (by x) whose y is at most the j-th y."""
    ordered = points[np.argsort(points[:, 0], kind="stable")]
    y_grid = np.sort(ordered[:, 1])
    y_widths = np.diff(np.concatenate([y_grid, reference[1:2]]))
    reaches = ordered[:, 1][:, None] <= y_grid[None, :]
    lowest_z = np.minimum.accumulate(np.where(reaches, ordered[:, 2][:, None], reference[2]), axis=0)
    areas = (reference[2] - lowest_z) @ y_widths
    x_widths = np.diff(np.concatenate([ordered[:, 0], reference[:1]]))
    return float(x_widths @ areas)


def _volume(points: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume of `points`, all strictly better than `reference` on every axis."""
    if len(points) == 0:
        return 0.0
    dims = points.shape[1]
    if dims == 1:
        return float(reference[0] - points[:, 0].min())
    if dims == 2:
        return _sweep_2d(points, reference)
    if dims == 3:
        return _sweep_3d(points, reference)
    # Slice along axis 0: between consecutive values, the first i points cover a (k-1)-volume.
    points = points[np.argsort(points[:, 0], kind="stable")]
    widths = np.diff(np.concatenate([points[:, 0], reference[:1]]))
    return float(sum(width * _volume(_minimal(points[:index + 1, 1:]), reference[1:])
                     for index, width in enumerate(widths) if width > 0))


def hypervolume(points: np.ndarray | Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """Volume dominated by `points` [n, k] up to `reference` [k], every axis minimised.

    Points that are not strictly better than the reference on every axis add nothing.
    """
    ref = np.asarray(reference, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    pts = pts[np.all(pts < ref, axis=1)]
    return _volume(_minimal(pts), ref)


def hypervolume_history(points: Sequence[np.ndarray | None], reference: Sequence[float]) -> list[float]:
    """Hypervolume of the first i points, for every i; a None entry (a trial that does not count,
    e.g. infeasible or failed) leaves it unchanged. Each point adds its own box minus what the
    points before it already cover inside that box."""
    ref = np.asarray(reference, dtype=float)
    front = np.zeros((0, len(ref)))
    total = 0.0
    history = []
    for point in points:
        if point is not None:
            p = np.asarray(point, dtype=float)
            covered = bool(len(front)) and bool(np.any(np.all(front <= p, axis=1)))
            if np.all(p < ref) and not covered:
                overlap = _volume(_minimal(np.maximum(front, p)), ref)
                total += float(np.prod(ref - p)) - overlap
                front = _minimal(np.vstack([front, p]))
        history.append(total)
    return history


@dataclass(frozen=True)
class HypervolumeBox:
    """Per objective: the ideal value (maps to 0) and the reference value (maps to 1), and how
    the reference was chosen ("budget", "natural bound" or "1.1 × worst feasible")."""

    names: tuple[str, ...]
    ideal: tuple[float, ...]
    reference: tuple[float, ...]
    basis: tuple[str, ...]

    def normalise(self, values: np.ndarray | Sequence[float]) -> np.ndarray:
        """Objective values [..., k] in the box's coordinates: 0 = ideal, 1 = reference, minimised."""
        ideal = np.asarray(self.ideal, dtype=float)
        span = np.asarray(self.reference, dtype=float) - ideal
        return (np.asarray(values, dtype=float) - ideal) / span


def _observed_reference(name: str, maximize: bool, column: np.ndarray) -> tuple[float, float, str]:
    finite = column[np.isfinite(column)]
    if maximize:
        best, worst = (float(finite.max()), float(finite.min())) if len(finite) else (1.0, 0.0)
    else:
        best, worst = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    margin = abs(worst - best) * (UNBUDGETED_MARGIN - 1) or 1.0
    return best, worst - margin if maximize else worst + margin, "observed range + 10%"


def hypervolume_box(names: Sequence[str], maximize: Sequence[bool], budgets: Mapping[str, float | None],
                    feasible_values: np.ndarray) -> HypervolumeBox:
    """The box for objectives `names`: quality from 1 (ideal) to 0 (chance); a cost from 0 to its
    budget, or to 1.1 × the worst of `feasible_values` [n, k] when it has no budget; any other
    objective from its best to its worst observed value, widened by 10%."""
    values = np.asarray(feasible_values, dtype=float).reshape(-1, len(names))
    ideal, reference, basis = [], [], []
    for index, (name, up) in enumerate(zip(names, maximize, strict=True)):
        budget = budgets.get(name)
        column = values[:, index]
        if name in KNOWN_BOUNDS:
            best, worst = KNOWN_BOUNDS[name]
            why = "natural bound"
        elif not up and budget is not None and float(budget) > COST_IDEAL:
            best, worst, why = COST_IDEAL, float(budget), "budget"
        elif not up and (len(column) == 0 or np.nanmin(column) >= COST_IDEAL):
            finite = column[np.isfinite(column)]
            worst = float(finite.max()) * UNBUDGETED_MARGIN if len(finite) and finite.max() > 0 else 1.0
            best, why = COST_IDEAL, "1.1 × worst feasible"
        else:
            best, worst, why = _observed_reference(name, up, column)
        ideal.append(best)
        reference.append(worst)
        basis.append(why)
    return HypervolumeBox(tuple(names), tuple(ideal), tuple(reference), tuple(basis))
