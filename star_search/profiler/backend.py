"""Backend: the contract every way of timing a program honours (local, adb, remote), and
`BackendKind`: what a device profile needs of each."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from star_search.errors import ProfilerError
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol

if TYPE_CHECKING:
    from star_search.profiler.device_profile import DeviceProfile


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

    def hardware(self) -> dict[str, str]:
        """What the device's processor is ("cpu", "isa": see `profiler/hardware.py`), where the
        backend can tell; empty when it cannot (then nothing is checked against it)."""
        return {}


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


@dataclass(frozen=True)
class BackendKind:
    """What a device profile needs of one kind of backend; each backend module defines its own
    (`KIND`) and `profiler.backends` registers it.

    name: the profile's `backend` value. create: the configured backend for a parsed profile.
    section: the top-level profile key holding this backend's own settings (None: it has none);
        `parse` turns that mapping (empty when absent) into the backend's settings object
        (`DeviceProfile.backend_settings`), raising `SpecError` naming the field (`adb.serial`).
    check: validates the relations of the parsed profile that concern this backend (cores,
        threads, shapes), raising `SpecError` naming the field.
    """

    name: str
    create: Callable[[DeviceProfile], Backend]
    section: str | None = None
    parse: Callable[[Mapping[str, Any]], Any] = lambda _body: None
    check: Callable[[DeviceProfile], None] = lambda _profile: None
