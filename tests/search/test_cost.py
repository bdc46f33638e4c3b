"""A search's measured cost: CPU of waited-for children counts, sessions add up across resumes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from star_search.search.cost import (
    COST_ATTR,
    CostClock,
    SearchCost,
    SessionCost,
    record_session,
    recorded_sessions,
)


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(directions=["maximize"])


def test_a_session_counts_child_cpu_finished_trials_and_new_programs(tmp_path: Path) -> None:
    study = _study()
    programs = tmp_path / "programs"
    programs.mkdir()
    (programs / "old.pte").write_bytes(b"x")
    clock = CostClock(study, programs, workers=1)
    burn = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    for value in (0.1, 0.2):
        study.tell(study.ask(), value)
    (programs / "new.pte").write_bytes(b"x")
    (programs / "new.json").write_text("{}")
    session = clock.stop(study)
    assert session.cpu_s >= 0.35  # the child's CPU, once waited for
    assert session.wall_s >= 0.35
    assert (session.trials, session.programs_lowered, session.workers) == (2, 1, 1)


def test_sessions_add_up_on_the_study_and_bad_entries_are_skipped() -> None:
    study = _study()
    first = SessionCost("2026-12-05T10:00:00+00:00", 3600.0, 7000.0, 30, 4, 1)
    assert record_session(study, first) == SearchCost(1, 3600.0, 7000.0, 30, 4)
    total = record_session(study, SessionCost("2026-12-05T12:00:00+00:00", 1800.0, 3500.0, 15, 2, 2))
    assert total == SearchCost(2, 5400.0, 10500.0, 45, 6)
    assert total.trials_per_hour == pytest.approx(30.0)
    assert total.cpu_per_trial_s == pytest.approx(233.3, abs=0.1)
    assert total.text() == ("1 h 30 min wall, 2 h 55 min CPU, 45 trials finished, 30.0 trials per hour, "
                            "233 CPU s per trial, 6 programs lowered, 2 sessions")
    study.set_user_attr(COST_ATTR, [*study.user_attrs[COST_ATTR], {"wall_s": "soon"}, "junk"])
    assert len(recorded_sessions(study)) == 2


def test_a_session_with_nothing_finished_has_no_rate() -> None:
    cost = SearchCost.of([SessionCost("2026-12-05T10:00:00+00:00", 30.0, 20.0, 0, 0, 1)])
    assert cost.trials_per_hour == pytest.approx(0.0) and cost.cpu_per_trial_s is None
    assert cost.text() == ("0.5 min wall, 0.3 min CPU, 0 trials finished, 0.0 trials per hour, "
                           "0 programs lowered")
