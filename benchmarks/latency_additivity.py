"""Do a latency table's stack programs add up to a whole model, when timed under the same conditions?

    .venv/bin/python benchmarks/latency_additivity.py                      # LFM2-350M, 8 rounds
    .venv/bin/python benchmarks/latency_additivity.py --arch lfm2-350m --rounds 12
    .venv/bin/python benchmarks/latency_additivity.py --arch lfm2-350m --arch a.json --arch b.json

With several `--arch` (all at one width: the same d_model, heads, vocabulary, SSM sizes), the
stack programs any of them needs are lowered once and every architecture is timed whole in the
same rounds; each is composed from the same stack figures, so their composed/whole ratios can be
compared with each other without the machine's drift between runs (a model whose ratio differs
from the others' is one the composition misprices, whatever the machine's speed).

The latency table (`star_search.latency`) times a few small "stack" programs per width and adds
their differences up into a whole candidate. On a shared machine whose speed changes from minute
to minute, programs timed minutes apart do not add up, whatever the composition. This benchmark
separates the two: it lowers the stack programs the architecture needs at its width (`base`,
`stack:conv`, `ffn2`, one `stack:<mixer>` per other mixer, `moe` if any) and the architecture itself,
then times them in interleaved rounds (each round: every program once, a fresh child each, through
`profiler.meter.Meter`, the one measurement path), and after every round prints the composed raw
sum (`latency.composition`) against the whole model's figure, with two statistics:

* median of the per-round figures (what a table built in rounds stores), and
* the minimum TTFT over all sequences and the 5th percentile of all decode steps (the least
  disturbed runs: the usual estimate of a program's own cost on a machine shared with others).

Per program it also prints the spread of its per-round TTFT (min, median, max): the drift that
the rounds share out. Give the load average beside the figures (printed per round): run it alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from star_search.commands.architectures import resolve_arch
from star_search.latency.blocks import WidthKey, component_names, component_spec
from star_search.latency.composition import block_costs, compose
from star_search.profiler.device_profile import load_profile
from star_search.profiler.meter import Meter
from star_search.resources import resolve_config

METRICS = ("ttft_ms", "decode_p50_ms")


def load_average() -> str:
    return open("/proc/loadavg").read().split()[0]


def least_disturbed(samples: list[float]) -> float:
    """The minimum of a few samples, the 5th percentile of many."""
    return float(np.percentile(samples, 0 if len(samples) < 40 else 5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="laptop_cpu_350m")
    parser.add_argument("--arch", action="append", help="preset name or arch.json (repeatable; "
                        "default lfm2-350m)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="timed sequences per program per round")
    parser.add_argument("--stack-layers", type=int, default=None, help="default: the profile's")
    parser.add_argument("--cache-dir", default="runs/latency-additivity")
    args = parser.parse_args(argv)

    profile = load_profile(resolve_config(args.device, "device_profiles", "device"))
    layers = args.stack_layers or profile.latency.stack_layers
    meter = Meter.for_profile(profile, Path(args.cache_dir))
    protocol = replace(profile.protocol, repeats=args.repeats, max_repeats=args.repeats, rounds=1)
    archs = {f"whole:{index}": resolve_arch(name, "--arch")
             for index, name in enumerate(args.arch or ["lfm2-350m"], 1)}
    widths = {WidthKey.of(arch) for arch in archs.values()}
    if len(widths) != 1:
        parser.error("every --arch must have the same width (d_model, heads, vocabulary, SSM sizes)")
    width = widths.pop()
    needed = dict.fromkeys(name for arch in archs.values() for name in component_names(arch))
    specs = {name: component_spec(width, name, layers) for name in needed}
    specs.update(archs)
    for name, spec in specs.items():
        start = time.perf_counter()
        meter.program(spec)
        seconds = time.perf_counter() - start
        print(f"lowered {name} ({spec.pattern()}, {spec.n_layers} layers) in {seconds:.0f} s", flush=True)

    per_round = {name: {m: [] for m in METRICS} for name in specs}
    samples = {name: {m: [] for m in METRICS} for name in specs}
    for number in range(args.rounds):
        for name, spec in specs.items():
            m = meter.measure(spec, protocol, fresh=True).measurement
            per_round[name]["ttft_ms"].append(m.ttft_ms)
            per_round[name]["decode_p50_ms"].append(m.decode_p50_ms)
            samples[name]["ttft_ms"] += m.ttft_samples_ms
            samples[name]["decode_p50_ms"] += m.decode_samples_ms
            print(f"{time.strftime('%H:%M:%S')} round {number + 1} {name:<22} TTFT {m.ttft_ms:9.1f} ms  "
                  f"decode p50 {m.decode_p50_ms:7.2f} ms  load {load_average()}", flush=True)
        for label, source, statistic in (("median of rounds", per_round, statistics.median),
                                         ("least disturbed", samples, least_disturbed)):
            figures = {name: {k: statistic(v) for k, v in f.items()}
                       for name, f in source.items() if name not in archs}
            for metric in METRICS:
                costs = block_costs(width, figures, layers, metric)
                for name, arch in archs.items():
                    raw = compose(arch, costs, metric)
                    whole = statistic(source[name][metric])
                    print(f"  after {number + 1} rounds, {label:<16} {metric:<14} {name} "
                          f"{arch.pattern():<24} composed {raw:9.1f}  whole {whole:9.1f}  "
                          f"composed/whole {raw / whole:.3f}", flush=True)
    print("per-round TTFT spread (min / median / max, ms):")
    for name, figures in per_round.items():
        values = figures["ttft_ms"]
        print(f"  {name:<22} {min(values):9.1f} {statistics.median(values):9.1f} {max(values):9.1f}  "
              f"max/min {max(values) / min(values):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
