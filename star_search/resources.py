"""Find shipped configs by name: `demo` → search_spaces/demo.yaml, `laptop_cpu` → device_profiles/…"""

from __future__ import annotations

from pathlib import Path

from star_search.errors import SpecError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def resolve_config(name_or_path: str, folder: str, field: str) -> Path:
    """A path that exists, else `<cwd>/<folder>/<name>.yaml`, else the project's shipped file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    for root in (Path.cwd(), PROJECT_ROOT):
        path = root / folder / f"{name_or_path}.yaml"
        if path.is_file():
            return path
    shipped = sorted(p.stem for p in (PROJECT_ROOT / folder).glob("*.yaml"))
    raise SpecError(field, name_or_path, f"a YAML path or one of the shipped names {shipped}")
