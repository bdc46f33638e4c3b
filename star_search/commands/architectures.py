"""The architecture a command names: a preset (`star-search presets`) or a path to an arch.json."""

from __future__ import annotations

from pathlib import Path

from star_search.errors import SpecError, did_you_mean
from star_search.presets import PRESETS, preset
from star_search.spec import ArchSpec


def resolve_arch(preset_or_path: str, field: str = "arch") -> ArchSpec:
    """A preset by name or an `arch.json` path, at its own size; errors name `field` (the file's
    own fields are named after it: `arch.json: field 'd_model' ...`)."""
    path = Path(preset_or_path)
    if path.suffix == ".json":
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise SpecError(field, preset_or_path, f"a readable arch.json ({err.strerror or err})") from err
        except UnicodeDecodeError as err:
            raise SpecError(field, preset_or_path, f"a UTF-8 JSON file ({err})") from err
        try:
            return ArchSpec.from_json(text)
        except SpecError as err:
            raise SpecError(err.field, err.value, err.expected, source=preset_or_path) from None
    if preset_or_path in PRESETS:
        return preset(preset_or_path)
    raise SpecError(field, preset_or_path, f"a path to an arch.json or one of {sorted(PRESETS)}"
                    f"{did_you_mean(preset_or_path, PRESETS)}")
