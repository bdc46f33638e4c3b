"""PostgreSQL restarted during a 3-worker search: the workers wait for it and go on, the same
command resumes afterwards, and no finished trial is lost or run twice.

The server is the test's own (initdb into a temporary folder, on a free port), so stopping it
disturbs nothing else; the test is skipped, with the reason, where PostgreSQL's server binaries
are not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState
from ports import free_port

from star_search.errors import StudyStorageError
from star_search.search.storage import ReconnectingStorage

pytestmark = [pytest.mark.postgres,
              pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")]  # ask/tell, no optimize

STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]
TINY_SPACE = """\
name: tiny
description: Two-layer hybrids narrow enough to lower in seconds.
fixed: {vocab_size: 256, head_dim: 16, n_kv_heads: 2, ffn_multiple_of: 16, max_seq_len: 256}
params:
  d_model: {choices: [32, 64]}
  ffn_ratio: {choices: [2.0, 3.0]}
layers:
  - slots: [{mixer: [conv, attention]}, {mixer: [conv, attention]}]
"""
QUICK_PROFILE = """\
name: quick_cpu
backend: local
threads: 1
shapes: {prompt_len: 16, decode_steps: 4, context_len: 256}
protocol: {warmup: 1, repeats: 1, timeout_s: 120}
budgets: {decode_p50_ms: 1000.0, peak_rss_mb: 8192.0}
"""
N_TRIALS = 6
DOWNTIME_S = 3.0  # the server is down this long (workers' calls meanwhile are refused)


def _server_binaries() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if shutil.which("pg_ctl"):
        candidates.append(Path(shutil.which("pg_ctl")).parent)  # type: ignore[arg-type]
    for folder in reversed(candidates):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")



@dataclass
class PrivateServer:
    """A PostgreSQL server of the test's own; `run` runs its binaries as the owner of its data."""

    binaries: Path
    folder: Path
    port: int
    as_owner: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*self.as_owner, str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"),
                        "-l", str(self.folder / "server.log"), "-o", options, "-w", *args],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")  # ends every session, as a restart for maintenance does


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    binaries = _server_binaries()
    folder = Path(tempfile.mkdtemp(prefix="star-search-pg-"))  # outside pytest's root-only folders
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser to start PostgreSQL as another user")
        shutil.chown(folder, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_owner, str(binaries / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
                    "--auth=trust", "--no-sync", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    server = PrivateServer(binaries, folder, free_port(), as_owner)
    server.start()
    try:
        yield server
    finally:
        subprocess.run([*as_owner, str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def load_trials(url: str) -> list[FrozenTrial] | None:
    """The shared study's trials (None while the study or the server is not there): a fresh
    connection each time, so polling survives the restart."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs={"poolclass": sqlalchemy.pool.NullPool})
        try:
            return optuna.load_study(study_name="shared", storage=storage).get_trials()
        finally:
            storage.engine.dispose()
    except (KeyError, sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError):
        return None


def complete(trials: list[FrozenTrial]) -> dict[int, tuple[list[float] | None, str]]:
    return {t.number: (t.values, t.user_attrs["arch_id"]) for t in trials if t.state == TrialState.COMPLETE}


def assert_none_lost_or_run_twice(trials: list[FrozenTrial],
                                  before: dict[int, tuple[list[float] | None, str]]) -> None:
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    after = complete(trials)
    for number, record in before.items():
        assert after.get(number) == record, f"finished trial {number} was lost or changed"
    evaluated = [t.user_attrs["arch_id"] for t in trials
                 if t.state == TrialState.COMPLETE and "reused_from" not in t.user_attrs]
    assert len(evaluated) == len(set(evaluated)), "an architecture was evaluated twice"
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_storage_calls_wait_for_a_restarting_server(private_postgres: PrivateServer) -> None:
    storage = ReconnectingStorage(private_postgres.url, engine_kwargs={"pool_pre_ping": True})
    study = optuna.create_study(storage=storage, study_name="calls")
    trial = study.ask()
    private_postgres.stop()  # the pooled connection dies with the server
    restart = threading.Timer(DOWNTIME_S, private_postgres.start)
    restart.start()
    started = time.monotonic()
    try:
        trial.set_user_attr("during", "the restart")  # waits for the server, then goes through
    finally:
        restart.join()
    assert time.monotonic() - started >= DOWNTIME_S - 0.5
    study.tell(trial, 1.0)
    assert optuna.load_study(study_name="calls", storage=private_postgres.url).trials[0].user_attrs == {
        "during": "the restart"}
    storage.engine.dispose()


def test_a_server_gone_past_the_reconnect_window_is_a_named_error(private_postgres: PrivateServer,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ReconnectingStorage, "reconnect_window_s", 2.0)
    storage = ReconnectingStorage(private_postgres.url, engine_kwargs={"pool_pre_ping": True},
                                  heartbeat_interval=1)
    study = optuna.create_study(storage=storage, study_name="gone")
    trial = study.ask()
    private_postgres.stop()
    with pytest.raises(StudyStorageError, match=r"lost the study storage .*run the same command again"):
        trial.set_user_attr("after", "the server went")
    started = time.monotonic()
    storage.record_heartbeat(trial._trial_id)  # no error: a heartbeat must not end its thread
    with pytest.raises(StudyStorageError):  # once given up, later calls fail at once
        study.get_trials()
    assert time.monotonic() - started < 1.5
    private_postgres.start()
    assert study.get_trials()[0].state == TrialState.RUNNING  # back: calls go through again
    storage.engine.dispose()


@pytest.mark.slow  # ≈3 min here: a 3-worker search, then the same command again
def test_a_postgres_restart_during_a_three_worker_search_loses_nothing(
        private_postgres: PrivateServer, tmp_path: Path) -> None:
    space, profile = tmp_path / "tiny.yaml", tmp_path / "quick_cpu.yaml"
    space.write_text(TINY_SPACE)
    profile.write_text(QUICK_PROFILE)
    command = [*STAR_SEARCH, "search", f"space={space}", f"device={profile}",
               f"search.storage={private_postgres.url}", "search.study_name=shared",
               f"search.n_trials={N_TRIALS}", f"out_dir={tmp_path / 'run'}", "search.sampler=random",
               "proxies.steps=5", "search.workers=3", "search.heartbeat_interval_s=1",
               "search.grace_period_s=30"]
    log = tmp_path / "search.log"
    with log.open("w") as out:
        search = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        before = None
        while before is None:
            assert time.monotonic() < deadline, "never saw a finished trial beside a running one"
            assert search.poll() is None, f"the search ended before the restart: {log.read_text()[-3000:]}"
            time.sleep(0.5)
            trials = load_trials(private_postgres.url) or []
            if complete(trials) and any(t.state == TrialState.RUNNING for t in trials):
                before = complete(trials)
        private_postgres.stop()
        time.sleep(DOWNTIME_S)
        private_postgres.start()
        assert search.wait(timeout=900) == 0, log.read_text()[-4000:]
    finally:
        if search.poll() is None:
            os.killpg(search.pid, 9)
    output = log.read_text()
    assert "exited with code" not in output and "Traceback" not in output, output[-4000:]
    trials = load_trials(private_postgres.url)
    assert trials is not None
    assert_none_lost_or_run_twice(trials, before)
    assert sum(t.state.is_finished() for t in trials) >= N_TRIALS
    assert "lost the connection" in output, "the restart went unnoticed: it tested nothing"

    # The same command again resumes the study: nothing to add, nothing lost or redone.
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "finished, running 0 more" in again.stdout
    resumed = load_trials(private_postgres.url)
    assert resumed is not None and complete(resumed) == complete(trials)
    assert_none_lost_or_run_twice(resumed, before)
