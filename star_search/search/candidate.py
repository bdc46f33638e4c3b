"""Evaluate one candidate: static checks → proxy quality → lowering → measurement.

Every stage is cached by a key that includes the `arch_id` and whatever else changes its answer,
so a resumed or retried trial never repeats finished work. A failure raises `StageFailure`
naming the stage; the Optuna objective turns it into a failed trial with that reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from star_search import sizing
from star_search.device_profile import DeviceProfile, Target
from star_search.errors import ProfileError, StarSearchError
from star_search.lower import CachedProgram, ProgramCache, ProgramShapes
from star_search.profiler import LocalBackend, MeasurementProtocol
from star_search.profiler.backend import Backend
from star_search.proxies.suite import ProxyConfig
from star_search.scoring import Figures, budget_constraints
from star_search.search.proxy_worker import InlineProxyRunner, ProxyWorker
from star_search.search.result_cache import ResultCache
from star_search.spec import ArchSpec


def backend_for_profile(profile: DeviceProfile) -> Backend:
    """The measuring backend a profile names. Only `local` exists so far."""
    if profile.backend == "local":
        return LocalBackend(cores=list(profile.cores) if profile.cores else None)
    raise ProfileError("backend", profile.backend, "'local' (the remote and adb backends are not built yet)")


class StageFailure(StarSearchError):
    def __init__(self, stage: str, reason: str):
        self.stage = stage
        self.reason = reason
        super().__init__(f"{stage}: {reason}")


class StaticReject(StarSearchError):
    """The candidate breaks a budget that is known before anything is trained or timed."""

    def __init__(self, reason: str, constraints: dict[str, float]):
        self.reason = reason
        self.constraints = constraints
        super().__init__(reason)


@dataclass
class CandidateResult:
    target: ArchSpec
    params: int
    proxy: dict[str, Any]
    measurement: dict[str, Any]
    constraints: dict[str, float]
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def quality(self) -> float:
        return float(self.proxy["quality"])


def target_spec(spec: ArchSpec, target: Target) -> ArchSpec:
    """The candidate at the size the profile's latency refers to (pattern and ratios kept)."""
    changes: dict[str, Any] = {}
    if target.vocab_size is not None:
        changes["vocab_size"] = target.vocab_size
    if target.d_model is not None and target.d_model != spec.d_model:
        scale = target.d_model / spec.d_model
        changes.update(d_model=target.d_model,
                       n_heads=max(spec.n_kv_heads, round(spec.n_heads * scale)),
                       ffn_dim=max(1, round(spec.ffn_dim * scale)),
                       moe_expert_dim=round(spec.moe_expert_dim * scale))
    return spec.with_width(**changes) if changes else spec


class CandidateEvaluator:
    """Runs the stages for one profile; holds the caches (constructed once, passed in)."""

    def __init__(self, profile: DeviceProfile, proxies: ProxyConfig, results: ResultCache,
                 programs: ProgramCache, proxy_runner: ProxyWorker | InlineProxyRunner | None = None):
        self.profile = profile
        self.proxy_runner = proxy_runner or InlineProxyRunner()
        self.proxies = proxies
        self.results = results
        self.programs = programs
        self.backend = backend_for_profile(profile)
        shapes = profile.shapes
        self.shapes = ProgramShapes(prompt_len=shapes.prompt_len, max_seq_len=shapes.max_seq_len,
                                    dtype=shapes.dtype)
        self.protocol = MeasurementProtocol.from_profile(profile)

    def static_check(self, target: ArchSpec) -> int:
        params = sizing.param_count(target)
        constraints = budget_constraints(self.profile.budgets, Figures(params=params))
        if constraints.get("params", 0.0) > 0:
            raise StaticReject(f"{params:,} parameters exceed the budget of "
                               f"{self.profile.budgets.params:,}", constraints)
        return params

    def start_proxies(self, spec: ArchSpec) -> Callable[[], dict[str, Any]]:
        """Start (or find cached) proxy scores; returns a function that waits for them."""
        key = f"proxy|{spec.arch_id}|{self.proxies.cache_key()}"
        cached = self.results.get(key)
        if cached is not None:
            return lambda: cached
        future = self.proxy_runner.submit(spec, self.proxies)

        def wait() -> dict[str, Any]:
            result = future.result()
            self.results.put(key, result)
            return result
        return wait

    def measure(self, program: CachedProgram) -> dict[str, Any]:
        protocol_key = json.dumps(self.protocol.to_dict(), sort_keys=True)
        key = f"measure|{program.sha256}|{self.backend.device_id}|{protocol_key}"
        cached = self.results.get(key)
        if cached is not None:
            return cached
        measurement = self.backend.measure(program.path, self.protocol).to_dict()
        measurement["lowering_s"] = program.lowering_s
        measurement["program_size_bytes"] = program.size_bytes
        measurement["delegation"] = {name: part.to_dict() for name, part in program.coverage.items()}
        self.results.put(key, measurement)
        return measurement

    def evaluate(self, spec: ArchSpec) -> CandidateResult:
        target = target_spec(spec, self.profile.target)
        seconds: dict[str, float] = {}
        params = self.static_check(target)
        outputs: dict[str, Any] = {}
        # Proxy training runs in the worker while this process lowers; both finish before timing.
        stages = (("proxies", lambda: self.start_proxies(spec)),
                  ("lower", lambda: self.programs.get_or_lower(target, self.shapes,
                                                               self.profile.shapes.quantize)),
                  ("proxies", lambda: outputs["proxies"]()),
                  ("measure", lambda: self.measure(outputs["lower"])))
        for stage, run in stages:
            start = time.perf_counter()
            try:
                outputs[stage] = run()
            except StarSearchError as err:
                raise StageFailure(stage, str(err)) from err
            except Exception as err:
                raise StageFailure(stage, f"{type(err).__name__}: {err}") from err
            seconds[stage] = round(seconds.get(stage, 0.0) + time.perf_counter() - start, 3)
        measurement = outputs["measure"]
        figures = Figures(decode_p50_ms=measurement["decode_p50_ms"], ttft_ms=measurement["ttft_ms"],
                          peak_rss_mb=measurement["peak_rss_bytes"] / 2**20, params=params)
        constraints = budget_constraints(self.profile.budgets, figures)
        return CandidateResult(target, params, outputs["proxies"], measurement, constraints, seconds)
