"""A small LFM2-style MoE model next to its dense twin with the same active parameters.

    .venv/bin/python benchmarks/moe_vs_dense.py [--rounds 3] [--d-model 512] [--layers 8] [--quantize 8da4w]

The MoE model has LFM2-8B-A1B's shape in miniature: conv/attention pattern of LFM2, first two
layers dense, the rest MoE with 32 experts, top-4. Its twin replaces every MoE layer by a SwiGLU
of width top_k × expert width, so both touch the same weights per token (the twin lacks only the
router, d × experts per MoE layer). Both are lowered the same way (fp32 unless `--quantize`,
XNNPACK) and measured through the toolkit's `Meter` with the laptop_cpu profile (its protocol,
every round measured afresh) in alternating rounds; the script prints each round and the median
ratios MoE / dense, and the program sizes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

from star_search.presets import lfm2_layers
from star_search.profiler.device_profile import load_profile, with_changes
from star_search.profiler.measurement import Measurement
from star_search.profiler.meter import Meter
from star_search.progress import console_progress
from star_search.resources import resolve_config
from star_search.shapes import QUANTIZATIONS
from star_search.sizing import active_param_count, param_count
from star_search.spec import ArchSpec, LayerSpec

FIGURES = ("ttft_ms", "prefill_tok_s", "decode_p50_ms", "decode_p95_ms", "peak_rss_mb")


def twins(d_model: int, n_layers: int, expert_dim: int) -> tuple[ArchSpec, ArchSpec]:
    attention = tuple(range(2, n_layers, 3))
    moe = ArchSpec(d_model=d_model, layers=lfm2_layers(n_layers, attention, n_dense=2),
                   n_heads=d_model // 64, n_kv_heads=min(8, d_model // 64), head_dim=64,
                   ffn_dim=4 * expert_dim, moe_num_experts=32, moe_top_k=4, moe_expert_dim=expert_dim,
                   vocab_size=8192, name="moe")
    dense_layers = tuple(LayerSpec(layer.mixer) for layer in moe.layers)
    dense = replace(moe, layers=dense_layers, moe_num_experts=0, moe_top_k=0, moe_expert_dim=0, name="dense")
    return moe, dense


def figures(m: Measurement) -> dict[str, float]:
    return {"ttft_ms": m.ttft_ms, "prefill_tok_s": m.prefill_tok_s, "decode_p50_ms": m.decode_p50_ms,
            "decode_p95_ms": m.decode_p95_ms, "peak_rss_mb": m.peak_rss_bytes / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--expert-dim", type=int, default=256)
    parser.add_argument("--quantize", default=None, choices=QUANTIZATIONS, help="weight quantization")
    parser.add_argument("--cache-dir", default=None, help="program cache (default: a temporary folder)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    profile = with_changes(load_profile(resolve_config("laptop_cpu", "device_profiles", "device")),
                           {"shapes": {"quantize": args.quantize}})
    cache_dir = Path(args.cache_dir or tempfile.mkdtemp(prefix="moe-vs-dense-"))
    meter = Meter.for_profile(profile, cache_dir)
    models = twins(args.d_model, args.layers, args.expert_dim)
    programs = {}
    for spec in models:
        program = meter.program(spec)
        programs[spec.name] = program
        print(f"{spec.name}: {spec.pattern()} params {param_count(spec):,} "
              f"active {active_param_count(spec):,} lowered in {program.lowering_s:.1f} s, "
              f"{program.size_bytes / 2**20:.1f} MiB")
    results: dict[str, list[dict[str, float]]] = {spec.name: [] for spec in models}
    with console_progress().task("measuring", args.rounds * len(models), "runs") as task:
        for round_index in range(args.rounds):
            for spec in models:
                result = figures(meter.measure(spec, fresh=True).measurement)
                results[spec.name].append(result)
                shown = ", ".join(f"{key} {value:.2f}" for key, value in result.items())
                print(f"round {round_index} {spec.name}: {shown}")
                task.advance(note=f"round {round_index} {spec.name}")
    protocol = meter.protocol
    print(f"\nmedian over {args.rounds} rounds (threads {protocol.threads}, prompt {protocol.prompt_len}, "
          f"{protocol.decode_steps} decode steps)")
    print("| figure | moe | dense | moe / dense |")
    print("|---|---|---|---|")
    for key in FIGURES:
        moe_value = statistics.median(r[key] for r in results["moe"])
        dense_value = statistics.median(r[key] for r in results["dense"])
        print(f"| {key} | {moe_value:.2f} | {dense_value:.2f} | {moe_value / dense_value:.2f} |")
    moe_mib, dense_mib = (programs[name].size_bytes / 2**20 for name in ("moe", "dense"))
    print(f"| pte_mib | {moe_mib:.2f} | {dense_mib:.2f} | {moe_mib / dense_mib:.2f} |")


if __name__ == "__main__":
    main()
