"""The report model: plain, prepared data that the HTML and CSV writers only render.

`collect` (in `report.collect`) fills it from a study; every figure and table of the page reads
one of these values and computes nothing beyond layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from star_search.report.latency_check import LatencyComparison
from star_search.report.operator_times import OperatorBreakdown
from star_search.report.progress import HypervolumeTrace
from star_search.report.proxy_tasks import TaskHeatmap
from star_search.search.cost import SearchCost


@dataclass(frozen=True)
class RunSummary:
    """What ran, where, under which budgets, how the trials ended and how long it took.

    wall_seconds: from the study's start to its finish (or first trial start to last trial end
    when those are not recorded); busy_seconds: the trials' own durations added up; cost: the
    search sessions' measured cost added up (`search/cost.py`; None for studies without it).
    """

    study_name: str
    space: str | None
    profile: dict[str, Any]
    budgets: dict[str, float | None]
    started_at: str | None
    finished_at: str | None
    counts: dict[str, int]
    n_feasible: int
    n_infeasible: int
    n_front: int
    chosen_trial: int | None
    metric_names: tuple[str, ...]
    directions: tuple[str, ...]
    wall_seconds: float | None = None
    busy_seconds: float | None = None
    space_info: dict[str, Any] = field(default_factory=dict)
    proxy_config: dict[str, Any] = field(default_factory=dict)
    cost: SearchCost | None = None
    pipeline: tuple[str, ...] = ()  # the search's stages, proxy tiers included (empty when not recorded)


@dataclass(frozen=True)
class FrontMember:
    """One trial drawn as a layer strip (mixer and ffn kind per layer) with its objective values."""

    number: int
    arch_id: str
    pattern: str
    mixers: tuple[str, ...]
    ffns: tuple[str, ...]
    values: dict[str, float]
    feasible: bool = True


@dataclass(frozen=True)
class StoppedTrial:
    """A FAIL or PRUNED trial and why it stopped."""

    number: int
    state: str
    stage: str
    reason: str
    pattern: str
    arch_id: str


@dataclass(frozen=True)
class Beside:
    """A trial set beside a reference: its quality and its speed-ups (the reference's time over
    the trial's, so > 1 is faster), decode p50 and TTFT."""

    number: int
    pattern: str
    quality: float
    decode_speedup: float
    ttft_speedup: float


@dataclass(frozen=True)
class ReferencePoint:
    """A reference architecture scored in the study's terms (`search/references.py`): its
    objective values (None when its evaluation failed, with `error`), quality spread, and the
    numbers of the feasible trials that dominate it and that it dominates."""

    name: str
    pattern: str
    arch_id: str
    values: dict[str, float] | None = None
    quality_sd: float | None = None
    params: int | None = None
    feasible: bool = True
    dominated_by: tuple[int, ...] = ()
    dominates: tuple[int, ...] = ()
    error: str | None = None
    # Among feasible trials with measured latency: the fastest (by the lesser of its two
    # speed-ups) with quality at least the reference's, and the best quality no slower than it.
    fastest_as_good: Beside | None = None
    best_as_fast: Beside | None = None

    @property
    def on_front(self) -> bool:
        """No feasible trial dominates it (it would sit on the front)."""
        return self.values is not None and not self.dominated_by


@dataclass(frozen=True)
class ReportModel:
    """Everything one study's report shows.

    trials: one row per trial (see `trial_row` for columns). front: feasible Pareto-front
    members, best quality first. chosen: the trial `scoring.selection` ships (may be infeasible
    when nothing is feasible). projected_fronts: per cost objective, the trials on the 2-D front
    of (first objective, that cost) among feasible trials, by increasing cost.
    """

    summary: RunSummary
    trials: pd.DataFrame
    front: tuple[FrontMember, ...]
    stopped: tuple[StoppedTrial, ...]
    chosen: FrontMember | None = None
    projected_fronts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    hypervolume: HypervolumeTrace | None = None
    tasks: TaskHeatmap | None = None
    latency: LatencyComparison = field(default_factory=LatencyComparison)
    operators: OperatorBreakdown = field(default_factory=OperatorBreakdown)
    references: tuple[ReferencePoint, ...] = ()
    front_mixers: dict[str, tuple[int, ...]] = field(default_factory=dict)  # mixer -> front members using it
