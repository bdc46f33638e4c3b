"""LFM2-350M and the searched backbone against a Qwen3-0.6B-shaped all-attention baseline, on this CPU.

    .venv/bin/python benchmarks/lfm2_vs_attention.py                 # full size, writes BENCHMARKS.md
    .venv/bin/python benchmarks/lfm2_vs_attention.py --scale tiny    # small widths, a few minutes

Models (all built by this project's `Backbone`, so all lowered by the very same pipeline):

* `lfm2-350m`: the preset (10 gated short convolutions, 6 GQA layers, d_model 1024).
* `searched`: the `arch.json` given by `--searched` (default `benchmarks/searched_backbone.json`,
  an `ArchSpec` as `star-search export` writes it). When the file is absent its row is skipped and
  the script says so; nothing stands in for it.
* `qwen3-0.6b-shape`: all-attention baseline with Qwen3-0.6B's shape: hidden 1024, 28 layers,
  16 query / 8 KV heads, head_dim 128, SwiGLU 3072, per-head RMSNorm on q and k before RoPE
  (QK-norm: the project's attention always has it, as LFM2 does), vocabulary 151,936, tied
  embeddings. Weights are random (latency does not depend on their values).

Every program is lowered and timed through the toolkit's one measurement path, `profiler.meter.Meter`,
built from a device profile (`--device`, default `benchmarks/searched_backbone_profile.yaml`, the
profile the goal search ran under) with the benchmark's shapes filled in: the longer prompt, its
decode steps, `llm_ops: true` and `dynamic_prompt: true`, and `quantize` per dtype. Each model is
lowered through ExecuTorch/XNNPACK in fp32 and with `8da4w` (torchao int8 dynamic activations,
int4 grouped weights), with attention on ExecuTorch's LLM custom ops (`llama::update_cache` into a
KV cache held as mutable buffers shared by `prefill` and `decode`, `llama::custom_sdpa`), and with a
dynamic-length prefill so one program per model and dtype serves both prompt lengths. Programs are
cached under `--cache-dir` (`programs/`, the layout of a search's cache folder): a rerun lowers
nothing, and `star-search profile cache_dir=...` with the same profile finds the same programs.

Measurement: the profile's backend (local), a fresh child per (program, prompt length), pinned to
`--threads` cores; every round is measured afresh (`Meter.measure(fresh=True)`), not read from the
measurement cache. Rounds are interleaved: each round measures every program at
prompt 256 and then at prompt 1024 (its decode steps run at 1K context), round-robin over the
programs; the figures are medians over rounds. Each child runs one untimed warm-up sequence and one
timed sequence (prefill, then decode steps); the rounds supply the repeats. Prefill tok/s is
prompt length / time to first token; decode tok/s is 1000 / median decode step ms; peak RSS is
the measuring child's VmHWM (runtime and program included) in the 1024-token run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from star_search.presets import preset
from star_search.profiler.device_profile import DeviceProfile, load_profile, parse_profile, with_changes
from star_search.profiler.meter import Meter
from star_search.profiler.protocol import MeasurementProtocol
from star_search.progress import console_progress
from star_search.sizing import param_count
from star_search.spec import ArchSpec, LayerSpec

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEARCHED = ROOT / "benchmarks" / "searched_backbone.json"
DEFAULT_DEVICE = ROOT / "benchmarks" / "searched_backbone_profile.yaml"
BASELINE = "qwen3-0.6b-shape"
DTYPES = {"fp32": None, "8da4w": "8da4w"}
SECTION_START = "<!-- lfm2_vs_attention:start -->"
SECTION_END = "<!-- lfm2_vs_attention:end -->"
GOALS = {"prefill": 2.0, "decode": 1.7}  # searched / baseline


def qwen3_shape() -> ArchSpec:
    """Qwen3-0.6B's backbone shape as an all-attention `ArchSpec`."""
    return ArchSpec(d_model=1024, layers=tuple(LayerSpec("attention") for _ in range(28)),
                    n_heads=16, n_kv_heads=8, head_dim=128, ffn_dim=3072, vocab_size=151_936,
                    rope_theta=1_000_000.0, norm_eps=1e-6, tie_embeddings=True, max_seq_len=40_960,
                    name=BASELINE)


@dataclass(frozen=True)
class Scale:
    """Prompt lengths, decode steps and how to shrink each model (None: full size)."""

    name: str
    prompts: tuple[int, int]
    decode_steps: int
    shrink: bool


SCALES = {
    "full": Scale("full", (256, 1024), 16, shrink=False),
    "tiny": Scale("tiny", (16, 64), 8, shrink=True),
}


