"""The report as a person sees it: opened in headless Chromium (Debian's package) via Playwright.

Checks that the page raises no JavaScript error, that every Plotly figure rendered, that the
trial table sorts when its header is clicked, that the CSV button downloads the trials CSV, and
that study strings cannot run script. Screenshots go to the test's tmp dir (never the checkout);
their paths are printed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from report_study import HOSTILE
from synthetic_study import build_synthetic_study

from star_search.report import write_comparison, write_report, write_trials_csv

pytestmark = pytest.mark.browser
STUDY_FIGURES = ("tradeoff-0", "tradeoff-1", "tradeoff-2", "parallel", "hypervolume", "families",
                 "task-scores", "latency-check", "operator-times")
CANDIDATES = (os.environ.get("STAR_SEARCH_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium")


def chromium_path() -> str | None:
    return next((path for path in CANDIDATES if path and Path(path).is_file()), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium not found (tried $STAR_SEARCH_CHROMIUM, chromium on PATH, /usr/bin/chromium); "
                    "install Debian's package: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path)
        yield launched
        launched.close()


class OpenPage:
    """A report opened in a fresh page, recording console errors, page errors and dialogs."""

    def __init__(self, browser, path: Path):
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def plots(self) -> dict[str, list[str]]:
        """Ids of the figure divs in the page, and of those Plotly has not drawn (no laid-out
        figure, no `.main-svg`, or a plot area of zero size)."""
        return self.page.evaluate("""() => {
            const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
            const drawn = d => {
                const svg = d.querySelector('.main-svg');
                return d._fullLayout && svg && svg.getBoundingClientRect().width > 100
                    && svg.getBoundingClientRect().height > 100;
            };
            return {divs: divs.map(d => d.id), undrawn: divs.filter(d => !drawn(d)).map(d => d.id)};
        }""")

    def screenshot(self, path: Path, capsys: pytest.CaptureFixture[str], selector: str | None = None) -> None:
        """Save a PNG (the whole page, or the element at `selector`) and print where it is."""
        self.page.evaluate("window.scrollTo(0, 0)")
        if selector is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            self.page.locator(selector).screenshot(path=str(path))
        with capsys.disabled():
            print(f"\nscreenshot: {path}")


@pytest.fixture(scope="module")
def study() -> optuna.Study:
    return build_synthetic_study(optuna.storages.InMemoryStorage(), 150, seed=5)


def column_values(page, table: str, column: str) -> list[str]:
    return page.evaluate("""([table, column]) => {
        const t = document.querySelector(table);
        const index = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent.trim() === column);
        return Array.from(t.tBodies[0].rows).map(r => r.cells[index].dataset.sort);
    }""", [table, column])


def test_report_renders_sorts_and_downloads_in_chromium(browser, study, tmp_path, capsys):
    path = write_report(study, tmp_path / "report.html")
    opened = OpenPage(browser, path)
    page = opened.page
    plots = opened.plots()
    assert plots == {"divs": list(STUDY_FIGURES), "undrawn": []}
    assert page.locator("#parallel .parcoords").count() == 1
    assert page.locator("#tradeoffs .scatterlayer .point").count() > 100

    table = "#trials table.sortable"
    header = page.locator(f"{table} th", has_text="quality").first
    header.click()
    ascending = [float(v) for v in column_values(page, table, "quality") if v != ""]
    assert ascending == sorted(ascending) and len(ascending) > 100
    header.click()
    descending = [float(v) for v in column_values(page, table, "quality") if v != ""]
    assert descending == sorted(ascending, reverse=True)
    assert header.get_attribute("data-order") == "desc"

    with page.expect_download() as download:
        page.click("#trials button.download")
    saved = tmp_path / "downloaded.csv"
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8") == write_trials_csv(study, tmp_path / "t.csv").read_text("utf-8")

    opened.screenshot(tmp_path / "report.png", capsys)
    assert (tmp_path / "report.png").stat().st_size > 50_000
    assert opened.problems == []
    page.close()


def test_comparison_renders_in_chromium(browser, study, tmp_path, capsys):
    other = build_synthetic_study(optuna.storages.InMemoryStorage(), 40, seed=6, name="phone")
    path = write_comparison([study, other], ["laptop", "phone"], tmp_path / "compare.html")
    opened = OpenPage(browser, path)
    plots = opened.plots()
    expected = ["compare-fronts", "compare-hypervolume",
                *(f"s{i}-{f}" for i in (1, 2) for f in STUDY_FIGURES)]
    assert plots == {"divs": expected, "undrawn": []}
    names = opened.page.evaluate("document.getElementById('compare-fronts')._fullData.map(t => t.name)")
    assert {"laptop: front", "phone: front", "laptop: chosen", "phone: chosen"} <= set(names)
    opened.screenshot(tmp_path / "comparison.png", capsys)
    assert opened.problems == []
    opened.page.close()


def test_study_strings_cannot_run_script(browser, contract_study, tmp_path):
    opened = OpenPage(browser, write_report(contract_study, tmp_path / "contract.html"))
    plots = opened.plots()
    assert len(plots["divs"]) == 6 and plots["undrawn"] == []
    # Hover the front member whose pattern is a script tag: the label shows it as text.
    hover_text = opened.page.evaluate("""() => {
        const gd = document.getElementById('tradeoff-0');
        const curve = gd.data.findIndex(t => t.name.startsWith('Pareto front'));
        const point = gd.data[curve].customdata.findIndex(d => d[0] === '6');
        Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: point}]);
        return gd.querySelector('.hoverlayer').textContent;
    }""")
    assert HOSTILE in hover_text
    assert HOSTILE in opened.page.inner_text("#trials table")
    assert opened.problems == []
    opened.page.close()
