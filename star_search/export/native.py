"""The native export: `arch.json` (the ArchSpec itself) and `provenance.json` (where it came from).

`arch.json` round-trips through `ArchSpec.from_json`; `provenance.json` records the study, the
trial and its objective values so an exported spec can always be traced back to its search.
The storage URL is deliberately left out: for PostgreSQL it may hold a password.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from star_search.spec import ArchSpec

ARCH_FILE = "arch.json"
PROVENANCE_FILE = "provenance.json"


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def provenance_for(study: optuna.Study, trial: FrozenTrial, arch_attr: str = "arch") -> dict[str, Any]:
    """Plain-JSON description of where a spec came from: study, trial, objective values, budgets."""
    names = list(study.metric_names or [f"objective_{i}" for i in range(len(study.directions))])
    values = trial.values or []
    attrs = trial.user_attrs
    constraints = attrs.get("constraints")
    profile = study.user_attrs.get("device_profile") or {}
    return {
        "study": study.study_name,
        "space": study.user_attrs.get("space"),
        "device_profile": profile.get("name") if isinstance(profile, dict) else None,
        "trial_number": trial.number,
        "trial_state": trial.state.name,
        "arch_attr": arch_attr,
        "arch_id": attrs.get("arch_id"),
        "pattern": attrs.get("pattern"),
        "params": attrs.get("params"),
        "objectives": {name: _finite_or_none(v) for name, v in zip(names, values, strict=False)},
        "constraints": {name: _finite_or_none(c) for name, c in
                        zip(attrs.get("constraint_names", []), constraints or [], strict=False)},
        "feasible": None if constraints is None else all(c <= 0 for c in constraints),
        "measurement_source": (attrs.get("measurement") or {}).get("source"),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_native(spec: ArchSpec, provenance: dict[str, Any] | None, out_dir: str | Path) -> list[Path]:
    """Write `arch.json`, and `provenance.json` when given, into `out_dir` (created if needed)."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    arch_path = directory / ARCH_FILE
    arch_path.write_text(spec.to_json() + "\n")
    if provenance is None:
        return [arch_path]
    provenance_path = directory / PROVENANCE_FILE
    provenance_path.write_text(json.dumps(provenance, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return [arch_path, provenance_path]
