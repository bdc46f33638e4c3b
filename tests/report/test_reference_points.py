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


def measured(number: int, values: list[float], pattern: str,
             source: str = "measured") -> optuna.trial.FrozenTrial:
    made = optuna.trial.create_trial(state=TrialState.COMPLETE, values=values,
                                     user_attrs={"measurement": {"source": source}, "pattern": pattern})
    made.number = number
    return made


def test_the_answers_beside_a_reference_use_measured_trials_only() -> None:
    record = {"name": "lfm2", "pattern": "ccac", "arch_id": "x", "values": [0.5, 40.0, 3000.0, 800.0]}
    trials = [measured(0, [0.55, 20.0, 2000.0, 900.0], "cccc"),      # as good, 2x / 1.5x faster
              measured(1, [0.60, 30.0, 1000.0, 900.0], "ccaa"),      # as good, 1.33x / 3x: lesser 1.33
              measured(2, [0.52, 39.0, 2900.0, 700.0], "ccca"),      # as fast, as good
              measured(3, [0.70, 41.0, 2500.0, 700.0], "aaaa"),      # slower decode: not as fast
              measured(4, [0.90, 10.0, 1000.0, 700.0], "ssss", source="predicted")]  # not measured
    (point,) = reference_points([record], trials, NAMES, MAXIMIZE)
    # Fastest by the lesser speed-up: #0's 1.5 (decode 2x, TTFT 1.5x) beats #1's 1.33.
    assert point.fastest_as_good is not None and point.fastest_as_good.number == 0
    assert point.fastest_as_good.decode_speedup == 2.0 and point.fastest_as_good.ttft_speedup == 1.5
    best = point.best_as_fast
    assert best is not None and best.number == 1 and best.pattern == "ccaa" and best.quality == 0.60
    (slow,) = reference_points([record], trials[3:], NAMES, MAXIMIZE)
    assert slow.fastest_as_good is not None and slow.fastest_as_good.number == 3 and slow.best_as_fast is None
    (nothing,) = reference_points([{**record, "values": [0.95, 40.0, 3000.0, 800.0]}], trials[:2], NAMES,
                                  MAXIMIZE)
    assert nothing.fastest_as_good is None and nothing.best_as_fast is not None
