"""Atomic file writes: a killed writer never leaves a partial file, a full disk is a clear error.

`atomic_write` puts the bytes in a temporary file beside the target, fsyncs it, moves it into
place with `os.replace` and fsyncs the folder, so readers (and a machine that loses power right
after) see the old file or the whole new one, never a part. The temporary file is named after the
target and its writer (`.<name>.<host>-<pid>.<random>.tmp`): a writer killed mid-write leaves only
that file, and `remove_stale_temps` deletes it once its writer is gone. No space left (ENOSPC, a
quota, a file-size limit) is a `DiskFullError` naming the file; the target keeps its old content.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import tempfile
import time
from pathlib import Path

from star_search.errors import DiskFullError

# errno values that mean "this write does not fit" (device full, quota, file-size limit).
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# A temporary file from another machine (whose writer cannot be asked) is stale once untouched
# this long: a live writer finishes its file in seconds.
STALE_TEMP_S = 3600.0


def is_no_space(err: OSError) -> bool:
    return err.errno in NO_SPACE_ERRNOS


def _writer_tag() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def atomic_write(target: Path, data: bytes) -> None:
    """Write `data` to `target` so readers see the old file or the whole new one, never a part.

    Raises `DiskFullError` when the bytes do not fit (the target is left as it was)."""
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{_writer_tag()}.",
                                    suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
        temp = None
        _fsync_folder(target.parent)
    except OSError as err:
        if is_no_space(err):
            raise DiskFullError(target, err.strerror or str(err)) from err
        raise
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (without it a power cut can leave an empty file under the name)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP):  # file systems that cannot sync folders
            raise
    finally:
        os.close(fd)


def remove_stale_temps(target: Path, stale_after_s: float = STALE_TEMP_S) -> list[Path]:
    """Delete the temporary files that writers of `target` left behind when they were killed:
    those of a process of this machine that no longer runs, and any untouched for
    `stale_after_s` seconds. Returns the files deleted."""
    pattern = re.compile(re.escape(f".{target.name}.") + r"(?P<host>.+)-(?P<pid>\d+)\.[^.]+\.tmp")
    host, now = socket.gethostname(), time.time()
    removed = []
    for path in target.parent.glob(f".{target.name}.*.tmp"):
        match = pattern.fullmatch(path.name)
        if match is None:
            continue
        try:
            dead = match["host"] == host and not _process_alive(int(match["pid"]))
            if dead or now - path.stat().st_mtime > stale_after_s:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue  # its writer renamed it into place meanwhile
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
