"""Measuring lowered programs: protocol, Measurement record, backends (local so far).

Kept free of torch and ExecuTorch imports: the runner child imports this package first and pins
its CPU affinity before those libraries create their thread pools.
"""

from star_search.profiler.backend import Backend
from star_search.profiler.local import LocalBackend
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol

__all__ = ["Backend", "LocalBackend", "Measurement", "MeasurementProtocol"]
