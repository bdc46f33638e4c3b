"""JsonCache: expensive results as JSON files, keyed by everything that changes them.

One entry per key, in `<sha256(key)[:32]>.json` holding `{"key": ..., "value": ...}`; the key is
stored too, so a hash collision reads as a miss. Writes are atomic (`atomic.atomic_write`): a
crash never leaves a half-written entry, and two workers writing one key both write the same
content. A damaged entry (truncated, not JSON, not an entry) is a miss named in a warning, and the
next `put` rewrites it; a full disk is a `DiskFullError` naming the entry. Construct one per
folder and pass it around; `profiler.MeasurementCache` (measurements) and the search's proxy
results are both stored this way.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from star_search.atomic import atomic_write

logger = logging.getLogger(__name__)


class JsonCache:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file an entry of `key` lives in."""
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        try:
            entry = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            self.warn_damaged(path, f"not JSON: {err}")
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), dict):
            self.warn_damaged(path, "not a cache entry")
            return None
        if entry.get("key") != key:
            return None
        return entry["value"]

    def put(self, key: str, value: dict[str, Any]) -> None:
        atomic_write(self.path(key), json.dumps({"key": key, "value": value}, sort_keys=True).encode())

    @staticmethod
    def warn_damaged(path: Path, reason: str) -> None:
        """Name a damaged entry (it is treated as missing and rebuilt)."""
        logger.warning("damaged cache entry %s (%s): ignored, it is rebuilt", path, reason)
