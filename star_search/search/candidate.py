"""Evaluate one candidate through the configured multi-fidelity pipeline (`pipeline.py`).

Every stage is cached by a key that includes the `arch_id` and whatever else changes its answer,
so a resumed or retried trial never repeats finished work. A failure raises `StageFailure`
naming the stage (the objective turns it into a failed trial with that reason); a candidate
stopped early raises `StagePruned` with the reason (a pruned trial).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial

from star_search import sizing
from star_search.errors import StarSearchError
from star_search.json_cache import JsonCache
from star_search.latency.correction import correct, pairs_of
from star_search.latency.relative import Predictor, RelativePredictions
from star_search.profiler.anchor import ANCHOR_ATTR, USUAL_WINDOW_S, Anchor
from star_search.profiler.device_profile import DeviceProfile
from star_search.profiler.meter import Meter
from star_search.proxies.proxy_model import proxy_size
from star_search.proxies.spread import SpreadTable, expected_spread
from star_search.proxies.suite import ProxyConfig, SuiteResult, averaged, seed_configs
from star_search.scaling import proxy_spec, target_spec
from star_search.scoring import Figures, budget_constraints
from star_search.search.front_gate import FidelityPoint, dominating_trials
from star_search.search.pipeline import DEFAULT_PIPELINE, is_proxy_stage
from star_search.search.proxy_worker import InlineProxyRunner, ProxyWorker
from star_search.search.twins import REUSED_ATTR
from star_search.spec import ArchSpec


class StageFailure(StarSearchError):
    def __init__(self, stage: str, reason: str):
        self.stage = stage
        self.reason = reason
        super().__init__(f"{stage}: {reason}")


class StagePruned(StarSearchError):
    """The candidate was stopped early by `stage` (a budget it breaks, or it cannot reach the
    front); `constraints` are the budget constraint values known at that point."""

    def __init__(self, stage: str, reason: str, constraints: Mapping[str, float] | None = None):
        self.stage = stage
        self.reason = reason
        self.constraints = dict(constraints or {})
        super().__init__(f"{stage}: {reason}")


@dataclass
class CandidateResult:
    """target: the spec at the profile's target size; proxy: the last tier's result;
    proxy_tiers: every tier's result by name; latency: the figures the objectives use (measured
    when the pipeline measured, else predicted); prediction: the predicted record when `predict`
    ran; fidelity: the stages passed, in order."""

    target: ArchSpec
    params: int
    proxy: dict[str, Any]
    latency: dict[str, Any]
    constraints: dict[str, float]
    proxy_tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    prediction: dict[str, Any] | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    fidelity: list[str] = field(default_factory=list)

    @property
    def quality(self) -> float:
        return float(self.proxy["quality"])


@dataclass
class _Progress:
    """What one candidate has gathered so far on its way through the pipeline."""

    spec: ArchSpec
    target: ArchSpec
    params: int = 0
    proxy_tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)
    last_tier: str | None = None
    latency: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None

    def quality_record(self) -> dict[str, Any]:
        """The last tier's result, waiting for its training if it is still running."""
        assert self.last_tier is not None, "pipeline validation puts a proxy tier first"
        self.finish_proxies()
        return self.proxy_tiers[self.last_tier]

    def finish_proxies(self) -> None:
        """Wait for every proxy run still in training; a failed run fails its own tier's stage."""
        for tier, wait in list(self.pending.items()):
            try:
                self.proxy_tiers[tier] = wait()
            except Exception as err:
                raise StageFailure(tier, f"{type(err).__name__}: {err}") from err
            del self.pending[tier]


def _mean_of(runs: Sequence[tuple[str, Any]], config: ProxyConfig) -> dict[str, Any]:
    """The finished single runs (cache key, result dict) of `config` as one result dict."""
    if len(runs) == 1:
        return runs[0][1]
    return averaged([SuiteResult.from_dict(result) for _, result in runs], config).to_dict()


