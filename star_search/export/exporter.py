"""Export an architecture: `arch.json` (+ `provenance.json`), and `config.json` when possible.

Sources: one trial of a study (its record — user attr `arch`, or `target_arch` for the size the
device figures refer to — is all export needs; nothing is re-measured; with no trial number the
trial `scoring.selection.choose_trial` picks), or a published preset. Options: `family` writes
every size of `export.family` into `OUT/<size>/` plus `family.md`; `weights` also writes
seed-initialised weights (`model.safetensors` for transformers, else native, see
`export.weights`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from star_search.errors import ExportError, SpecError, StarSearchError
from star_search.export.family import family_table, scale_family
from star_search.export.hf_config import CONFIG_FILE, write_hf_config
from star_search.export.native import provenance_for, write_native
from star_search.presets import preset
from star_search.report.load import load_study
from star_search.scoring.selection import choose_trial
from star_search.spec import ArchSpec

ARCH_ATTRS = ("arch", "target_arch")


FAMILY_TABLE_FILE = "family.md"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote. `hf_config_skipped` explains a missing `config.json` (else None).

    `trial_number` and `study_name` are None for a preset; `family` holds the per-size results of
    a family export (then `files` lists the table only)."""

    out_dir: Path
    source: str
    arch_id: str
    pattern: str
    files: tuple[Path, ...]
    hf_config_skipped: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    study_name: str | None = None
    trial_number: int | None = None
    family: tuple[ExportResult, ...] = ()
    table: str = ""

    def summary(self) -> str:
        """Human-readable lines for the command line."""
        lines = [f"exported {self.source} ({self.pattern}, arch_id {self.arch_id}) to {self.out_dir}"]
        lines += [f"  wrote {self._shown(path)}" for path in self.files]
        if self.hf_config_skipped:
            lines.append(f"  skipped config.json: {self.hf_config_skipped}")
        lines += [f"  note: {note}" for note in self.notes]
        for member in self.family:
            lines.append(f"  {member.out_dir.name}: {member.pattern} → " +
                         ", ".join(self._shown(path) for path in member.files))
            if member.hf_config_skipped:
                lines.append(f"    skipped config.json: {member.hf_config_skipped}")
        if self.table:
            lines += ["", self.table]
        return "\n".join(lines)

    def _shown(self, path: Path) -> str:
        return str(path.relative_to(self.out_dir)) if path.is_relative_to(self.out_dir) else str(path)


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


def write_spec(spec: ArchSpec, out_dir: str | Path, provenance: dict[str, Any] | None = None,
               weights: bool = False, seed: int = 0) -> tuple[list[Path], str | None, list[str]]:
    """Write `arch.json` (+ `provenance.json`) and `config.json` for `spec`; with `weights`, also
    seed-initialised weights. Returns (files, why config.json was skipped or None, notes)."""
    directory = Path(out_dir)
    files = write_native(spec, provenance, directory)
    notes: list[str] = []
    skipped = None
    try:
        files.append(write_hf_config(spec, directory))
    except ExportError as err:
        skipped = str(err)
        stale = directory / CONFIG_FILE
        if stale.exists():
            stale.unlink()
            notes.append(f"removed the {CONFIG_FILE} an earlier export left in {directory}")
    if weights:
        from star_search.export.weights import write_weights
        from star_search.model import build_model

        written, note = write_weights(build_model(spec, seed), directory)
        files += [path for path in written if path not in files]
        notes += [f"weights are initialised with seed {seed}, not trained"] + ([note] if note else [])
    return files, skipped, notes


def _export_family(backbone: ArchSpec, out_dir: Path, source: str, provenance: dict[str, Any] | None,
                   weights: bool, seed: int) -> ExportResult:
    members = scale_family(backbone)
    results = []
    for member in members:
        directory = out_dir / member.target.name
        files, skipped, notes = write_spec(member.spec, directory, provenance, weights, seed)
        results.append(ExportResult(directory, f"{source}, size {member.target.name}", member.spec.arch_id,
                                    member.spec.pattern(), tuple(files), skipped, tuple(notes)))
    table = family_table(members)
    table_path = out_dir / FAMILY_TABLE_FILE
    table_path.write_text(f"# Family of {backbone.pattern()} (arch_id {backbone.arch_id})\n\n"
                          f"Scaled by the rules in star_search/export/family.py from {source}.\n\n{table}\n")
    return ExportResult(out_dir, f"the family of {source}", backbone.arch_id, backbone.pattern(),
                        (table_path,), family=tuple(results), table=table)


def export_preset(name: str, out_dir: str | Path, family: bool = False, weights: bool = False,
                  seed: int = 0) -> ExportResult:
    """Export the published model `name` (see `star_search.presets`), or the family scaled from it."""
    try:
        spec = preset(name)
    except SpecError as err:
        raise ExportError(str(err)) from err
    directory = Path(out_dir)
    if family:
        return _export_family(spec, directory, f"preset {name}", None, weights, seed)
    files, skipped, notes = write_spec(spec, directory, None, weights, seed)
    return ExportResult(directory, f"preset {name}", spec.arch_id, spec.pattern(), tuple(files), skipped,
                        tuple(notes))


def export_trial(storage_url: str, study_name: str | None, trial_number: int | None, out_dir: str | Path,
                 arch_attr: str = "arch", family: bool = False, weights: bool = False,
                 seed: int = 0) -> ExportResult:
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
    trial = _find_trial(study, trial_number)
    spec = _spec_of(trial, arch_attr)
    notes = []
    if trial.state != optuna.trial.TrialState.COMPLETE:
        notes.append(f"trial {trial.number} is {trial.state.name}, not COMPLETE; its figures are incomplete")
    constraints = trial.user_attrs.get("constraints") or []
    if any(value > 0 for value in constraints):
        notes.append(f"trial {trial.number} breaks at least one device budget")
    directory = Path(out_dir)
    source = f"trial {trial.number} of study '{study.study_name}'"
    provenance = provenance_for(study, trial, arch_attr)
    if family:
        result = _export_family(spec, directory, source, provenance, weights, seed)
        return replace(result, notes=tuple(notes), study_name=study.study_name, trial_number=trial.number)
    files, skipped, written_notes = write_spec(spec, directory, provenance, weights, seed)
    return ExportResult(directory, source, spec.arch_id, spec.pattern(), tuple(files), skipped,
                        tuple(notes + written_notes), study.study_name, trial.number)
