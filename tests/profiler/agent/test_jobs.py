"""Jobs on a real agent: measured results, failures that keep the agent serving, restarts."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import httpx

from star_search.profiler import Measurement, MeasurementProtocol


def _corrupt_copy(tiny_pte: Path, folder: Path) -> Path:
    """The program with its flatbuffer wrecked: the runtime refuses it (verification fails)."""
    data = bytearray(tiny_pte.read_bytes())
    data[8:4096] = os.urandom(4088)  # keep the ExecuTorch identifier
    path = folder / "corrupt.pte"
    path.write_bytes(bytes(data))
    return path


def _aborting_copy(tiny_pte: Path, folder: Path) -> Path:
    """The program with garbage inside its first XNNPACK payload (after the "XH00" header): the
    runtime aborts (SIGABRT) while compiling that delegate, a native crash of the child."""
    data = bytearray(tiny_pte.read_bytes())
    header = data.find(b"XH00")
    assert header > 0, "no XNNPACK payload in the program"
    data[header + 32:header + 96] = b"\xff" * 64
    path = folder / "aborting.pte"
    path.write_bytes(bytes(data))
    return path


def _runner_processes(program_sha256: str) -> list[int]:
    """Live processes whose command line names the program (the agent's measuring children)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if program_sha256 in cmdline and "star_search.profiler.runner" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_crashing_and_hanging_programs_fail_their_jobs_and_the_agent_goes_on(
        tmp_path: Path, start_agent, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    agent = start_agent(tmp_path / "data", job_timeout_s=60)
    corrupt = agent.submit(agent.upload(_corrupt_copy(tiny_pte, tmp_path)), quick_protocol)
    crashing = agent.submit(agent.upload(_aborting_copy(tiny_pte, tmp_path)), quick_protocol)
    good_sha = agent.upload(tiny_pte)
    # A run longer than its timeout is a hanging child as far as the agent can tell.
    hanging = agent.submit(good_sha, replace(quick_protocol, timeout_s=0.3))
    good = agent.submit(good_sha, quick_protocol)

    refused = agent.wait_for_job(corrupt["job_id"])
    assert refused["state"] == "failed" and "Verification failed" in refused["error"]
    crashed = agent.wait_for_job(crashing["job_id"])
    assert crashed["state"] == "failed" and crashed["result"] is None
    assert "child killed by signal SIGABRT" in crashed["error"]
    timed_out = agent.wait_for_job(hanging["job_id"])
    assert timed_out["state"] == "failed" and "timed out after 0.3 s" in timed_out["error"]

    done = agent.wait_for_job(good["job_id"])
    assert done["state"] == "done", done["error"]
    m = Measurement.from_dict(done["result"])
    assert (m.source, m.backend, m.device_id, m.program_sha256) == ("measured", "local", "test-cpu", good_sha)
    assert len(m.decode_samples_ms) == m.repeats * quick_protocol.decode_steps
    assert httpx.get(f"{agent.url}/health").status_code == 200
    states = {job["job_id"]: job["state"] for job in agent.http.get("/jobs").json()}
    assert states == {corrupt["job_id"]: "failed", crashing["job_id"]: "failed",
                      hanging["job_id"]: "failed", good["job_id"]: "done"}


def test_agent_caps_job_time(tmp_path: Path, start_agent, tiny_pte: Path,
                             quick_protocol: MeasurementProtocol) -> None:
    agent = start_agent(tmp_path / "data", job_timeout_s=0.5)
    job = agent.wait_for_job(agent.submit(agent.upload(tiny_pte), quick_protocol)["job_id"])
    assert job["state"] == "failed" and "timed out after 0.5 s" in job["error"]


def test_restart_keeps_programs_and_results_and_times_nothing_twice(
        tmp_path: Path, start_agent, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    data_dir = tmp_path / "data"
    first = start_agent(data_dir)
    sha256 = first.upload(tiny_pte)
    done = first.wait_for_job(first.submit(sha256, quick_protocol)["job_id"])
    assert done["state"] == "done"
    # The same request again, still on the first run: served from the agent's cache.
    again = first.submit(sha256, quick_protocol)
    assert again["state"] == "done" and again["cached"] and again["result"] == done["result"]
    first.stop(signal.SIGKILL)  # no clean shutdown: everything must already be on disk

    second = start_agent(data_dir)
    assert second.http.get(f"/jobs/{done['job_id']}").json() == done
    assert second.http.head(f"/programs/{sha256}").status_code == 200
    cached = second.submit(sha256, replace(quick_protocol, timeout_s=5.0))  # timeout is not in the key
    assert cached["state"] == "done" and cached["cached"] and cached["result"] == done["result"]
    other = second.submit(sha256, replace(quick_protocol, repeats=2, max_repeats=2))
    other = second.wait_for_job(other["job_id"])
    assert other["state"] == "done" and not other["cached"] and other["result"] != done["result"]


def test_agent_killed_mid_job_leaves_no_child_and_fails_that_job_on_restart(
        tmp_path: Path, start_agent, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    data_dir = tmp_path / "data"
    first = start_agent(data_dir)
    sha256 = first.upload(tiny_pte)
    slow = replace(quick_protocol, repeats=2000, max_repeats=2000, cv_target=1e-6, timeout_s=120)
    job = first.submit(sha256, slow)
    deadline = time.monotonic() + 60
    while not _runner_processes(sha256):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    time.sleep(2.0)  # past the child's start-up: it is timing (2000 repeats) when the agent dies
    assert _runner_processes(sha256), "the child ended before the agent was killed"
    first.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _runner_processes(sha256):  # the child dies with its parent (PR_SET_PDEATHSIG)
        assert time.monotonic() < deadline, "the measuring child outlived the agent"
        time.sleep(0.05)

    second = start_agent(data_dir)
    record = second.http.get(f"/jobs/{job['job_id']}").json()
    assert record["state"] == "failed" and "stopped while this job was running" in record["error"]
