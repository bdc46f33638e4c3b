"""What an agent keeps on disk, all under its data directory and nowhere else.

Layout:
    programs/<sha256>.pte      uploaded programs, content-addressed (the name is the bytes' hash)
    jobs/<job id>.json         one record per job: request, state, result or failure reason
    measurements/<hash>.json   the agent's measurement cache (see `MeasurementCache`)
    tmp/                       uploads in progress (moved into programs/ once verified)
    corrupt/                   files found unreadable, moved aside with the reason in the log

No name a client sends is ever used as a path as it stands: a program's name must be 64
lowercase hex digits and must equal the sha256 of the bytes received, a job id must be 32 hex
digits (the agent makes them), and every path is checked to resolve inside the data directory
before it is opened. Files are written to a temporary name and renamed into place, so a crash
never leaves half a program or half a record. A record damaged anyway (a full disk, a stray
edit, a failing drive) is moved into corrupt/ by whoever finds it, and the reason logged:
`AgentService` rebuilds what it can and fails what it cannot; nothing crashes on it later.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from star_search.atomic import atomic_write
from star_search.errors import StarSearchError

SHA256_PATTERN = "^[0-9a-f]{64}$"
JOB_ID_PATTERN = "^[0-9a-f]{32}$"
_SHA256 = re.compile(SHA256_PATTERN)
_JOB_ID = re.compile(JOB_ID_PATTERN)


class UnsafeName(StarSearchError):
    """A client-supplied name that cannot name a file in the data directory."""


class UploadTooLarge(StarSearchError):
    """The upload exceeds the agent's program size limit (HTTP 413)."""


class DigestMismatch(StarSearchError):
    """The uploaded bytes do not hash to the sha256 the client named (HTTP 400)."""


class CorruptRecord(StarSearchError):
    """A file in the data directory that cannot be read back as what it should hold."""


class AgentStorage:
    def __init__(self, data_dir: str | os.PathLike[str], max_program_bytes: int):
        self.root = Path(data_dir).resolve()
        self.max_program_bytes = max_program_bytes
        for folder in ("programs", "jobs", "measurements", "tmp", "corrupt"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        for stale in (self.root / "tmp").iterdir():  # uploads cut short by a previous stop
            stale.unlink(missing_ok=True)
        for folder in ("jobs", "measurements"):  # records whose atomic write was cut short
            for stale in (self.root / folder).glob(".*.tmp"):
                stale.unlink(missing_ok=True)

    def _inside(self, path: Path) -> Path:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise UnsafeName(f"{path} resolves outside the data directory")
        return resolved

    def program_path(self, sha256: str) -> Path:
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise UnsafeName(f"program name {sha256!r} is not 64 lowercase hex digits (a sha256)")
        return self._inside(self.root / "programs" / f"{sha256}.pte")

    def job_path(self, job_id: str) -> Path:
        if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
            raise UnsafeName(f"job id {job_id!r} is not 32 hex digits")
        return self._inside(self.root / "jobs" / f"{job_id}.json")

    @property
    def measurements_dir(self) -> Path:
        return self.root / "measurements"

    def has_program(self, sha256: str) -> bool:
        return self.program_path(sha256).is_file()

    def program_size(self, sha256: str) -> int:
        return self.program_path(sha256).stat().st_size

    async def save_program(self, sha256: str, chunks: AsyncIterator[bytes]) -> tuple[int, bool]:
        """Stream an upload into programs/<sha256>.pte; returns (size in bytes, newly stored).

        Raises UploadTooLarge as soon as the limit is passed and DigestMismatch when the bytes
        hash to another name; in both cases nothing is kept.
        """
        target = self.program_path(sha256)
        digest, size = hashlib.sha256(), 0
        fd, temp_name = tempfile.mkstemp(dir=self.root / "tmp", suffix=".part")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_program_bytes:
                        raise UploadTooLarge(f"program exceeds the agent's limit of "
                                             f"{self.max_program_bytes} bytes")
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            if digest.hexdigest() != sha256:
                raise DigestMismatch(f"the uploaded {size} bytes have sha256 {digest.hexdigest()}, "
                                     f"not {sha256}")
            if target.is_file():
                return size, False
            os.replace(temp, target)
            return size, True
        finally:
            temp.unlink(missing_ok=True)

    def save_job(self, record: dict[str, Any]) -> None:
        atomic_write(self.job_path(record["job_id"]), json.dumps(record, sort_keys=True).encode())

    def job_records(self) -> Iterator[tuple[Path, Any]]:
        """(path, parsed JSON) of every stored job record; a file that is not JSON gives its
        `CorruptRecord` in place of the record. Files not named like a job are left alone."""
        for path in sorted((self.root / "jobs").glob("*.json")):
            if not _JOB_ID.fullmatch(path.stem):
                continue
            try:
                yield path, json.loads(path.read_bytes())
            except (OSError, ValueError) as err:  # ValueError: bad JSON, or bytes not UTF-8
                yield path, CorruptRecord(f"not readable as JSON: {err}")

    def quarantine(self, path: Path) -> Path:
        """Move a damaged file from the data directory into corrupt/ (kept for a post-mortem,
        never read again); returns where it went."""
        path = self._inside(path)
        target = self.root / "corrupt" / f"{path.parent.name}-{path.name}.{time.time_ns()}"
        os.replace(path, target)
        return target

    def verify_program(self, sha256: str) -> Path:
        """The stored program's path, after checking its bytes still hash to its name; a damaged
        program is moved into corrupt/ and CorruptRecord raised (the client uploads it again)."""
        path = self.program_path(sha256)
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            moved = self.quarantine(path)
            raise CorruptRecord(f"stored program {sha256} is damaged (its bytes now hash to "
                                f"{digest.hexdigest()}); moved to {moved}: upload it again")
        return path
