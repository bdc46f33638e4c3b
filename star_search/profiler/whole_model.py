"""Lower and measure one whole program, both cached: what `star-search profile`, the latency
table, its calibration and its validation all do.

Programs come from the shared `ProgramCache` and measurements from a `MeasurementCache`, so a
program is never lowered or timed twice on one device. Imports torch and ExecuTorch (through the
lowering), so it is not exported from `star_search.profiler`, which the runner child imports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from star_search.device_profile import DeviceProfile
from star_search.lower import CachedProgram, ProgramCache, ProgramShapes
from star_search.profiler.backend import Backend
from star_search.profiler.measurement import Measurement
from star_search.profiler.measurement_cache import MeasurementCache
from star_search.profiler.protocol import MeasurementProtocol
from star_search.spec import ArchSpec


@dataclass(frozen=True)
class WholeFigures:
    """A measured program: its figures plus where they came from and what they cost.
    measurement_cached: served from the measurement cache; seconds: wall time of the call."""

    measurement: Measurement
    program: CachedProgram
    arch_id: str
    measurement_cached: bool
    seconds: float

    def figures(self) -> dict[str, Any]:
        m = self.measurement
        return {"ttft_ms": m.ttft_ms, "decode_p50_ms": m.decode_p50_ms, "decode_p95_ms": m.decode_p95_ms,
                "peak_rss_bytes": m.peak_rss_bytes, "ttft_cv": m.ttft_cv,
                "decode_repeat_cv": m.decode_repeat_cv, "repeats": m.repeats,
                "program_sha256": m.program_sha256, "arch_id": self.arch_id,
                "lowering_s": round(self.program.lowering_s, 2)}


class WholeModelMeter:
    """Lowers `spec` at the profile's shapes (cached) and measures it under `protocol` (cached)."""

    def __init__(self, profile: DeviceProfile, programs: ProgramCache, backend: Backend,
                 measurements_dir: Path):
        self.profile = profile
        self.programs = programs
        self.backend = backend
        self.measurements = MeasurementCache(measurements_dir)
        self.shapes = ProgramShapes.from_profile(profile)

    def measure(self, spec: ArchSpec, protocol: MeasurementProtocol, fresh: bool = False) -> WholeFigures:
        """The (cached) figures of `spec`; `fresh`: measure again, neither reading nor storing the
        cache (how far two measurements of one program disagree is the noise floor)."""
        start = time.perf_counter()
        program = self.programs.get_or_lower(spec, self.shapes, self.profile.shapes.quantize)
        device = self.backend.device_id
        measurement = None if fresh else self.measurements.get(program.sha256, device, protocol)
        cached = measurement is not None
        if measurement is None:
            measurement = self.backend.measure(program.path, protocol)
            measurement = replace(measurement, delegated_fraction=program.delegated_fraction)
            if not fresh:
                self.measurements.put(device, protocol, measurement)
        return WholeFigures(measurement, program, spec.arch_id, cached, time.perf_counter() - start)
