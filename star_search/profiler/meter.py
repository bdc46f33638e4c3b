"""Meter: the one path from an architecture to a measured number.

`Meter.measure(spec)` lowers the spec for the profile's program shapes and quantization (cached
by `ProgramCache`) and times the program with the profile's backend under a protocol (cached by
`MeasurementCache`, keyed by program sha256, device id and protocol). The search's measure stage,
`star-search profile`, the latency table (build, calibration, validation) and the benchmarks all
measure through it, so one program is never lowered or timed twice, whichever command asked first.

Caches live under one folder: `<cache_dir>/programs` and `<cache_dir>/measurements`. Imports
torch and ExecuTorch (through the lowering), so it is not exported from `star_search.profiler`,
which the runner child imports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from star_search.host_lock import HostLock, working
from star_search.lower import CachedProgram, ProgramCache
from star_search.profiler.backend import Backend
from star_search.profiler.backends import backend_for_profile
from star_search.profiler.device_profile import DeviceProfile
from star_search.profiler.measurement import Measurement
from star_search.profiler.measurement_cache import MeasurementCache
from star_search.profiler.protocol import MeasurementProtocol
from star_search.shapes import ProgramShapes
from star_search.spec import ArchSpec


@dataclass(frozen=True)
class Reading:
    """A measured program: its figures plus where they came from and what they cost.
    measurement_cached: served from the measurement cache; seconds: wall time of the call."""

    measurement: Measurement
    program: CachedProgram
    arch_id: str
    measurement_cached: bool
    seconds: float

    def figures(self) -> dict[str, Any]:
        """The figures a latency table stores."""
        m = self.measurement
        return {"ttft_ms": m.ttft_ms, "decode_p50_ms": m.decode_p50_ms, "decode_p95_ms": m.decode_p95_ms,
                "peak_rss_bytes": m.peak_rss_bytes, "ttft_cv": m.ttft_cv,
                "decode_repeat_cv": m.decode_repeat_cv, "repeats": m.repeats,
                "program_sha256": m.program_sha256, "arch_id": self.arch_id,
                "lowering_s": round(self.program.lowering_s, 2)}

    def record(self) -> dict[str, Any]:
        """The whole measurement plus the program's facts (what a trial stores)."""
        program = self.program
        return {**self.measurement.to_dict(), "lowering_s": program.lowering_s,
                "program_size_bytes": program.size_bytes,
                "delegation": {name: part.to_dict() for name, part in program.coverage.items()}}


class Meter:
    """Lowers at `shapes` / `quantize` (cached) and measures with `backend` (cached);
    `protocol` is the default protocol of `measure`."""

    def __init__(self, programs: ProgramCache, measurements: MeasurementCache, backend: Backend,
                 shapes: ProgramShapes, quantize: str | None, protocol: MeasurementProtocol,
                 host_lock: HostLock | None = None, times_here: bool = False):
        """host_lock: shared with the other processes of the run (`host_lock.py`): lowering holds
        it shared and, when `times_here` (the backend times on this machine), timing alone."""
        self.programs = programs
        self.host_lock = host_lock
        self.times_here = times_here
        self.measurements = measurements
        self.backend = backend
        self.shapes = shapes
        self.quantize = quantize
        self.protocol = protocol

    @classmethod
    def for_profile(cls, profile: DeviceProfile, cache_dir: Path, backend: Backend | None = None,
                    programs: ProgramCache | None = None) -> Meter:
        """The meter of `profile`: its program shapes, quantization, protocol and backend, with
        caches under `cache_dir` (`programs`: an already open program cache to share)."""
        cache_dir = Path(cache_dir)
        return cls(programs or ProgramCache(cache_dir / "programs"),
                   MeasurementCache(cache_dir / "measurements"), backend or backend_for_profile(profile),
                   profile.shapes.program, profile.shapes.quantize, profile.protocol,
                   host_lock=HostLock(cache_dir), times_here=profile.backend == "local")

    @property
    def device_id(self) -> str:
        return self.backend.device_id

    def program(self, spec: ArchSpec) -> CachedProgram:
        """The lowered program of `spec` (from the cache, or lowered now)."""
        with working(self.host_lock):
            return self.programs.get_or_lower(spec, self.shapes, self.quantize)

    def cached(self, program: CachedProgram,
               protocol: MeasurementProtocol | None = None) -> Measurement | None:
        """The stored measurement of `program`, if any (nothing is timed)."""
        return self.measurements.get(program.sha256, self.device_id, protocol or self.protocol)

    def measure(self, spec: ArchSpec, protocol: MeasurementProtocol | None = None, fresh: bool = False,
                before_timing: Callable[[], None] | None = None) -> Reading:
        """The (cached) figures of `spec` under `protocol` (default: the meter's).

        fresh: measure again, neither reading nor storing the cache (how far two measurements of
        one program disagree is the noise floor). before_timing: called (no arguments) after
        lowering and before timing, e.g. to wait for work that must not run beside a measurement.
        """
        start = time.perf_counter()
        protocol = protocol or self.protocol
        program = self.program(spec)
        measurement = None if fresh else self.cached(program, protocol)
        cached = measurement is not None
        if measurement is None:
            if before_timing is not None:
                before_timing()
            alone = self.host_lock.timing() if self.host_lock and self.times_here else nullcontext()
            with alone:
                measurement = self.backend.measure(program.path, protocol)
            measurement = replace(measurement, delegated_fraction=program.delegated_fraction)
            if not fresh:
                self.measurements.put(self.device_id, protocol, measurement)
        return Reading(measurement, program, spec.arch_id, cached, time.perf_counter() - start)
