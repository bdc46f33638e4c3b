"""Export one trial of a study: `arch.json` + `provenance.json`, and `config.json` when possible.

The trial record (user attr `arch`, or `target_arch` for the size the device figures refer to)
is all export needs; nothing is rebuilt or re-measured. When no trial number is given, the
trial `scoring.selection.choose_trial` picks is exported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial

from star_search.errors import ExportError, SpecError, StarSearchError
from star_search.export.hf_config import CONFIG_FILE, write_hf_config
from star_search.export.native import provenance_for, write_native
from star_search.report.load import load_study
from star_search.scoring.selection import choose_trial
from star_search.spec import ArchSpec

ARCH_ATTRS = ("arch", "target_arch")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote. `hf_config_skipped` explains a missing `config.json` (else None)."""

    out_dir: Path
    study_name: str
    trial_number: int
    arch_id: str
    pattern: str
    files: tuple[Path, ...]
    hf_config_skipped: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """Human-readable lines for the command line."""
        lines = [f"exported trial {self.trial_number} of study '{self.study_name}' "
                 f"({self.pattern}, arch_id {self.arch_id}) to {self.out_dir}"]
        lines += [f"  wrote {path.name}" for path in self.files]
        if self.hf_config_skipped:
            lines.append(f"  skipped config.json: {self.hf_config_skipped}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _find_trial(study: optuna.Study, trial_number: int | None) -> FrozenTrial:
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


def _spec_of(trial: FrozenTrial, arch_attr: str) -> ArchSpec:
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


def export_trial(storage_url: str, study_name: str | None, trial_number: int | None, out_dir: str | Path,
                 arch_attr: str = "arch") -> ExportResult:
    """Export a trial's spec from the study in `storage_url` into `out_dir`.

    `study_name` may be None when the storage holds exactly one study; `trial_number` None picks
    the chosen trial. `arch_attr` selects the searched spec (`arch`) or its device-size version
    (`target_arch`). `config.json` is skipped, with the reason in the result, when transformers
    cannot express the spec.
    """
    if arch_attr not in ARCH_ATTRS:
        raise ExportError(f"arch_attr {arch_attr!r} is not one of {list(ARCH_ATTRS)}")
    try:
        study = load_study(storage_url, study_name)
    except StarSearchError as err:
        raise ExportError(str(err)) from err
    trial = _find_trial(study, trial_number)
    spec = _spec_of(trial, arch_attr)
    notes = []
    if trial.state != optuna.trial.TrialState.COMPLETE:
        notes.append(f"trial {trial.number} is {trial.state.name}, not COMPLETE; its figures are incomplete")
    constraints = trial.user_attrs.get("constraints") or []
    if any(value > 0 for value in constraints):
        notes.append(f"trial {trial.number} breaks at least one device budget")
    directory = Path(out_dir)
    files = write_native(spec, provenance_for(study, trial, arch_attr), directory)
    skipped = None
    try:
        files.append(write_hf_config(spec, directory))
    except ExportError as err:
        skipped = str(err)
        stale = directory / CONFIG_FILE
        if stale.exists():
            stale.unlink()
            notes.append(f"removed the {CONFIG_FILE} an earlier export left in {directory}")
    return ExportResult(directory, study.study_name, trial.number, spec.arch_id, spec.pattern(),
                        tuple(files), skipped, tuple(notes))