def tiny(spec: ArchSpec, name: str) -> ArchSpec:
    """The first three layers of `spec` (its layer pattern's start) at d_model 64, vocab 512."""
    heads = 4
    kv = 2 if spec.n_kv_heads < spec.n_heads else heads
    return replace(spec, d_model=64, layers=spec.layers[:3], n_heads=heads, n_kv_heads=kv,
                   head_dim=16 if spec.head_dim * spec.n_heads == spec.d_model else 32,
                   ffn_dim=192 if spec.ffn_dim < 4 * spec.d_model else 256, vocab_size=512,
                   moe_expert_dim=min(spec.moe_expert_dim, 64), name=name)


def models(searched_path: Path, scale: Scale) -> tuple[dict[str, ArchSpec], str | None]:
    """name → spec in table order (baseline last); and a note when the searched row is skipped."""
    found: dict[str, ArchSpec] = {"lfm2-350m": preset("lfm2-350m")}
    note = None
    if searched_path.is_file():
        found["searched"] = replace(ArchSpec.from_json(searched_path.read_text()), name="searched")
    else:
        note = (f"no searched backbone: {searched_path} does not exist, so the 'searched' row is "
                f"skipped (export one with `star-search export` and pass --searched PATH/arch.json)")
    found[BASELINE] = qwen3_shape()
    if scale.shrink:
        found = {name: tiny(spec, name) for name, spec in found.items()}
    return found, note


def bench_profile(base: DeviceProfile, scale: Scale, dtype: str, threads: int) -> DeviceProfile:
    """`base` at the benchmark's shapes: the longer prompt (prefill takes any length up to it), its
    decode steps, attention on the LLM custom ops, and `dtype`'s quantization."""
    return with_changes(base, {"threads": threads, "shapes": {
        "prompt_len": scale.prompts[1], "decode_steps": scale.decode_steps, "dynamic_prompt": True,
        "llm_ops": True, "quantize": DTYPES[dtype]}})


def _lower_one(profile_doc: dict[str, Any], spec_json: str, cache_dir: str) -> dict[str, Any]:
    """Runs in a one-shot worker process: lower (or find) one program; returns its facts."""
    warnings.simplefilter("ignore")
    from star_search.lower.cache import ProgramCache

    # Already a one-shot process of its own: no further child for the lowering.
    programs = ProgramCache(Path(cache_dir) / "programs", isolate_above_params=None)
    meter = Meter.for_profile(parse_profile(profile_doc), Path(cache_dir), programs=programs)
    program = meter.program(ArchSpec.from_json(spec_json))
    return {"path": str(program.path), "lowering_s": program.lowering_s, "hit": program.hit,
            "size_bytes": program.size_bytes, "sha256": program.sha256}


def lower_all(specs: dict[str, ArchSpec], profiles: dict[str, DeviceProfile], cache_dir: Path,
              jobs: int) -> dict[tuple[str, str], dict[str, Any]]:
    """One program per (model, dtype), each lowered in a process of its own (a full-size lowering
    holds several GB, freed when its process exits), `jobs` at a time: lowering runs on one core,
    so two jobs on a 2-core machine halve the cold run. Programs are cached, so a rerun lowers none."""
    keys = [(name, dtype) for name in specs for dtype in profiles]
    # Longest first, so the last job to finish is a short one: bigger models, and quantized ones
    # (the 8da4w passes take about twice as long as fp32) ahead of the rest.
    order = sorted(keys, key=lambda key: (-param_count(specs[key[0]]), key[1] == "fp32"))
    started = time.perf_counter()
    programs = {}
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool, \
            console_progress().task("lowering", len(order), "programs") as task:
        futures = {pool.submit(_lower_one, profiles[dtype].to_dict(), specs[name].to_json(),
                               str(cache_dir)): (name, dtype) for name, dtype in order}
        for future in as_completed(futures):
            name, dtype = futures[future]
            facts = future.result()
            task.advance(note=f"{name} {dtype}")
            facts["done_after_s"] = time.perf_counter() - started
            programs[name, dtype] = facts
            how = "from cache" if facts["hit"] else f"lowered in {facts['lowering_s']:.0f} s"
            print(f"program {name} {dtype}: {how}, {facts['size_bytes'] / 2**20:.1f} MiB", flush=True)
    return {key: programs[key] for key in keys}


