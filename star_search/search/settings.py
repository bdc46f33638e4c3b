"""Typed settings of one search run (the CLI builds them from Hydra; the library never sees Hydra)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from star_search.errors import SpecError
from star_search.profiler.device_profile import DeviceProfile
from star_search.proxies.suite import ProxyConfig
from star_search.search.pipeline import DEFAULT_PIPELINE, parse_pipeline
from star_search.space.schema import SearchSpace
from star_search.spec import ArchSpec

SAMPLERS = ("nsga2", "tpe", "random")


@dataclass(frozen=True)
class SearchSettings:
    space: SearchSpace
    profile: DeviceProfile
    out_dir: Path
    n_trials: int = 20
    sampler: str = "nsga2"
    seed: int = 0
    population_size: int = 8
    storage: str | None = None
    study_name: str | None = None
    proxies: ProxyConfig = field(default_factory=ProxyConfig)
    cache_dir: Path | None = None
    heartbeat_interval_s: int = 10
    grace_period_s: int = 30
    parallel_proxies: bool = True
    workers: int = 1  # search processes on this machine sharing the study (see search/workers.py)
    twin_wait_s: float = 1800.0  # wait this long for another worker's trial of the same architecture
    pipeline: tuple[str, ...] = DEFAULT_PIPELINE  # stages, see search/pipeline.py (validated names)
    tier_configs: Mapping[str, ProxyConfig] = field(default_factory=dict)  # per proxy tier in the pipeline
    front_k: int = 1  # `front` passes a candidate dominated by fewer than this many finished trials
    prune_margin: float = 0.1  # `predict` prunes only predictions over a budget by more than this
    front_noise_z: float = 1.0  # `front`: a trial beats the candidate's quality only by > z seed spreads
    references: tuple[ArchSpec, ...] = ()  # scored in the study's terms after the trials (references.py)
    timeout_s: float | None = None  # this session starts no trial after this many seconds (Optuna's timeout)
    anchor: ArchSpec | None = None  # the architecture `profile.budgets.relative_to` names (anchor.py)
    anchor_tolerance: float = 0.15  # a pair whose anchor is off its study median by more is timed again
    anchor_retimes: int = 2  # at most this many more times (the pair nearest the median is kept)
    enqueue: tuple[tuple[str, dict[str, Any]], ...] = ()  # (where, params) evaluated first (enqueue.py)
    correct_predictions: bool = True  # `predict` × the study's measured/predicted (latency/correction.py)

    def __post_init__(self) -> None:
        if self.profile.budgets.relative_to is not None and self.anchor is None:
            raise SpecError("budgets.relative_to", self.profile.budgets.relative_to,
                            "an architecture passed to the search as `anchor` (the CLI resolves the name)")

    @property
    def resolved_pipeline(self) -> tuple[str, ...]:
        """`pipeline` validated, with `proxies` standing for `proxies.tier`."""
        return parse_pipeline(self.pipeline, self.proxies.tier)

    @property
    def proxy_tiers(self) -> dict[str, ProxyConfig]:
        """Proxy config of every tier: `tier_configs`, and `proxies` under its own tier name."""
        return {self.proxies.tier: self.proxies, **self.tier_configs}

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.out_dir / 'study.db').resolve()}"

    @property
    def resolved_study_name(self) -> str:
        return self.study_name or f"{self.space.name}-{self.profile.name}"

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.out_dir / "cache"
