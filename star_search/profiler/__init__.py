"""Measuring lowered programs: protocol, Measurement record, measurement cache, backends.

Backends: `local` (this machine, a fresh child process), `remote` (profiler agents over HTTP,
`remote.py`), `adb` (Android phones, `adb.py`); `backends.backend_for_profile` picks one from a
device profile. The agent service lives in `profiler/agent/`.

Kept free of torch, ExecuTorch and HTTP imports: the runner child imports this package first and
pins its CPU affinity before those libraries create their thread pools.
"""

from star_search.profiler.backend import Backend
from star_search.profiler.local import LocalBackend
from star_search.profiler.measurement import Measurement
from star_search.profiler.measurement_cache import MeasurementCache
from star_search.profiler.protocol import MeasurementProtocol

__all__ = ["Backend", "LocalBackend", "Measurement", "MeasurementCache", "MeasurementProtocol"]
