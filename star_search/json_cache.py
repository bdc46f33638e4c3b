"""JsonCache: expensive results as JSON files, keyed by everything that changes them.

One entry per key, in `<sha256(key)[:32]>.json` holding `{"key": ..., "value": ...}`; the key is
stored too, so a hash collision reads as a miss. Writes are atomic (temp file + rename): a crash
never leaves a half-written entry, and two workers writing one key both write the same content.
An unreadable entry is a miss (and is rewritten by the next `put`). Construct one per folder and
pass it around; `profiler.MeasurementCache` (measurements) and the search's proxy results are
both stored this way.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from star_search.files import atomic_write


class JsonCache:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file an entry of `key` lives in."""
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            entry = json.loads(self.path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        return entry.get("value")

    def put(self, key: str, value: dict[str, Any]) -> None:
        atomic_write(self.path(key), json.dumps({"key": key, "value": value}, sort_keys=True).encode())
