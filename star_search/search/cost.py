"""What a search costs: wall clock, CPU time, candidates per hour and programs lowered.

Each `run_search` call is one *session* (a fresh run, or a resume after a stop or a crash). The
session's cost is taken from this machine, not estimated: wall clock between its start and end,
CPU seconds of this process and of every child it waited for (the search workers, their proxy
workers and the isolated lowering processes), the trials that finished meanwhile (all workers),
and the ExecuTorch programs that appeared in the run's program cache (what was lowered, not
served from the cache). Sessions are appended to the study (`COST_ATTR`), so a resumed search
adds to what it already cost; a session killed before its end (power loss, SIGKILL) is not
recorded, and its trials then count in the next session's study total but not its rate.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna

from star_search.search.stopping import finished_count

COST_ATTR = "cost_sessions"
PROGRAM_SUFFIX = ".pte"


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have been waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def programs_in(directory: Path) -> int:
    """Lowered programs held by a program cache directory (0 when it does not exist yet)."""
    return sum(1 for _ in directory.glob(f"*{PROGRAM_SUFFIX}")) if directory.is_dir() else 0


@dataclass(frozen=True)
class SessionCost:
    """One `run_search` call: when it started, what it cost and what it finished."""

    started_at: str
    wall_s: float
    cpu_s: float
    trials: int
    programs_lowered: int
    workers: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionCost:
        return cls(str(data["started_at"]), float(data["wall_s"]), float(data["cpu_s"]), int(data["trials"]),
                   int(data["programs_lowered"]), int(data.get("workers", 1)))


@dataclass(frozen=True)
class SearchCost:
    """Sessions added up."""

    sessions: int
    wall_s: float
    cpu_s: float
    trials: int
    programs_lowered: int

    @classmethod
    def of(cls, sessions: Sequence[SessionCost]) -> SearchCost:
        return cls(len(sessions), sum(s.wall_s for s in sessions), sum(s.cpu_s for s in sessions),
                   sum(s.trials for s in sessions), sum(s.programs_lowered for s in sessions))

    @property
    def trials_per_hour(self) -> float | None:
        return self.trials / (self.wall_s / 3600) if self.wall_s > 0 else None

    @property
    def cpu_per_trial_s(self) -> float | None:
        return self.cpu_s / self.trials if self.trials else None

    def text(self) -> str:
        parts = [f"{_hours(self.wall_s)} wall", f"{_hours(self.cpu_s)} CPU", f"{self.trials} trials finished"]
        if self.trials_per_hour is not None:
            parts.append(f"{self.trials_per_hour:.1f} trials per hour")
        if self.cpu_per_trial_s is not None:
            parts.append(f"{self.cpu_per_trial_s:.0f} CPU s per trial")
        parts.append(f"{self.programs_lowered} programs lowered")
        if self.sessions > 1:
            parts.append(f"{self.sessions} sessions")
        return ", ".join(parts)


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{seconds / 60:.1f} min"


class CostClock:
    """Started when a session starts; `stop` gives the session's cost."""

    def __init__(self, study: optuna.Study, programs_dir: Path, workers: int):
        self.programs_dir = programs_dir
        self.workers = workers
        self.started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._wall = time.perf_counter()
        self._cpu = cpu_seconds()
        self._trials = finished_count(study)
        self._programs = programs_in(programs_dir)

    def stop(self, study: optuna.Study) -> SessionCost:
        return SessionCost(self.started_at, round(time.perf_counter() - self._wall, 1),
                           round(cpu_seconds() - self._cpu, 1), finished_count(study) - self._trials,
                           max(0, programs_in(self.programs_dir) - self._programs), self.workers)


def recorded_sessions(study: optuna.Study | dict[str, Any]) -> list[SessionCost]:
    """The sessions recorded on a study (or on its user attrs); malformed entries are skipped."""
    attrs = study if isinstance(study, dict) else study.user_attrs
    raw = attrs.get(COST_ATTR)
    sessions = []
    for entry in raw if isinstance(raw, list) else []:
        try:
            sessions.append(SessionCost.from_dict(entry))
        except (KeyError, TypeError, ValueError):
            continue
    return sessions


def record_session(study: optuna.Study, session: SessionCost) -> SearchCost:
    """Append `session` to the study's cost record; the study's total so far."""
    sessions = [*recorded_sessions(study), session]
    study.set_user_attr(COST_ATTR, [asdict(s) for s in sessions])
    return SearchCost.of(sessions)
