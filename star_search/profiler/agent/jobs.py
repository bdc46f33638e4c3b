"""A measurement job and the worker thread that runs one device's jobs, one at a time."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

STATES = ("queued", "running", "done", "failed")
log = logging.getLogger("star_search.agent")


@dataclass
class Job:
    """One request to time a stored program on one device.

    state: queued → running → done | failed. result: the `Measurement` as a dict (done);
    error: why it failed (failed). cached: the result came from the agent's measurement cache
    without running anything. Times are seconds since the epoch.
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

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


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
