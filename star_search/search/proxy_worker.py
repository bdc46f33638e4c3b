"""Proxy training in a persistent worker process, so it overlaps with ExecuTorch lowering.

Lowering is single-threaded Python and proxy training of a tiny model is too, so on a 2-core
machine running them side by side halves a candidate's wall time. Measurement never overlaps
with either: the evaluator waits for both before timing anything.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from star_search.child_process import start_child
from star_search.host_lock import HostLock, working
from star_search.proxies.suite import ProxyConfig, run_suite
from star_search.spec import ArchSpec


def _run(spec_json: str, config: ProxyConfig, host_lock: HostLock | None) -> dict[str, Any]:
    with working(host_lock):
        return run_suite(ArchSpec.from_json(spec_json), config).to_dict()


class ProxyWorker:
    """Runs `run_suite` in one spawned child process that lives as long as this object; with a
    `host_lock`, training holds it shared, so no measurement of the run overlaps it."""

    def __init__(self, host_lock: HostLock | None = None) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.host_lock = host_lock

    def submit(self, spec: ArchSpec, config: ProxyConfig) -> Future[dict[str, Any]]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=start_child)
        try:
            return self._pool.submit(_run, spec.to_json(), config, self.host_lock)
        except BrokenProcessPool:
            self.close()
            return self.submit(spec, config)

    def close(self) -> None:
        """Stop the child now, abandoning a job still running (its result is no longer wanted)."""
        if self._pool is not None:
            children = list((self._pool._processes or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            # An idle child can miss the shutdown sentinel (seen with CPython 3.11: the executor's
            # manager thread then joins it forever and this process never exits), so end it here.
            for child in children:
                child.terminate()
            self._pool = None


class InlineProxyRunner:
    """Same interface, runs in this process (for debugging and for machines with one core)."""

    def __init__(self, host_lock: HostLock | None = None) -> None:
        self.host_lock = host_lock

    def submit(self, spec: ArchSpec, config: ProxyConfig) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        try:
            with working(self.host_lock):
                future.set_result(run_suite(spec, config).to_dict())
        except Exception as err:  # handed to the caller through the future, like the worker does
            future.set_exception(err)
        return future

    def close(self) -> None:
        return None
