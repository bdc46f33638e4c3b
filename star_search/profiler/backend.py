"""Backend: the contract every way of timing a program honours (local, adb, remote)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from star_search.errors import ProfilerError
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol


class Backend(ABC):
    """Runs a lowered program (.pte with methods `prefill` and `decode`) under a protocol.

    `measure` raises `ProfilerError` naming what failed (crash, timeout, malformed output);
    it never returns a partial or simulated figure.
    """

    name: str = "backend"

    @property
    @abstractmethod
    def device_id(self) -> str:
        """Stable identifier of the device measured on (enters caches and reports)."""

    @abstractmethod
    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol) -> Measurement:
        """Time the program at `pte_path` following `protocol`."""


def checked_program(pte_path: str | os.PathLike[str], protocol: MeasurementProtocol, cores: Sequence[int],
                    cores_name: str = "cores are available") -> Path:
    """The program's path, once it exists and the protocol's threads fit on `cores`."""
    path = Path(pte_path)
    if not path.is_file():
        raise ProfilerError(f"program file {path} does not exist")
    if protocol.threads > len(cores):
        raise ProfilerError(f"protocol asks for {protocol.threads} threads but only "
                            f"{len(cores)} {cores_name} ({list(cores)})")
    return path