def _own(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that were evaluated themselves: a twin's record is a copy of another's."""
    return [trial for trial in trials if REUSED_ATTR not in trial.user_attrs]


def _checked(measured: Mapping[str, Any]) -> bool:
    """False for a measurement read beside the anchor whose anchor figures were never checked
    (recorded before the check existed: no `tries`)."""
    beside = measured.get(ANCHOR_ATTR)
    return not isinstance(beside, Mapping) or "tries" in beside


class CandidateEvaluator:
    """Runs a candidate through `pipeline` for one profile; holds the caches (constructed once,
    passed in). `proxy_tiers`: the proxy config of each tier the pipeline names; `results`: the
    proxy results cache; `meter`: the profile's `Meter` (lowering and measuring, both cached);
    `predictor`: the latency table predictor (needed when the pipeline has `predict`);
    `front_k` and `front_noise_z`: see `front`; `prune_margin`: a prediction is pruned only when it
    exceeds a budget by more than this fraction (the predictor's error); `spreads`: the measured
    seed spreads of proxy qualities (the shipped table unless given); `anchor`: with
    `budgets.relative_to`, the architecture every time is read relative to (`anchor.py`);
    `anchor_tolerance`, `anchor_retimes`: a pair whose anchor figures are off their median over the
    study's pairs of the last hour by more than `anchor_tolerance` (a fraction) is timed again, up to
    `anchor_retimes` more times, and the pair nearest the median is kept; `correct_predictions`:
    predictions times the study's own measured/predicted ratios (`latency/correction.py`)."""

    def __init__(self, profile: DeviceProfile, proxy_tiers: Mapping[str, ProxyConfig], results: JsonCache,
                 meter: Meter, proxy_runner: ProxyWorker | InlineProxyRunner | None = None,
                 pipeline: Sequence[str] = DEFAULT_PIPELINE, predictor: Predictor | None = None,
                 front_k: int = 1, prune_margin: float = 0.1, front_noise_z: float = 1.0,
                 spreads: SpreadTable | None = None, anchor: Anchor | None = None,
                 anchor_tolerance: float = 0.15, anchor_retimes: int = 2, correct_predictions: bool = True):
        self.profile = profile
        self.proxy_runner = proxy_runner or InlineProxyRunner()
        self.proxy_tiers = dict(proxy_tiers)
        self.pipeline = tuple(pipeline)
        missing = [s for s in self.pipeline if is_proxy_stage(s) and s not in self.proxy_tiers]
        if missing:
            raise StarSearchError(f"no proxy config for pipeline tier(s) {missing}")
        if "predict" in self.pipeline and predictor is None:
            raise StarSearchError("the pipeline has 'predict' but no latency predictor was given")
        self.anchor = anchor
        self._uncorrected = None if predictor is None else RelativePredictions(predictor, anchor)
        self.anchor_tolerance = anchor_tolerance
        self.anchor_retimes = anchor_retimes
        self.correct_predictions = correct_predictions
        self.front_k = front_k
        self.front_noise_z = front_noise_z
        self.spreads = spreads
        self.prune_margin = prune_margin
        self.results = results
        self.meter = meter
        self.stages: dict[str, Callable[[_Progress, Callable[[], Sequence[FrozenTrial]]], None]] = {
            "static": lambda p, _: self._static(p),
            "predict": self._predict,
            "front": self._front,
            "measure": self._measure,
        }

    # -- stages -----------------------------------------------------------------------------

    def static_check(self, target: ArchSpec) -> int:
        """Budgets known from the spec alone (parameters, cache bytes) and operators the device
        cannot run; returns the parameter count."""
        params = sizing.param_count(target)
        cache_mb = sizing.state_bytes(target, self.profile.shapes.context_len) / 2**20
        budgets = self.profile.budgets
        constraints = budget_constraints(budgets, Figures(params=params, cache_mb=cache_mb))
        reasons = []
        if constraints.get("params", 0.0) > 0:
            reasons.append(f"{params:,} parameters exceed the budget of {budgets.params:,}")
        if constraints.get("cache_mb", 0.0) > 0:
            reasons.append(f"{cache_mb:,.1f} MiB of KV cache and state at {self.profile.shapes.context_len} "
                           f"tokens exceed the budget of {budgets.cache_mb} MiB")
        supported = self.profile.operators
        if supported is not None:
            used = sorted({layer.mixer for layer in target.layers} | {layer.ffn for layer in target.layers})
            unsupported = [kind for kind in used if kind not in supported]
            if unsupported:
                reasons.append(f"operators {unsupported} are not supported by device "
                               f"'{self.profile.name}' (operators: {list(supported)})")
        if reasons:
            raise StagePruned("static", "; ".join(reasons), constraints)
        return params

    def _static(self, progress: _Progress) -> None:
        progress.params = self.static_check(progress.target)

    def _start_proxies(self, progress: _Progress, tier: str) -> None:
        """Start (or find cached) the tier's proxy scores; the next stage needing quality waits.
        A tier that averages seeds (`repeats` > 1) runs and caches each seed on its own, so a
        mean of two seeds trains only the seed the cache lacks."""
        config = self.proxy_tiers[tier]
        # Keyed by the proxy model, not the candidate: candidates that differ only in what the
        # proxy scales away (width, head count, vocabulary) train the very same proxy.
        proxy_id = proxy_spec(progress.spec, proxy_size(config)).arch_id
        progress.last_tier = tier
        # The spread rides beside the result, not in the cache: a later measurement of it applies
        # to results trained before it.
        spread = expected_spread(config, progress.spec.n_layers, self.spreads)
        confidence = spread.to_dict() if spread is not None else {}
        # A mean stored whole (before seeds were cached one by one) still counts. (A one-seed tier's
        # whole key is its seed's key, looked up below.)
        whole = self.results.get(f"proxy|{proxy_id}|{config.cache_key()}") if config.repeats > 1 else None
        if whole is not None:
            progress.proxy_tiers[tier] = {**whole, **confidence}
            return
        runs: list[tuple[str, dict[str, Any] | Future[dict[str, Any]]]] = []
        for one in seed_configs(config):
            key = f"proxy|{proxy_id}|{one.cache_key()}"
            cached = self.results.get(key)
            runs.append((key, cached if cached is not None else self.proxy_runner.submit(progress.spec, one)))
        if not any(isinstance(run, Future) for _, run in runs):
            progress.proxy_tiers[tier] = {**_mean_of(runs, config), **confidence}
            return

        def wait() -> dict[str, Any]:
            for index, (key, run) in enumerate(runs):
                if isinstance(run, Future):
                    runs[index] = (key, run.result())
                    self.results.put(key, runs[index][1])
            return {**_mean_of(runs, config), **confidence}
        progress.pending[tier] = wait

    def _predict(self, progress: _Progress, finished: Callable[[], Sequence[FrozenTrial]]) -> None:
        uncorrected = self._uncorrected
        assert uncorrected is not None
        prediction = uncorrected(progress.target)
        if self.correct_predictions:
            pairs = pairs_of((trial.user_attrs for trial in _own(finished())), self.meter.device_id,
                             predict=lambda target: uncorrected(ArchSpec.from_dict(dict(target))))
            prediction = correct(prediction, progress.target.d_model, pairs)
        progress.prediction = progress.latency = prediction
        figures = self._figures(progress.target, progress.params, prediction)
        constraints = budget_constraints(self.profile.budgets, figures)
        budgets = self.profile.budgets.__dict__
        over = [f"predicted {name} {getattr(figures, name):,.1f} exceeds the budget of {budgets[name]:,} "
                f"by more than {self.prune_margin:.0%}"
                for name in ("decode_p50_ms", "ttft_ms", "peak_rss_mb")
                if budgets.get(name) is not None
                and getattr(figures, name) > budgets[name] * (1 + self.prune_margin)]
        if over:
            raise StagePruned("predict", "; ".join(over), constraints)

    def _front(self, progress: _Progress, finished: Callable[[], Sequence[FrozenTrial]]) -> None:
        assert progress.last_tier is not None
        record = progress.quality_record()
        point = FidelityPoint(float(record["quality"]), progress.params, progress.latency,
                              record.get("quality_sd"))
        dominating = dominating_trials(point, progress.last_tier, finished(), self.front_noise_z)
        if len(dominating) >= self.front_k:
            shown = ", ".join(f"#{n}" for n in dominating[:5]) + (" …" if len(dominating) > 5 else "")
            source = progress.latency.get("source") if progress.latency else "no latency"
            raise StagePruned("front", f"cannot reach the front: dominated at {progress.last_tier} "
                              f"quality and {source} latency by {len(dominating)} finished "
                              f"trial(s) ({shown}); front_k={self.front_k}, "
                              f"front_noise_z={self.front_noise_z:g}")

    def _measure(self, progress: _Progress, finished: Callable[[], Sequence[FrozenTrial]]) -> None:
        # Never time while proxy training runs beside the measurement.
        if self.anchor is None:
            reading = self.meter.measure(progress.target, before_timing=progress.finish_proxies)
            progress.latency = reading.record()
            return
        # Timed afresh beside the anchor: the pair is the measurement (cached as a pair).
        programs = [self.meter.program(progress.target), self.meter.program(self.anchor.spec)]
        key = (f"beside|{self.meter.device_id}|{self.meter.protocol.key()}|{programs[0].sha256}|"
               f"{programs[1].sha256}")
        cached = self.results.get(key)
        if cached is None or not _checked(cached):
            cached = self._measure_beside_anchor(progress, finished)
            self.results.put(key, cached)
        progress.latency = cached

    def _measure_beside_anchor(self, progress: _Progress,
                               finished: Callable[[], Sequence[FrozenTrial]]) -> dict[str, Any]:
        """The candidate timed with the anchor, again while the anchor's figures are off their
        usual values (a disturbance the ratio would not remove); the pair nearest usual is kept."""
        assert self.anchor is not None
        now = datetime.datetime.now()
        recent = (trial.user_attrs.get("measurement") for trial in _own(finished())
                  if trial.datetime_complete is not None
                  and (now - trial.datetime_complete).total_seconds() <= USUAL_WINDOW_S)
        usual = self.anchor.usual_figures((m for m in recent if isinstance(m, Mapping)),
                                          self.meter.device_id)
        tries: list[tuple[float, dict[str, Any]]] = []
        for _ in range(1 + self.anchor_retimes):
            read, anchor_figures = self.anchor.beside(self.meter, progress.target,
                                                      before_timing=progress.finish_proxies)
            tries.append((self.anchor.deviation(anchor_figures, usual), read))
            if tries[-1][0] <= self.anchor_tolerance:
                break
        deviation, kept = min(tries, key=lambda t: t[0])
        kept[ANCHOR_ATTR].update(usual=usual, deviation=deviation, tolerance=self.anchor_tolerance,
                                 tries=[round(d, 4) for d, _ in tries])
        return kept

    # -- the pipeline -----------------------------------------------------------------------

    def reusable(self, record: Mapping[str, Any]) -> bool:
        """Whether a finished trial's record may stand for another trial of its architecture:
        not when it is a pair timed beside the anchor before the anchor's figures were checked
        (`_measure_beside_anchor`), which is measured again instead."""
        measured = record.get("measurement")
        return self.anchor is None or not isinstance(measured, Mapping) or _checked(measured)

    def _figures(self, target: ArchSpec, params: int, latency: Mapping[str, Any]) -> Figures:
        return Figures(decode_p50_ms=latency["decode_p50_ms"], ttft_ms=latency["ttft_ms"],
                       peak_rss_mb=latency["peak_rss_bytes"] / 2**20, params=params,
                       cache_mb=sizing.state_bytes(target, self.profile.shapes.context_len) / 2**20)

    def evaluate(self, spec: ArchSpec,
                 finished: Callable[[], Sequence[FrozenTrial]] = lambda: ()) -> CandidateResult:
        """Run every stage; `finished` gives the study's finished trials (for `front`)."""
        progress = _Progress(spec=spec, target=target_spec(spec, self.profile.target))
        progress.params = sizing.param_count(progress.target)
        seconds: dict[str, float] = {}
        passed: list[str] = []
        for stage in self.pipeline:
            start = time.perf_counter()
            try:
                if is_proxy_stage(stage):
                    self._start_proxies(progress, stage)
                else:
                    self.stages[stage](progress, finished)
            except (StagePruned, StageFailure):
                raise
            except StarSearchError as err:
                raise StageFailure(stage, str(err)) from err
            except Exception as err:
                raise StageFailure(stage, f"{type(err).__name__}: {err}") from err
            finally:
                seconds[stage] = round(time.perf_counter() - start, 3)
            passed.append(stage)
        start = time.perf_counter()
        proxy = progress.quality_record()
        waited = time.perf_counter() - start
        if waited > 1e-3:
            seconds["proxies_wait"] = round(waited, 3)
        assert progress.latency is not None, "pipeline validation requires a latency stage"
        figures = self._figures(progress.target, progress.params, progress.latency)
        constraints = budget_constraints(self.profile.budgets, figures)
        return CandidateResult(progress.target, progress.params, proxy, progress.latency, constraints,
                               proxy_tiers=dict(progress.proxy_tiers), prediction=progress.prediction,
                               stage_seconds=seconds, fidelity=passed)
