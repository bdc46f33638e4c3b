"""Many workers on one study in a real PostgreSQL server: no trial lost or run twice, SIGKILL safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

pytestmark = pytest.mark.postgres

STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]
QUICK_PROFILE = """\
name: quick_cpu
backend: local
threads: 1
shapes: {prompt_len: 16, decode_steps: 4, context_len: 256}
protocol: {warmup: 1, repeats: 1, timeout_s: 120}
budgets: {decode_p50_ms: 1000.0, peak_rss_mb: 8192.0}
"""


def search_args(space: Path, profile: Path, storage: str, out_dir: Path, n_trials: int,
                *extra: str) -> list[str]:
    return [*STAR_SEARCH, "search", f"space={space}", f"device={profile}", f"search.storage={storage}",
            "search.study_name=shared", f"search.n_trials={n_trials}", f"out_dir={out_dir}",
            "search.sampler=random", "proxies.steps=5", "search.heartbeat_interval_s=1",
            "search.grace_period_s=3", *extra]


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "quick_cpu.yaml"
    path.write_text(QUICK_PROFILE)
    return path


_STORAGES: dict[str, optuna.storages.RDBStorage] = {}


def load(url: str) -> optuna.Study:
    """The shared study, through one storage (one connection pool) per database: polling with a
    new storage each time would leave a pool of connections behind per poll."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if url not in _STORAGES:
        _STORAGES[url] = optuna.storages.RDBStorage(url, engine_kwargs={"pool_size": 1, "max_overflow": 1})
    return optuna.load_study(study_name="shared", storage=_STORAGES[url])


@pytest.fixture(autouse=True)
def _dispose_storages():
    yield
    for storage in _STORAGES.values():
        storage.engine.dispose()
    _STORAGES.clear()


def assert_records_whole(study: optuna.Study) -> None:
    numbers = [t.number for t in study.get_trials()]
    assert len(numbers) == len(set(numbers))
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        attrs = trial.user_attrs
        assert attrs["measurement"]["source"] == "measured" and attrs["proxy"]["tasks"]
        assert len(trial.values) == 4 and "hypervolume" in attrs


# Slow (≈95 s: three search processes); the two-process test below keeps a shared study in the
# default tier.
@pytest.mark.slow
def test_three_workers_share_one_study(postgres_url: str, tiny_space: Path, profile: Path,
                                       tmp_path: Path) -> None:
    args = search_args(tiny_space, profile, postgres_url, tmp_path / "run", 6, "search.workers=3")
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "on 3 workers" in result.stdout and "[worker 2]" in result.stdout
    study = load(postgres_url)
    finished = [t for t in study.get_trials() if t.state.is_finished()]
    assert 6 <= len(finished) <= 8  # three workers may each start one trial at the very end
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    assert_records_whole(study)
    hosts = {t.user_attrs.get("worker") for t in finished}
    assert len(hosts) >= 2, "the trials were not shared between worker processes"
    reused = [t for t in finished if "reused_from" in t.user_attrs]
    for trial in reused:  # a repeated architecture copies its twin's figures
        twin = study.trials[trial.user_attrs["reused_from"]]
        assert twin.user_attrs["arch_id"] == trial.user_attrs["arch_id"] and twin.values == trial.values


def test_sigkilled_worker_loses_nothing_and_its_trial_is_retried(postgres_url: str, tiny_space: Path,
                                                                 profile: Path, tmp_path: Path) -> None:
    n_trials = 5
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    processes = [
        subprocess.Popen(search_args(tiny_space, profile, postgres_url, tmp_path / f"run{i}", n_trials),
                         cwd=tmp_path, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        for i, log in enumerate(logs)]
    deadline = time.monotonic() + 600
    victim_trial = None
    while time.monotonic() < deadline and victim_trial is None:
        time.sleep(1)
        if processes[0].poll() is not None:
            pytest.fail(f"the worker to kill exited first: {logs[0].read_text()[-3000:]}")
        try:
            study = load(postgres_url)
        except KeyError:
            continue
        complete = study.get_trials(states=(TrialState.COMPLETE,))
        running = [t for t in study.get_trials(states=(TrialState.RUNNING,))
                   if t.user_attrs.get("worker", "").endswith(f":{processes[0].pid}")]
        if complete and running:
            victim_trial = running[0].number
    assert victim_trial is not None, "never saw a completed trial and a running one of the victim"
    before = {t.number: t.values for t in load(postgres_url).get_trials(states=(TrialState.COMPLETE,))}
    os.killpg(processes[0].pid, signal.SIGKILL)  # the worker, its proxy trainer and its measuring child
    processes[0].wait()
    assert processes[1].wait(timeout=900) == 0, logs[1].read_text()[-3000:]

    study = load(postgres_url)
    after = {t.number: t.values for t in study.get_trials(states=(TrialState.COMPLETE,))}
    for number, values in before.items():
        assert after[number] == values  # nothing completed was lost or redone
    killed = study.trials[victim_trial]
    assert killed.state == TrialState.FAIL
    retries = [t for t in study.get_trials() if victim_trial in t.system_attrs.get("retry_history", [])]
    assert len(retries) == 1 and retries[0].state.is_finished()
    assert retries[0].params == killed.params
    counted = [t for t in study.get_trials() if t.state.is_finished() and t.number != victim_trial]
    assert len(counted) >= n_trials
    assert_records_whole(study)
