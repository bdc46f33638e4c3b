"""MeasurementCache: no program is timed twice on the same device under the same protocol.

The key is everything that changes the figures: the program's sha256 (which covers its shapes and
quantization), the device id, and the protocol (threads, prompt length and decode steps, warm-up,
repeat bounds, CV target, ETDump) without its timeout. Entries are `JsonCache` files. Every command
that measures (search, `profile`, latency tables, benchmarks) goes through `profiler.meter.Meter`,
which keeps one under `<cache_dir>/measurements`; every agent keeps one too.
"""

from __future__ import annotations

from pathlib import Path

from star_search.errors import SpecError
from star_search.json_cache import JsonCache
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol


def measurement_key(program_sha256: str, device_id: str, protocol: MeasurementProtocol) -> str:
    """The cache key of a measurement (plain text; hashed for file names)."""
    return f"measure|{program_sha256}|{device_id}|{protocol.key()}"


class MeasurementCache:
    """Measurements under `directory` (created if missing)."""

    def __init__(self, directory: str | Path):
        self.entries = JsonCache(directory)

    @property
    def directory(self) -> Path:
        return self.entries.directory

    def get(self, program_sha256: str, device_id: str,
            protocol: MeasurementProtocol) -> Measurement | None:
        """The stored measurement, or None (an entry that no longer parses is a miss)."""
        value = self.entries.get(measurement_key(program_sha256, device_id, protocol))
        if value is None:
            return None
        try:
            return Measurement.from_dict(value)
        except SpecError:
            return None

    def put(self, device_id: str, protocol: MeasurementProtocol, measurement: Measurement) -> None:
        """Store `measurement` under (its program, `device_id`, `protocol`)."""
        self.entries.put(measurement_key(measurement.program_sha256, device_id, protocol),
                         measurement.to_dict())
