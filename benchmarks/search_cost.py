"""What a search costs on this machine: the README demo, lowering per size, candidates per hour.

    .venv/bin/python benchmarks/search_cost.py [--sizes 256,512,1024] [--fast-trials 16] [--out-dir DIR]

1. README demo: the quick-start command `star-search search space=demo device=laptop_cpu
   search.n_trials=8 out_dir=...` run as is (fresh out_dir, fresh cache), wall time measured
   around the process; its `trials.csv` says how many candidates completed and were measured.
   Measured candidates per hour = measured trials / demo wall hours (the whole default pipeline:
   static checks, demo proxy tier, lowering, measurement; proxy training overlaps lowering).
2. Lowering per size: `lfm2-350m` scaled to each `--sizes` width (the profile's target scaling:
   heads and FFN follow d_model, vocabulary kept) lowered with the laptop_cpu profile's shapes
   into an empty program cache, each in its own process, then measured once with the profile's
   protocol (local backend). Measured candidates per hour at that size = 3600 / (lowering s +
   measurement s), the cost of the `measure` stage alone.
3. Fast path: the same search with `search.pipeline=[static,predict,demo]` (no lowering of the
   candidate), `--fast-trials` trials, in a fresh cache. Its first run builds the device's
   latency table for the demo space (a one-time cost per device and space, timed from the
   search's own "latency table ... built in N s" line); fast-path candidates per hour = trials /
   (wall − table build). Needs `star_search.latency.LatencyPredictor`; without it this part is
   reported as missing, not estimated.

Prints a markdown section; `--benchmarks-md` writes it into that file between markers.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECTION_START = "<!-- search_cost:start -->"
SECTION_END = "<!-- search_cost:end -->"
DEMO = ["search", "space=demo", "device=laptop_cpu", "search.n_trials=8"]


def star_search_command() -> list[str]:
    """The `star-search` entry point of this interpreter's environment."""
    script = Path(sys.executable).with_name("star-search")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "star_search.commands.cli"]


def timed_run(args: list[str], log: Path) -> tuple[float, str, int]:
    """Run a command (output to `log`); returns (wall seconds, output, exit status)."""
    started = time.perf_counter()
    with log.open("w") as handle:
        code = subprocess.run(args, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, check=False).returncode
    return time.perf_counter() - started, log.read_text(errors="replace"), code


