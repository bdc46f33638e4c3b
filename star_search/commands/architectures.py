"""The architecture a command names: a preset (`star-search presets`) or a path to an arch.json."""

from __future__ import annotations

from pathlib import Path

from star_search.errors import SpecError
from star_search.presets import PRESETS, preset
from star_search.spec import ArchSpec


def resolve_arch(preset_or_path: str, field: str = "arch") -> ArchSpec:
    """A preset by name or an `arch.json` path, at its own size; errors name `field`."""
    path = Path(preset_or_path)
    if path.suffix == ".json":
        try:
            return ArchSpec.from_json(path.read_text())
        except OSError as err:
            raise SpecError(field, preset_or_path, f"a readable arch.json ({err.strerror})") from err
    if preset_or_path in PRESETS:
        return preset(preset_or_path)
    raise SpecError(field, preset_or_path, f"a path to an arch.json or one of {sorted(PRESETS)}")
