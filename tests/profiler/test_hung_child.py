"""A measuring child that hangs: the protocol's timeout ends it with a `ProfilerError`, no process
of its family is left running, and in a search it is one failed trial, with its reason, while the
search goes on."""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from optuna.trial import TrialState
from tiny_search import tiny_search_settings

from star_search.errors import ProfilerError
from star_search.profiler import LocalBackend, MeasurementProtocol
from star_search.profiler import backends as backend_registry
from star_search.profiler.backend import BackendKind
from star_search.profiler.device_profile import with_changes

# A stand-in for the interpreter LocalBackend starts: it leaves two sleeping grandchildren (one
# in its process group, one in a session of its own, as a daemonising library would), says so,
# and hangs. With a marker file given, it does that only the first time and is Python after.
HANGING_PYTHON = """#!{python}
import os, subprocess, sys, time
once = {once!r}
if once and os.path.exists(once):
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
if once:
    open(once, "w").close()
sleeper = [sys.executable, "-c", "import time; time.sleep(600)", {marker!r}]
subprocess.Popen(sleeper)
subprocess.Popen(sleeper, start_new_session=True)
open({started!r}, "w").close()
time.sleep(600)
"""


def _hanging_python(folder: Path, once: bool = False) -> tuple[Path, str, Path]:
    """(the stand-in's path, the marker on its grandchildren's command lines, the file it
    creates once they run)."""
    marker, started = f"hung-child-{uuid.uuid4().hex}", folder / "hang-started"
    script = folder / "hanging-python"
    script.write_text(HANGING_PYTHON.format(python=sys.executable, marker=marker, started=str(started),
                                            once=str(folder / "hung-once") if once else ""))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, marker, started


def _live_processes(needle: str) -> list[str]:
    """Processes (not zombies) whose command line holds `needle`, as 'pid state cmdline'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmdline and state != "Z":
            found.append(f"{entry.name} {state} {cmdline}")
    return found


def _assert_none_left(needle: str, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while (left := _live_processes(needle)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left behind: {left}"


def test_hanging_child_times_out_and_leaves_no_process(
        tmp_path: Path, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    script, marker, started = _hanging_python(tmp_path)
    backend = LocalBackend(python=str(script))
    begin = time.monotonic()
    with pytest.raises(ProfilerError, match=r"measurement timed out after 3 s \(child killed\)"):
        backend.measure(tiny_pte, replace(quick_protocol, timeout_s=3))
    assert time.monotonic() - begin < 10
    assert started.exists(), "the stand-in never got as far as its grandchildren"
    _assert_none_left(marker)
    _assert_none_left(str(script))


def test_stopped_child_times_out_and_leaves_no_process(
        tmp_path: Path, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    program = tmp_path / "stopped.pte"  # a path of its own: this test's child is found by it
    program.write_bytes(tiny_pte.read_bytes())
    stopped: list[int] = []

    def stop_the_child() -> None:
        deadline = time.monotonic() + 10
        while not stopped and time.monotonic() < deadline:
            for line in _live_processes(str(program)):
                pid = int(line.split()[0])
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            time.sleep(0.01)

    watcher = threading.Thread(target=stop_the_child)
    watcher.start()
    with pytest.raises(ProfilerError, match=r"timed out after 4 s"):
        LocalBackend().measure(program, replace(quick_protocol, timeout_s=4))
    watcher.join()
    assert stopped, "the child was never seen to stop it"
    _assert_none_left(str(program))


@pytest.mark.slow  # ~70 s here: a 20 s hang, then a whole trial (proxies, lowering, measuring)
def test_a_hanging_measurement_is_one_failed_trial_and_the_search_goes_on(
        tmp_path: Path, quick_profile, monkeypatch: pytest.MonkeyPatch) -> None:
    from star_search.search import open_study, run_search

    script, marker, started = _hanging_python(tmp_path, once=True)
    # The profile's backend, with the stand-in as its interpreter: the first measurement hangs.
    monkeypatch.setitem(backend_registry.BACKENDS, "local", BackendKind(
        name="local", create=lambda profile: LocalBackend(python=str(script))))
    profile = with_changes(quick_profile, {"protocol": {"timeout_s": 20}})
    settings = tiny_search_settings(profile, tmp_path / "run")
    lines: list[str] = []
    outcome = run_search(settings, echo=lines.append)
    assert started.exists(), "the first measurement did not hang"
    trials = sorted(open_study(settings).trials, key=lambda trial: trial.number)
    assert [trial.state for trial in trials] == [TrialState.FAIL, TrialState.COMPLETE], lines
    assert trials[0].user_attrs["fail_stage"] == "measure"
    assert "measurement timed out after 20 s (child killed)" in trials[0].user_attrs["fail_reason"]
    assert trials[1].user_attrs["measurement"]["source"] == "measured"
    assert (outcome.n_complete, outcome.n_failed) == (1, 1)
    _assert_none_left(marker)
