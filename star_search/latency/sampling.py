"""Architectures drawn from a search space at random (seeded), at the profile's target size.

Draws go through Optuna's `RandomSampler` on an in-memory study, the same define-by-run path the
search samples with, so calibration and validation models are distributed like candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

import optuna

from star_search.errors import SizeUnreachable, SpecError, StarSearchError
from star_search.scaling import Target, target_spec
from star_search.space.sample import sample_arch
from star_search.space.schema import SearchSpace
from star_search.spec import ArchSpec

T = TypeVar("T")


def draw_archs(space: SearchSpace, n: int, seed: int, target: Target,
               exclude: Collection[str] = (), max_draws: int | None = None) -> list[ArchSpec]:
    """`n` distinct architectures (by arch_id, none in `exclude`) at the target size; fewer only
    when the space holds fewer. Draws that are invalid, or that a space's size target cannot reach,
    are skipped as the search prunes them."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found: dict[str, ArchSpec] = {}
    for _ in range(max_draws or max(64, 40 * n)):
        if len(found) >= n:
            break
        trial = study.ask()
        try:
            spec = target_spec(sample_arch(space, trial), target)
        except (SpecError, SizeUnreachable):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        if spec.arch_id not in exclude:
            found.setdefault(spec.arch_id, spec)
    if not found and n > 0:
        raise StarSearchError(f"could not draw any valid architecture from space '{space.name}'")
    return list(found.values())


def spread(items: Sequence[T], key: Callable[[T], float], n: int) -> list[T]:
    """`n` of `items` at evenly spaced ranks of `key`, both ends included: calibration points that
    span the range a line is fitted over, rather than `n` random ones that may bunch together (a
    random draw from a space where most models hold MoE layers is nearly always MoE-heavy)."""
    ranked = sorted(items, key=key)
    if n >= len(ranked):
        return ranked
    if n == 1:
        return [ranked[len(ranked) // 2]]
    return [ranked[round(j * (len(ranked) - 1) / (n - 1))] for j in range(n)]
