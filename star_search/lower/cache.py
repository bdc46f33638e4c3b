"""On-disk cache of lowered programs, keyed by everything that changes the .pte.

Layout under the cache directory, per key: `<key>.pte` (the program) and `<key>.json` (sidecar:
the key's ingredients, sha256 of the program, its size in bytes, lowering wall time in seconds,
delegation coverage). Both are written with `atomic.atomic_write` (temporary file, fsync,
`os.replace`), the sidecar last, so readers never see a half-written entry; an entry counts only
when its sidecar exists and the program's bytes have the size and sha256 it records (checked once
per program file and cache object). A damaged entry (a sidecar that does not parse, a program cut
short by a crash or a partial copy of the folder) is named in a warning and lowered again; a
writer killed mid-write leaves only a temporary file, deleted by the next lowering of that key.
Concurrent workers lowering the same key both succeed and the last rename wins (lowering is
deterministic, so the bytes agree). A full disk is a `DiskFullError` naming the file.

A model of `isolate_above_params` parameters or more is lowered in a fresh child process that
exits afterwards: export and lowering keep gigabytes that the parent would otherwise never hand
back (a search process lowering 350M-parameter candidates one after another in-process grew past
20 GB in three candidates), and a child killed (for memory, or mid-write) becomes a `LoweringError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from star_search.atomic import atomic_write, remove_stale_temps
from star_search.child_process import start_child
from star_search.errors import LoweringError
from star_search.lower.coverage import DelegationCoverage
from star_search.lower.export import lower_arch_with_report
from star_search.lower.programs import ProgramShapes
from star_search.shapes import check_quantize
from star_search.sizing import param_count
from star_search.spec import ArchSpec

# Bump when the lowering recipe changes in a way the versions below do not capture.
# 2: MoE experts stored once (fp32) and quantized with 8da4w, routers kept fp32.
LOWERING_RECIPE_VERSION = 2
# Models this large or larger are lowered in a child process (see the module docstring); smaller
# ones lower in-process, where a child's start-up (importing torch and ExecuTorch) would dominate.
ISOLATE_ABOVE_PARAMS = 50_000_000
# Programs are hashed in pieces this large when their sha256 is checked.
HASH_CHUNK_BYTES = 1 << 24

logger = logging.getLogger(__name__)


def toolchain_versions() -> dict[str, str]:
    """Installed versions of the packages a lowered program depends on."""
    return {name: _package_version(name) for name in ("executorch", "torch", "torchao")}


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


@dataclass(frozen=True)
class CachedProgram:
    """A program on disk: path, sha256 (hex) of its bytes, size, lowering seconds, coverage."""

    path: Path
    sha256: str
    size_bytes: int
    lowering_s: float
    coverage: dict[str, DelegationCoverage]
    hit: bool  # True when served from the cache without lowering in this call

    @property
    def delegated_fraction(self) -> float:
        """Share of the program's operators delegated to XNNPACK, over all its methods."""
        return DelegationCoverage.combine(list(self.coverage.values())).delegated_fraction


