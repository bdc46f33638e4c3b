"""`star-search search`: the command's config turned into typed `SearchSettings`, the search run,
and the run finished (HTML report, trials CSV, export of the chosen architecture)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial

from star_search.commands.architectures import resolve_arch
from star_search.commands.configs import SearchCommand
from star_search.commands.studies import export_trial
from star_search.errors import SpecError, StarSearchError
from star_search.export import ExportResult, to_hf_config
from star_search.logs import echo
from star_search.profiler.device_profile import load_profile
from star_search.progress import SILENT, Progress, console_progress
from star_search.proxies.suite import ProxyConfig, proxy_config_for_tier
from star_search.report import write_report, write_trials_csv
from star_search.resources import resolve_config
from star_search.scoring.selection import choose_trial
from star_search.search import SearchOutcome, run_search
from star_search.search.enqueue import checked_entries
from star_search.search.pipeline import is_proxy_stage, parse_pipeline
from star_search.search.settings import SAMPLERS, SearchSettings
from star_search.space import load_space
from star_search.spec import ArchSpec


def build_search_settings(command: SearchCommand) -> SearchSettings:
    """Typed settings from the command (its groups checked their own ranges when built)."""
    space = load_space(resolve_config(command.space, "search_spaces", "space"))
    profile = load_profile(resolve_config(command.device, "device_profiles", "device"))
    search = command.search
    if search.sampler not in SAMPLERS:
        raise SpecError("search.sampler", search.sampler, f"one of {list(SAMPLERS)}")
    chosen = command.proxies
    overrides = {name: getattr(chosen, name) for name in TIER_OVERRIDES if getattr(chosen, name) is not None}
    weights = command.proxies.family_weights or {}
    proxies = proxy_config_for_tier(chosen.tier, family_weights=weights, **overrides)
    pipeline = parse_pipeline(list(search.pipeline), proxies.tier)
    own = tier_overrides(chosen.tiers, [stage for stage in pipeline if is_proxy_stage(stage)])

    def tier_config(tier: str) -> ProxyConfig:
        if tier not in own:
            return proxy_config_for_tier(tier, family_weights=weights, **overrides)
        try:
            return proxy_config_for_tier(tier, family_weights=weights, **{**overrides, **own[tier]})
        except SpecError as err:  # name the tier's own entry, not the shared field
            name = err.field.removeprefix("proxies.")
            raise SpecError(f"proxies.tiers.{tier}.{name}", err.value, err.expected) from err

    proxies = tier_config(proxies.tier)
    tier_configs = {stage: tier_config(stage) for stage in pipeline
                    if is_proxy_stage(stage) and stage != proxies.tier}
    return SearchSettings(space=space, profile=profile, out_dir=Path(command.out_dir),
                          n_trials=search.n_trials, sampler=search.sampler, seed=search.seed,
                          population_size=search.population_size, storage=search.storage,
                          study_name=search.study_name, proxies=proxies,
                          cache_dir=Path(search.cache_dir) if search.cache_dir else None,
                          heartbeat_interval_s=search.heartbeat_interval_s,
                          grace_period_s=search.grace_period_s, workers=search.workers,
                          pipeline=pipeline, tier_configs=tier_configs, front_k=search.front_k,
                          prune_margin=search.prune_margin, front_noise_z=search.front_noise_z,
                          twin_wait_s=search.twin_wait_s,
                          references=references(search.references), timeout_s=search.timeout_s,
                          anchor_tolerance=search.anchor_tolerance, anchor_retimes=search.anchor_retimes,
                          correct_predictions=search.correct_predictions,
                          enqueue=tuple(checked_entries(space, search.enqueue)),
                          anchor=(resolve_arch(profile.budgets.relative_to, "budgets.relative_to")
                                  if profile.budgets.relative_to is not None else None))


# `proxies.*` fields a search may set for every proxy tier, or for one tier under `proxies.tiers`.
TIER_OVERRIDES = ("steps", "seed", "threads", "scoring", "d_model", "repeats", "residual_init", "batch_size",
                  "depth_fraction")


def tier_overrides(tiers: Any, stages: list[str]) -> dict[str, dict[str, Any]]:
    """`proxies.tiers` ({tier: {field: value}}) checked: every tier a proxy stage of the pipeline,
    every field one of `TIER_OVERRIDES` (errors name `proxies.tiers.<tier>[.<field>]`)."""
    if tiers is None:
        return {}
    if not isinstance(tiers, Mapping):
        raise SpecError("proxies.tiers", tiers,
                        "a mapping of proxy tier to overrides, e.g. {full: {repeats: 2}}")
    checked: dict[str, dict[str, Any]] = {}
    for tier, fields in tiers.items():
        if tier not in stages:
            raise SpecError(f"proxies.tiers.{tier}", fields,
                            f"a proxy tier of search.pipeline: one of {stages}")
        if not isinstance(fields, Mapping):
            raise SpecError(f"proxies.tiers.{tier}", fields, "a mapping of field to value, e.g. {repeats: 2}")
        for name, value in fields.items():
            if name not in TIER_OVERRIDES:
                raise SpecError(f"proxies.tiers.{tier}.{name}", value, f"one of {list(TIER_OVERRIDES)}")
        checked[str(tier)] = dict(fields)
    return checked


def references(names: list[str]) -> tuple[ArchSpec, ...]:
    """`search.references`: preset names or arch.json paths, as specs (errors name the entry)."""
    specs = []
    for index, name in enumerate(names):
        try:
            specs.append(resolve_arch(str(name)))
        except SpecError as err:
            raise SpecError(f"search.references[{index}]", name, err.expected) from None
    return tuple(specs)


@dataclass(frozen=True)
class SearchRun:
    """A finished `star-search search`: the search's outcome and what finishing it wrote."""

    outcome: SearchOutcome
    report_path: Path | None
    csv_path: Path | None
    export: ExportResult | None


