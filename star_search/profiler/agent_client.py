"""AgentClient: talk to one profiler agent over HTTP(S) (upload if missing, submit, poll).

A measurement survives its agent being restarted: while a job is pending, the agent may be
unreachable for up to `reconnect_s` (a restart, a network blip), and a job the agent reports as
`retryable` (it stopped while the job ran, or its stored copy of the program was damaged) is
submitted once more, the program uploaded again if the agent lost it. Anything else ends the
measurement with a `ProfilerError` naming the agent, the job and the reason; an untrusted TLS
certificate is named as such, with the setting that fixes it.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from star_search.errors import ProfilerError, SpecError
from star_search.profiler.local import file_sha256
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol

_CHUNK_BYTES = 1 << 20
_FIRST_POLL_S = 0.1
_MAX_POLL_S = 2.0
_STATUS_TIMEOUT_S = 10.0
_SUBMISSIONS = 2  # a retryable failure is submitted once more
_PENDING = ("queued", "running")
log = logging.getLogger("star_search.agent_client")


class AgentUnreachable(ProfilerError):
    """No HTTP answer from the agent at all (refused, reset, timed out, TLS refused)."""


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            yield chunk


def _tls_problem(err: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx error, if any (httpx wraps httpcore, which wraps ssl)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def unreachable_reason(url: str, err: httpx.HTTPError) -> str:
    """Why the agent at `url` gave no answer, in words a user can act on."""
    tls = _tls_problem(err)
    if isinstance(tls, ssl.SSLCertVerificationError):
        return (f"agent {url}: its TLS certificate is not trusted ({tls.verify_message}); name "
                "the CA that signed it in agent.ca_file (a PEM file), or fix the certificate")
    if tls is not None:
        hint = " (is it serving plain http://?)" if "WRONG_VERSION_NUMBER" in str(tls) else ""
        return f"agent {url}: TLS handshake failed{hint} ({tls.reason or tls})"
    hint = ""
    if url.startswith("http://") and isinstance(err, httpx.RemoteProtocolError | httpx.ReadError):
        hint = " (if it serves TLS, its URL must start with https://)"
    return f"agent {url} unreachable{hint} ({type(err).__name__}: {err})"


class AgentClient:
    """One agent at `url`, authenticated with `token`. `request_timeout_s` bounds each HTTP call;
    `queue_wait_s` is how long a job may wait behind others before `measure` gives up;
    `reconnect_s` how long a pending job's agent may stay unreachable. `verify`: an SSL context
    trusting the agent's CA for https:// URLs (default: httpx's bundle, or $SSL_CERT_FILE)."""

    def __init__(self, url: str, token: str, request_timeout_s: float = 60.0,
                 queue_wait_s: float = 3600.0, reconnect_s: float = 120.0,
                 verify: ssl.SSLContext | bool = True):
        self.url = url.rstrip("/")
        self.queue_wait_s = queue_wait_s
        self.reconnect_s = reconnect_s
        self._http = httpx.Client(base_url=self.url, timeout=request_timeout_s, verify=verify,
                                  headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise AgentUnreachable(unreachable_reason(self.url, err)) from err
        if response.status_code in ok:
            return response
        try:
            detail = response.json().get("detail", response.text)
        except (ValueError, AttributeError):
            detail = response.text
        if response.status_code == 401:
            detail = "it rejected the token (check agent.token_env / agent.token_file)"
        raise ProfilerError(f"agent {self.url}: {method} {path} → HTTP {response.status_code}: "
                            f"{str(detail)[:500]}")

    def _json(self, response: httpx.Response, kind: type, what: str) -> Any:
        """The response's JSON, which must be a `kind` (what it is, for the error)."""
        try:
            data = response.json()
        except ValueError as err:
            raise ProfilerError(f"agent {self.url} sent {what} that is not JSON: "
                                f"{response.text[:200]!r}") from err
        if not isinstance(data, kind):
            raise ProfilerError(f"agent {self.url} sent {what} that is not a JSON "
                                f"{'object' if kind is dict else 'list'}: {str(data)[:200]}")
        return data

    def _job_json(self, response: httpx.Response) -> dict[str, Any]:
        job = self._json(response, dict, "a job")
        if not isinstance(job.get("job_id"), str) or job.get("state") not in (*_PENDING, "done", "failed"):
            raise ProfilerError(f"agent {self.url} sent a job without a job_id and a known state: "
                                f"{str(job)[:200]}")
        return job

    def health(self) -> dict[str, Any]:
        return self._json(self._call("GET", "/health"), dict, "its health")

    def devices(self) -> list[dict[str, Any]]:
        # Asked before every measurement to pick an agent: a slow agent must not hold the pool up.
        devices = self._json(self._call("GET", "/devices", timeout=_STATUS_TIMEOUT_S), list, "its devices")
        if not all(isinstance(d, dict) and isinstance(d.get("device_id"), str)
                   and isinstance(d.get("queued"), int) and isinstance(d.get("running"), bool)
                   for d in devices):
            raise ProfilerError(f"agent {self.url} sent a device list without device_id/queued/"
                                f"running: {str(devices)[:200]}")
        return devices

    def has_program(self, sha256: str) -> bool:
        return self._call("HEAD", f"/programs/{sha256}", ok=(200, 404)).status_code == 200

    def upload(self, path: Path, sha256: str) -> None:
        size = path.stat().st_size
        self._call("PUT", f"/programs/{sha256}", ok=(200, 201), content=_chunks(path),
                   headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})

    def submit(self, sha256: str, device_id: str | None, protocol: MeasurementProtocol) -> dict[str, Any]:
        body = {"program_sha256": sha256, "device_id": device_id, "protocol": protocol.to_dict()}
        return self._job_json(self._call("POST", "/jobs", ok=(200, 202), json=body))

    def job(self, job_id: str) -> dict[str, Any]:
        return self._job_json(self._call("GET", f"/jobs/{job_id}"))

    def _wait(self, job: dict[str, Any], protocol: MeasurementProtocol) -> dict[str, Any]:
        """Poll until the job is done or failed; the agent may be away up to `reconnect_s`."""
        patience_s = protocol.timeout_s + self.queue_wait_s
        deadline = time.monotonic() + patience_s
        pause, away_since = _FIRST_POLL_S, None
        while job["state"] in _PENDING:
            if time.monotonic() > deadline:
                raise ProfilerError(f"agent {self.url}: job {job['job_id']} still {job['state']} "
                                    f"after {patience_s:g} s")
            time.sleep(pause)
            pause = min(pause * 1.5, _MAX_POLL_S)
            try:
                job = self.job(job["job_id"])
                away_since = None
            except AgentUnreachable as err:
                away_since = away_since or time.monotonic()
                if time.monotonic() - away_since > self.reconnect_s:
                    raise ProfilerError(f"agent {self.url} went away while job {job['job_id']} was "
                                        f"{job['state']} and did not come back within "
                                        f"{self.reconnect_s:g} s: {err}") from err
        return job

    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol,
                device_id: str | None = None) -> Measurement:
        """Upload the program unless the agent has it, run a job, wait for its measurement."""
        path = Path(pte_path)
        if not path.is_file():
            raise ProfilerError(f"program file {path} does not exist")
        sha256 = file_sha256(path)
        for submission in range(1, _SUBMISSIONS + 1):
            if not self.has_program(sha256):
                self.upload(path, sha256)
            job = self._wait(self.submit(sha256, device_id, protocol), protocol)
            if job["state"] == "done":
                return self._measurement(job)
            failure = (f"agent {self.url}: job {job['job_id']} on {job.get('device_id')} failed: "
                       f"{job.get('error')}")
            if not job.get("retryable") or submission == _SUBMISSIONS:
                raise ProfilerError(failure)
            log.warning("%s; submitting it again", failure)
        raise AssertionError("unreachable: the last submission returns or raises")

    def _measurement(self, job: dict[str, Any]) -> Measurement:
        try:
            measurement = Measurement.from_dict(job["result"])
        except (SpecError, TypeError, ValueError, KeyError) as err:
            raise ProfilerError(f"agent {self.url}: job {job['job_id']} is done but its result is "
                                f"not a measurement ({err})") from err
        return replace(measurement, agent_url=self.url)