def measure_rounds(specs: dict[str, ArchSpec], profiles: dict[str, DeviceProfile], scale: Scale,
                   rounds: int, cache_dir: Path) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Interleaved rounds; per program the samples of each figure, one per round."""
    meters = {dtype: Meter.for_profile(profile, cache_dir) for dtype, profile in profiles.items()}
    short, long = scale.prompts
    one_sequence = {"warmup": 1, "repeats": 1, "max_repeats": 1, "timeout_s": 1800}

    def protocol(profile: DeviceProfile, prompt: int, steps: int) -> MeasurementProtocol:
        return MeasurementProtocol(threads=profile.threads, prompt_len=prompt, decode_steps=steps,
                                   **one_sequence)
    samples: dict[tuple[str, str], dict[str, list[float]]] = {
        (name, dtype): {"prefill_short": [], "prefill_long": [], "decode": [], "rss_mib": []}
        for name in specs for dtype in profiles}
    with console_progress().task("measuring", rounds * len(samples) * 2, "runs") as task:
        for round_index, name, dtype, prompt in ((r, n, d, p) for r in range(rounds) for n, d in samples
                                                 for p in (short, long)):
            profile = profiles[dtype]
            steps = 1 if prompt == short else scale.decode_steps
            reading = meters[dtype].measure(specs[name], protocol(profile, prompt, steps), fresh=True)
            m = reading.measurement
            figures = samples[name, dtype]
            if prompt == short:
                figures["prefill_short"].append(m.prefill_tok_s)
            else:
                figures["prefill_long"].append(m.prefill_tok_s)
                figures["decode"].append(m.decode_tok_s)
                figures["rss_mib"].append(m.peak_rss_bytes / 2**20)
            print(f"round {round_index} {name} {dtype} prompt {prompt}: prefill "
                  f"{m.prefill_tok_s:,.1f} tok/s" + (f", decode {m.decode_tok_s:.2f} tok/s, peak RSS "
                                                      f"{m.peak_rss_bytes / 2**20:,.0f} MiB"
                                                      if prompt == long else ""), flush=True)
            task.advance(note=f"round {round_index} {name} {dtype} prompt {prompt}")
    return samples


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                      if line.startswith("Model name")), model)
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import version

    return (f"{model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, torch {version('torch')}, "
            f"executorch {version('executorch')}, torchao {version('torchao')}")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


FIGURES = (("prefill_short", "prefill tok/s @{short}", "prefill"),
           ("prefill_long", "prefill tok/s @{long}", "prefill"),
           ("decode", "decode tok/s @{long} ctx", "decode"),
           ("rss_mib", "peak RSS MiB", None))


def tables(specs: dict[str, ArchSpec], programs: dict[tuple[str, str], dict[str, Any]],
           samples: dict[tuple[str, str], dict[str, list[float]]], dtypes: list[str],
           scale: Scale) -> tuple[str, str, dict[str, Any]]:
    """(ratio table, absolute table, JSON summary). Ratios are model / baseline (RSS: lower is better)."""
    short, long = scale.prompts
    others = [name for name in specs if name != BASELINE]
    summary: dict[str, Any] = {"ratios": {}, "medians": {}}
    head = "| figure | dtype | " + " | ".join(f"{name} / baseline" for name in others) + " |"
    ratio_lines = [head, "|" + "---|" * (2 + len(others))]
    for dtype in dtypes:
        base = {key: _median(v) for key, v in samples[BASELINE, dtype].items()}
        for key, label, goal_kind in FIGURES:
            cells = []
            for name in others:
                value = _median(samples[name, dtype][key]) / base[key]
                summary["ratios"][f"{name}/{dtype}/{key}"] = value
                mark = ""
                if name == "searched" and goal_kind is not None:
                    mark = " ✓" if value >= GOALS[goal_kind] else f" (goal {GOALS[goal_kind]}×)"
                cells.append(f"{value:.2f}×{mark}")
            row_label = label.format(short=short, long=long)
            ratio_lines.append(f"| {row_label} | {dtype} | " + " | ".join(cells) + " |")
    abs_lines = [f"| model | params | dtype | lowering s | .pte MiB | prefill tok/s @{short} "
                 f"| prefill tok/s @{long} | decode tok/s @{long} ctx | peak RSS MiB |", "|" + "---|" * 9]
    for name, spec in specs.items():
        for dtype in dtypes:
            facts, med = programs[name, dtype], {k: _median(v) for k, v in samples[name, dtype].items()}
            summary["medians"][f"{name}/{dtype}"] = med
            abs_lines.append(
                f"| {name} `{spec.pattern()}` | {param_count(spec) / 1e6:,.1f}M | {dtype} | "
                f"{facts['lowering_s']:.0f} | {facts['size_bytes'] / 2**20:,.0f} | "
                f"{med['prefill_short']:,.1f} | "
                f"{med['prefill_long']:,.1f} | {med['decode']:,.2f} | {med['rss_mib']:,.0f} |")
    return "\n".join(ratio_lines), "\n".join(abs_lines), summary


def write_section(path: Path, section: str) -> None:
    """Replace the benchmark's section of BENCHMARKS.md (between its markers), or append it."""
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    block = f"{SECTION_START}\n{section.rstrip()}\n{SECTION_END}"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--searched", type=Path, default=DEFAULT_SEARCHED,
                        help="arch.json of the searched backbone (row skipped when absent)")
    parser.add_argument("--device", type=Path, default=DEFAULT_DEVICE,
                        help="device profile whose backend, protocol and budgets the run takes "
                             "(its shapes are set to the benchmark's)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--lower-jobs", type=int, default=min(2, len(os.sched_getaffinity(0))),
                        help="programs lowered at once (each needs up to ~8 GB at full size)")
    parser.add_argument("--dtypes", default="fp32,8da4w", help="comma-separated, among fp32, 8da4w")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="cache folder, programs/ under it (default: "
                             "runs/bench-cache/lfm2_vs_attention-<scale>)")
    parser.add_argument("--benchmarks-md", type=Path, default=None,
                        help="file whose lfm2_vs_attention section is (re)written "
                             "(default: BENCHMARKS.md at full scale, none at tiny scale)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--write-baseline", type=Path, default=None, metavar="ARCH_JSON",
                        help="only write the baseline's arch.json here (for `star-search profile "
                             "preset=ARCH_JSON`) and exit")
    args = parser.parse_args(argv)
    if args.write_baseline:
        args.write_baseline.write_text(qwen3_shape().to_json())
        print(f"wrote {args.write_baseline}")
        return 0
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    load_before = os.getloadavg()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    scale = SCALES[args.scale]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    unknown = sorted(set(dtypes) - set(DTYPES))
    if unknown or not dtypes:
        parser.error(f"--dtypes: unknown {unknown}; choose among {sorted(DTYPES)}")
    specs, note = models(args.searched, scale)
    if note:
        print(f"NOTE: {note}", flush=True)
    cache_dir = args.cache_dir or ROOT / "runs" / "bench-cache" / f"lfm2_vs_attention-{scale.name}"
    long = scale.prompts[1]
    base = load_profile(args.device)
    profiles = {dtype: bench_profile(base, scale, dtype, args.threads) for dtype in dtypes}
    for name, spec in specs.items():
        print(f"model {name}: {spec.pattern()} d_model {spec.d_model}, {param_count(spec):,} params",
              flush=True)
    programs = lower_all(specs, profiles, cache_dir, args.lower_jobs)
    lowered_s = time.perf_counter() - started
    samples = measure_rounds(specs, profiles, scale, args.rounds, cache_dir)
    total_s = time.perf_counter() - started
    load_after = os.getloadavg()
    ratio_table, abs_table, summary = tables(specs, programs, samples, dtypes, scale)
    cold = sum(p["lowering_s"] for p in programs.values() if not p["hit"])
    command = "python benchmarks/lfm2_vs_attention.py" + (" --scale tiny" if scale.shrink else "") + (
        f" --searched {args.searched}" if args.searched != DEFAULT_SEARCHED else "")
    section = "\n".join([
        f"## LFM2-350M and the searched backbone against a Qwen3-0.6B-shaped baseline "
        f"({scale.name} scale)",
        "",
        "```bash",
        f".venv/bin/{command}",
        "```",
        "",
        f"Run {date} on {machine()}; {args.threads} threads; load average "
        f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end. Programs lowered and "
        f"timed through the toolkit's measurement path (`Meter`, profile `{base.name}` at the "
        "benchmark's shapes), through ExecuTorch/XNNPACK with attention on ExecuTorch's LLM custom "
        "ops (`llama::update_cache`, "
        "`llama::custom_sdpa`, KV cache as mutable buffers shared by prefill and decode) and a "
        f"dynamic-length prefill; medians of {args.rounds} interleaved rounds (fresh child per "
        f"program and prompt, 1 warm-up + 1 timed sequence each); decode: {scale.decode_steps} steps "
        f"after the {long}-token prompt. Wall time {total_s / 60:.1f} min, of which lowering "
        f"{lowered_s / 60:.1f} min ({sum(not p['hit'] for p in programs.values())} programs not yet "
        f"cached, {cold / 60:.1f} min of lowering summed over them, {args.lower_jobs} at a time; "
        f"a rerun finds every program in the cache).",
        "",
        *([f"Note: {note}.", ""] if note else []),
        "Ratios (model / baseline; above 1 is faster for tok/s, above 1 is more memory for RSS):",
        "",
        ratio_table,
        "",
        abs_table,
    ])
    print("\n" + section)
    md_path = args.benchmarks_md or (None if scale.shrink else ROOT / "BENCHMARKS.md")
    if md_path is not None:
        write_section(md_path, section)
        print(f"\nwrote the section to {md_path}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"date": date, "scale": scale.name, "note": note,
                                         "models": {n: s.to_dict() for n, s in specs.items()},
                                         "programs": {f"{k[0]}/{k[1]}": v for k, v in programs.items()},
                                         "samples": {f"{k[0]}/{k[1]}": v for k, v in samples.items()},
                                         **summary, "wall_s": total_s}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