class ProgramCache:
    """Lowered programs under `directory` (created if missing). Construct one and pass it around."""

    def __init__(self, directory: str | os.PathLike[str],
                 isolate_above_params: int | None = ISOLATE_ABOVE_PARAMS):
        """`isolate_above_params`: lower models with at least this many parameters in a child
        process (None: always in this process)."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.isolate_above_params = isolate_above_params
        # Program files whose bytes matched their sidecar, as (path, size, mtime_ns): a program is
        # hashed once per cache object, not on every lookup.
        self._verified: set[tuple[Path, int, int]] = set()

    @staticmethod
    def key_fields(spec: ArchSpec, shapes: ProgramShapes, quantize: str | None) -> dict[str, Any]:
        """Everything the cache key hashes: arch, shapes, quantization, toolchain versions."""
        return {
            "arch_id": spec.arch_id,
            "shapes": shapes.to_dict(),
            "quantize": quantize,
            **toolchain_versions(),
            "recipe": LOWERING_RECIPE_VERSION,
        }

    def key(self, spec: ArchSpec, shapes: ProgramShapes, quantize: str | None) -> str:
        """File stem of an entry: arch_id plus a 16-hex-digit digest of `key_fields`."""
        canonical = json.dumps(self.key_fields(spec, shapes, quantize), sort_keys=True)
        return f"{spec.arch_id}-{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"

    def paths(self, key: str) -> tuple[Path, Path]:
        """(.pte path, sidecar .json path) of an entry."""
        return self.directory / f"{key}.pte", self.directory / f"{key}.json"

    def lookup(self, spec: ArchSpec, shapes: ProgramShapes,
               quantize: str | None = None) -> CachedProgram | None:
        """The cached entry, or None when absent, incomplete or damaged (named in a warning)."""
        pte_path, meta_path = self.paths(self.key(spec, shapes, quantize))
        if not (pte_path.is_file() and meta_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_bytes())
            coverage = {name: DelegationCoverage.from_dict(part)
                        for name, part in meta["coverage"].items()}
            program = CachedProgram(pte_path, str(meta["sha256"]), int(meta["size_bytes"]),
                                    float(meta["lowering_s"]), coverage, hit=True)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError,
                AttributeError) as err:
            _warn_damaged(meta_path, f"sidecar unreadable: {type(err).__name__}: {err}")
            return None
        damage = self._program_damage(program)
        if damage is not None:
            _warn_damaged(pte_path, damage)
            return None
        return program

    def _program_damage(self, program: CachedProgram) -> str | None:
        """Why the program's bytes are not the ones its sidecar records, or None when they are."""
        try:
            stat = program.path.stat()
        except FileNotFoundError:
            return "program missing"
        state = (program.path, stat.st_size, stat.st_mtime_ns)
        if state in self._verified:
            return None
        if stat.st_size != program.size_bytes:
            return f"{stat.st_size} bytes, its sidecar records {program.size_bytes}"
        digest = hashlib.sha256()
        with program.path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
        if digest.hexdigest() != program.sha256:
            return f"sha256 {digest.hexdigest()[:16]}…, its sidecar records {program.sha256[:16]}…"
        self._verified.add(state)
        return None

    def get_or_lower(self, spec: ArchSpec, shapes: ProgramShapes,
                     quantize: str | None = None) -> CachedProgram:
        """The cached program for (spec, shapes, quantize), lowering and storing it on a miss.

        Raises `LoweringError` when lowering fails (nothing is cached then).
        """
        check_quantize(quantize, "quantize")
        cached = self.lookup(spec, shapes, quantize)
        if cached is not None:
            return cached
        if self.isolate_above_params is not None and param_count(spec) >= self.isolate_above_params:
            return self._lower_in_child(spec, shapes, quantize)
        return self._lower_here(spec, shapes, quantize)

    def _lower_in_child(self, spec: ArchSpec, shapes: ProgramShapes, quantize: str | None) -> CachedProgram:
        """Lower and store the entry in a fresh spawned process; its memory goes when it exits."""
        from multiprocessing import get_context

        with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=start_child) as pool:
            future = pool.submit(_lower_into, str(self.directory), spec, shapes, quantize)
            try:
                program = future.result()
            except BrokenProcessPool as err:
                raise LoweringError(f"the lowering process of {spec.pattern()} ({param_count(spec):,} "
                                    "parameters) died before finishing (killed for memory, or from "
                                    "outside?); nothing of it is served from the cache") from err
        return replace(program, hit=False)

    def _lower_here(self, spec: ArchSpec, shapes: ProgramShapes, quantize: str | None) -> CachedProgram:
        lowered = lower_arch_with_report(spec, shapes, quantize)
        key = self.key(spec, shapes, quantize)
        pte_path, meta_path = self.paths(key)
        digest = hashlib.sha256(lowered.pte).hexdigest()
        meta = {
            "key": key,
            "key_fields": self.key_fields(spec, shapes, quantize),
            "pattern": spec.pattern(),
            "sha256": digest,
            "size_bytes": len(lowered.pte),
            "lowering_s": lowered.lowering_s,
            "coverage": {name: part.to_dict() for name, part in lowered.coverage.items()},
        }
        for path in (pte_path, meta_path):  # what a writer killed mid-write left behind
            remove_stale_temps(path)
        try:
            atomic_write(pte_path, lowered.pte)
            atomic_write(meta_path, json.dumps(meta, indent=2, sort_keys=True).encode())
        except OSError as err:  # a full disk is a DiskFullError (not an OSError): the search stops
            raise LoweringError(f"cannot write {pte_path} to the program cache: {err}") from err
        self._verified.add((pte_path, *_size_and_mtime(pte_path)))
        return CachedProgram(pte_path, digest, len(lowered.pte), lowered.lowering_s,
                             lowered.coverage, hit=False)


def _lower_into(directory: str, spec: ArchSpec, shapes: ProgramShapes, quantize: str | None) -> CachedProgram:
    """The child's side of `ProgramCache._lower_in_child`."""
    return ProgramCache(directory, isolate_above_params=None).get_or_lower(spec, shapes, quantize)


def _size_and_mtime(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _warn_damaged(path: Path, reason: str) -> None:
    logger.warning("damaged program cache entry %s (%s): ignored, it is lowered again", path, reason)
