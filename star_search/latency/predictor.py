"""LatencyPredictor: target-size latency and peak memory of a candidate from the device's table.

`predict(spec)` adds the table's per-block costs over the candidate's layers (`composition.py`)
and applies the device's correction fitted on whole-model measurements (`calibration.py`): the
ratio measured / raw of the calibration models at the candidate's `d_model` where there are at
least `MIN_WIDTH_POINTS` of them, otherwise the line fitted on all of them. Per width, because the
composition's error depends on it: at shipping size the raw sums under-predicted decode by 3–20%
at d_model 1024 and by 22–35% at 1536, and one line through both widths left the 1536 models'
decode 16–23% short (BENCHMARKS.md, "calibration per width"). Every figure is labelled
`source: predicted` with the table version and its calibration basis. A width the table has not
seen yet is timed on first use (its stack programs are lowered and measured, then stored), so
predictions never come from anything but measurements on this device.

`load_or_build(profile, table_dir, meter, space)` is what the search calls: it opens the table
for the profile's current settings, times every width and operator family the space can produce
(through the profile's `Meter`, so table programs share the search's program and measurement
caches), and fits (or reuses) the calibration on `profile.latency.calibration_archs` models drawn
from the space.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from star_search import sizing
from star_search.latency.blocks import (
    DRIFT_REFERENCE,
    WidthKey,
    component_names,
    component_spec,
    drift_scaled,
)
from star_search.latency.calibration import LinearCorrection, fit_correction
from star_search.latency.composition import METRICS, block_costs, compose
from star_search.latency.sampling import draw_archs, spread
from star_search.latency.table import LatencyTable
from star_search.lower.cache import LOWERING_RECIPE_VERSION, toolchain_versions
from star_search.profiler import hardware
from star_search.profiler.device_profile import DeviceProfile
from star_search.profiler.meter import Meter
from star_search.profiler.protocol import MeasurementProtocol
from star_search.progress import SILENT, Progress, ProgressTask
from star_search.space.schema import SearchSpace
from star_search.spec import ArchSpec

# Random draws used to find every width and operator family a space can produce.
SPACE_SURVEY_DRAWS = 256
# Calibration models are chosen from this many times as many random draws (`sampling.spread`).
CALIBRATION_POOL_FACTOR = 8
# Calibration models of one d_model needed to fit that width its own ratio.
MIN_WIDTH_POINTS = 2


def _in_rounds(protocol: MeasurementProtocol, repeats: int, rounds: int) -> MeasurementProtocol:
    """`protocol` with at least `repeats` sequences per round and `rounds` rounds. With several
    rounds, each round times exactly that many sequences: the rounds, taken in turn with the other
    programs, average out the machine's changes of speed, which a longer run of one program
    (repeating until its own CV is low) cannot."""
    repeats = max(protocol.repeats, repeats)
    rounds = max(protocol.rounds, rounds)
    max_repeats = repeats if rounds > 1 else max(protocol.max_repeats, repeats)
    return replace(protocol, repeats=repeats, max_repeats=max_repeats, rounds=rounds)


def table_protocol(profile: DeviceProfile) -> MeasurementProtocol:
    """How table programs are timed: at least `latency.min_repeats` sequences per round, at least
    `latency.rounds` rounds."""
    return _in_rounds(profile.protocol, profile.latency.min_repeats, profile.latency.rounds)


def calibration_protocol(profile: DeviceProfile) -> MeasurementProtocol:
    """How calibration and validation models are timed: the profile's protocol in at least
    `latency.rounds` rounds, measured together like the table's programs."""
    return _in_rounds(profile.protocol, profile.protocol.repeats, profile.latency.rounds)


def table_settings(profile: DeviceProfile, device_id: str) -> dict[str, Any]:
    """Everything a table's figures depend on (its version hashes this)."""
    return {"device_id": device_id, "protocol": json.loads(table_protocol(profile).key()),
            "shapes": profile.shapes.program.to_dict(),
            "quantize": profile.shapes.quantize, "stack_layers": profile.latency.stack_layers,
            **toolchain_versions(), "lowering_recipe": LOWERING_RECIPE_VERSION}


