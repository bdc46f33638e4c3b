"""A small on-disk JSON cache for expensive results (proxy scores, measurements).

Entries are keyed by a string that includes everything that changes the answer (arch_id,
profile, shapes, seed, ...). Writes are atomic (temp file + rename) so a crash never leaves a
half-written entry, and two workers writing the same key both write the same content.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from star_search.files import atomic_write


class ResultCache:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            entry = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return entry["value"] if entry.get("key") == key else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        atomic_write(self._path(key), json.dumps({"key": key, "value": value}).encode())
