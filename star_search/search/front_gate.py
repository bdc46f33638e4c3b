"""Could a candidate still reach the Pareto front? Compared at the fidelity it has reached.

A candidate in the middle of the pipeline has quality from one proxy tier and latency from the
latency table (or no latency yet). Finished trials recorded the same figures on their way
(`proxy_tiers[tier]`, `prediction`), so the comparison is like with like: the candidate goes on
unless `k` finished feasible trials dominate it on the figures both sides have.

Quality is noisy (one proxy run's seed moves it; `star_search.proxies.spread`), so a finished
trial beats the candidate on quality only by more than the noise of the difference,
z·sqrt(sd_candidate² + sd_trial²): a candidate that might be as good as a faster trial, given
the seed noise, goes on to be measured rather than being dropped on a coin toss. z = 0 compares
the bare qualities; unknown spreads count as 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

from star_search.proxies.spread import noise_margin
from star_search.scoring.pareto import trial_feasible

# (name, maximise) of the figures compared; latency and memory only when the candidate has them.
QUALITY = ("quality", True)
COSTS = (("decode_p50_ms", False), ("ttft_ms", False), ("peak_rss_bytes", False))
PARAMS = ("params", False)


@dataclass(frozen=True)
class FidelityPoint:
    """The figures of one trial at one fidelity: quality at `tier` (with its expected seed
    spread `quality_sd`, None when unknown), latency from `latency` (a predicted or measured
    record, or None before any latency stage)."""

    quality: float
    params: int
    latency: Mapping[str, Any] | None
    quality_sd: float | None = None

    def figures(self, with_latency: bool) -> dict[str, tuple[float, bool]]:
        out = {QUALITY[0]: (self.quality, QUALITY[1])}
        if with_latency and self.latency is not None:
            out.update({name: (float(self.latency[name]), up) for name, up in COSTS})
        else:
            out[PARAMS[0]] = (float(self.params), PARAMS[1])
        return out


def _dominates(a: dict[str, tuple[float, bool]], b: dict[str, tuple[float, bool]], quality_margin: float = 0.0
               ) -> bool:
    """Whether `a` is at least as good as `b` everywhere and better somewhere, where on quality
    `a` must exceed `b` by more than `quality_margin` to count as at least as good."""
    better = False
    for name, (value, up) in b.items():
        other = a[name][0]
        if name == QUALITY[0] and quality_margin > 0:
            if other <= value + quality_margin:
                return False
            better = True
            continue
        if (other < value) if up else (other > value):
            return False
        better = better or other != value
    return better


def trial_point(trial: FrozenTrial, tier: str, latency_source: str | None) -> FidelityPoint | None:
    """The finished trial's figures at `tier` with latency of `latency_source`, if it has them."""
    attrs = trial.user_attrs
    tiers = attrs.get("proxy_tiers") or {}
    if tier not in tiers or "params" not in attrs:
        return None
    latency = None
    if latency_source is not None:
        latency = attrs.get("prediction") if latency_source == "predicted" else attrs.get("measurement")
        if not latency or latency.get("source") != latency_source:
            return None
    sd = tiers[tier].get("quality_sd")
    return FidelityPoint(float(tiers[tier]["quality"]), int(attrs["params"]), latency,
                         float(sd) if isinstance(sd, int | float) else None)


def dominating_trials(candidate: FidelityPoint, tier: str, trials: Sequence[FrozenTrial],
                      noise_z: float = 0.0) -> list[int]:
    """Numbers of the finished feasible trials that dominate `candidate` at its fidelity, on
    quality by more than `noise_z` standard deviations of the difference."""
    source = candidate.latency.get("source") if candidate.latency is not None else None
    mine = candidate.figures(with_latency=source is not None)
    numbers = []
    for trial in trials:
        if trial.values is None or not trial_feasible(trial):
            continue
        point = trial_point(trial, tier, source)
        if point is None:
            continue
        margin = noise_margin(candidate.quality_sd, point.quality_sd, noise_z)
        if _dominates(point.figures(with_latency=source is not None), mine, margin):
            numbers.append(trial.number)
    return numbers
