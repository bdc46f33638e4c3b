"""A study written by star-search opens in optuna-dashboard with its objective names and trial
records, and `trials.csv` agrees with `study.trials_dataframe()`.

The study comes from three real searches (`run_search`, the code `star-search search` runs) into
one study: a measured trial, one pruned by the parameter budget, and one whose measurement fails
(the meter patched to raise, as when the measuring child crashes). Each samples its own one-point
space, so no trial is a twin of another. The dashboard is optuna-dashboard's own WSGI app
(`optuna_dashboard.wsgi`, what `optuna-dashboard sqlite:///…` serves) on 127.0.0.1, read through
its JSON API.
"""

from __future__ import annotations

import csv
import json
import math
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna
import optuna_dashboard
import pytest

from star_search.errors import ProfilerError
from star_search.profiler.device_profile import load_profile, with_changes
from star_search.profiler.meter import Meter
from star_search.proxies.suite import proxy_config_for_tier
from star_search.report import write_trials_csv
from star_search.resources import resolve_config
from star_search.scoring import OBJECTIVE_NAMES
from star_search.search import SearchSettings, run_search
from star_search.space import SearchSpace, parse_space

STUDY_NAME = "dashboard"
# Two layers at width 32: lowers through ExecuTorch in seconds.
TINY_SPACE = {"name": "tiny", "fixed": {"vocab_size": 256, "head_dim": 16, "n_kv_heads": 2,
                                        "ffn_multiple_of": 16, "max_seq_len": 64},
              "params": {"d_model": {"choices": [32]}},
              "layers": [{"slots": [{"mixer": ["conv"]}, {"mixer": ["attention"]}]}]}
# Record keys every measured trial carries (search/objective.py), as the dashboard lists them.
TRIAL_RECORD = ("arch", "arch_id", "pattern", "params", "proxy", "measurement", "constraints",
                "constraint_names", "stage_seconds", "duration_s")
# Scalar user attrs the CSV copies verbatim.
CSV_ATTRS = ("pattern", "arch_id", "duration_s", "fail_stage", "fail_reason", "prune_stage", "prune_reason")


def _variant(vocab_size: int) -> SearchSpace:
    """TINY_SPACE with another vocabulary: another architecture (so never a twin), the same
    sampled parameters (Optuna refuses a parameter whose choices change within a study)."""
    return parse_space({**TINY_SPACE, "fixed": {**TINY_SPACE["fixed"], "vocab_size": vocab_size}})


@dataclass(frozen=True)
class Run:
    storage_url: str
    study: optuna.Study
    csv_path: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The three searches (module docstring) on the laptop profile cut to a short measurement."""
    out_dir = tmp_path_factory.mktemp("dashboard") / "run"
    laptop = load_profile(resolve_config("laptop_cpu", "device_profiles", "device"))
    protocol = {"warmup": 1, "repeats": 2, "max_repeats": 2, "timeout_s": 120}
    profile = with_changes(laptop, {"threads": 1, "shapes": {"prompt_len": 8, "decode_steps": 4},
                                    "protocol": protocol})
    settings = SearchSettings(space=_variant(256), profile=profile, out_dir=out_dir, n_trials=1,
                              study_name=STUDY_NAME, population_size=4, parallel_proxies=False,
                              proxies=replace(proxy_config_for_tier("demo"), steps=10))
    run_search(settings, echo=lambda _: None)
    pruning = with_changes(profile, {"budgets": {"params": 1000}})
    run_search(replace(settings, space=_variant(512), profile=pruning, n_trials=2),
               echo=lambda _: None)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise ProfilerError("the measuring child exited with signal 11")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Meter, "measure", crash)
        run_search(replace(settings, space=_variant(384), n_trials=3), echo=lambda _: None)
    study = optuna.load_study(study_name=STUDY_NAME, storage=settings.storage_url)
    csv_path = write_trials_csv(study, out_dir / "trials.csv")
    return Run(settings.storage_url, study, csv_path)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def dashboard(run: Run) -> Iterator[str]:
    """The base URL of optuna-dashboard serving the run's storage on a free port of 127.0.0.1."""
    server: WSGIServer = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(run.storage_url),
                                     handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def _study_detail(base_url: str) -> dict[str, Any]:
    studies = _get(f"{base_url}/api/studies")["study_summaries"]
    (summary,) = [s for s in studies if s["study_name"] == STUDY_NAME]
    return _get(f"{base_url}/api/studies/{summary['study_id']}")


def test_the_study_has_three_trial_states(run: Run) -> None:
    states = [t.state.name for t in run.study.trials]
    assert states == ["COMPLETE", "PRUNED", "FAIL"], [t.user_attrs for t in run.study.trials]


def test_the_dashboard_shows_objective_names_and_directions(run: Run, dashboard: str) -> None:
    detail = _study_detail(dashboard)
    assert detail["objective_names"] == list(OBJECTIVE_NAMES)
    assert detail["directions"] == [d.name.lower() for d in run.study.directions]
    study_attrs = {a["key"] for a in detail["user_attrs"]}
    assert {"space", "device_profile", "proxy_config", "pipeline"} <= study_attrs


def test_the_dashboard_shows_every_trial_record(run: Run, dashboard: str) -> None:
    detail = _study_detail(dashboard)
    trials = {t["number"]: t for t in detail["trials"]}
    assert {n: t["state"] for n, t in trials.items()} == {0: "Complete", 1: "Pruned", 2: "Fail"}
    measured = {a["key"]: a["value"] for a in trials[0]["user_attrs"]}
    assert set(TRIAL_RECORD) <= set(measured)
    assert measured["pattern"] == run.study.trials[0].user_attrs["pattern"]
    assert trials[0]["values"] == pytest.approx(run.study.trials[0].values)
    assert any(a["key"] == "prune_reason" for a in trials[1]["user_attrs"])
    failed = {a["key"]: a["value"] for a in trials[2]["user_attrs"]}
    assert failed["fail_stage"] == "measure" and "signal 11" in failed["fail_reason"]
    # The trials table's column picker lists the record keys.
    assert set(TRIAL_RECORD) <= {a["key"] for a in detail["union_user_attrs"]}


def test_the_dashboard_page_is_served(dashboard: str) -> None:
    with urllib.request.urlopen(f"{dashboard}/dashboard", timeout=30) as response:
        assert response.status == 200 and b"<html" in response.read().lower()


def _same(csv_text: str, expected: Any) -> bool:
    """Whether a CSV cell holds `expected` (None/NaN ↔ empty cell, numbers to float tolerance)."""
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return csv_text == ""
    if isinstance(expected, int | float):
        return math.isclose(float(csv_text), float(expected), rel_tol=1e-12)
    return csv_text == str(expected)


def test_trials_csv_agrees_with_trials_dataframe(run: Run) -> None:
    with run.csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    frame = run.study.trials_dataframe()
    assert [int(r["number"]) for r in rows] == frame["number"].tolist()
    assert [r["state"] for r in rows] == frame["state"].tolist()
    for row, (_, expected) in zip(rows, frame.iterrows(), strict=True):
        for name in OBJECTIVE_NAMES:
            assert _same(row[name], expected[f"values_{name}"]), (row["number"], name)
        for key in CSV_ATTRS:
            column = f"user_attrs_{key}"
            assert _same(row[key], expected[column] if column in frame else None), (row["number"], key)
        assert row["datetime_start"] == expected["datetime_start"].isoformat(timespec="seconds")
