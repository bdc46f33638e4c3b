"""Exact hypervolume against a voxel count, its history, and the normalised box."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from star_search.scoring.hypervolume import hypervolume, hypervolume_box, hypervolume_history


def voxel_count(points: np.ndarray, size: int) -> int:
    """Unit cells [c, c+1) of the grid {0..size-1}^k that some point weakly dominates."""
    k = points.shape[1]
    return sum(bool(np.any(np.all(points <= np.array(cell), axis=1)))
               for cell in itertools.product(range(size), repeat=k))


@pytest.mark.parametrize("dims", [1, 2, 3, 4, 5])
def test_matches_voxel_count_on_integer_points(dims: int) -> None:
    rng = np.random.default_rng(dims)
    size = 6 if dims < 5 else 4
    for _ in range(5):
        points = rng.integers(0, size, size=(int(rng.integers(1, 12)), dims)).astype(float)
        assert hypervolume(points, [size] * dims) == pytest.approx(voxel_count(points, size))


def test_points_beyond_the_reference_add_nothing() -> None:
    assert hypervolume([[1.0, 1.0], [0.0, 5.0], [3.0, 0.5]], [2.0, 2.0]) == pytest.approx(1.0)
    assert hypervolume(np.zeros((0, 3)), [1.0, 1.0, 1.0]) == 0.0


def test_history_equals_hypervolume_of_each_prefix() -> None:
    rng = np.random.default_rng(7)
    points = [rng.random(4) if rng.random() > 0.2 else None for _ in range(60)]
    history = hypervolume_history(points, [1.0] * 4)
    for i in range(len(points)):
        kept = [p for p in points[:i + 1] if p is not None]
        expected = hypervolume(np.array(kept), [1.0] * 4) if kept else 0.0
        assert history[i] == pytest.approx(expected)
    assert all(b >= a for a, b in itertools.pairwise(history))


def test_box_uses_quality_bounds_budgets_and_observed_worst() -> None:
    names = ("quality", "decode_p50_ms", "ttft_ms", "other")
    values = np.array([[0.5, 10.0, 100.0, 3.0], [0.7, 20.0, 300.0, 5.0]])
    box = hypervolume_box(names, [True, False, False, True], {"decode_p50_ms": 40.0, "ttft_ms": None},
                          values)
    assert box.ideal == (1.0, 0.0, 0.0, 5.0)
    assert box.reference == pytest.approx((0.0, 40.0, 330.0, 2.8))
    assert box.basis == ("natural bound", "budget", "1.1 × worst feasible", "observed range + 10%")
    normalised = box.normalise(values[0])
    assert normalised == pytest.approx([0.5, 0.25, 100 / 330, 2 / 2.2])
