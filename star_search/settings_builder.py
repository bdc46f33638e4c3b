"""Turn the CLI's plain command dataclasses into typed library settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from star_search.device_profile import load_profile
from star_search.errors import SpecError
from star_search.proxies.suite import proxy_config_for_tier
from star_search.resources import resolve_config
from star_search.search.pipeline import is_proxy_stage, parse_pipeline
from star_search.search.settings import SAMPLERS, SearchSettings
from star_search.space import load_space

if TYPE_CHECKING:
    from star_search.cli import SearchCommand


def build_search_settings(command: SearchCommand) -> SearchSettings:
    space = load_space(resolve_config(command.space, "search_spaces", "space"))
    profile = load_profile(resolve_config(command.device, "device_profiles", "device"))
    search = command.search
    if search.sampler not in SAMPLERS:
        raise SpecError("search.sampler", search.sampler, f"one of {list(SAMPLERS)}")
    if search.n_trials <= 0:
        raise SpecError("search.n_trials", search.n_trials, "a positive integer")
    if search.workers <= 0:
        raise SpecError("search.workers", search.workers, "a positive integer")
    overrides = {k: v for k, v in (("steps", command.proxies.steps), ("seed", command.proxies.seed),
                                   ("threads", command.proxies.threads), ("scoring", command.proxies.scoring),
                                   ("d_model", command.proxies.d_model))
                 if v is not None}
    weights = command.proxies.family_weights or {}
    proxies = proxy_config_for_tier(command.proxies.tier, family_weights=weights, **overrides)
    pipeline = parse_pipeline(list(search.pipeline), proxies.tier)
    tier_configs = {stage: proxy_config_for_tier(stage, family_weights=weights, **overrides)
                    for stage in pipeline if is_proxy_stage(stage) and stage != proxies.tier}
    if search.twin_wait_s < 0:
        raise SpecError("search.twin_wait_s", search.twin_wait_s, "seconds ≥ 0")
    if search.front_k <= 0:
        raise SpecError("search.front_k", search.front_k, "a positive integer")
    if search.prune_margin < 0:
        raise SpecError("search.prune_margin", search.prune_margin, "a fraction ≥ 0, e.g. 0.1")
    return SearchSettings(space=space, profile=profile, out_dir=Path(command.out_dir),
                          n_trials=search.n_trials, sampler=search.sampler, seed=search.seed,
                          population_size=search.population_size, storage=search.storage,
                          study_name=search.study_name, proxies=proxies,
                          cache_dir=Path(search.cache_dir) if search.cache_dir else None,
                          heartbeat_interval_s=search.heartbeat_interval_s,
                          grace_period_s=search.grace_period_s, workers=search.workers,
                          pipeline=pipeline, tier_configs=tier_configs, front_k=search.front_k,
                          prune_margin=search.prune_margin, twin_wait_s=search.twin_wait_s)


def storage_from_study_arg(study: str) -> str:
    """`study=` takes a run folder (holding study.db), a .db file, or a storage URL."""
    if "://" in study:
        return study
    path = Path(study)
    if path.is_dir():
        path = path / "study.db"
    if not path.is_file():
        raise SpecError("study", study, "a run folder with study.db, a .db file or a storage URL")
    return f"sqlite:///{path.resolve()}"
