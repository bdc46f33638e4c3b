"""A search's answer beside its reference, timed together: chosen trials of a finished study and
the reference architecture (LFM2-350M) measured again in interleaved rounds, side by side.

    .venv/bin/python benchmarks/front_vs_reference.py --study benchmarks/results/search-350m
    .venv/bin/python benchmarks/front_vs_reference.py --study benchmarks/results/search-350m \
        --trials 6,9 --rounds 5

Inside a search every candidate is timed once, in rounds beside the reference
(`budgets.relative_to`), over hours in which this VM's speed drifts. This benchmark takes the
trials whose comparison with the reference is the search's answer and times them again, all
together with the reference in the same rounds (`Meter.measure_together`, fresh: nothing read
from or written to the measurement cache), so every speed-up it prints is a ratio of programs
timed under the same conditions. By default it picks: the study's feasible Pareto front, the two
answers the report gives beside the reference (the fastest trial at least as good, the best one
no slower), and the complete trials of quality at least the reference's, best first, up to
`--max-trials`. Each row gives the trial's recorded quality (the study's last proxy tier) with
its seed spread, the figures measured now, the speed-ups over the reference (median of the pooled
samples; TTFT also from the least disturbed sequence), peak RSS against the reference's, and the
figures the search recorded (relative to the reference). Give the load average beside the
figures (printed before and after): run it alone.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from star_search.commands.architectures import resolve_arch
from star_search.profiler.device_profile import load_profile
from star_search.profiler.meter import Meter, Reading
from star_search.report import collect
from star_search.report.load import load_study
from star_search.resources import resolve_config
from star_search.scaling import target_spec
from star_search.search.references import stored_references
from star_search.spec import ArchSpec

RECORDED = ("ttft_ms", "decode_p50_ms")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class PrintedTask:
    """A progress task that prints its notes with the time and load average."""

    def advance(self, steps: int = 1, note: str | None = None) -> None:
        pass

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        if note:
            print(f"{time.strftime('%H:%M:%S')} {note}  (load {load_average()})", flush=True)


def chosen_trials(study: optuna.Study, reference_name: str, max_trials: int) -> list[int]:
    """The feasible front, the report's two answers beside the reference, and trials at least as
    good as the reference (best first), up to `max_trials`."""
    report = collect(study)
    numbers = [member.number for member in report.front]
    for point in report.references:
        if point.name == reference_name and point.values is not None:
            numbers += [b.number for b in (point.fastest_as_good, point.best_as_fast) if b is not None]
            good = sorted((t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                           if t.values[0] >= point.values["quality"]), key=lambda t: -t.values[0])
            numbers += [t.number for t in good]
    return list(dict.fromkeys(numbers))[:max_trials]


def _row(name: str, pattern: str, quality: Any, sd: Any, reading: Reading, ref: Reading,
         recorded: dict[str, Any] | None) -> dict[str, Any]:
    m, r = reading.measurement, ref.measurement
    return {"name": name, "pattern": pattern, "quality": quality, "quality_sd": sd,
            "ttft_ms": m.ttft_ms, "decode_p50_ms": m.decode_p50_ms, "decode_p95_ms": m.decode_p95_ms,
            "peak_rss_mib": m.peak_rss_bytes / 2**20,
            "prefill_speedup": r.ttft_ms / m.ttft_ms, "decode_speedup": r.decode_p50_ms / m.decode_p50_ms,
            "prefill_speedup_least_disturbed": min(r.ttft_samples_ms) / min(m.ttft_samples_ms),
            "rss_ratio": m.peak_rss_bytes / r.peak_rss_bytes,
            "recorded": None if recorded is None else {k: recorded.get(k) for k in RECORDED}}


def _text(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| | pattern | quality | decode p50 ms | TTFT ms | peak RSS MiB | decode speed-up | "
             "prefill speed-up (least disturbed) | RSS vs ref | in search: decode / TTFT |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        spread = f" ± {row['quality_sd']:.3f}" if row["quality_sd"] else ""
        quality = _text(row["quality"], ".3f") + spread
        recorded = row["recorded"] or {}
        lines.append(
            f"| {row['name']} | `{row['pattern']}` | {quality} | {row['decode_p50_ms']:.1f} | "
            f"{row['ttft_ms']:.0f} | {row['peak_rss_mib']:.0f} | {row['decode_speedup']:.2f}× | "
            f"{row['prefill_speedup']:.2f}× ({row['prefill_speedup_least_disturbed']:.2f}×) | "
            f"{row['rss_ratio']:.3f} | {_text(recorded.get('decode_p50_ms'), '.1f')} / "
            f"{_text(recorded.get('ttft_ms'), '.0f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", required=True, help="a search's out_dir (holding study.db)")
    parser.add_argument("--device", default=None, help="default: the profile the study ran on")
    parser.add_argument("--reference", default="lfm2-350m", help="preset name or arch.json")
    parser.add_argument("--trials", default=None, help="comma-separated trial numbers (default: see above)")
    parser.add_argument("--max-trials", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed sequences per program per round")
    parser.add_argument("--cache-dir", default=None, help="default: the study's cache (its lowered programs)")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)

    directory = Path(args.study)
    study = load_study(f"sqlite:///{(directory / 'study.db').resolve()}", None)
    device = args.device or study.user_attrs.get("device_profile", {}).get("name") or "laptop_cpu_350m"
    profile = load_profile(resolve_config(device, "device_profiles", "device"))
    reference = resolve_arch(args.reference, "--reference")
    numbers = ([int(n) for n in args.trials.split(",")] if args.trials
               else chosen_trials(study, reference.name or args.reference, args.max_trials))
    trials: list[FrozenTrial] = [study.trials[n] for n in numbers]
    specs = [target_spec(ArchSpec.from_dict(t.user_attrs["arch"]), profile.target) for t in trials]
    meter = Meter.for_profile(profile, Path(args.cache_dir) if args.cache_dir else directory / "cache")
    protocol = replace(profile.protocol, repeats=args.repeats, max_repeats=args.repeats, rounds=args.rounds)
    print(f"study {study.study_name}, device {profile.name}, trials {numbers} beside {args.reference}, "
          f"{args.rounds} rounds of {args.repeats} sequences; load before: {load_average()}", flush=True)
    start = time.perf_counter()
    readings = meter.measure_together([target_spec(reference, profile.target), *specs], protocol, fresh=True,
                                      task=PrintedTask())
    seconds = time.perf_counter() - start
    ref_record = next((r for r in stored_references(study) if r.get("arch_id") == reference.arch_id
                       and "values" in r), None)
    rows = [_row(args.reference, reference.pattern(), ref_record["values"][0] if ref_record else None,
                 ref_record.get("quality_sd") if ref_record else None, readings[0], readings[0],
                 ref_record.get("measurement") if ref_record else None)]
    for trial, reading in zip(trials, readings[1:], strict=True):
        rows.append(_row(f"#{trial.number}", str(trial.user_attrs.get("pattern", "")), trial.values[0],
                         trial.user_attrs.get("proxy", {}).get("quality_sd"), reading, readings[0],
                         trial.user_attrs.get("measurement")))
    print(table(rows))
    print(f"\n{len(readings)} programs, {args.rounds} rounds, {seconds:.0f} s; load after: {load_average()}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"study": study.study_name, "device": profile.name,
                                                   "rounds": args.rounds, "repeats": args.repeats,
                                                   "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
