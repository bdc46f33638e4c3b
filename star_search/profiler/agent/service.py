"""AgentService: the agent's state and rules, independent of HTTP.

It owns the devices (one `Backend` each, one `DeviceWorker` thread each, so a device runs one
job at a time), the storage and the measurement cache. A job's protocol timeout is capped at the
agent's `job_timeout_s`; a backend enforces it by killing the measuring child. Whatever goes wrong
while a job runs becomes that job's failure reason; the agent goes on serving.

After a restart, finished jobs and uploaded programs are still there; jobs that were queued are
queued again, and a job that was running when the agent stopped is failed with that reason (its
child died with the agent).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

from star_search.errors import ProfilerError, StarSearchError
from star_search.profiler.agent.jobs import DeviceWorker, Job, log
from star_search.profiler.agent.storage import AgentStorage
from star_search.profiler.backend import Backend
from star_search.profiler.measurement_cache import MeasurementCache, measurement_key
from star_search.profiler.protocol import MeasurementProtocol


class UnknownName(StarSearchError):
    """A device, program or job the agent does not have (HTTP 404)."""


class AgentService:
    def __init__(self, storage: AgentStorage, backends: dict[str, Backend], job_timeout_s: float):
        if not backends:
            raise ProfilerError("an agent needs at least one device")
        self.storage = storage
        self.backends = dict(backends)
        self.job_timeout_s = job_timeout_s
        self.cache = MeasurementCache(storage.measurements_dir)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._pending: dict[str, str] = {}  # measurement key → id of the queued/running job
        self._workers = {device: DeviceWorker(device, self._run) for device in self.backends}
        self._recover()

    def _recover(self) -> None:
        requeue: list[Job] = []
        for record in self.storage.all_jobs():
            job = Job.from_dict(record)
            if job.state == "running":
                job.state, job.finished_at = "failed", time.time()
                job.error = "the agent stopped while this job was running; submit it again"
                self.storage.save_job(job.to_dict())
            elif job.state == "queued":
                if job.device_id in self.backends:
                    requeue.append(job)
                else:
                    job.state, job.finished_at = "failed", time.time()
                    job.error = f"device {job.device_id!r} is no longer served by this agent"
                    self.storage.save_job(job.to_dict())
            self._jobs[job.job_id] = job
        for job in sorted(requeue, key=lambda j: j.submitted_at):
            self._pending[self._key(job)] = job.job_id
            self._workers[job.device_id].submit(job.job_id)

    def start(self) -> None:
        for worker in self._workers.values():
            worker.start()

    def stop(self) -> None:
        for worker in self._workers.values():
            worker.stop()

    def devices(self) -> list[dict[str, Any]]:
        return [{"device_id": device, "backend": backend.name,
                 "queued": self._workers[device].queued,
                 "running": self._workers[device].running is not None}
                for device, backend in self.backends.items()]

    def default_device(self) -> str:
        return next(iter(self.backends))

    @staticmethod
    def _key(job: Job) -> str:
        """Identical requests share a job while it is pending (same timeout too: a request with a
        longer one must not inherit a shorter one's time-out)."""
        protocol = MeasurementProtocol.from_dict(job.protocol)
        return f"{measurement_key(job.program_sha256, job.device_id, protocol)}|{protocol.timeout_s!r}"

    def submit(self, device_id: str | None, program_sha256: str,
               protocol: MeasurementProtocol) -> tuple[Job, bool]:
        """Queue a job; returns (job, created). An identical queued or running job is returned
        instead of a new one; a cached measurement gives a job that is done at once."""
        device = device_id or self.default_device()
        if device not in self.backends:
            raise UnknownName(f"device {device!r} is not served here; devices: {list(self.backends)}")
        if not self.storage.has_program(program_sha256):
            raise UnknownName(f"program {program_sha256} has not been uploaded (PUT /programs/<sha256>)")
        job = Job(Job.new_id(), device, program_sha256, protocol.to_dict())
        key = self._key(job)
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                return self._jobs[pending], False
            cached = self.cache.get(program_sha256, device, protocol)
            if cached is not None:
                job.state, job.cached, job.result = "done", True, cached.to_dict()
                job.started_at = job.finished_at = job.submitted_at
            else:
                self._pending[key] = job.job_id
            self._jobs[job.job_id] = job
            self.storage.save_job(job.to_dict())
        if not job.cached:
            self._workers[device].submit(job.job_id)
        return job, True

    def job(self, job_id: str) -> Job:
        self.storage.job_path(job_id)  # validates the id's form
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownName(f"no job {job_id}")
        return job

    def jobs(self, state: str | None = None, limit: int = 100) -> list[Job]:
        with self._lock:
            jobs = [job for job in self._jobs.values() if state is None or job.state == state]
        return sorted(jobs, key=lambda job: -job.submitted_at)[:limit]

    def _update(self, job: Job, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            self.storage.save_job(job.to_dict())

    def _run(self, job_id: str) -> None:
        """Worker thread: run one job; every failure ends up in the job's record."""
        job = self._jobs[job_id]
        key = self._key(job)
        self._update(job, state="running", started_at=time.time())
        try:
            protocol = MeasurementProtocol.from_dict(job.protocol)
            protocol = replace(protocol, timeout_s=min(protocol.timeout_s, self.job_timeout_s))
            path = self.storage.program_path(job.program_sha256)
            measurement = self.backends[job.device_id].measure(path, protocol)
            self.cache.put(job.device_id, protocol, measurement)
            self._update(job, state="done", result=measurement.to_dict(), finished_at=time.time())
        except Exception as err:  # a job's failure must never take the agent down
            reason = str(err) if isinstance(err, StarSearchError) else f"{type(err).__name__}: {err}"
            log.warning("job %s failed: %s", job_id, reason)
            self._update(job, state="failed", error=reason, finished_at=time.time())
        finally:
            with self._lock:
                self._pending.pop(key, None)
