"""Meter.measure_together: programs whose figures are combined are timed round by round, in turn."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from star_search.lower import ProgramCache
from star_search.profiler.local import LocalBackend
from star_search.profiler.measurement import Measurement
from star_search.profiler.measurement_cache import MeasurementCache
from star_search.profiler.meter import Meter
from star_search.profiler.protocol import MeasurementProtocol
from star_search.shapes import ProgramShapes
from star_search.spec import ArchSpec, LayerSpec
from tests.conftest import DECODE_STEPS, PROMPT_LEN


class RecordingBackend(LocalBackend):
    """The real local backend, noting which program each run timed and under what protocol."""

    def __init__(self) -> None:
        super().__init__(device_id="test-cpu")
        self.runs: list[tuple[str, MeasurementProtocol]] = []

    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol) -> Measurement:
        self.runs.append((Path(pte_path).name, protocol))
        return super().measure(pte_path, protocol)


class CountingTask:
    """A progress task that keeps what it was told."""

    def __init__(self) -> None:
        self.completed, self.total, self.steps = 0, None, 0

    def advance(self, steps: int = 1, note: str | None = None) -> None:
        self.completed += steps
        self.steps += steps

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        self.completed = self.completed if completed is None else completed
        self.total = self.total if total is None else total


def test_programs_take_their_rounds_in_turn_and_pool_them(
        tmp_path: Path, tiny_spec: ArchSpec, tiny_program_cache: ProgramCache,
        quick_protocol: MeasurementProtocol) -> None:
    backend = RecordingBackend()
    protocol = replace(quick_protocol, repeats=2, max_repeats=2, rounds=2)
    meter = Meter(tiny_program_cache, MeasurementCache(tmp_path), backend,
                  ProgramShapes(PROMPT_LEN, PROMPT_LEN + DECODE_STEPS), None, protocol)
    other = replace(tiny_spec, layers=(LayerSpec("attention"), LayerSpec("conv")))
    specs = [tiny_spec, other, tiny_spec]  # the repeated spec is timed once
    task = CountingTask()
    readings = meter.measure_together(specs, protocol, task=task)
    assert (task.completed, task.total, task.steps) == (4, 4, 4)  # one step per timed run
    names = [reading.program.path.name for reading in readings]
    assert names[0] == names[2] != names[1]
    # Round 1 visits both programs, then round 2 does; each run is one round of the protocol.
    assert [name for name, _ in backend.runs] == [names[0], names[1], names[0], names[1]]
    assert all(run_protocol.rounds == 1 and run_protocol.repeats == 2 for _, run_protocol in backend.runs)
    for reading in readings:
        m = reading.measurement
        assert m.repeats == 4 and len(m.ttft_samples_ms) == 4 and m.stop_reason == "rounds"
        assert len(m.decode_samples_ms) == 4 * DECODE_STEPS and not reading.measurement_cached
    assert readings[0].measurement == readings[2].measurement
    # The pooled figures are what the cache holds under the protocol with its rounds.
    again = meter.measure_together(specs[:2], protocol)
    assert len(backend.runs) == 4 and all(reading.measurement_cached for reading in again)
    assert [r.measurement for r in again] == [r.measurement for r in readings[:2]]
    assert meter.measure(other, protocol.one_round()).measurement.repeats == 2  # a different key
