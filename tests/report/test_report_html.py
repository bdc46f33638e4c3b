"""render_html / write_report / write_trials_csv on a real study."""

from __future__ import annotations

import base64
import csv
import gzip
import re

import optuna
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs
from report_study import HOSTILE, OUTCOMES

from star_search.errors import StarSearchError
from star_search.report import (
    collect,
    load_study,
    render_html,
    write_report,
    write_report_from_storage,
    write_trials_csv,
)
from star_search.report.figures import budget_in_view, draw_budget, tradeoff_figure

PLOTLY_MARKER = "* plotly.js v"


SECTIONS = ("summary", "tradeoffs", "overview", "front", "tasks", "latency", "operators", "failed", "trials")
# The contract study has per-task scores but no family means, predictions or operator times.
CONTRACT_FIGURES = ("tradeoff-0", "tradeoff-1", "tradeoff-2", "parallel", "hypervolume", "task-scores")


def figure_ids(page: str) -> list[str]:
    return re.findall(r'<div id="([^"]+)" class="plotly-graph-div"', page)


def test_report_is_self_contained_with_plotly_once(contract_study, tmp_path):
    path = write_report(contract_study, tmp_path / "out" / "report.html")
    page = path.read_text(encoding="utf-8")
    assert page.count(PLOTLY_MARKER) == 1
    assert figure_ids(page) == list(CONTRACT_FIGURES)
    own = page.replace(get_plotlyjs(), "")
    assert "<script src=" not in own and '<link rel="stylesheet"' not in own and "https://" not in own
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert "budget 20" in page and "child crashed" in page


def test_absent_details_are_explained(contract_study):
    page = render_html(collect(contract_study))
    assert "No predictions in this study: all 5 trials with latency figures were measured." in page
    assert "No per-operator breakdown: trial 0&#x27;s figures are measured" in page
    assert "(<code>operator_times</code>, from an ETDump)" in page and "`" not in page.split("</head>")[1]


def test_embedded_csv_is_the_trials_csv(contract_study, tmp_path):
    page = render_html(collect(contract_study))
    packed = re.search(r'<script type="application/gzip;base64" id="trials-csv">([^<]*)</script>', page)
    assert packed is not None
    embedded = gzip.decompress(base64.b64decode(packed.group(1))).decode("utf-8")
    written = write_trials_csv(contract_study, tmp_path / "trials.csv").read_text(encoding="utf-8")
    assert embedded == written and HOSTILE in embedded


def test_hostile_strings_are_escaped(contract_study):
    page = render_html(collect(contract_study))
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;boom&gt; &amp; exited" in page


def test_layer_strip_has_one_cell_per_layer(contract_study):
    report = collect(contract_study)
    page = render_html(report)
    for member in report.front:
        for index, mixer in enumerate(member.mixers):
            assert f'title="layer {index}: {mixer} / swiglu"' in page


def test_empty_study_renders_without_figures(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'empty.db'}", study_name="empty",
                                directions=["maximize", "minimize", "minimize", "minimize"])
    page = render_html(collect(study))
    assert "No complete trial yet" in page and "plotly.js v" not in page and not figure_ids(page)
    assert "No predictions in this study" in page and "no trial was chosen" in page


def test_csv_has_one_row_per_trial(contract_study, tmp_path):
    path = write_trials_csv(contract_study, tmp_path / "trials.csv")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(OUTCOMES)
    assert [int(r["number"]) for r in rows] == list(range(len(OUTCOMES)))
    assert rows[6]["pattern"] == HOSTILE and rows[4]["fail_stage"] == "measure"


def test_write_report_from_storage_finds_the_only_study(contract_storage_url, tmp_path):
    path = write_report_from_storage(contract_storage_url, None, tmp_path / "r.html")
    assert path.read_text(encoding="utf-8").count(PLOTLY_MARKER) == 1


def test_load_study_names_the_choices_when_ambiguous(tmp_path):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    for name in ("alpha", "beta"):
        optuna.create_study(storage=url, study_name=name)
    with pytest.raises(StarSearchError, match="'alpha', 'beta'"):
        load_study(url, None)
    with pytest.raises(StarSearchError, match="'gamma' is not in storage"):
        load_study(url, "gamma")
    assert load_study(url, "beta").study_name == "beta"


def test_far_budget_is_noted_instead_of_squashing_the_points():
    assert budget_in_view(20.0, [1.0, 12.0]) and not budget_in_view(100.0, [0.2, 0.7])
    figure = go.Figure()
    far_right = draw_budget(figure, 100.0, [0.2, 0.7])
    assert far_right == "budget 100 is far to the right: every point is within it"
    assert draw_budget(figure, -100.0, [0.2, 0.7]).endswith("far to the left: every point breaks it")
    assert not figure.layout.shapes and not figure.layout.annotations
    assert draw_budget(figure, 1.0, [0.2, 0.7]) == ""
    assert figure.layout.shapes[0].x0 == 1.0 and figure.layout.annotations[0].text == "budget 1"
    unlabelled = go.Figure()
    draw_budget(unlabelled, 0.5, [0.2, 0.7], label=False)
    assert unlabelled.layout.shapes[0].x0 == 0.5 and not unlabelled.layout.annotations


def test_quality_carries_its_seed_spread_as_error_bars(contract_study):
    """quality_sd rides from the trial's proxy record into the table, the CSV and the quality
    axis's error bars (0 where the spread is unknown); cost axes get none."""
    report = collect(contract_study)
    frame = report.trials.set_index("number")
    completed = frame[frame["state"] == "COMPLETE"]
    assert completed["quality_sd"].drop(index=0).eq(0.02).all() and completed["quality_sd"].isna()[0]
    figure = tradeoff_figure(report, "decode_p50_ms")
    bars = [trace for trace in figure.data if trace.error_y is not None and trace.error_y.array is not None]
    assert bars and all(trace.error_y.visible for trace in bars)
    drawn = sorted(v for trace in bars for v in trace.error_y.array)
    assert drawn and set(drawn) <= {0.0, 0.02} and 0.02 in drawn
    assert all(trace.error_x.array is None for trace in figure.data)
    page = render_html(report)
    assert "<th>quality_sd</th>" in page and "within seed noise" in page
