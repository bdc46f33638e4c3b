"""A measurement job and the worker thread that runs one device's jobs, one at a time."""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

from star_search.errors import SpecError
from star_search.profiler.agent.storage import JOB_ID_PATTERN, SHA256_PATTERN
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol

STATES = ("queued", "running", "done", "failed")
log = logging.getLogger("star_search.agent")


@dataclass
class Job:
    """One request to time a stored program on one device.

    state: queued → running → done | failed. result: the `Measurement` as a dict (done);
    error: why it failed (failed). cached: the result came from the agent's measurement cache
    without running anything. retryable: failed for a reason that is not the program's (the
    agent stopped while it ran, or its stored copy was damaged): a client still waiting submits
    it again. Times are seconds since the epoch.
    """

    job_id: str
    device_id: str
    program_sha256: str
    protocol: dict[str, Any]
    state: str = "queued"
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    cached: bool = False
    retryable: bool = False

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Job:
        """A job read back from its record; a record that is not a whole, consistent job raises
        SpecError naming the first bad field (`job.<field>`)."""
        if not isinstance(data, dict):
            raise SpecError("job", data, "a JSON object holding a job record")
        known = cls.__dataclass_fields__
        missing = [name for name, spec in known.items()
                   if name not in data and spec.default is MISSING and spec.default_factory is MISSING]
        if missing:
            raise SpecError(f"job.{missing[0]}", None, "present in every job record")
        job = cls(**{key: value for key, value in data.items() if key in known})
        job.check()
        return job

    def check(self) -> None:
        """Raise SpecError naming the first field that a well-formed job cannot hold."""
        for name, pattern in (("job_id", JOB_ID_PATTERN), ("program_sha256", SHA256_PATTERN)):
            value = getattr(self, name)
            if not isinstance(value, str) or not re.fullmatch(pattern, value):
                raise SpecError(f"job.{name}", value, f"a string matching {pattern}")
        if not isinstance(self.device_id, str):
            raise SpecError("job.device_id", self.device_id, "a device id (a string)")
        if self.state not in STATES:
            raise SpecError("job.state", self.state, f"one of {list(STATES)}")
        for name in ("submitted_at", "started_at", "finished_at"):
            value = getattr(self, name)
            if (value is None and name != "submitted_at") or _finite(value):
                continue
            raise SpecError(f"job.{name}", value, "a time in seconds since the epoch")
        for name in ("cached", "retryable"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"job.{name}", getattr(self, name), "true or false")
        MeasurementProtocol.from_dict(self.protocol)
        if self.state == "done":
            if not isinstance(self.result, dict):
                raise SpecError("job.result", self.result, "the measurement of a done job")
            try:
                Measurement.from_dict(self.result)
            except (TypeError, ValueError) as err:  # e.g. a sample that is not a number
                raise SpecError("job.result", self.result, f"a measurement ({err})") from err
        elif self.result is not None:
            raise SpecError("job.result", self.result, f"null for a {self.state} job")
        if self.state == "failed" and not isinstance(self.error, str):
            raise SpecError("job.error", self.error, "the reason a failed job failed")


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class DeviceWorker:
    """A thread that takes job ids from a queue and calls `run(job_id)` for each, in order.

    `run` must not raise (the agent turns every failure into a failed job); if it does anyway,
    the error is logged and the worker goes on with the next job.
    """

    def __init__(self, device_id: str, run: Callable[[str], None]):
        self.device_id = device_id
        self._run = run
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.running: str | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"agent-device-{device_id}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Let the current job finish (up to `timeout_s`), then end the thread; queued jobs stay
        queued (they are on disk and resume when the agent starts again)."""
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._stopping.is_set():
                return
            self.running = job_id
            try:
                self._run(job_id)
            except Exception:
                log.exception("job %s on %s raised past the agent's handler", job_id, self.device_id)
            finally:
                self.running = None
