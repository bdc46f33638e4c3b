"""The native export: `arch.json` (the ArchSpec itself) and `provenance.json` (where it came from).

`arch.json` round-trips through `ArchSpec.from_json`; `provenance.json` records the study, the
trial and its objective values (the commands room gathers them from the study) so an exported spec
can always be traced back to its search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from star_search.spec import ArchSpec

ARCH_FILE = "arch.json"
PROVENANCE_FILE = "provenance.json"


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
