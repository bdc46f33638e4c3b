"""Study-wide reuse of a finished twin's record (`twins.py`), and when a record may not stand."""

from __future__ import annotations

import time

import optuna
from optuna.trial import TrialState

from star_search.search.twins import finished_twin


def test_a_twin_whose_record_is_not_usable_is_evaluated_afresh() -> None:
    study = optuna.create_study()
    for checked in (False, True):
        study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0,
                                                  user_attrs={"arch_id": "abc", "checked": checked}))
    assert finished_twin(study, "abc", 99, 0.0).number == 0  # the first finished twin
    usable = finished_twin(study, "abc", 99, 0.0, lambda twin: twin.user_attrs["checked"])
    assert usable is not None and usable.number == 1
    assert finished_twin(study, "abc", 99, 0.0, lambda _: False) is None
    assert finished_twin(study, "other", 99, 0.0) is None


def test_an_unusable_finished_twin_is_not_waited_for() -> None:
    """Trial 227 of the shipping-size search waited the whole `twin_wait_s` (30 min) because its
    earlier twins had all finished with records recorded before the anchor check: waiting could
    not make them usable, and no earlier twin was still running."""
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0,
                                              user_attrs={"arch_id": "abc", "checked": False}))
    start = time.monotonic()
    assert finished_twin(study, "abc", 99, 60.0, lambda twin: twin.user_attrs["checked"]) is None
    assert time.monotonic() - start < 5.0
