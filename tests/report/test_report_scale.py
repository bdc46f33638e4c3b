"""Size of a large report: extrapolated from 300 trials, 1,000 must stay under 10 MB.

The page is plotly.js (fixed) plus data that grows with the trials; the growth per trial of a
300-trial report, times 1,000, plus the fixed part must fit. (Time is measured by
`benchmarks/report_scale.py`, not asserted here.)
"""

from __future__ import annotations

import optuna
from plotly.offline import get_plotlyjs
from synthetic_study import build_synthetic_study

from star_search.report import collect, render_html

LIMIT_BYTES = 10_000_000


def test_thousand_trials_would_fit_in_ten_megabytes():
    study = build_synthetic_study(optuna.storages.InMemoryStorage(), 300, seed=3)
    report = collect(study)
    page = render_html(report).encode("utf-8")
    fixed = len(get_plotlyjs().encode("utf-8"))
    per_trial = (len(page) - fixed) / 300
    assert report.summary.n_front > 5 and len(report.tasks.tasks) == 56
    assert fixed + 1000 * per_trial < LIMIT_BYTES, f"{per_trial:.0f} bytes per trial"
