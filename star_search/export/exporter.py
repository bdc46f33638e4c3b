"""Export an architecture: `arch.json` (+ `provenance.json`), and `config.json` when possible.

Sources: any spec (`export_spec`: the commands room reads a trial's record from its study and
passes the spec and its provenance; nothing is re-measured), or a published preset
(`export_preset`). Options: `family` writes
every size of `export.family` into `OUT/<size>/` plus `family.md`; `weights` also writes
seed-initialised weights (`model.safetensors` for transformers, else native, see
`export.weights`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from star_search.errors import ExportError, SpecError
from star_search.export.family import family_table, scale_family
from star_search.export.hf_config import CONFIG_FILE, write_hf_config
from star_search.export.native import write_native
from star_search.presets import preset
from star_search.progress import SILENT, Progress
from star_search.spec import ArchSpec

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


def write_spec(spec: ArchSpec, out_dir: str | Path, provenance: dict[str, Any] | None = None,
               weights: bool = False, seed: int = 0, progress: Progress = SILENT
               ) -> tuple[list[Path], str | None, list[str]]:
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

        with progress.task(f"weights of {spec.pattern()} at d_model {spec.d_model}", 2, "steps") as task:
            task.update(note="initialising")
            model = build_model(spec, seed)
            task.advance(note="writing")
            written, note = write_weights(model, directory)
            task.advance(note="written")
        files += [path for path in written if path not in files]
        notes += [f"weights are initialised with seed {seed}, not trained"] + ([note] if note else [])
    return files, skipped, notes


def _export_family(backbone: ArchSpec, out_dir: Path, source: str, provenance: dict[str, Any] | None,
                   weights: bool, seed: int, progress: Progress = SILENT) -> ExportResult:
    members = scale_family(backbone)
    results = []
    with progress.task("family export", len(members), "sizes") as task:
        for member in members:
            task.update(note=member.target.name)
            directory = out_dir / member.target.name
            files, skipped, notes = write_spec(member.spec, directory, provenance, weights, seed, progress)
            results.append(ExportResult(directory, f"{source}, size {member.target.name}",
                                        member.spec.arch_id, member.spec.pattern(), tuple(files), skipped,
                                        tuple(notes)))
            task.advance()
    table = family_table(members)
    table_path = out_dir / FAMILY_TABLE_FILE
    table_path.write_text(f"# Family of {backbone.pattern()} (arch_id {backbone.arch_id})\n\n"
                          f"Scaled by the rules in star_search/export/family.py from {source}.\n\n{table}\n")
    return ExportResult(out_dir, f"the family of {source}", backbone.arch_id, backbone.pattern(),
                        (table_path,), family=tuple(results), table=table)


def export_preset(name: str, out_dir: str | Path, family: bool = False, weights: bool = False,
                  seed: int = 0, progress: Progress = SILENT) -> ExportResult:
    """Export the published model `name` (see `star_search.presets`), or the family scaled from it."""
    try:
        spec = preset(name)
    except SpecError as err:
        raise ExportError(str(err)) from err
    return export_spec(spec, out_dir, f"preset {name}", family=family, weights=weights, seed=seed,
                       progress=progress)


def export_spec(spec: ArchSpec, out_dir: str | Path, source: str, provenance: dict[str, Any] | None = None,
                family: bool = False, weights: bool = False, seed: int = 0,
                notes: tuple[str, ...] = (), progress: Progress = SILENT) -> ExportResult:
    """Export `spec` (described as `source`, e.g. "trial 3 of study 'demo'") into `out_dir`, or with
    `family` the family scaled from it; `notes` are carried into the result."""
    directory = Path(out_dir)
    if family:
        return replace(_export_family(spec, directory, source, provenance, weights, seed, progress),
                       notes=notes)
    files, skipped, written_notes = write_spec(spec, directory, provenance, weights, seed, progress)
    return ExportResult(directory, source, spec.arch_id, spec.pattern(), tuple(files), skipped,
                        notes + tuple(written_notes))
