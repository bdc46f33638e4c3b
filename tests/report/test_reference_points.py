"""Where a reference architecture falls against a study's feasible trials."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from star_search.report.reference_points import reference_points

NAMES = ("quality", "decode_p50_ms", "ttft_ms", "peak_rss_mb")
MAXIMIZE = (True, False, False, False)


def trial(number: int, values: list[float]) -> optuna.trial.FrozenTrial:
    made = optuna.trial.create_trial(state=TrialState.COMPLETE, values=values)
    made.number = number
    return made


def test_dominance_both_ways_and_failed_references() -> None:
    trials = [trial(0, [0.6, 5.0, 50.0, 500.0]),   # better and faster than the reference
              trial(1, [0.4, 9.0, 90.0, 900.0]),   # worse and slower
              trial(2, [0.6, 9.0, 90.0, 900.0])]   # better but slower: neither
    records = [{"name": "lfm2", "pattern": "ccac", "arch_id": "x", "values": [0.5, 8.0, 80.0, 800.0],
                "quality_sd": 0.03, "params": 10, "feasible": False},
               {"name": "broken", "pattern": "aa", "arch_id": "y", "error": "measure: child crashed"},
               "not a record"]
    scored, failed = reference_points(records, trials, NAMES, MAXIMIZE)
    assert scored.dominated_by == (0,) and scored.dominates == (1,) and not scored.on_front
    assert scored.quality_sd == 0.03 and scored.params == 10 and not scored.feasible
    assert scored.values == dict(zip(NAMES, [0.5, 8.0, 80.0, 800.0], strict=True))
    assert failed.values is None and failed.error == "measure: child crashed" and not failed.on_front
    (alone,) = reference_points(records[:1], trials[1:], NAMES, MAXIMIZE)
    assert alone.on_front and alone.dominates == (1,)
