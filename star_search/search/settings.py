"""Typed settings of one search run (the CLI builds them from Hydra; the library never sees Hydra)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from star_search.device_profile import DeviceProfile
from star_search.proxies.suite import ProxyConfig
from star_search.space.schema import SearchSpace

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
    write_report: bool = True
    parallel_proxies: bool = True

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.out_dir / 'study.db').resolve()}"

    @property
    def resolved_study_name(self) -> str:
        return self.study_name or f"{self.space.name}-{self.profile.name}"

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.out_dir / "cache"
