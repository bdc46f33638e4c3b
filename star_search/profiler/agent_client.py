"""AgentClient: talk to one profiler agent over HTTP (upload if missing, submit, poll)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from star_search.errors import ProfilerError
from star_search.profiler.local import file_sha256
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol

_CHUNK_BYTES = 1 << 20
_FIRST_POLL_S = 0.1
_MAX_POLL_S = 2.0
_STATUS_TIMEOUT_S = 10.0


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            yield chunk


class AgentClient:
    """One agent at `url`, authenticated with `token`. `request_timeout_s` bounds each HTTP call;
    `queue_wait_s` is how long a job may wait behind others before `measure` gives up."""

    def __init__(self, url: str, token: str, request_timeout_s: float = 60.0,
                 queue_wait_s: float = 3600.0):
        self.url = url.rstrip("/")
        self.queue_wait_s = queue_wait_s
        self._http = httpx.Client(base_url=self.url, timeout=request_timeout_s,
                                  headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise ProfilerError(f"agent {self.url} unreachable ({type(err).__name__}: {err})") from err
        if response.status_code in ok:
            return response
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if response.status_code == 401:
            detail = "it rejected the token (check agent.token_env / agent.token_file)"
        raise ProfilerError(f"agent {self.url}: {method} {path} → HTTP {response.status_code}: "
                            f"{str(detail)[:500]}")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health").json()

    def devices(self) -> list[dict[str, Any]]:
        # Asked before every measurement to pick an agent: a slow agent must not hold the pool up.
        return self._call("GET", "/devices", timeout=_STATUS_TIMEOUT_S).json()

    def has_program(self, sha256: str) -> bool:
        return self._call("HEAD", f"/programs/{sha256}", ok=(200, 404)).status_code == 200

    def upload(self, path: Path, sha256: str) -> None:
        size = path.stat().st_size
        self._call("PUT", f"/programs/{sha256}", ok=(200, 201), content=_chunks(path),
                   headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})

    def submit(self, sha256: str, device_id: str | None, protocol: MeasurementProtocol) -> dict[str, Any]:
        body = {"program_sha256": sha256, "device_id": device_id, "protocol": protocol.to_dict()}
        return self._call("POST", "/jobs", ok=(200, 202), json=body).json()

    def job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}").json()

    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol,
                device_id: str | None = None) -> Measurement:
        """Upload the program unless the agent has it, run a job, wait for its measurement."""
        path = Path(pte_path)
        if not path.is_file():
            raise ProfilerError(f"program file {path} does not exist")
        sha256 = file_sha256(path)
        if not self.has_program(sha256):
            self.upload(path, sha256)
        job = self.submit(sha256, device_id, protocol)
        deadline = time.monotonic() + protocol.timeout_s + self.queue_wait_s
        pause = _FIRST_POLL_S
        while job["state"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise ProfilerError(f"agent {self.url}: job {job['job_id']} still {job['state']} after "
                                    f"{protocol.timeout_s + self.queue_wait_s:g} s")
            time.sleep(pause)
            pause = min(pause * 1.5, _MAX_POLL_S)
            job = self.job(job["job_id"])
        if job["state"] != "done":
            raise ProfilerError(f"agent {self.url}: job {job['job_id']} on {job['device_id']} failed: "
                                f"{job['error']}")
        return replace(Measurement.from_dict(job["result"]), agent_url=self.url)
