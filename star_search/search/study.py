"""Create or resume the Optuna study of a run and drive it to `n_trials` finished trials."""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import FrozenTrial, TrialState

from star_search.errors import SpecError
from star_search.host_lock import HostLock
from star_search.json_cache import JsonCache
from star_search.latency.relative import Predictor
from star_search.profiler.anchor import Anchor
from star_search.profiler.meter import Meter
from star_search.progress import SILENT, Progress, ProgressTask
from star_search.scaling import target_spec
from star_search.scoring import DIRECTIONS, OBJECTIVE_NAMES, budget_names
from star_search.scoring.objectives import figures_line
from star_search.scoring.pareto import trial_feasible
from star_search.search.candidate import CandidateEvaluator
from star_search.search.cost import CostClock, SearchCost, SessionCost, record_session
from star_search.search.enqueue import enqueue
from star_search.search.front_hypervolume import HYPERVOLUME_ATTR
from star_search.search.objective import SearchObjective
from star_search.search.proxy_worker import InlineProxyRunner, ProxyWorker
from star_search.search.references import evaluate_references, reference_pipeline
from star_search.search.settings import SAMPLERS, SearchSettings
from star_search.search.stopping import FINISHED, StopAtTrials, finished_count, trials_to_start
from star_search.search.storage import make_storage, redacted
from star_search.search.workers import join_workers, start_workers

# Heartbeats, stale-trial failing and metric names are stable in practice but flagged experimental.
warnings.filterwarnings("ignore", category=ExperimentalWarning, module="star_search")
logger = logging.getLogger("star_search.search")


@dataclass(frozen=True)
class SearchOutcome:
    """The study after a run, and how its trials ended (finishing the run, with a report and an
    export, is the search command's job: `commands.search`)."""

    study: optuna.Study
    storage_url: str
    out_dir: Path
    n_complete: int
    n_failed: int
    n_pruned: int
    session_cost: SessionCost | None = None
    total_cost: SearchCost | None = None

    @property
    def study_name(self) -> str:
        return self.study.study_name


# Seed streams of search workers on one machine are this far apart (worker k: seed + k·stride).
WORKER_SEED_STRIDE = 100_003


def sampler_seed(seed: int, worker: int, existing_trials: int) -> int:
    """The seed a process's sampler draws from: `seed` for a fresh single-process run (so a run is
    reproducible), moved on by the trials already in the study when resuming (a resumed sampler
    would otherwise replay the first run's draws) and by the worker index (each worker its own
    stream, not the same proposals at once)."""
    return seed + existing_trials + WORKER_SEED_STRIDE * worker


def make_sampler(settings: SearchSettings, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """Budgets reach the samplers as named constraints set on each trial (`Trial.set_constraint`).
    `seed`: the sampler's seed (default `settings.seed`)."""
    seed = settings.seed if seed is None else seed
    if settings.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=settings.population_size, seed=seed)
    if settings.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SpecError("search.sampler", settings.sampler, f"one of {list(SAMPLERS)}")


def open_study(settings: SearchSettings, worker: int = 0) -> optuna.Study:
    """Create the study, or load it when it exists (same name and storage = resume); its sampler
    is seeded by `sampler_seed` for this worker and the trials already there."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    storage = make_storage(settings)
    study = optuna.create_study(study_name=settings.resolved_study_name, storage=storage,
                                directions=DIRECTIONS, sampler=make_sampler(settings),
                                load_if_exists=True)
    existing = len(study.get_trials(deepcopy=False))
    if existing or worker:
        study.sampler = make_sampler(settings, sampler_seed(settings.seed, worker, existing))
    if study.metric_names is None:
        study.set_metric_names(list(OBJECTIVE_NAMES))
    if "space" not in study.user_attrs:
        study.set_user_attr("space", settings.space.name)
        study.set_user_attr("space_info", settings.space.describe())
        study.set_user_attr("device_profile", settings.profile.to_dict())
        study.set_user_attr("proxy_config", settings.proxies.to_dict())
        study.set_user_attr("pipeline", list(settings.resolved_pipeline))
        study.set_user_attr("started_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    return study


def progress_printer(total: int, echo: Callable[[str], None]) -> Callable[[optuna.Study, FrozenTrial], None]:
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        done = finished_count(study)
        attrs = trial.user_attrs
        head = f"[{done}/{total}] trial {trial.number} {attrs.get('pattern', '?'):<14}"
        if trial.state == TrialState.COMPLETE and trial.values:
            proxy = attrs.get("proxy") if isinstance(attrs.get("proxy"), dict) else {}
            echo(f"{head} {figures_line(list(trial.values), proxy.get('quality_sd'), trial_feasible(trial))} "
                 f"({attrs.get('duration_s', 0):.0f}s)")
        elif trial.state == TrialState.PRUNED:
            echo(f"{head} pruned: {attrs.get('prune_reason', '')}")
        else:
            echo(f"{head} {trial.state.name.lower()} at {attrs.get('fail_stage', '?')}: "
                 f"{attrs.get('fail_reason', '')[:200]}")
    return callback


def search_note(study: optuna.Study) -> str:
    """The search bar's status: trials running and failed, best quality and front hypervolume."""
    trials = study.get_trials(deepcopy=False)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    failed = sum(t.state == TrialState.FAIL for t in trials)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    parts = [f"running {running}", f"failed {failed}"]
    if complete:
        parts.append(f"best quality {max(t.values[0] for t in complete):.3f}")
        latest = max(complete, key=lambda t: t.number).user_attrs.get(HYPERVOLUME_ATTR)
        if latest is not None:
            parts.append(f"hypervolume {latest:.3g}")
    return ", ".join(parts)


