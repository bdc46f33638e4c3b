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
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from star_search.host_lock import HostLock, working
from star_search.lower import CachedProgram, ProgramCache
from star_search.profiler.backend import Backend
from star_search.profiler.backends import backend_for_profile
from star_search.profiler.device_profile import DeviceProfile
from star_search.profiler.measurement import Measurement, pooled
from star_search.profiler.measurement_cache import MeasurementCache
from star_search.profiler.protocol import MeasurementProtocol
from star_search.progress import NULL_TASK, ProgressTask
from star_search.shapes import ProgramShapes
from star_search.spec import ArchSpec


@dataclass(frozen=True)
class Reading:
    """A measured program: its figures plus where they came from and what they cost.
    measurement_cached: served from the measurement cache; seconds: wall time spent on this
    program (lowering and timing)."""

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

    def program_key(self, spec: ArchSpec) -> str:
        """The program cache's key of `spec` at the meter's shapes and quantization: what its
        program is made from (arch, shapes, quantization, toolchain, recipe), known without
        lowering it. Lowering is deterministic, so the key names the program as its sha256 does."""
        return self.programs.key(spec, self.shapes, self.quantize)

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
        return self.measure_together([spec], protocol, fresh, before_timing)[0]

    def measure_together(self, specs: Sequence[ArchSpec], protocol: MeasurementProtocol | None = None,
                         fresh: bool = False, before_timing: Callable[[], None] | None = None,
                         task: ProgressTask | None = None) -> list[Reading]:
        """`measure` for several specs whose figures will be compared or combined: all are lowered
        first, then those not cached are timed round by round, each round visiting every program
        in turn (`protocol.rounds`, see `protocol.py`), so a change of the machine's speed
        meanwhile is shared out among them. Specs with the same program are timed once. Readings
        come back in the order of `specs`. `task` shows progress: a note while lowering, then one
        step per timed run (its total set to rounds × programs to time)."""
        protocol = protocol or self.protocol
        task = task or NULL_TASK
        seconds: dict[str, float] = {}  # each program's own share of the wall time
        programs = []
        for i, spec in enumerate(specs):
            task.update(note=f"lowering {i + 1}/{len(specs)}: {spec.pattern()} at d_model {spec.d_model}")
            start = time.perf_counter()
            programs.append(self.program(spec))
            seconds[programs[-1].sha256] = seconds.get(programs[-1].sha256, 0.0) + time.perf_counter() - start
        distinct = {program.sha256: program for program in programs}
        found = {sha: None if fresh else self.cached(program, protocol) for sha, program in distinct.items()}
        todo = [sha for sha, measurement in found.items() if measurement is None]
        if todo and before_timing is not None:
            before_timing()
        rounds: dict[str, list[Measurement]] = {sha: [] for sha in todo}
        task.update(completed=0, total=protocol.rounds * len(todo))
        for number in range(protocol.rounds if todo else 0):
            for position, sha in enumerate(todo):
                task.update(note=f"round {number + 1}/{protocol.rounds}, program {position + 1}/{len(todo)}")
                start = time.perf_counter()
                rounds[sha].append(self._time(distinct[sha], protocol.one_round()))
                seconds[sha] += time.perf_counter() - start
                task.advance()
        measured = dict(found)
        for sha in todo:
            measured[sha] = replace(pooled(rounds[sha]), delegated_fraction=distinct[sha].delegated_fraction)
            if not fresh:
                self.measurements.put(self.device_id, protocol, measured[sha])
        return [Reading(measured[program.sha256], program, spec.arch_id, found[program.sha256] is not None,
                        seconds[program.sha256]) for spec, program in zip(specs, programs, strict=True)]

    def _time(self, program: CachedProgram, protocol: MeasurementProtocol) -> Measurement:
        """One round of `program` on the backend (alone on this machine when it times here)."""
        alone = self.host_lock.timing() if self.host_lock and self.times_here else nullcontext()
        with alone:
            return self.backend.measure(program.path, protocol)
