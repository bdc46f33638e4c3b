"""Find configs by name: `demo` → a search space, `laptop_cpu` → a device profile.

A name resolves to the first of: an existing `.yaml`/`.yml` path; `<cwd>/<folder>/<name>.yaml`
(a user's own `search_spaces/` or `device_profiles/`); the file shipped with star-search. The
shipped files are the repository's top-level `search_spaces/` and `device_profiles/`, installed as
the package data `star_search.search_spaces` and `star_search.device_profiles` (pyproject.toml)
and read through `importlib.resources`, so a wheel finds them without the source tree.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from star_search.errors import SpecError

# folder name (as in the repository and in a user's working directory) → the package shipping it
SHIPPED_PACKAGES = {
    "search_spaces": "star_search.search_spaces",
    "device_profiles": "star_search.device_profiles",
}


def shipped_folder(folder: str) -> Traversable:
    """The installed copy of `folder` (`search_spaces` or `device_profiles`)."""
    return files(SHIPPED_PACKAGES[folder])


def shipped_names(folder: str) -> list[str]:
    """The names of the configs shipped in `folder`, sorted: `['demo', 'lfm2_350m', ...]`."""
    return sorted(entry.name.removesuffix(".yaml") for entry in shipped_folder(folder).iterdir()
                  if entry.name.endswith(".yaml"))


def shipped_config(name: str, folder: str) -> Path | None:
    """The shipped `<folder>/<name>.yaml`, or None when star-search ships no such file."""
    entry = shipped_folder(folder) / f"{name}.yaml"
    if not entry.is_file():
        return None
    # pip unpacks wheels, so package data is a real file (a zipped install would need `as_file`).
    return Path(str(entry))


def resolve_config(name_or_path: str, folder: str, field: str) -> Path:
    """A path that exists, else `<cwd>/<folder>/<name>.yaml`, else the shipped file; a
    `SpecError` naming `field` and the shipped names otherwise."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    own = Path.cwd() / folder / f"{name_or_path}.yaml"
    if own.is_file():
        return own
    shipped = shipped_config(name_or_path, folder)
    if shipped is not None:
        return shipped
    raise SpecError(field, name_or_path, f"a YAML path or one of the shipped names {shipped_names(folder)}")