def read_trials(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _floats(rows: list[dict[str, str]], column: str) -> list[float]:
    values = []
    for row in rows:
        try:
            values.append(float(row.get(column) or "nan"))
        except ValueError:
            continue
    return [v for v in values if v == v]


def demo_cost(out: Path) -> dict[str, Any]:
    run_dir = out / "demo"
    shutil.rmtree(run_dir, ignore_errors=True)
    wall, _, code = timed_run([*star_search_command(), *DEMO, f"out_dir={run_dir}",
                               f"search.cache_dir={run_dir / 'cache'}"], out / "demo.log")
    rows = read_trials(run_dir / "trials.csv")
    complete = [r for r in rows if r.get("state") == "COMPLETE"]
    measured = [r for r in complete if r.get("measurement_source") == "measured"]
    durations = _floats(complete, "duration_s")
    return {"wall_s": wall, "exit": code, "trials": len(rows), "complete": len(complete),
            "measured": len(measured), "median_trial_s": statistics.median(durations) if durations else None,
            "measured_per_hour": len(measured) / (wall / 3600) if wall else None}


def _lower_and_measure(width: int, cache_dir: str) -> dict[str, Any]:
    """Runs in a child process: lower lfm2-350m at `width` for laptop_cpu, then measure it."""
    import warnings

    warnings.simplefilter("ignore")
    from star_search.commands.profile import profile_spec
    from star_search.profiler.device_profile import load_profile
    from star_search.profiler.meter import Meter
    from star_search.resources import resolve_config
    from star_search.sizing import param_count

    profile = load_profile(resolve_config("laptop_cpu", "device_profiles", "device"))
    spec = profile_spec("lfm2-350m", width=width, vocab_size=None)
    meter = Meter.for_profile(profile, Path(cache_dir))
    started = time.perf_counter()
    program = meter.program(spec)
    lowering_wall = time.perf_counter() - started
    started = time.perf_counter()
    meter.measure(spec, fresh=True)
    return {"width": width, "params": param_count(spec), "pattern": spec.pattern(),
            "lowering_s": program.lowering_s, "lowering_wall_s": lowering_wall,
            "measure_s": time.perf_counter() - started, "pte_mib": program.size_bytes / 2**20,
            "quantize": profile.shapes.quantize}


def lowering_costs(out: Path, widths: list[int]) -> list[dict[str, Any]]:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    results = []
    for width in widths:
        cache = out / f"lowering-{width}"
        shutil.rmtree(cache, ignore_errors=True)
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            result = pool.submit(_lower_and_measure, width, str(cache)).result()
        result["per_hour"] = 3600 / (result["lowering_wall_s"] + result["measure_s"])
        print(f"lowering d_model {width}: {result['lowering_s']:.1f} s, measured in "
              f"{result['measure_s']:.1f} s", flush=True)
        results.append(result)
    return results


def fast_path_cost(out: Path, trials: int) -> dict[str, Any]:
    try:
        from star_search.latency import LatencyPredictor  # noqa: F401 - the fast path needs it
    except ImportError as err:
        return {"missing": f"star_search.latency.LatencyPredictor is not importable ({err})"}
    run_dir = out / "fast"
    shutil.rmtree(run_dir, ignore_errors=True)
    wall, output, code = timed_run(
        [*star_search_command(), "search", "space=demo", "device=laptop_cpu", f"search.n_trials={trials}",
         "search.pipeline=[static,predict,demo]", f"out_dir={run_dir}",
         f"search.cache_dir={run_dir / 'cache'}"], out / "fast.log")
    match = re.search(r"latency table .* built in (\d+(?:\.\d+)?) s", output)
    table_s = float(match.group(1)) if match else 0.0
    rows = read_trials(run_dir / "trials.csv")
    complete = [r for r in rows if r.get("state") in ("COMPLETE", "PRUNED")]
    search_s = max(wall - table_s, 1e-9)
    return {"wall_s": wall, "exit": code, "table_build_s": table_s, "table_build_found": bool(match),
            "trials": len(rows), "evaluated": len(complete), "search_s": search_s,
            "per_hour": len(complete) / (search_s / 3600)}


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    block = f"{SECTION_START}\n{section.rstrip()}\n{SECTION_END}"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        text = before + block + rest.split(SECTION_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024", help="d_model widths of lfm2-350m to lower")
    parser.add_argument("--fast-trials", type=int, default=16)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "runs" / "search-cost")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: demo, lowering, fast")
    parser.add_argument("--benchmarks-md", type=Path, default=None)
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    lines = ["## Search cost on this machine (`benchmarks/search_cost.py`)", "",
             "```bash", ".venv/bin/python benchmarks/search_cost.py " + " ".join(argv or sys.argv[1:]),
             "```", "",
             f"Run {date}, {os.cpu_count()} cores, load average {load:.1f} at the start.", ""]
    if "demo" not in skip:
        demo = demo_cost(args.out_dir)
        print(f"demo: {demo}", flush=True)
        lines += [f"- README demo (`star-search {' '.join(DEMO)}`): **{demo['wall_s'] / 60:.1f} min** wall "
                  f"(exit {demo['exit']}), {demo['complete']} of {demo['trials']} trials complete, "
                  f"{demo['measured']} measured; median trial "
                  f"{demo['median_trial_s'] or float('nan'):.0f} s; "
                  f"**{demo['measured_per_hour'] or 0:.0f} measured candidates per hour** (demo size)."]
    if "lowering" not in skip:
        widths = [int(w) for w in args.sizes.split(",") if w.strip()]
        costs = lowering_costs(args.out_dir, widths)
        lines += ["", "| lfm2-350m at d_model | params | lowering s | measurement s | .pte MiB | "
                  "measured candidates / hour |", "|---|---|---|---|---|---|"]
        lines += [f"| {c['width']} | {c['params'] / 1e6:.0f}M | {c['lowering_s']:.0f} | "
                  f"{c['measure_s']:.0f} | "
                  f"{c['pte_mib']:.0f} | {c['per_hour']:.0f} |" for c in costs]
    if "fast" not in skip:
        fast = fast_path_cost(args.out_dir, args.fast_trials)
        print(f"fast path: {fast}", flush=True)
        if "missing" in fast:
            lines += ["", f"- Fast path: not measured: {fast['missing']}."]
        else:
            lines += ["", f"- Fast path (`search.pipeline=[static,predict,demo]`, {fast['trials']} trials, "
                      f"{fast['evaluated']} evaluated): latency table built in {fast['table_build_s']:.0f} s "
                      f"(once per device and space), then **{fast['per_hour']:.0f} predicted candidates per "
                      f"hour** ({fast['search_s']:.0f} s for the trials, exit {fast['exit']})."]
    lines += ["", f"Total wall time of the benchmark {(time.perf_counter() - started) / 60:.1f} min; "
              f"load average {os.getloadavg()[0]:.1f} at the end."]
    section = "\n".join(lines)
    print("\n" + section)
    if args.benchmarks_md:
        write_section(args.benchmarks_md, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
