"""Candidates a search evaluates first (`search.enqueue`), as Optuna's `Study.enqueue_trial`.

A sampler draws from the space as written; a corner it rarely reaches (in `lfm2_hybrid_350m`,
patterns of convolutions and attention only: every first slot conv, every second conv or
attention, 1 draw in 6 per group and 1 in 7,776 for five groups) may never be tried, however
good it is. Enqueued parameters are the way Optuna users put such points, or a known good
configuration, into a study: they are evaluated through the same pipeline as drawn trials, and
the sampler learns from them like from any other.

Each entry is a mapping of the study's own parameter names (as `trials.csv` and the report show
them, e.g. `d_model`, `g0.repeat`, `g0.r1.s2.mixer`) to values, or the path of a YAML file that
holds a list of such mappings. Every entry is checked against the space before the study starts:
a name the space does not sample, a value outside its choices or range, or a missing name is an
error naming `search.enqueue[i]`. An entry already in the study (enqueued or drawn) is not
enqueued again, so a resumed search does not repeat them. Enqueued trials carry the user
attribute `enqueued` (where the entry came from) and count towards `search.n_trials`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
import yaml

from star_search.errors import SpecError, StarSearchError
from star_search.space import SearchSpace
from star_search.space.sample import sample_arch

ENQUEUED_ATTR = "enqueued"


class _Given:
    """A `TrialLike` that answers every suggestion from fixed values, strictly."""

    def __init__(self, params: Mapping[str, Any], field: str):
        self.params = dict(params)
        self.field = field
        self.used: set[str] = set()

    def _value(self, name: str) -> Any:
        if name not in self.params:
            raise SpecError(self.field, sorted(self.params), f"a value for `{name}`, which the space samples")
        self.used.add(name)
        return self.params[name]

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        value = self._value(name)
        if value not in list(choices):
            raise SpecError(f"{self.field}.{name}", value, f"one of {list(choices)}")
        return value

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        value = self._value(name)
        if not _on_range(value, low, high, step, integer=True):
            raise SpecError(f"{self.field}.{name}", value, f"an integer in [{low}, {high}], step {step}")
        return value

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        value = self._value(name)
        if not _on_range(value, low, high, step, integer=False):
            steps = f", step {step}" if step else ""
            raise SpecError(f"{self.field}.{name}", value, f"a number in [{low}, {high}]{steps}")
        return float(value)


def _on_range(value: Any, low: float, high: float, step: float | None, integer: bool) -> bool:
    """`value` is a number of the right kind in [low, high] on the range's step grid."""
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        return False
    if not step:
        return True
    steps = (value - low) / step
    return abs(steps - round(steps)) < 1e-9


def read_entries(entries: Sequence[Any]) -> list[tuple[str, dict[str, Any]]]:
    """`search.enqueue` as (where, params) pairs: mappings as given, YAML files expanded."""
    out: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        field = f"search.enqueue[{index}]"
        if isinstance(entry, Mapping):
            out.append((field, dict(entry)))
            continue
        if not isinstance(entry, str | Path):
            raise SpecError(field, entry, "a mapping of parameter names to values, or a YAML file of them")
        path = Path(entry)
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise SpecError(field, str(entry), f"a readable YAML file ({err})") from None
        if not isinstance(loaded, list) or not all(isinstance(item, Mapping) for item in loaded):
            raise SpecError(field, str(entry), "a YAML file holding a list of parameter mappings")
        out.extend((f"{field} ({path.name}[{i}])", dict(item)) for i, item in enumerate(loaded))
    return out


def checked_entries(space: SearchSpace, entries: Sequence[Any]) -> list[tuple[str, dict[str, Any]]]:
    """`read_entries`, each built once from the space to prove it is one of its candidates.
    A candidate the space's own rules refuse (e.g. it cannot reach the parameter target) is
    allowed: it becomes a pruned trial with its reason, as a drawn one would."""
    checked = []
    for where, params in read_entries(entries):
        given = _Given(params, where)
        try:
            sample_arch(space, given)
        except SpecError as err:
            if err.field.startswith(where):
                raise
        except StarSearchError:
            pass
        unused = sorted(set(params) - given.used)
        if unused:
            raise SpecError(where, unused, f"only parameters the space samples ({sorted(given.used)})")
        checked.append((where, params))
    return checked


def enqueue(study: optuna.Study, entries: Sequence[tuple[str, dict[str, Any]]]) -> int:
    """Enqueue each checked entry not yet in the study; returns how many were enqueued."""
    before = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))
    for where, params in entries:
        study.enqueue_trial(params, user_attrs={ENQUEUED_ATTR: where}, skip_if_exists=True)
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))) - before
