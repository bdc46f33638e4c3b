"""Time and size of the HTML report of a 1,000-trial study (target: under 10 s and 10 MB).

    .venv/bin/python benchmarks/report_scale.py [--trials 1000] [--repeats 3] [--out DIR]

Builds a synthetic-but-real Optuna study in SQLite (LFM2-scale specs, 56 proxy tasks with
family means, measurements with every sample, some predicted figures and ETDump operator
times; see tests/report/synthetic_study.py), then, from a fresh load of the storage, times
collecting the report model and rendering and writing the page. Prints each repeat and the size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "report"))
from synthetic_study import build_synthetic_study

from star_search.report import collect, render_html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="folder for study.db and report.html")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="report-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{folder / 'study.db'}"
    start = time.perf_counter()
    build_synthetic_study(storage, args.trials, name=f"scale-{args.trials}")
    print(f"built {args.trials} trials in {storage} in {time.perf_counter() - start:.1f} s")
    totals = []
    for repeat in range(args.repeats):
        t0 = time.perf_counter()
        study = optuna.load_study(study_name=f"scale-{args.trials}", storage=storage)
        report = collect(study)
        t1 = time.perf_counter()
        page = render_html(report)
        path = folder / "report.html"
        path.write_text(page, encoding="utf-8")
        t2 = time.perf_counter()
        totals.append(t2 - t0)
        print(f"repeat {repeat}: load+collect {t1 - t0:.2f} s, render+write {t2 - t1:.2f} s, "
              f"total {t2 - t0:.2f} s")
    size = path.stat().st_size
    print(f"front {report.summary.n_front}, feasible {report.summary.n_feasible}, "
          f"hypervolume {report.hypervolume.final:.4f}")
    print(f"median total {statistics.median(totals):.2f} s; report {size / 1e6:.2f} MB ({path})")


if __name__ == "__main__":
    main()