def space_calibration_key(space: SearchSpace, n: int, seed: int) -> str:
    digest = hashlib.sha256(json.dumps(space.describe(), sort_keys=True, default=str).encode())
    return f"{space.name}-{digest.hexdigest()[:8]}-n{n}-seed{seed}-spread"


def _fit(archs: Sequence[dict[str, Any]], through_origin: bool = False) -> dict[str, LinearCorrection]:
    """Each metric's correction from calibration points ({"raw": {...}, "measured": {...}})."""
    return {metric: fit_correction([a["raw"][metric] for a in archs], [a["measured"][metric] for a in archs],
                                   through_origin)
            for metric in METRICS}


class LatencyPredictor:
    def __init__(self, profile: DeviceProfile, table: LatencyTable, meter: Meter,
                 calibration: str | None = None, echo: Callable[[str], None] = print,
                 progress: Progress = SILENT):
        self.progress = progress
        self.profile = profile
        self.table = table
        self.meter = meter
        self.calibration = calibration
        self.echo = echo
        self.protocol = table_protocol(profile)
        self.calibration_protocol = calibration_protocol(profile)
        # Per (calibration key, d_model of a width fitted on its own, or None for all widths).
        self._fits: dict[tuple[str, int | None], dict[str, LinearCorrection]] = {}
        self._points: dict[str, list[dict[str, Any]]] = {}  # per calibration key

    @classmethod
    def open(cls, profile: DeviceProfile, table_dir: Path, meter: Meter,
             echo: Callable[[str], None] = print, progress: Progress = SILENT) -> LatencyPredictor:
        """The predictor over the profile's table in `table_dir` (nothing is timed yet)."""
        table = LatencyTable.open(Path(table_dir), profile.name, table_settings(profile, meter.device_id))
        predictor = cls(profile, table, meter, echo=echo, progress=progress)
        changed = hardware.differences(table.hardware, meter.backend.hardware())
        if changed:
            echo(f"warning: latency table {table.path} was timed on another processor "
                 f"({'; '.join(changed)}); "
                 "its block costs need not hold on this one (a faster vector unit speeds up the GEMMs "
                 "more than the rest): delete the table to time it again here")
        return predictor

    @classmethod
    def load_or_build(cls, profile: DeviceProfile, table_dir: Path, meter: Meter,
                      space: SearchSpace | None = None,
                      echo: Callable[[str], None] = print, progress: Progress = SILENT) -> LatencyPredictor:
        """Open the table; with a `space`, time what it needs and calibrate on models drawn from it."""
        predictor = cls.open(profile, table_dir, meter, echo, progress)
        if space is not None:
            predictor.build_for_space(space)
        elif predictor.table.calibrations:
            predictor.calibration = sorted(predictor.table.calibrations)[-1]
        return predictor

    # -- the table ----------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return self.table.version

    def ensure(self, specs: Iterable[ArchSpec]) -> int:
        """Time every stack program these specs need that the table lacks; returns how many.
        A component missing at a width that has rows already (a late one) is timed beside the
        width's `DRIFT_REFERENCE` again and stored drift-scaled (`blocks.drift_scaled`)."""
        needed: dict[WidthKey, set[str]] = {}
        for spec in specs:
            needed.setdefault(WidthKey.of(spec), set()).update(component_names(spec))
        if all(name in self.table.components(width) for width, names in needed.items() for name in names):
            return 0
        with self.table.locked(), self.progress.task("latency table", None, "timed runs") as task:
            missing = [(width, name) for width, names in needed.items()
                       for name in sorted(names - set(self.table.components(width)))]
            if not self.table.widths and not self.table.hardware:
                self.table.hardware = self.meter.backend.hardware()  # a new table: where it is timed
            late = [(width, name) for width, name in missing
                    if DRIFT_REFERENCE in self.table.components(width)]
            first = [entry for entry in missing if entry not in late]
            for group, fresh in ((first, False), (late, True)):
                if group:
                    self._time_components(group, fresh, task)
            self.table.save()
        return len(missing)

    def _time_components(self, missing: list[tuple[WidthKey, str]], late: bool, task: ProgressTask) -> None:
        """Time `missing` together and put them in the table; `late` ones beside their width's
        reference, timed again (fresh, like them), and scaled by its drift."""
        layers = self.profile.latency.stack_layers
        references = sorted({width for width, _ in missing}, key=WidthKey.text) if late else []
        entries = missing + [(width, DRIFT_REFERENCE) for width in references]
        specs = [component_spec(width, name, layers) for width, name in entries]
        kind = "late programs beside their reference, " if late else "programs, "
        task.update(note=f"lowering {len(specs)} {kind}then measuring them together in "
                         f"{self.protocol.rounds} rounds")
        readings = self.meter.measure_together(specs, self.protocol, fresh=late, task=task)
        own = len(missing)
        retimed = {width: reading.figures()
                   for (width, _), reading in zip(entries[own:], readings[own:], strict=True)}
        for (width, name), spec, whole in zip(missing, specs[:own], readings[:own], strict=True):
            figures = whole.figures()
            if late:
                figures = drift_scaled(figures, self.table.components(width)[DRIFT_REFERENCE], retimed[width])
                figures["drift"]["hardware"] = self.meter.backend.hardware()  # where it was timed
            self.table.put_component(width, name, figures)
            m = whole.measurement
            ratios = figures.get("drift", {}).get("ratios", {})
            drift = (f"; scaled by the drift of {DRIFT_REFERENCE}: TTFT x{ratios['ttft_ms']:.3f}, "
                     f"decode p50 x{ratios['decode_p50_ms']:.3f}" if late else "")
            self.echo(f"latency table: {name} at d_model={width.d_model} ({spec.n_layers} layers): "
                      f"decode p50 {m.decode_p50_ms:.3f} ms, TTFT {m.ttft_ms:.2f} ms "
                      f"({m.repeats} sequences, {whole.seconds:.0f} s{drift})")

    def costs(self, spec: ArchSpec) -> dict[str, dict[str, float]]:
        """Per-block costs at the spec's width, per metric (timing missing rows first)."""
        self.ensure([spec])
        width = WidthKey.of(spec)
        figures = self.table.components(width)
        return {metric: block_costs(width, figures, self.profile.latency.stack_layers, metric)
                for metric in METRICS}

    def raw(self, spec: ArchSpec) -> dict[str, float]:
        """The uncalibrated sums of block costs, per metric."""
        costs = self.costs(spec)
        return {metric: compose(spec, costs[metric], metric) for metric in METRICS}

    # -- calibration --------------------------------------------------------------------------

    def corrections(self, d_model: int | None = None) -> dict[str, LinearCorrection]:
        """The correction per metric, refitted from the stored calibration points: their measured
        figures against their raw sums as the composition makes them now (from each point's stored
        spec; a point stored without one keeps the raw sum it was calibrated with). With a
        `d_model` that has its own calibration points (`calibration_width`), their ratio;
        otherwise the line through all of them."""
        key = self.calibration or ""
        width = self.calibration_width(d_model)
        if (key, width) not in self._fits:
            points = self._calibration_points(key)
            if width is None:
                self._fits[key, width] = _fit(points)
            else:
                own = [point for point in points if point["d_model"] == width]
                self._fits[key, width] = _fit(own, through_origin=True)
        return self._fits[key, width]

    def calibration_width(self, d_model: int | None) -> int | None:
        """`d_model` when the calibration holds at least `MIN_WIDTH_POINTS` models of it, else None."""
        if d_model is None:
            return None
        points = self._calibration_points(self.calibration or "")
        return d_model if sum(p["d_model"] == d_model for p in points) >= MIN_WIDTH_POINTS else None

    def _calibration_points(self, key: str) -> list[dict[str, Any]]:
        if key not in self._points:
            self._points[key] = [
                {**arch, "raw": self.raw(ArchSpec.from_dict(arch["spec"]))} if "spec" in arch else arch
                for arch in self.table.calibrations.get(key, {}).get("archs", [])]
        return self._points[key]

    def _forget_fits(self) -> None:
        self._fits.clear()
        self._points.clear()

    def calibrate(self, key: str, specs: Sequence[ArchSpec]) -> dict[str, LinearCorrection]:
        """Measure `specs` whole, fit the correction of each metric, store it under `key`."""
        self.ensure(specs)
        archs = []
        with self.progress.task("latency calibration", None, "timed runs") as task:
            task.update(note=f"lowering {len(specs)} models, then measuring them together")
            readings = self.meter.measure_together(specs, self.calibration_protocol, task=task)
            for spec, whole in zip(specs, readings, strict=True):
                measured = whole.figures()
                archs.append({"arch_id": spec.arch_id, "pattern": spec.pattern(), "d_model": spec.d_model,
                              "spec": spec.to_dict(), "raw": self.raw(spec),
                              "measured": {m: measured[m] for m in METRICS}})
                self.echo(f"latency calibration: {spec.pattern()} d_model={spec.d_model} measured whole "
                          f"({whole.seconds:.0f} s)")
        fits = _fit(archs)
        with self.table.locked():
            self.table.calibrations[key] = {"archs": archs,
                                            "corrections": {m: f.to_dict() for m, f in fits.items()}}
            self.table.save()
        self.calibration = key
        self._forget_fits()
        return fits

    def build_for_space(self, space: SearchSpace) -> None:
        """Time every width and family the space produces; calibrate on models drawn from it."""
        settings = self.profile.latency
        key = space_calibration_key(space, settings.calibration_archs, settings.seed)
        start = time.perf_counter()
        survey = draw_archs(space, SPACE_SURVEY_DRAWS, settings.seed + 1, self.profile.target,
                            max_draws=SPACE_SURVEY_DRAWS)
        timed = self.ensure(survey)
        pool: list[ArchSpec] = []
        if key not in self.table.calibrations or self._specless(key):
            pool = draw_archs(space, settings.calibration_archs * CALIBRATION_POOL_FACTOR, settings.seed,
                              self.profile.target)
        if key not in self.table.calibrations:
            self.ensure(pool)
            chosen = spread(pool, lambda spec: self.raw(spec)["ttft_ms"], settings.calibration_archs)
            self.calibrate(key, chosen)
        elif pool:
            self._store_specs(key, pool)
        self.calibration = key
        if timed:
            self.echo(f"latency table {self.table.path} built in {time.perf_counter() - start:.0f} s")

    def _specless(self, key: str) -> bool:
        return any("spec" not in arch for arch in self.table.calibrations[key].get("archs", []))

    def _store_specs(self, key: str, pool: Sequence[ArchSpec]) -> None:
        """Give calibration points stored before specs were kept their spec, found again in the
        pool they were chosen from (same draws), so their raw sums follow the composition."""
        by_id = {spec.arch_id: spec for spec in pool}
        with self.table.locked():
            for arch in self.table.calibrations[key].get("archs", []):
                if "spec" not in arch and arch["arch_id"] in by_id:
                    arch["spec"] = by_id[arch["arch_id"]].to_dict()
            self.table.save()
        self._forget_fits()

    # -- prediction ---------------------------------------------------------------------------

    def predict(self, spec: ArchSpec) -> dict[str, Any]:
        """Predicted figures of `spec` at the profile's shapes (and its memory at context_len)."""
        raw = self.raw(spec)
        corrections = self.corrections(spec.d_model)
        width = self.calibration_width(spec.d_model)
        value = {metric: corrections[metric].apply(raw[metric]) for metric in METRICS}
        shapes = self.profile.shapes
        ttft = max(value["ttft_ms"], 1e-6)
        decode_p50 = max(value["decode_p50_ms"], 1e-6)
        peak_rss = max(int(value["peak_rss_bytes"]), 0)
        state_program = sizing.state_bytes(spec, shapes.max_seq_len)
        state_context = sizing.state_bytes(spec, shapes.context_len)
        return {
            "source": "predicted", "table_version": self.version, "calibration": self.calibration,
            "calibrated": self.calibration in self.table.calibrations,
            "calibration_basis": "all widths" if width is None else f"d_model {width}",
            "device_id": self.meter.device_id, "threads": self.profile.threads,
            "prompt_len": shapes.prompt_len, "decode_steps": shapes.decode_steps,
            "ttft_ms": ttft, "prefill_tok_s": shapes.prompt_len / (ttft / 1000.0),
            "decode_p50_ms": decode_p50, "decode_p95_ms": max(value["decode_p95_ms"], decode_p50),
            "peak_rss_bytes": peak_rss,
            # The program's KV caches hold prompt + decode tokens; at the profile's context they
            # grow by the difference (the figure the memory budget of a long context needs).
            "context_len": shapes.context_len, "state_bytes_at_context": state_context,
            "peak_rss_at_context_bytes": peak_rss + state_context - state_program,
            "raw": raw,
        }
