"""Real agents for the tests: `star-search agent` started as a child process on 127.0.0.1."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from ports import free_port

from star_search.profiler import MeasurementProtocol
from star_search.profiler.local import file_sha256

START_TIMEOUT_S = 60.0



@dataclass
class RunningAgent:
    """One agent process; `http` is a client that sends the right token."""

    url: str
    token: str
    data_dir: Path
    device_id: str
    process: subprocess.Popen[bytes]
    log_path: Path
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=30,
                                 headers={"Authorization": f"Bearer {self.token}"})

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)

    def upload(self, program: Path) -> str:
        """Upload a program; returns its sha256."""
        sha256 = file_sha256(program)
        response = self.http.put(f"/programs/{sha256}", content=program.read_bytes())
        assert response.status_code in (200, 201), response.text
        return sha256

    def submit(self, sha256: str, protocol: MeasurementProtocol) -> dict:
        response = self.http.post("/jobs", json={"program_sha256": sha256, "protocol": protocol.to_dict()})
        assert response.status_code in (200, 202), response.text
        return response.json()

    def wait_for_job(self, job_id: str, timeout_s: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.http.get(f"/jobs/{job_id}").json()
            if job["state"] in ("done", "failed"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} unfinished after {timeout_s} s")


StartAgent = Callable[..., RunningAgent]


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "agent.token"
    path.write_text(secrets.token_urlsafe(32) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def start_agent(token_file: Path) -> Iterator[StartAgent]:
    """start_agent(data_dir, device_id=..., option=value, ...) → a RunningAgent, stopped after the test."""
    started: list[RunningAgent] = []

    def start(data_dir: Path, device_id: str = "test-cpu", **options: object) -> RunningAgent:
        port = free_port()
        log_path = data_dir.parent / f"{data_dir.name}-{port}.log"  # beside, not inside, data_dir
        command = [sys.executable, "-m", "star_search.commands.cli", "agent", "host=127.0.0.1",
                   f"port={port}", f"token_file={token_file}", f"data_dir={data_dir}",
                   f"device_id={device_id}",
                   *(f"{key}={value}" for key, value in options.items())]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        agent = RunningAgent(f"http://127.0.0.1:{port}", token_file.read_text().strip(), data_dir,
                             device_id, process, log_path)
        started.append(agent)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                log_tail = log_path.read_text()[-2000:]
                raise AssertionError(f"agent exited with {process.returncode}: {log_tail}")
            try:
                if httpx.get(f"{agent.url}/health", timeout=1).status_code == 200:
                    return agent
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                log_tail = log_path.read_text()[-2000:]
                raise AssertionError(f"agent not up after {START_TIMEOUT_S} s: {log_tail}")
            time.sleep(0.05)

    yield start
    for agent in started:
        agent.stop()
