"""The host lock between processes: measurements wait for running work, and queued measurements
go before new work (real processes, real flock)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from star_search.host_lock import HostLock, working

HOLD_S = 0.8
SPAWN_S = 5.0  # every holder is started (imports done) before the plan's time zero


def _hold(lock: HostLock, mode: str, at: float, hold_s: float, out: multiprocessing.Queue) -> None:
    time.sleep(max(0.0, at - time.monotonic()))  # CLOCK_MONOTONIC is one clock for all processes
    with lock.working() if mode == "work" else lock.timing():
        out.put((mode, "in", time.monotonic()))
        time.sleep(hold_s)
        out.put((mode, "out", time.monotonic()))


def _events(lock: HostLock, plan: list[tuple[str, float, float]]) -> list[tuple[str, str, float]]:
    """Run `(mode, start offset, hold)` holders in spawned processes; their edges in time order."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    zero = time.monotonic() + SPAWN_S
    processes = [context.Process(target=_hold, args=(lock, mode, zero + start, hold, out))
                 for mode, start, hold in plan]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    events = [out.get(timeout=5) for _ in range(2 * len(plan))]
    return sorted(events, key=lambda event: event[2])


def test_work_runs_side_by_side_and_a_measurement_waits_for_it(tmp_path: Path) -> None:
    events = _events(HostLock(tmp_path), [("work", 0.0, HOLD_S), ("work", 0.0, HOLD_S), ("time", 0.3, 0.1)])
    order = [(mode, edge) for mode, edge, _ in events]
    assert order[:2] == [("work", "in"), ("work", "in")]  # shared: both hold it at once
    assert order[-2:] == [("time", "in"), ("time", "out")]  # alone: after both are done


def test_a_queued_measurement_goes_before_new_work(tmp_path: Path) -> None:
    # work A holds the lock; the measurement queues at 0.3 s; work B asks at 0.6 s, while A still
    # holds it: B must wait behind the measurement instead of starving it.
    plan = [("work", 0.0, HOLD_S * 1.5), ("time", 0.3, 0.2), ("work", 0.6, 0.1)]
    events = _events(HostLock(tmp_path), plan)
    starts = [mode for mode, edge, _ in events if edge == "in"]
    assert starts == ["work", "time", "work"]
    timed_in = next(t for mode, edge, t in events if (mode, edge) == ("time", "in"))
    first_out = next(t for mode, edge, t in events if (mode, edge) == ("work", "out"))
    assert timed_in >= first_out


def test_nested_work_shares_one_hold_and_timing_inside_work_is_refused(tmp_path: Path) -> None:
    lock = HostLock(tmp_path)
    with lock.working(), working(lock), pytest.raises(RuntimeError, match="wait for itself"), lock.timing():
        pass
    with lock.timing():  # released: a measurement now goes through at once
        pass
    with working(None):
        pass
