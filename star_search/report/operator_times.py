"""Per-operator time of one trial's program, from the ETDump breakdown in its measurement.

`measurement["operator_times"]` (or a top-level `operator_times` user attr) is read in any of
these shapes: the profiler's list of `{method, operator, delegated, calls, ms}` records (times
per method call); a list of `{name, ms}` records (also `op` for the name, `time_ms`/`total_ms`
for the time); a mapping name → ms; or a mapping method → either of those. Repeated (method,
name) entries are added up, so per-event dumps become per-operator totals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

NAME_KEYS = ("operator", "name", "op")
TIME_KEYS = ("ms", "time_ms", "total_ms")
ALL_METHODS = "program"


@dataclass(frozen=True)
class OperatorTime:
    """ms: time per method call; calls: executions per method call (records when unknown);
    delegated: run by a delegate (XNNPACK), False for a portable kernel, None when unknown."""

    method: str
    name: str
    ms: float
    calls: float
    delegated: bool | None = None


@dataclass(frozen=True)
class OperatorBreakdown:
    """rows: per (method, operator), largest first; note: where it came from, or why it is empty."""

    trial_number: int | None = None
    rows: tuple[OperatorTime, ...] = ()
    note: str = "no trial was chosen"

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row.method for row in self.rows))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _ms(value: Any) -> float | None:
    if isinstance(value, dict):
        value = next((value[k] for k in TIME_KEYS if k in value), None)
    return _number(value)


def _entries(raw: Any, method: str) -> list[OperatorTime]:
    """Entries of a flat list of records or a flat mapping name → ms; [] for anything else."""
    if isinstance(raw, dict):
        return [OperatorTime(method, str(name), ms, 1.0) for name, value in raw.items()
                if (ms := _ms(value)) is not None]
    if not isinstance(raw, list):
        return []
    found = []
    for record in raw:
        if not isinstance(record, dict):
            continue
        name = next((record[k] for k in NAME_KEYS if k in record), None)
        ms = _ms(record)
        if name is None or ms is None:
            continue
        calls = _number(record.get("calls"))
        delegated = record.get("delegated")
        found.append(OperatorTime(str(record.get("method") or method), str(name), ms,
                                  1.0 if calls is None else calls,
                                  delegated if isinstance(delegated, bool) else None))
    return found


def _all_entries(raw: Any) -> list[OperatorTime]:
    if isinstance(raw, dict) and raw and all(isinstance(v, list | dict) and _ms(v) is None
                                             for v in raw.values()):
        return [entry for method, value in raw.items() for entry in _entries(value, str(method))]
    return _entries(raw, ALL_METHODS)


def operator_breakdown(number: int | None, attrs: dict[str, Any]) -> OperatorBreakdown:
    """The breakdown of trial `number` from its user attrs `attrs`."""
    if number is None:
        return OperatorBreakdown()
    measurement = attrs.get("measurement") if isinstance(attrs.get("measurement"), dict) else {}
    raw = measurement.get("operator_times", attrs.get("operator_times"))
    totals: dict[tuple[str, str, bool | None], OperatorTime] = {}
    for entry in _all_entries(raw):
        key = (entry.method, entry.name, entry.delegated)
        seen = totals.get(key)
        totals[key] = entry if seen is None else OperatorTime(
            entry.method, entry.name, seen.ms + entry.ms, seen.calls + entry.calls, entry.delegated)
    rows = tuple(sorted(totals.values(), key=lambda row: -row.ms))
    if rows:
        return OperatorBreakdown(number, rows, f"ETDump of trial {number}'s program "
                                              f"({measurement.get('backend', 'unknown backend')})")
    if not raw:
        source = measurement.get("source", "no measurement")
        why = (f"trial {number}'s figures are {source}; its measurement has no per-operator "
               f"breakdown (`operator_times`, from an ETDump). The profiler records one when the "
               f"device profile asks for it (`protocol.etdump: true`)")
    else:
        why = f"trial {number}'s `operator_times` holds no (operator, ms) entries it can read"
    return OperatorBreakdown(number, (), why)
