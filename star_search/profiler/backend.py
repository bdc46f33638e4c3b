"""Backend: the contract every way of timing a program honours (local, adb, remote)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

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
