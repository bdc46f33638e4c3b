"""The versioned latency table file of one device profile.

One JSON file per (device, program settings): `<cache_dir>/<profile>-<version>.json`, where the
version hashes everything the figures depend on (device id, threads, prompt length and sequence
capacity, dtype and quantization, the table protocol, stack depth, the lowering toolchain). A
change to any of them names another file, so a table is rebuilt exactly when something it
depends on changed, and never otherwise. Inside: per width, the figures of each stack program
(with the program's sha256 and lowering time); per calibration set, the architectures measured
whole and the fitted corrections; and `hardware`, the CPU the table was first timed on where the
backend can tell (`profiler/hardware.py`; not part of the version, since the device id is what
names a device: the predictor warns when the table is used on another CPU).

Writers hold an exclusive lock on `<file>.lock` from reading to writing (`LatencyTable.locked`),
so workers sharing a cache directory never time the same program twice. The file is written
atomically (`atomic.atomic_write`): a crash leaves the old table or the new one. A damaged file
(cut short, not JSON, not a table) is refused with a `StarSearchError` naming it, on opening, not
later in the middle of a search; a full disk is a `DiskFullError` naming it, the old table intact.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from star_search.atomic import atomic_write
from star_search.errors import StarSearchError
from star_search.latency.blocks import WidthKey

TABLE_FORMAT = 1


def table_version(settings: dict[str, Any]) -> str:
    canonical = json.dumps({"format": TABLE_FORMAT, **settings}, sort_keys=True)
    return f"{TABLE_FORMAT}-{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"


@dataclass
class LatencyTable:
    """widths: width text -> {"width": WidthKey fields, "components": name -> figures};
    calibrations: calibration key -> {"archs": [...], "corrections": metric -> fit}. "corrections"
    records the fit as it was stored; predictions refit it from the points' specs against the
    current composition (`LatencyPredictor.corrections`). hardware: the processor the first rows
    were timed on ({} when unknown, as for tables built before it was recorded)."""

    path: Path
    settings: dict[str, Any]
    widths: dict[str, dict[str, Any]] = field(default_factory=dict)
    calibrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    hardware: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return table_version(self.settings)

    @classmethod
    def location(cls, directory: Path, profile_name: str, settings: dict[str, Any]) -> Path:
        return directory / f"{profile_name}-{table_version(settings)}.json"

    @classmethod
    def open(cls, directory: Path, profile_name: str, settings: dict[str, Any]) -> LatencyTable:
        """The table for these settings, empty when none was built yet."""
        directory.mkdir(parents=True, exist_ok=True)
        table = cls(cls.location(directory, profile_name, settings), settings)
        table.reload()
        return table

    def reload(self) -> None:
        """Read the file again (another worker may have added rows)."""
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise self._damaged(f"not JSON: {err}") from err
        if not isinstance(data, dict):
            raise self._damaged(f"a JSON {type(data).__name__}, not a table")
        if data.get("table_version") != self.version:
            raise StarSearchError(f"latency table {self.path} has version {data.get('table_version')!r}, "
                                  f"expected {self.version!r}; delete it to rebuild")
        widths, calibrations = data.get("widths", {}), data.get("calibrations", {})
        for name, rows in (("widths", widths), ("calibrations", calibrations)):
            if not isinstance(rows, dict) or not all(isinstance(row, dict) for row in rows.values()):
                raise self._damaged(f"its {name!r} are not a mapping of rows")
        if not all(isinstance(row.get("components", {}), dict) for row in widths.values()):
            raise self._damaged("a width's 'components' are not a mapping")
        hardware = data.get("hardware", {})
        if not isinstance(hardware, dict):
            raise self._damaged("its 'hardware' is not a mapping")
        self.widths, self.calibrations, self.hardware = widths, calibrations, hardware

    def _damaged(self, reason: str) -> StarSearchError:
        return StarSearchError(f"latency table {self.path} is damaged ({reason}); delete it to rebuild "
                               "(the measurements behind it are cached: a rebuild mostly reads them back)")

    def save(self) -> None:
        data = {"format": TABLE_FORMAT, "table_version": self.version, "settings": self.settings,
                "widths": self.widths, "calibrations": self.calibrations}
        if self.hardware:
            data["hardware"] = self.hardware
        atomic_write(self.path, json.dumps(data, indent=1, sort_keys=True).encode())

    @contextmanager
    def locked(self) -> Iterator[LatencyTable]:
        """Exclusive access across processes; the table is re-read on entry."""
        with open(self.path.with_suffix(".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self.reload()
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- rows ---------------------------------------------------------------------------------

    def components(self, width: WidthKey) -> dict[str, dict[str, Any]]:
        return self.widths.get(width.text(), {}).get("components", {})

    def put_component(self, width: WidthKey, name: str, figures: dict[str, Any]) -> None:
        row = self.widths.setdefault(width.text(), {"width": asdict(width), "components": {}})
        row["components"][name] = figures
