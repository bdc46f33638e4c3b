"""The multi-fidelity pipeline: which stages a candidate goes through, in which order.

A pipeline is a list of stage names, set in configuration (`search.pipeline`), never in code:

- `static`: budgets known from the spec alone (parameters, KV cache + state bytes at the
  profile's context) and operators the device cannot run (`operators` in the profile).
- `predict`: target-size latency and memory from the device's latency table
  (`star_search.latency`, labelled `predicted`); prunes a candidate whose prediction already
  breaks a latency or memory budget.
- a proxy tier (`demo`, `fast`, `full`), or `proxies` for the tier set in `proxies.tier`: joint
  training of the candidate's proxy on that tier's eval settings. Training starts in the proxy
  worker and is waited for by the next stage that needs quality, so lowering overlaps with it.
- `front`: go on only when the candidate could reach the Pareto front: fewer than
  `front_k` finished feasible trials dominate it at the same fidelity (same proxy tier, same
  latency source). Otherwise it is pruned with the names of the trials that dominate it.
- `measure`: lower the target-size model through ExecuTorch and measure it whole on the
  profile's backend.

The objectives of a finished trial use the last proxy tier's quality and the last latency
figures (measured when `measure` ran, else predicted). The pipeline must hold a proxy tier and a
latency source (`predict` or `measure`); `front` needs a proxy tier before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from star_search.errors import SpecError
from star_search.proxies.config import TIERS

FIXED_STAGES = ("static", "predict", "front", "measure", "proxies")
LATENCY_STAGES = ("predict", "measure")
DEFAULT_PIPELINE = ("static", "proxies", "measure")
# The full ladder: every candidate cheaply, the expensive steps only near the front.
MULTI_FIDELITY_PIPELINE = ("static", "predict", "fast", "front", "full", "measure")


def is_proxy_stage(name: str) -> bool:
    return name == "proxies" or name in TIERS


def parse_pipeline(names: Sequence[str], default_tier: str) -> tuple[str, ...]:
    """Validate stage names; `proxies` becomes `default_tier`. Errors name `search.pipeline[i]`."""
    if isinstance(names, str) or not names:
        raise SpecError("search.pipeline", names, f"a non-empty list of stages from "
                        f"{list(FIXED_STAGES) + list(TIERS)}")
    stages: list[str] = []
    for index, name in enumerate(names):
        if name not in FIXED_STAGES and name not in TIERS:
            raise SpecError(f"search.pipeline[{index}]", name,
                            f"one of {list(FIXED_STAGES) + list(TIERS)}")
        stage = default_tier if name == "proxies" else str(name)
        if stage in stages:
            raise SpecError(f"search.pipeline[{index}]", name, "a stage not already in the pipeline")
        if stage == "front" and not any(is_proxy_stage(s) for s in stages):
            raise SpecError(f"search.pipeline[{index}]", name, "'front' after a proxy tier")
        stages.append(stage)
    if not any(is_proxy_stage(s) for s in stages):
        raise SpecError("search.pipeline", list(names), f"a proxy tier ({list(TIERS)} or 'proxies')")
    if not any(s in LATENCY_STAGES for s in stages):
        raise SpecError("search.pipeline", list(names), f"a latency stage ({list(LATENCY_STAGES)})")
    return tuple(stages)
