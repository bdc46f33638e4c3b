"""Flatten one trial record (Optuna trial + user attrs) into one flat row of the trials table.

Columns, in order: identity (`number`, `state`, `status`, `feasible`, `pattern`, `arch_id`),
sizes (`n_layers`, `params`, `d_model`, `ffn_dim`, `n_heads`, `n_kv_heads`), layers per mixer
kind (`n_conv`, `n_attention`, `n_ssm`, `n_linear_attention`) and MoE layers (`n_moe`), one column per
objective (named by the study's metric names), `quality_sd` (the expected seed spread of the
quality, `star_search.proxies.spread`; None where the recipe's spread was never measured),
measurement details (`decode_p95_ms`,
`prefill_tok_s`, `measurement_source`, `backend`, `threads`, `device_id`), timing
(`proxy_train_seconds`, `duration_s`, `datetime_start`, `datetime_complete`), one
`constraint.NAME` per budget, `task.NAME.score` / `task.NAME.accuracy` per proxy task, and the
reasons a trial stopped (`fail_stage`, `fail_reason`, `prune_stage`, `prune_reason`). Missing
figures are None.
"""

from __future__ import annotations

import math
from typing import Any

from optuna.trial import FrozenTrial

from star_search.spec import MIXER_KINDS

ARCH_COLUMNS = ("d_model", "ffn_dim", "n_heads", "n_kv_heads")
LAYER_COLUMNS = (*(f"n_{kind}" for kind in MIXER_KINDS), "n_moe")
MEASUREMENT_COLUMNS = ("decode_p95_ms", "prefill_tok_s")
STOP_COLUMNS = ("fail_stage", "fail_reason", "prune_stage", "prune_reason")


def order_columns(columns: list[str], metric_names: tuple[str, ...]) -> list[str]:
    """Identity and objectives first (present even for an empty study), stop reasons last."""
    head = ["number", "state", "status", "feasible", "pattern", "arch_id", "n_layers", "params",
            *ARCH_COLUMNS, *LAYER_COLUMNS, *metric_names, "quality_sd"]
    middle = [c for c in columns if c not in head and c not in STOP_COLUMNS]
    return head + middle + list(STOP_COLUMNS)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _when(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def trial_row(trial: FrozenTrial, metric_names: tuple[str, ...], status: str,
              feasible: bool | None) -> dict[str, Any]:
    """One row for `trial`; `status` and `feasible` come from the collector."""
    attrs = trial.user_attrs
    arch = attrs.get("arch") if isinstance(attrs.get("arch"), dict) else {}
    measurement = attrs.get("measurement") if isinstance(attrs.get("measurement"), dict) else {}
    proxy = attrs.get("proxy") if isinstance(attrs.get("proxy"), dict) else {}
    layers = arch.get("layers")
    row: dict[str, Any] = {
        "number": trial.number,
        "state": trial.state.name,
        "status": status,
        "feasible": feasible,
        "pattern": _text(attrs.get("pattern")),
        "arch_id": _text(attrs.get("arch_id")),
        "n_layers": len(layers) if isinstance(layers, list) else None,
        "params": _number(attrs.get("params")),
    }
    row.update({name: _number(arch.get(name)) for name in ARCH_COLUMNS})
    kinds = [layer.get("mixer") if isinstance(layer, dict) else None for layer in layers or []]
    row.update({f"n_{kind}": kinds.count(kind) if isinstance(layers, list) else None
                for kind in MIXER_KINDS})
    row["n_moe"] = (sum(isinstance(layer, dict) and layer.get("ffn") == "moe" for layer in layers)
                    if isinstance(layers, list) else None)
    values = trial.values if trial.values and len(trial.values) == len(metric_names) else None
    row.update({name: _number(values[i]) if values else None for i, name in enumerate(metric_names)})
    row["quality_sd"] = _number(proxy.get("quality_sd"))
    row.update({name: _number(measurement.get(name)) for name in MEASUREMENT_COLUMNS})
    row.update({
        "measurement_source": _text(measurement.get("source")),
        "backend": _text(measurement.get("backend")),
        "threads": _number(measurement.get("threads")),
        "device_id": _text(measurement.get("device_id")),
        "proxy_train_seconds": _number(proxy.get("train_seconds")),
        "duration_s": _number(attrs.get("duration_s")),
        "datetime_start": _when(trial.datetime_start),
        "datetime_complete": _when(trial.datetime_complete),
    })
    names = attrs.get("constraint_names") or []
    constraints = attrs.get("constraints") or []
    row.update({f"constraint.{name}": _number(value)
                for name, value in zip(names, constraints, strict=False)})
    tasks = proxy.get("tasks") if isinstance(proxy.get("tasks"), dict) else {}
    for task, result in sorted(tasks.items()):
        result = result if isinstance(result, dict) else {}
        row[f"task.{task}.score"] = _number(result.get("score"))
        row[f"task.{task}.accuracy"] = _number(result.get("accuracy"))
    row.update({key: _text(attrs.get(key)) for key in STOP_COLUMNS})
    return row
