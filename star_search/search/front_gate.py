"""Could a candidate still reach the Pareto front? Compared at the fidelity it has reached.

A candidate in the middle of the pipeline has quality from one proxy tier and latency from the
latency table (or no latency yet). Finished trials recorded the same figures on their way
(`proxy_tiers[tier]`, `prediction`), so the comparison is like with like: the candidate goes on
unless `k` finished feasible trials dominate it on the figures both sides have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

from star_search.scoring.pareto import trial_feasible

# (name, maximise) of the figures compared; latency and memory only when the candidate has them.
QUALITY = ("quality", True)
COSTS = (("decode_p50_ms", False), ("ttft_ms", False), ("peak_rss_bytes", False))
PARAMS = ("params", False)


@dataclass(frozen=True)
class FidelityPoint:
    """The figures of one trial at one fidelity: quality at `tier`, latency from `latency`
    (a predicted or measured record, or None before any latency stage)."""

    quality: float
    params: int
    latency: Mapping[str, Any] | None

    def figures(self, with_latency: bool) -> dict[str, tuple[float, bool]]:
        out = {QUALITY[0]: (self.quality, QUALITY[1])}
        if with_latency and self.latency is not None:
            out.update({name: (float(self.latency[name]), up) for name, up in COSTS})
        else:
            out[PARAMS[0]] = (float(self.params), PARAMS[1])
        return out


def _dominates(a: dict[str, tuple[float, bool]], b: dict[str, tuple[float, bool]]) -> bool:
    better = False
    for name, (value, up) in b.items():
        other = a[name][0]
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
    return FidelityPoint(float(tiers[tier]["quality"]), int(attrs["params"]), latency)


def dominating_trials(candidate: FidelityPoint, tier: str, trials: Sequence[FrozenTrial]) -> list[int]:
    """Numbers of the finished feasible trials that dominate `candidate` at its fidelity."""
    source = candidate.latency.get("source") if candidate.latency is not None else None
    mine = candidate.figures(with_latency=source is not None)
    numbers = []
    for trial in trials:
        if trial.values is None or not trial_feasible(trial):
            continue
        point = trial_point(trial, tier, source)
        if point is not None and _dominates(point.figures(with_latency=source is not None), mine):
            numbers.append(trial.number)
    return numbers