def progress_bar(task: ProgressTask) -> Callable[[optuna.Study, FrozenTrial], None]:
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        task.update(completed=finished_count(study), note=search_note(study))
    return callback


def latency_predictor(settings: SearchSettings, meter: Meter,
                      echo: Callable[[str], None] = print, progress: Progress = SILENT) -> Predictor:
    """The device's latency table predictor (built, or loaded when nothing it depends on changed)."""
    from star_search.latency import LatencyPredictor

    return LatencyPredictor.load_or_build(settings.profile, settings.resolved_cache_dir / "latency", meter,
                                          space=settings.space, echo=echo, progress=progress)


def optimize(study: optuna.Study, settings: SearchSettings, echo: Callable[[str], None],
             progress: Progress = SILENT, deadline: float | None = None) -> None:
    """This process's share of the search: trials until the study (all workers) has enough, or
    until `deadline` (seconds since the epoch) has passed."""
    lock = HostLock(settings.resolved_cache_dir)  # the run's measurements never overlap its training
    runner = ProxyWorker(lock) if settings.parallel_proxies else InlineProxyRunner(lock)
    evaluator = build_evaluator(settings, settings.resolved_pipeline, runner, echo, progress)
    objective = SearchObjective(settings.space, evaluator, settings.twin_wait_s)
    try:
        if trials_to_start(study, settings.n_trials) > 0:
            with progress.task("search", settings.n_trials, "trials") as task:
                task.update(completed=finished_count(study), note=search_note(study))
                callbacks = [StopAtTrials(settings.n_trials, deadline),
                             progress_printer(settings.n_trials, echo), progress_bar(task)]
                objective.optimize(study, callbacks)  # stops on a full disk or a lost storage
    finally:
        runner.close()


def build_evaluator(settings: SearchSettings, pipeline: tuple[str, ...],
                    runner: ProxyWorker | InlineProxyRunner, echo: Callable[[str], None] = print,
                    progress: Progress = SILENT) -> CandidateEvaluator:
    """The evaluator of `pipeline` on the run's profile, proxy tiers and caches."""
    cache_dir = settings.resolved_cache_dir
    meter = Meter.for_profile(settings.profile, cache_dir)
    predictor = latency_predictor(settings, meter, echo, progress) if "predict" in pipeline else None
    anchor = None
    if settings.anchor is not None:
        anchor = Anchor.of(settings.profile.budgets, target_spec(settings.anchor, settings.profile.target))
    return CandidateEvaluator(settings.profile, settings.proxy_tiers, JsonCache(cache_dir / "results"),
                              meter, runner, pipeline=pipeline, predictor=predictor,
                              front_k=settings.front_k, prune_margin=settings.prune_margin,
                              front_noise_z=settings.front_noise_z, anchor=anchor,
                              anchor_tolerance=settings.anchor_tolerance,
                              anchor_retimes=settings.anchor_retimes,
                              correct_predictions=settings.correct_predictions)


def score_references(study: optuna.Study, settings: SearchSettings, echo: Callable[[str], None] = print,
                     progress: Progress = SILENT) -> None:
    """Score `settings.references` in the study's terms (`search/references.py`)."""
    if not settings.references:
        return
    runner = InlineProxyRunner(HostLock(settings.resolved_cache_dir))
    evaluator = build_evaluator(settings, reference_pipeline(settings.resolved_pipeline), runner, echo,
                                progress)
    try:
        evaluate_references(study, settings.references, evaluator, budget_names(settings.profile.budgets),
                            echo)
    finally:
        runner.close()


def run_search(settings: SearchSettings, echo: Callable[[str], None] = print,
               progress: Progress = SILENT) -> SearchOutcome:
    """Run (or resume) a search until the study holds `n_trials` finished trials.

    With `settings.workers` > 1, that many processes on this machine share the study; other
    machines (or commands) pointing at the same storage and study name join it the same way.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(settings)
    optuna.storages.fail_stale_trials(study)
    if settings.enqueue:
        added = enqueue(study, settings.enqueue)
        echo(f"search.enqueue: {added} of {len(settings.enqueue)} entries enqueued "
             f"({len(settings.enqueue) - added} already in the study)")
    done = finished_count(study)
    to_start = trials_to_start(study, settings.n_trials)
    on_workers = f" on {settings.workers} workers" if settings.workers > 1 else ""
    echo(f"study '{study.study_name}' in {redacted(settings.storage_url)}: {done} finished, "
         f"running {max(0, to_start)} more{on_workers}")
    clock = CostClock(study, settings.resolved_cache_dir / "programs", settings.workers)
    deadline = time.time() + settings.timeout_s if settings.timeout_s is not None else None
    workers = start_workers(settings, settings.workers - 1, deadline) if to_start > 1 else []
    try:
        optimize(study, settings, echo, progress, deadline)
    finally:
        failures = join_workers(workers)
    for failure in failures:
        echo(failure)
    if deadline is not None and time.time() >= deadline and trials_to_start(study, settings.n_trials) > 0:
        echo(f"stopped after search.timeout_s={settings.timeout_s:g} s with {finished_count(study)} of "
             f"{settings.n_trials} trials finished; run the same command again to go on")
    score_references(study, settings, echo, progress)
    session = clock.stop(study)
    total = record_session(study, session)
    echo(f"cost of this session: {SearchCost.of([session]).text()}")
    if total.sessions > 1:
        echo(f"cost of the search so far: {total.text()}")
    study.set_user_attr("finished_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(t.state == state for t in trials) for state in FINISHED}
    return SearchOutcome(study, settings.storage_url, settings.out_dir, counts[TrialState.COMPLETE],
                         counts[TrialState.FAIL], counts[TrialState.PRUNED], session, total)
