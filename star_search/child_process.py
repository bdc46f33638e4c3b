"""Children that end with the process that started them.

The processes star-search spawns for heavy work (the proxy worker, isolated lowering, search
workers) are started through `multiprocessing` with the spawn method. When their parent is killed
(SIGTERM or SIGKILL from outside, a crash), such a child is re-parented and would go on training
or lowering for minutes, taking the CPU a resumed search, or a measurement, needs. `start_child`,
called first thing in the child, asks Linux to send it SIGTERM when its parent dies (prctl
`PR_SET_PDEATHSIG`), and exits at once if the parent is already gone. Elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys

from star_search.logs import configure_from_environment

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None, signal_number: int = signal.SIGTERM,
                    orphan_exit: int = 1) -> bool:
    """Have the kernel send `signal_number` to this process when the thread that started it
    exits; False where that is not available. A parent that died before the request sends no
    signal, so a process that finds itself orphaned (its parent is no longer `parent_pid`, by
    default the multiprocessing parent) exits at once with `orphan_exit`."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal_number, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent_pid is None:
        parent = multiprocessing.parent_process()
        parent_pid = parent.pid if parent is not None else None
    if parent_pid is not None and parent_pid != os.getppid():
        os._exit(orphan_exit)
    return True


def start_child() -> None:
    """What every spawned child of star-search does first: end with its parent, log like it."""
    die_with_parent()
    configure_from_environment()
