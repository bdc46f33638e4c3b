"""`star-search profile`: lower and measure one architecture on a device profile.

The architecture is a preset name (`lfm2-350m`, ...) or an `arch.json`; the profile's target
size applies, and `width` / `vocab_size` shrink it further (a full-size LFM2-350M lowers in about
two minutes on a laptop CPU). It measures through the profile's `Meter`, the path the search's
measure stage and the latency table take: programs and measurements are cached under
`cache_dir` (`<cache_dir>/programs`, `<cache_dir>/measurements`), so running the same command
twice times nothing, and pointed at a search's cache folder it reuses what the search measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from star_search import sizing
from star_search.commands.architectures import resolve_arch
from star_search.profiler.backend import Backend
from star_search.profiler.device_profile import DeviceProfile, load_profile
from star_search.profiler.measurement import Measurement
from star_search.profiler.meter import Meter
from star_search.resources import resolve_config
from star_search.scaling import Target, target_spec
from star_search.spec import ArchSpec

_TOP_OPERATORS = 8


@dataclass(frozen=True)
class ArchProfile:
    """What `profile_arch` found: the spec as measured, its program and its measurement.
    program_cached / measurement_cached: served from the caches without lowering / timing."""

    spec: ArchSpec
    params: int
    program_path: Path
    program_size_bytes: int
    lowering_s: float
    program_cached: bool
    measurement: Measurement
    measurement_cached: bool


def profile_spec(preset_or_path: str, width: int | None = None, vocab_size: int | None = None,
                 target: Target | None = None) -> ArchSpec:
    """A preset by name or an `arch.json` path, at the profile's target size and the overrides."""
    target = target or Target()
    return target_spec(resolve_arch(preset_or_path, "preset"),
                       Target(d_model=width or target.d_model, vocab_size=vocab_size or target.vocab_size))


def profile_arch(spec: ArchSpec, profile: DeviceProfile, cache_dir: Path,
                 backend: Backend | None = None) -> ArchProfile:
    """Lower `spec` for the profile's shapes and measure it with the profile's backend, through the
    profile's `Meter` with caches under `cache_dir` (a search's cache folder serves too)."""
    reading = Meter.for_profile(profile, cache_dir, backend).measure(spec)
    program = reading.program
    return ArchProfile(spec, sizing.param_count(spec), program.path, program.size_bytes,
                       program.lowering_s, program.hit, reading.measurement, reading.measurement_cached)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def format_profile(result: ArchProfile, profile: DeviceProfile) -> str:
    """A two-column table of the figures, plus the slowest operators when ETDump was taken."""
    spec, m = result.spec, result.measurement
    mixers = ", ".join(f"{spec.count(kind)} {kind}" for kind in dict.fromkeys(spec.mixers()))
    rows = [
        ("architecture", f"{spec.name or '-'} (arch_id {spec.arch_id}): d_model {spec.d_model}, "
                         f"{spec.n_layers} layers ({mixers}), vocab {spec.vocab_size}"),
        ("parameters", f"{result.params:,}"),
        ("device", f"{m.device_id} ({profile.backend} backend), {m.threads} thread(s)"
                   + (f", agent {m.agent_url}" if m.agent_url else "")),
        ("program", f"{result.program_path} ({result.program_size_bytes / 2**20:.1f} MiB, sha256 "
                    f"{m.program_sha256[:16]}…, "
                    + ("from cache)" if result.program_cached else f"lowered in {result.lowering_s:.1f} s)")),
        ("delegated to XNNPACK", "-" if m.delegated_fraction is None
         else f"{_pct(m.delegated_fraction)} of operator nodes"),
        ("figures", f"{m.source}" + (", from the measurement cache" if result.measurement_cached else "")
                    + (f"; program file's page cache: {m.page_cache}" if m.page_cache else "")),
        ("time to first token", f"{m.ttft_ms:.3f} ms at {m.prompt_len} tokens "
                                f"({m.prefill_tok_s:,.0f} tok/s prefill), CV {_pct(m.ttft_cv)}"),
        ("decode", f"p50 {m.decode_p50_ms:.3f} ms/token, p95 {m.decode_p95_ms:.3f} ms "
                   f"({m.decode_tok_s:,.1f} tok/s) over {m.decode_steps} steps"),
        ("decode noise", f"CV {_pct(m.decode_cv)} of all steps, {_pct(m.decode_repeat_cv)} between repeats"),
        ("repeats", f"{m.repeats} timed after {m.warmup} warm-up (bounds {profile.protocol.repeats}–"
                    f"{m.max_repeats}, target CV {m.cv_target}; stopped on {m.stop_reason})"),
        ("peak RSS", f"{m.peak_rss_bytes / 2**20:,.1f} MiB"
                     + (f" (runtime alone {m.baseline_rss_bytes / 2**20:,.1f} MiB)"
                        if m.baseline_rss_bytes else "")),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if m.operator_times:
        lines.append(f"slowest operators (ETDump, ms per call of the method, top {_TOP_OPERATORS}):")
        for op in sorted(m.operator_times, key=lambda op: -op["ms"])[:_TOP_OPERATORS]:
            where = "XNNPACK" if op["delegated"] else "portable"
            lines.append(f"  {op['method']:<8} {op['ms']:>9.4f}  {op['operator']} ({where}, "
                         f"{op['calls']:g} calls)")
    return "\n".join(lines)


def run_profile(device: str, preset: str, cache_dir: str, width: int | None = None,
                vocab_size: int | None = None, json_out: str | None = None) -> str:
    """`star-search profile`: resolve, lower, measure; returns the table (and writes JSON)."""
    profile = load_profile(resolve_config(device, "device_profiles", "device"))
    spec = profile_spec(preset, width, vocab_size, profile.target)
    result = profile_arch(spec, profile, Path(cache_dir))
    if json_out:
        record: dict[str, Any] = {"spec": spec.to_dict(), "profile": profile.name,
                                  "params": result.params, "measurement": result.measurement.to_dict()}
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(record, indent=2))
    return format_profile(result, profile)
