"""MeasurementCache: no program is timed twice on the same device under the same protocol.

The key is everything that changes the figures: the program's sha256 (which covers its shapes and
quantization), the device id, and the protocol (threads, prompt length and decode steps, warm-up,
repeat bounds, CV target, ETDump) without its timeout. Entries are `JsonCache` files. Every command
that measures (search, `profile`, latency tables, benchmarks) goes through `profiler.meter.Meter`,
which keeps one under `<cache_dir>/measurements`; every agent keeps one too. A damaged entry is
measured again (`JsonCache` names it in a warning); a full disk is a `DiskFullError`.
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
        """The stored measurement, or None (a damaged entry is a miss, named in a warning, and
        the next `put` rewrites it)."""
        key = measurement_key(program_sha256, device_id, protocol)
        value = self.entries.get(key)
        if value is None:
            return None
        try:
            measurement = Measurement.from_dict(value)
            _check_figures(measurement, program_sha256)
        except (SpecError, TypeError, ValueError) as err:
            self.entries.warn_damaged(self.entries.path(key), f"not a measurement: {err}")
            return None
        return measurement

    def put(self, device_id: str, protocol: MeasurementProtocol, measurement: Measurement) -> None:
        """Store `measurement` under (its program, `device_id`, `protocol`)."""
        self.entries.put(measurement_key(measurement.program_sha256, device_id, protocol),
                         measurement.to_dict())


# Figures every reader uses; a damaged entry must not hand one over as text or null.
_FIGURES = ("ttft_ms", "decode_p50_ms", "decode_p95_ms", "peak_rss_bytes", "repeats")


def _check_figures(measurement: Measurement, program_sha256: str) -> None:
    if measurement.program_sha256 != program_sha256:
        raise ValueError(f"it measures program {measurement.program_sha256!r}, not {program_sha256!r}")
    for name in _FIGURES:
        value = getattr(measurement, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} is {value!r}, not a number")
