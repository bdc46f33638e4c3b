"""What `star-search proxies list` and `star-search proxies run` do, as importable functions.

`settings_table` lists registered settings (all, or a tier's) with family, metric and chance
level. `run_for_arch` scores one architecture, a preset name or an `arch.json`, with a tier and
returns the result and a printable summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from star_search.commands.architectures import resolve_arch
from star_search.progress import console_progress
from star_search.proxies.catalog import all_tasks, families
from star_search.proxies.config import ProxyConfig, proxy_config_for_tier
from star_search.proxies.spread import expected_spread
from star_search.proxies.suite import SuiteResult, run_suite
from star_search.spec import ArchSpec


def settings_table(tier: str | None = None) -> str:
    """One line per setting (family, setting, metric, chance level, tokens), then the count."""
    tasks = proxy_config_for_tier(tier).select_tasks() if tier else all_tasks()
    width = max(len(task.name) for task in tasks)
    lines = [f"{'family':<18} {'setting':<{width}} {'metric':<14} {'chance':>7} {'tokens':>6}"]
    for task in tasks:
        lines.append(f"{task.family:<18} {task.name:<{width}} {task.metric:<14} "
                     f"{task.chance_level:>7.4f} {task.seq_len:>6}")
    scope = f"in tier {tier}" if tier else "registered"
    lines.append(f"{len(tasks)} settings in {len(families(tasks))} families {scope}")
    return "\n".join(lines)


@dataclass(frozen=True)
class ProxyRun:
    """An architecture's suite result and the text `star-search proxies run` prints."""

    spec: ArchSpec
    result: SuiteResult

    def summary(self) -> str:
        result = self.result
        config = result.config
        width = max(len(name) for name in result.tasks)
        lines = [f"{self.spec.name or 'arch'} {self.spec.pattern()}: tier {config['tier']}, "
                 f"{len(result.tasks)} settings, {config['steps']} steps, seed {config['seed']}, "
                 f"on {result.device}",
                 f"{'setting':<{width}} {'metric':<14} {'value':>7} {'chance':>7} {'score':>6}"]
        for name, task in result.tasks.items():
            lines.append(f"{name:<{width}} {task.metric:<14} {task.value:>7.3f} {task.chance:>7.3f} "
                         f"{task.score:>6.3f}")
        weights = result.family_weights()
        lines.append("family means (weight): " + ", ".join(
            f"{family} {mean:.3f} ({weights[family]:g})" for family, mean in result.family_means().items()))
        lines.append(f"quality {result.quality:.4f}  final loss {result.final_loss:.3f}  "
                     f"train {result.train_seconds:.1f} s  eval {result.eval_seconds:.1f} s")
        spread = expected_spread(ProxyConfig(**config), self.spec.n_layers)
        lines.append(f"expected seed spread of this quality: ±{spread.sd:.3f} (one standard deviation; "
                     f"{spread.basis})" if spread else
                     "expected seed spread of this quality: not measured for this recipe "
                     "(benchmarks/proxy_fidelity.py --write-spread)")
        return "\n".join(lines)


def run_for_arch(arch: str, tier: str = "fast", json_out: str | None = None, **overrides: Any) -> ProxyRun:
    """Score `arch` (preset name or arch.json) with `tier` and `overrides` (ProxyConfig fields whose
    value is not None); with `json_out`, also write `SuiteResult.to_dict()` there."""
    spec = resolve_arch(arch)
    config = proxy_config_for_tier(tier, **{k: v for k, v in overrides.items() if v is not None})
    run = ProxyRun(spec, run_suite(spec, config, console_progress()))
    if json_out:
        spread = expected_spread(config, spec.n_layers)
        proxy = {**run.result.to_dict(), **(spread.to_dict() if spread else {})}
        record = {"arch": spec.to_dict(), "proxy": proxy}
        Path(json_out).write_text(json.dumps(record, indent=1))
    return run
