"""`star-search latency build` and `star-search latency validate`: the device's per-block latency
table for a space, and its error on held-out models measured whole.

`cache_dir` holds `latency/` (the tables) and the profile's `Meter` caches (`programs/`,
`measurements/`), the same layout as a search's cache folder, so a table built here serves a
search pointed at the same folder and vice versa."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from star_search.commands.architectures import resolve_arch
from star_search.json_cache import JsonCache
from star_search.latency.blocks import WidthKey
from star_search.latency.composition import METRICS, block_costs
from star_search.latency.predictor import LatencyPredictor
from star_search.latency.validation import validate
from star_search.profiler.anchor import Anchor
from star_search.profiler.device_profile import DeviceProfile, load_profile
from star_search.profiler.meter import Meter
from star_search.progress import console_progress
from star_search.resources import resolve_config
from star_search.scaling import target_spec
from star_search.space import SearchSpace, load_space


def device_profile(device: str) -> DeviceProfile:
    """A shipped profile by name, or a profile YAML by path."""
    return load_profile(resolve_config(device, "device_profiles", "device"))


def table_predictor(profile: DeviceProfile, space: str,
                    cache_dir: str) -> tuple[LatencyPredictor, SearchSpace]:
    """The predictor of `profile`'s latency table for `space` under `cache_dir`/latency (built where
    it is missing or out of date), and the space."""
    search_space = load_space(resolve_config(space, "search_spaces", "space"))
    root = Path(cache_dir)
    predictor = LatencyPredictor.load_or_build(profile, root / "latency", Meter.for_profile(profile, root),
                                               space=search_space, progress=console_progress())
    return predictor, search_space


def profile_anchor(profile: DeviceProfile) -> Anchor | None:
    """The architecture the profile's times are read relative to, at the profile's target size."""
    name = profile.budgets.relative_to
    if name is None:
        return None
    return Anchor.of(profile.budgets, target_spec(resolve_arch(name, "budgets.relative_to"), profile.target))


def table_summary(predictor: LatencyPredictor) -> str:
    """Per width: the block costs of every metric; then the calibration fits."""
    n = predictor.profile.latency.stack_layers
    lines = [f"latency table {predictor.table.path} (version {predictor.version})"]
    recorded = predictor.table.hardware
    lines.append(f"timed on {recorded['cpu']} ({recorded.get('isa') or 'vector units unknown'})" if recorded
                 else "timed on a processor it did not record (built before tables recorded one)")
    for row in predictor.table.widths.values():
        width = WidthKey(**row["width"])
        figures = row["components"]
        lowering_s = sum(f["lowering_s"] for f in figures.values())
        lines.append(f"d_model {width.d_model} (vocab {width.vocab_size}, {width.n_heads} heads), "
                     f"{len(figures)} programs, lowered in {lowering_s:.0f} s:")
        for metric in METRICS:
            costs = block_costs(width, figures, n, metric)
            scale, unit = (2**-20, "MiB") if metric == "peak_rss_bytes" else (1.0, "ms")
            parts = ", ".join(f"{name} {value * scale:.4g}" for name, value in costs.items())
            lines.append(f"  {metric} [{unit}]: {parts}")
    entry = predictor.table.calibrations.get(predictor.calibration or "")
    if entry:
        fits = ", ".join(f"{metric}: {fit.intercept:.4g} + {fit.slope:.4g} x raw"
                         for metric, fit in predictor.corrections().items())
        lines.append(f"calibration {predictor.calibration} on {len(entry['archs'])} whole models: {fits}")
        for d_model in sorted({arch["d_model"] for arch in entry["archs"]}):
            if predictor.calibration_width(d_model) is not None:
                own = predictor.corrections(d_model)
                ratios = ", ".join(f"{metric}: {fit.slope:.4g} x raw" for metric, fit in own.items())
                lines.append(f"  d_model {d_model}, from its own {own['ttft_ms'].points} models: {ratios}")
    return "\n".join(lines)


def run_build(device: str, space: str, cache_dir: str) -> str:
    start = time.perf_counter()
    predictor, _ = table_predictor(device_profile(device), space, cache_dir)
    seconds = time.perf_counter() - start
    summary = {"table": str(predictor.table.path), "table_version": predictor.version,
               "widths": len(predictor.table.widths),
               "programs": sum(len(r["components"]) for r in predictor.table.widths.values()),
               "seconds": round(seconds, 1)}
    return table_summary(predictor) + f"\nready in {seconds:.0f} s\n" + json.dumps(summary, sort_keys=True)


def run_validate(device: str, space: str, cache_dir: str, n: int, seed: int, noise_check: bool,
                 extra: Sequence[str] = (), relative: bool = True) -> str:
    """relative: with the profile's `budgets.relative_to`, each held-out model is timed beside that
    architecture and the predicted ratios to it are validated (`latency/validation.py`); pairs are
    kept in `<cache_dir>/validation/`."""
    archs = [resolve_arch(name, "extra") for name in extra]  # bad names fail before anything is timed
    profile = device_profile(device)
    # a bad budgets.relative_to fails before any timing
    anchor = profile_anchor(profile) if relative else None
    predictor, search_space = table_predictor(profile, space, cache_dir)
    pairs = JsonCache(Path(cache_dir) / "validation") if anchor is not None else None
    return validate(predictor, search_space, n, seed, noise_check=noise_check, extra=archs, anchor=anchor,
                    pairs=pairs).report()
