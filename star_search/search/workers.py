"""Extra search processes on this machine, each an Optuna worker on the shared study.

Workers are spawned (not forked: torch and the ExecuTorch runtime do not survive a fork), each
opens the study from the same storage, builds its own evaluator, and runs trials until the study
has enough (`stopping.StopAtTrials`). They share the on-disk program and result caches, and the
study itself (`twins.py`) so no architecture is evaluated twice. A worker that dies leaves its
running trial to the heartbeat: it goes stale and Optuna retries it.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from star_search.search.settings import SearchSettings


def _work(settings: SearchSettings, index: int, deadline: float | None) -> None:
    import optuna

    from star_search import logs
    from star_search.child_process import start_child
    from star_search.search.study import open_study, optimize

    start_child()  # a search killed from outside takes its workers with it
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optimize(open_study(settings, worker=index), settings, lambda line: logs.echo(f"[worker {index}] {line}"),
             deadline=deadline)


def start_workers(settings: SearchSettings, count: int, deadline: float | None = None) -> list[BaseProcess]:
    """Start `count` worker processes (numbered from 1; the calling process is worker 0), each
    starting no trial after `deadline` (seconds since the epoch)."""
    context = multiprocessing.get_context("spawn")
    workers = []
    for index in range(1, count + 1):
        process = context.Process(target=_work, args=(settings, index, deadline),
                                  name=f"star-search-worker-{index}")
        process.start()
        workers.append(process)
    return workers


def join_workers(workers: list[BaseProcess]) -> list[str]:
    """Wait for every worker; one message per worker that did not exit cleanly."""
    failures = []
    for process in workers:
        process.join()
        if process.exitcode != 0:
            failures.append(f"{process.name} exited with code {process.exitcode}; its running trial, "
                            f"if any, is retried once its heartbeat goes stale")
    return failures
