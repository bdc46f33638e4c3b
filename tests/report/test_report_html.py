"""render_html / write_report / write_trials_csv on a real study."""

from __future__ import annotations

import csv

import optuna
import pytest
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

PLOTLY_MARKER = "* plotly.js v"


def test_report_is_self_contained_with_plotly_once(contract_study, tmp_path):
    path = write_report(contract_study, tmp_path / "out" / "report.html")
    page = path.read_text(encoding="utf-8")
    assert page.count(PLOTLY_MARKER) == 1
    assert page.count('class="plotly-graph-div"') == 3
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page
    for section in ("summary", "tradeoffs", "front", "trials", "failed"):
        assert f'<section id="{section}">' in page
    assert "budget 20" in page and "child crashed" in page


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
    assert "No complete trial yet" in page and "plotly.js v" not in page


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
