"""On-disk cache of measurements, so that no program is timed twice on the same device.

The key is everything that changes the figures: the program's sha256, the device id, and the
protocol (threads, shapes — prompt length and decode steps —, warm-up, repeat bounds, CV target,
ETDump) without its timeout. The search's client side and every agent keep one each.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from star_search.files import atomic_write
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol


def measurement_key(program_sha256: str, device_id: str, protocol: MeasurementProtocol) -> str:
    """The cache key of a measurement (plain text; hashed for file names)."""
    return f"measure|{program_sha256}|{device_id}|{protocol.key()}"


class MeasurementCache:
    """Measurements as JSON files under `directory` (created if missing), written atomically."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def get(self, program_sha256: str, device_id: str,
            protocol: MeasurementProtocol) -> Measurement | None:
        key = measurement_key(program_sha256, device_id, protocol)
        try:
            entry = json.loads(self._path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if entry.get("key") != key:
            return None
        return Measurement.from_dict(entry["measurement"])

    def put(self, device_id: str, protocol: MeasurementProtocol, measurement: Measurement) -> None:
        """Store `measurement` under (its program, `device_id`, `protocol`)."""
        key = measurement_key(measurement.program_sha256, device_id, protocol)
        atomic_write(self._path(key), json.dumps({"key": key, "measurement": measurement.to_dict()},
                                                 sort_keys=True).encode())