def _hf_expressible(trial: FrozenTrial) -> bool:
    try:
        to_hf_config(ArchSpec.from_dict(trial.user_attrs["arch"]))
    except (StarSearchError, KeyError):
        return False
    return True


def export_best_lfm2(outcome: SearchOutcome, out_dir: Path, echo: Callable[[str], None]) -> None:
    """When the chosen architecture has no transformers class, also export the best trial that
    does (conv/attention only), so every search leaves a loadable Hugging Face config."""
    try:
        trial = choose_trial(outcome.study, accept=_hf_expressible)
    except StarSearchError:
        echo("no complete conv/attention-only trial: no Hugging Face config exported")
        return
    echo(export_trial(outcome.storage_url, outcome.study_name, trial.number, out_dir).summary())


def finish_run(outcome: SearchOutcome, echo: Callable[[str], None] = print, report: bool = True) -> SearchRun:
    """Write the run's report and trials CSV (with `report`) and export the chosen trial into
    `<out_dir>/export` (plus the best Hugging Face-expressible one when they differ)."""
    report_path = csv_path = exported = None
    if report:
        report_path = write_report(outcome.study, outcome.out_dir / "report.html")
        csv_path = write_trials_csv(outcome.study, outcome.out_dir / "trials.csv")
        echo(f"report: {report_path}\ntrials: {csv_path}")
    if outcome.n_complete:
        export_dir = outcome.out_dir / "export"
        exported = export_trial(outcome.storage_url, outcome.study_name, None, export_dir)
        echo(exported.summary())
        if exported.hf_config_skipped:
            export_best_lfm2(outcome, export_dir / "lfm2", echo)
    else:
        echo("no complete trial: nothing exported")
    return SearchRun(outcome, report_path, csv_path, exported)


def search_and_finish(settings: SearchSettings, echo: Callable[[str], None] = print,
                      progress: Progress = SILENT) -> SearchRun:
    """`star-search search`: run (or resume) the search, then finish the run."""
    return finish_run(run_search(settings, echo, progress), echo)


def run_search_command(command: SearchCommand) -> str:
    """`star-search search`: settings from the command, the search, the finished run; the last line."""
    outcome = search_and_finish(build_search_settings(command), echo, console_progress()).outcome
    return f"done: {outcome.n_complete} complete, {outcome.n_pruned} pruned, {outcome.n_failed} failed"
