"""Studies as the commands take them: `study=` arguments, and a trial exported from its study.

The export room writes files from a spec; reading the study (which trial, its spec, where it came
from) is a command's job and happens here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from star_search.errors import ExportError, SpecError, StarSearchError
from star_search.export import ExportResult, export_spec
from star_search.progress import SILENT, Progress
from star_search.report.load import load_study
from star_search.scoring.selection import choose_trial
from star_search.spec import ArchSpec

# The trial user attrs that hold a spec: the searched one, or its device-size version.
ARCH_ATTRS = ("arch", "target_arch")


def storage_from_study_arg(study: str) -> str:
    """`study=` takes a run folder (holding study.db), a .db file, or a storage URL."""
    if "://" in study:
        return study
    path = Path(study)
    if path.is_dir():
        path = path / "study.db"
    if not path.is_file():
        raise SpecError("study", study, "a run folder with study.db, a .db file or a storage URL")
    return f"sqlite:///{path.resolve()}"


def find_trial(study: optuna.Study, trial_number: int | None) -> FrozenTrial:
    """Trial `trial_number`, or with None the trial `choose_trial` picks."""
    if trial_number is None:
        try:
            return choose_trial(study)
        except StarSearchError as err:
            raise ExportError(f"no trial number given and none can be chosen: {err}") from err
    trials = study.get_trials(deepcopy=False)
    for trial in trials:
        if trial.number == trial_number:
            return trial
    numbers = [t.number for t in trials]
    span = f"{min(numbers)}..{max(numbers)}" if numbers else "none"
    raise ExportError(f"trial {trial_number} is not in study '{study.study_name}' (trial numbers: {span})")


def spec_of(trial: FrozenTrial, arch_attr: str = "arch") -> ArchSpec:
    raw = trial.user_attrs.get(arch_attr)
    if raw is None:
        stage = trial.user_attrs.get("fail_stage")
        why = f" (it failed at stage '{stage}')" if stage else ""
        raise ExportError(f"trial {trial.number} ({trial.state.name}) has no '{arch_attr}' user attr{why}; "
                          f"nothing to export")
    try:
        return ArchSpec.from_dict(raw)
    except SpecError as err:
        raise ExportError(f"trial {trial.number} holds an unreadable '{arch_attr}': {err}") from err


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def provenance_for(study: optuna.Study, trial: FrozenTrial, arch_attr: str = "arch") -> dict[str, Any]:
    """Plain-JSON description of where a spec came from: study, trial, objective values, budgets.
    The storage URL is deliberately left out: for PostgreSQL it may hold a password."""
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


def export_trial(storage_url: str, study_name: str | None, trial_number: int | None, out_dir: str | Path,
                 arch_attr: str = "arch", family: bool = False, weights: bool = False,
                 seed: int = 0, progress: Progress = SILENT) -> ExportResult:
    """Export a trial's spec from the study in `storage_url` into `out_dir`.

    `study_name` may be None when the storage holds exactly one study; `trial_number` None picks
    the chosen trial. `arch_attr` selects the searched spec (`arch`) or its device-size version
    (`target_arch`). `config.json` is skipped, with the reason in the result, when transformers
    cannot express the spec. `family` exports the scaled family instead of the spec itself.
    """
    if arch_attr not in ARCH_ATTRS:
        raise ExportError(f"arch_attr {arch_attr!r} is not one of {list(ARCH_ATTRS)}")
    try:
        study = load_study(storage_url, study_name)
    except StarSearchError as err:
        raise ExportError(str(err)) from err
    trial = find_trial(study, trial_number)
    spec = spec_of(trial, arch_attr)
    notes = []
    if trial.state != optuna.trial.TrialState.COMPLETE:
        notes.append(f"trial {trial.number} is {trial.state.name}, not COMPLETE; its figures are incomplete")
    if any(value > 0 for value in trial.user_attrs.get("constraints") or []):
        notes.append(f"trial {trial.number} breaks at least one device budget")
    result = export_spec(spec, out_dir, f"trial {trial.number} of study '{study.study_name}'",
                         provenance_for(study, trial, arch_attr), family, weights, seed, tuple(notes),
                         progress)
    return replace(result, study_name=study.study_name, trial_number=trial.number)
