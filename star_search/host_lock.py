"""Keeps a measurement alone on this machine while other processes of the same run train proxies
and lower programs.

A search with several workers on one machine (or a latency table built beside one) shares the
CPU: a program timed while another worker trains a proxy reads up to twice as slow (TTFT 3.1 s
alone, 6.1 s beside proxy training, for LFM2-350M on 2 cores). Processes that share a cache
directory therefore share a `HostLock` there: timing a program on a local backend holds it
exclusively (`timing`); training a proxy or lowering a program holds it shared (`working`), so
any number of those run side by side but never during a measurement. A measurement that waits
closes a gate first, so new work queues behind it instead of starving it (writer preference on
top of `flock`, which has none). Locks are advisory `flock` locks on two files: they are
released when their process ends, however it ends.

A process that holds `working` may enter it again (nested work shares one hold); asking for
`timing` while holding `working` would wait for itself, so it raises instead.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GATE_FILE = "host.gate"
LOCK_FILE = "host.lock"

_held: dict[Path, int] = {}  # this process's nested `working` holds, by lock file


@dataclass(frozen=True)
class HostLock:
    """The lock of every process sharing `directory` (picklable: it is just the path)."""

    directory: Path

    @property
    def path(self) -> Path:
        return Path(self.directory) / LOCK_FILE

    def _open(self, name: str) -> int:
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        return os.open(Path(self.directory) / name, os.O_RDWR | os.O_CREAT, 0o644)

    @contextmanager
    def working(self) -> Iterator[None]:
        """Hold the lock shared: CPU work that must not run beside a measurement."""
        key = self.path.resolve()
        if _held.get(key):
            _held[key] += 1
            try:
                yield
            finally:
                _held[key] -= 1
            return
        gate, lock = self._open(GATE_FILE), self._open(LOCK_FILE)
        try:
            fcntl.flock(gate, fcntl.LOCK_EX)  # wait behind a measurement that is queued
            try:
                fcntl.flock(lock, fcntl.LOCK_SH)
            finally:
                fcntl.flock(gate, fcntl.LOCK_UN)
            _held[key] = 1
            try:
                yield
            finally:
                _held.pop(key, None)
                fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            os.close(gate)
            os.close(lock)

    @contextmanager
    def timing(self) -> Iterator[None]:
        """Hold the lock alone: a measurement, once every running `working` hold has ended."""
        if _held.get(self.path.resolve()):
            raise RuntimeError(f"a measurement was asked for while this process holds {self.path} for "
                               "work: it would wait for itself")
        gate, lock = self._open(GATE_FILE), self._open(LOCK_FILE)
        try:
            fcntl.flock(gate, fcntl.LOCK_EX)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            finally:
                fcntl.flock(gate, fcntl.LOCK_UN)
        finally:
            os.close(gate)
            os.close(lock)


@contextmanager
def working(lock: HostLock | None) -> Iterator[None]:
    """`lock.working()`, or nothing when there is no lock."""
    if lock is None:
        yield
        return
    with lock.working():
        yield
