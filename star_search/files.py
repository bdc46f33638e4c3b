"""Small file helpers shared by the caches and the config loaders."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from star_search.errors import SpecError


def atomic_write(target: Path, data: bytes) -> None:
    """Write `data` to `target` so readers see the old file or the whole new one, never a part."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_yaml(path: Path, field: str, error: type[SpecError] = SpecError) -> Any:
    """The YAML document at `path`; a missing or malformed file is an `error` naming `field`."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError as err:
        raise error(field, str(path), "an existing YAML file") from err
    except yaml.YAMLError as err:
        raise error(field, str(path), f"valid YAML ({err})") from err
