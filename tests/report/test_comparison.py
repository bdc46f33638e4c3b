"""Several studies in one report: one hypervolume box, overlaid fronts, and the CLI list form."""

from __future__ import annotations

import re
import subprocess
import sys

import optuna
import pytest
from plotly.offline import get_plotlyjs
from synthetic_study import BUDGETS, build_synthetic_study

from star_search.errors import StarSearchError
from star_search.report import collect, collect_comparison, render_comparison_html, write_report_from_storage
from star_search.report.comparison import unique_labels

STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]


@pytest.fixture(scope="module")
def two_studies() -> list[optuna.Study]:
    return [build_synthetic_study(optuna.storages.InMemoryStorage(), 60, seed=seed, name=name,
                                  profile_name=name) for seed, name in ((1, "laptop"), (2, "phone"))]


def test_studies_share_one_box_and_keep_their_own_report(two_studies):
    comparison = collect_comparison(two_studies, ["laptop", "phone"])
    boxes = {report.hypervolume.box for report in comparison.reports}
    assert len(boxes) == 1
    box = boxes.pop()
    assert box.reference[1:] == (BUDGETS["decode_p50_ms"], BUDGETS["ttft_ms"], BUDGETS["peak_rss_mb"])
    alone = collect(two_studies[1])
    assert comparison.reports[1].summary == alone.summary
    assert comparison.reports[1].hypervolume.values == pytest.approx(alone.hypervolume.values)


def test_comparison_page_overlays_every_study(two_studies):
    page = render_comparison_html(collect_comparison(two_studies, ["laptop", "laptop"]))
    assert page.count("* plotly.js v") == 1
    ids = re.findall(r'<div id="([^"]+)" class="plotly-graph-div"', page)
    assert ids[:2] == ["compare-fronts", "compare-hypervolume"]
    assert "s1-tradeoff-0" in ids and "s2-tradeoff-0" in ids and len(ids) == len(set(ids))
    assert "laptop (2): front" in page and '<section id="s2-trials">' in page
    # An unlabelled budget line gets no placeholder annotation ("new text").
    assert "new text" in get_plotlyjs() and "new text" not in page.replace(get_plotlyjs(), "")


def test_labels_and_objectives_must_match(two_studies):
    assert unique_labels(["a", "b", "a", "a"]) == ("a", "b", "a (2)", "a (3)")
    with pytest.raises(StarSearchError, match="one label per study"):
        collect_comparison(two_studies, ["only one"])
    other = optuna.create_study(directions=["maximize", "minimize"], study_name="two-objectives")
    with pytest.raises(StarSearchError, match="compare studies with the same ones"):
        collect_comparison([two_studies[0], other], ["a", "b"])


def test_cli_takes_a_list_of_studies(tmp_path):
    for seed, name in ((1, "a"), (2, "b")):
        (tmp_path / name).mkdir()
        build_synthetic_study(f"sqlite:///{tmp_path / name / 'study.db'}", 30, seed=seed, name=name)
    out = tmp_path / "ab.html"
    result = subprocess.run([*STAR_SEARCH, "report", "study=[a,b]", "labels=[laptop,phone]", f"out={out}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "Study 2: phone" in page and 'id="compare-fronts"' in page
    # `study=a` reaches the library as a list of one: a plain single-study report.
    url = f"sqlite:///{tmp_path / 'a' / 'study.db'}"
    single = write_report_from_storage([url], None, tmp_path / "a.html")
    assert "compare-fronts" not in single.read_text(encoding="utf-8")
