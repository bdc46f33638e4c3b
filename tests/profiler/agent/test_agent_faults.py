"""Faults around an agent: killed mid-job and restarted, gone for good, damaged files in its data
directory, answers that are not what the API promises. Each ends in a measurement or in a
`ProfilerError` that names the agent and the reason; none crashes the agent or the client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from tiny_search import tiny_search_settings

from star_search.errors import ProfilerError
from star_search.json_cache import JsonCache
from star_search.profiler import MeasurementProtocol
from star_search.profiler.agent_client import AgentClient
from star_search.profiler.local import file_sha256
from star_search.profiler.measurement_cache import measurement_key
from star_search.profiler.remote import RemoteBackend

START_TIMEOUT_S = 60.0


def _runner_children(parent_pid: int) -> list[int]:
    """Live measuring children (`star_search.profiler.runner`) of process `parent_pid`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == parent_pid and state != "Z" and b"star_search.profiler.runner" in cmdline:
            pids.append(int(entry.name))
    return pids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def restart() -> Iterator:
    """restart(agent) → the agent started again, same command line (port, token, data_dir)."""
    started: list[subprocess.Popen[bytes]] = []

    def again(agent) -> subprocess.Popen[bytes]:
        with agent.log_path.open("ab") as log:
            process = subprocess.Popen(agent.process.args, stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        started.append(process)

        def up() -> bool:
            assert process.poll() is None, agent.log_path.read_text()[-2000:]
            try:
                return httpx.get(f"{agent.url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        _wait_for(up, START_TIMEOUT_S, "the agent did not come back")
        return process

    yield again
    for process in started:
        process.terminate()
        process.wait(30)


def _slow(protocol: MeasurementProtocol) -> MeasurementProtocol:
    """Some seconds of timing on the tiny program: long enough to kill the agent mid-job."""
    return replace(protocol, repeats=1500, max_repeats=1500, cv_target=1e-6, timeout_s=120)


def _kill_mid_job(agent) -> None:
    """SIGKILL the agent while its child is timing; the child must die with it."""
    _wait_for(lambda: _runner_children(agent.process.pid), 60, "the job never started")
    child = _runner_children(agent.process.pid)[0]
    time.sleep(1.0)  # past the child's start-up: it is timing when the agent dies
    assert _alive(child), "the child ended before the agent was killed"
    agent.process.send_signal(signal.SIGKILL)
    agent.process.wait(15)
    _wait_for(lambda: not _alive(child), 10, "the measuring child outlived the agent")


def test_agent_killed_mid_job_and_restarted_the_measurement_goes_on(
        tmp_path: Path, start_agent, restart, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    agent = start_agent(tmp_path / "data")
    client = AgentClient(agent.url, agent.token, reconnect_s=60)
    protocol = _slow(quick_protocol)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.measure, tiny_pte, protocol)
        _kill_mid_job(agent)
        time.sleep(1.0)  # the client polls a dead agent for a while
        restart(agent)
        measurement = pending.result(timeout=300)
    assert (measurement.source, measurement.agent_url, measurement.repeats) == ("measured", agent.url, 1500)
    first, second = sorted(agent.http.get("/jobs").json(), key=lambda job: job["submitted_at"])
    assert first["state"] == "failed" and first["retryable"]
    assert "the agent stopped while this job was running" in first["error"]
    assert second["state"] == "done" and second["result"]["repeats"] == 1500
    # A job that failed for its program's sake is not submitted again.
    with pytest.raises(ProfilerError, match=r"failed: .*timed out after 0\.5 s"):
        client.measure(tiny_pte, replace(protocol, warmup=0, timeout_s=0.5))
    assert len(agent.http.get("/jobs").json()) == 3


def test_agent_gone_for_good_fails_the_measurement_by_name(
        tmp_path: Path, start_agent, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    agent = start_agent(tmp_path / "data")
    client = AgentClient(agent.url, agent.token, reconnect_s=3)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.measure, tiny_pte, _slow(quick_protocol))
        _kill_mid_job(agent)
        with pytest.raises(ProfilerError) as failure:
            pending.result(timeout=60)
    message = str(failure.value)
    assert f"agent {agent.url} went away while job " in message, message
    assert "did not come back within 3 s" in message and "ConnectError" in message, message


@pytest.mark.slow
def test_a_search_goes_on_through_an_agent_restart(tmp_path: Path, start_agent, restart,
                                                   token_file: Path) -> None:
    """The first trial's agent is killed while it measures and restarted: that trial is measured
    by the job submitted again, and the next trial runs as if nothing happened."""
    from optuna.trial import TrialState

    from star_search.profiler.device_profile import load_profile, with_changes
    from star_search.search import open_study, run_search

    agent = start_agent(tmp_path / "a", cores="[0]")
    root = Path(__file__).resolve().parents[3]
    profile = with_changes(load_profile(root / "device_profiles" / "remote_cpu.yaml"), {
        "agent": {"urls": [agent.url], "token_file": str(token_file), "token_env": None},
        "threads": 1, "shapes": {"prompt_len": 8, "decode_steps": 4},
        "protocol": {"repeats": 1500, "max_repeats": 1500, "cv_target": 1e-6, "timeout_s": 120}})
    settings = tiny_search_settings(profile, tmp_path / "run")
    with ThreadPoolExecutor(1) as pool:
        search = pool.submit(run_search, settings, lambda _: None)
        _kill_mid_job(agent)
        restart(agent)
        search.result(timeout=900)
    trials = sorted(open_study(settings).trials, key=lambda trial: trial.number)
    reasons = [t.user_attrs.get("fail_reason") for t in trials]
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2, reasons
    assert all(t.user_attrs["measurement"]["agent_url"] == agent.url for t in trials)
    jobs = agent.http.get("/jobs").json()
    assert sorted(job["state"] for job in jobs) == ["done", "done", "failed"]
    assert [job["retryable"] for job in jobs if job["state"] == "failed"] == [True]


def _damage(path: Path, how: str) -> None:
    if how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "not an object":
        path.write_text("[1, 2, 3]")
    else:
        record = json.loads(path.read_text())
        how_field, _, value = how.partition("=")
        target = record.get("value", record)
        parent, _, leaf = how_field.rpartition(".")
        if parent:
            target = target[parent]
        target[leaf] = json.loads(value)
        path.write_text(json.dumps(record))


def test_damaged_records_in_the_data_dir_are_named_set_aside_and_rebuilt(
        tmp_path: Path, start_agent, restart, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    data = tmp_path / "data"
    agent = start_agent(data)
    sha256 = agent.upload(tiny_pte)
    protocols = [quick_protocol, replace(quick_protocol, repeats=2, max_repeats=2),
                 replace(quick_protocol, warmup=0), replace(quick_protocol, warmup=2)]
    jobs = [agent.wait_for_job(agent.submit(sha256, protocol)["job_id"]) for protocol in protocols]
    assert [job["state"] for job in jobs] == ["done"] * 4
    agent.process.send_signal(signal.SIGKILL)
    agent.process.wait(15)
    records = [data / "jobs" / f"{job['job_id']}.json" for job in jobs]
    _damage(records[0], "truncate")
    _damage(records[1], "not an object")
    _damage(records[2], 'result.ttft_samples_ms=["fast"]')
    _damage(records[3], 'state="exploded"')
    cache = JsonCache(data / "measurements")
    entries = [cache.path(measurement_key(sha256, "test-cpu", protocol)) for protocol in protocols]
    assert sorted(entries) == sorted((data / "measurements").glob("*.json"))
    _damage(entries[0], "truncate")
    _damage(entries[1], "not an object")
    entries[2].write_text(json.dumps({"key": json.loads(entries[2].read_text())["key"], "value": 5}))
    program = data / "programs" / f"{sha256}.pte"
    damaged = bytearray(program.read_bytes())
    damaged[1000:1100] = b"\0" * 100
    program.write_bytes(bytes(damaged))

    restart(agent)  # starts; every damaged file is named in the log and moved aside
    log_text = agent.log_path.read_text()
    for path in (*records, *entries[:3]):
        assert f"{path.name} was damaged" in log_text, path
        assert not path.exists()
    assert entries[3].exists()
    assert len(list((data / "corrupt").iterdir())) == 7
    for job in jobs:
        lost = agent.http.get(f"/jobs/{job['job_id']}")
        assert lost.status_code == 404 and "was damaged" in lost.json()["detail"], lost.text
        assert "submit it again" in lost.json()["detail"]
    assert agent.http.get("/jobs").json() == []

    # The program's copy is damaged too: the job says so, the client uploads it again. (The
    # cache entry of protocols[0] was set aside: nothing answers for the program but itself.)
    client = AgentClient(agent.url, agent.token)
    measurement = client.measure(tiny_pte, quick_protocol)
    assert measurement.program_sha256 == sha256 == file_sha256(program)
    failed, done = sorted(agent.http.get("/jobs").json(), key=lambda job: job["submitted_at"])
    assert failed["retryable"] and f"stored program {sha256} is damaged" in failed["error"]
    assert done["state"] == "done" and not done["cached"]
    # The cache entry is sound again: the same request is answered from it.
    again = agent.submit(sha256, quick_protocol)
    assert again["cached"] and again["result"] == done["result"]
    assert "Traceback" not in agent.log_path.read_text()
    assert " 500 " not in agent.log_path.read_text()


def _answering(body: object, status: int = 200) -> AgentClient:
    """A client whose agent answers every request with `body` (JSON, or text when a str)."""
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    client = AgentClient("http://agent.invalid:1", "t" * 32)
    client._http = httpx.Client(base_url=client.url, transport=httpx.MockTransport(answer))
    return client


def test_answers_that_break_the_api_fail_by_name(tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    with pytest.raises(ProfilerError, match="sent its devices that is not JSON: '<html>"):
        _answering("<html>proxy error</html>").devices()
    with pytest.raises(ProfilerError, match="sent a device list without device_id"):
        _answering([{"device_id": "cpu", "queued": "many", "running": False}]).devices()
    with pytest.raises(ProfilerError, match="sent a job without a job_id and a known state"):
        _answering({"job_id": "0" * 32, "state": "exploded"}).job("0" * 32)
    done = {"job_id": "0" * 32, "state": "done", "device_id": "cpu", "result": {"ttft_ms": "fast"}}
    with pytest.raises(ProfilerError, match=r"job 0{32} is done but its result is not a measurement"):
        _answering(done).measure(tiny_pte, quick_protocol)
    # In a pool, an agent answering nonsense is skipped like an unreachable one.
    with pytest.raises(ProfilerError, match=r"no agent reachable: agent http://agent\.invalid:1 sent"):
        RemoteBackend([_answering("<html>")], "pool").measure(tiny_pte, quick_protocol)
