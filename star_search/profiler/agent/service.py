"""AgentService: the agent's state and rules, independent of HTTP.

It owns the devices (one `Backend` each, one `DeviceWorker` thread each, so a device runs one
job at a time), the storage and the measurement cache. A job's protocol timeout is capped at the
agent's `job_timeout_s`; a backend enforces it by killing the measuring child. Whatever goes wrong
while a job runs becomes that job's failure reason; the agent goes on serving.

After a restart, finished jobs and uploaded programs are still there; jobs that were queued are
queued again, and a job that was running when the agent stopped is failed with that reason (its
child died with the agent) and marked `retryable`, so a client still waiting submits it again.

Damaged files in the data directory are found, named in the log and moved into corrupt/ rather
than trusted or crashed on: a job record at start-up (the job is then unknown, and asking for it
says why), a measurement cache entry at start-up or when looked up (a miss: measured again), a
stored program before it runs (its job fails `retryable`; the client uploads it again).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from star_search.errors import ProfilerError, SpecError, StarSearchError
from star_search.profiler.agent.jobs import DeviceWorker, Job, log
from star_search.profiler.agent.storage import AgentStorage, CorruptRecord
from star_search.profiler.backend import Backend
from star_search.profiler.measurement import Measurement
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
        self._damaged_jobs: dict[str, str] = {}  # job id → why its record was set aside
        self._check_measurements()
        self._recover()

    def _set_aside(self, path: Path, what: str, problem: object) -> str:
        """Move a damaged file into corrupt/ and log it; returns the reason, naming both places."""
        moved = self.storage.quarantine(path)
        reason = f"{what} {path.name} was damaged ({problem}); moved to {moved}"
        log.warning("%s", reason)
        return reason

    def _check_measurements(self) -> None:
        """Set aside cache entries that no longer read back as the measurement of their key."""
        for path in sorted(self.cache.directory.glob("*.json")):
            try:
                entry = json.loads(path.read_bytes())
                if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                    raise SpecError("entry", entry, 'a JSON object {"key": ..., "value": ...}')
                if self.cache.entries.path(entry["key"]) != path:
                    raise SpecError("entry.key", entry["key"], f"a key that hashes to {path.name}")
                if not isinstance(entry.get("value"), dict):
                    raise SpecError("entry.value", entry.get("value"), "a measurement")
                Measurement.from_dict(entry["value"])
            except (OSError, ValueError, TypeError, SpecError) as err:
                self._set_aside(path, "measurement cache entry", err)

    def _cached(self, program_sha256: str, device: str,
                protocol: MeasurementProtocol) -> Measurement | None:
        """The cached measurement, or None; an entry damaged since start-up is set aside (the
        job then measures again and stores a sound entry)."""
        try:
            return self.cache.get(program_sha256, device, protocol)
        except Exception as err:  # SpecError is a miss already; anything else is damage
            path = self.cache.entries.path(measurement_key(program_sha256, device, protocol))
            if path.is_file():
                self._set_aside(path, "measurement cache entry", f"{type(err).__name__}: {err}")
            return None

    def _recover(self) -> None:
        requeue: list[Job] = []
        for path, record in self.storage.job_records():
            try:
                if isinstance(record, CorruptRecord):
                    raise record
                job = Job.from_dict(record)
                if job.job_id != path.stem:
                    raise SpecError("job.job_id", job.job_id, f"{path.stem} (the record's file name)")
            except (CorruptRecord, SpecError) as err:
                self._damaged_jobs[path.stem] = self._set_aside(path, "job record", err)
                continue
            if job.state == "running":
                job.state, job.finished_at, job.retryable = "failed", time.time(), True
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
            cached = self._cached(program_sha256, device, protocol)
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
        if job is None and job_id in self._damaged_jobs:
            raise UnknownName(f"job {job_id} is lost: its {self._damaged_jobs[job_id]}; "
                              "submit it again")
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
            path = self.storage.verify_program(job.program_sha256)
            measurement = self.backends[job.device_id].measure(path, protocol)
            self.cache.put(job.device_id, protocol, measurement)
            self._update(job, state="done", result=measurement.to_dict(), finished_at=time.time())
        except Exception as err:  # a job's failure must never take the agent down
            reason = str(err) if isinstance(err, StarSearchError) else f"{type(err).__name__}: {err}"
            log.warning("job %s failed: %s", job_id, reason)
            self._update(job, state="failed", error=reason, finished_at=time.time(),
                         retryable=isinstance(err, CorruptRecord))
        finally:
            with self._lock:
                self._pending.pop(key, None)
