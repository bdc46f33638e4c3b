"""LocalBackend: time a program on this machine in a fresh child process with pinned threads.

Each measurement starts `python -m star_search.profiler.runner` anew, so no state (allocator,
thread pools, caches warmed by another program) carries over between candidates. Threads are fixed
three ways: OMP/MKL/OpenBLAS thread variables in the child's environment, CPU affinity pinned in
the child to the first `threads` cores this process may use, and ExecuTorch's thread pool (which
XNNPACK runs on) reset to `threads` inside the child.

Peak RSS is the child's own high-water mark since exec (VmHWM). The child is reaped with
`os.wait4`, whose `ru_maxrss` must be at least that figure, give or take `_RSS_SLACK_BYTES`:
the kernel batches each thread's RSS counter updates, so the two reads of the high-water mark can
differ by some pages. `ru_maxrss` itself is not used: Linux
carries it over across execve, so it includes this (parent) process's size at spawn time.

The child leads its own process group. When it outlives `protocol.timeout_s` (a hang, a stop
signal, a runtime spinning), that whole group is killed, and so is every process descended from
the child even if it left the group (found in /proc before the kill, while the family tree still
leads to the child): a timed-out measurement leaves no process behind, only a `ProfilerError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from star_search.errors import ProfilerError
from star_search.profiler.backend import Backend, BackendKind, checked_program
from star_search.profiler.hardware import local_cpu
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import RESULT_MARKER, MeasurementProtocol

if TYPE_CHECKING:
    from star_search.profiler.device_profile import DeviceProfile

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_POLL_S = 0.01
_TAIL_CHARS = 1500
_RSS_SLACK_BYTES = 4 << 20
_NOISE = ("[cpuinfo_utils.cpp", "torchao/_C", "KernelPreference")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _descendants(pid: int) -> list[int]:
    """Every live process descended from `pid`, read from /proc (none where there is no /proc)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [entry.name for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:
        return []
    for name in entries:
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # ended meanwhile
            continue
        parent = int(stat[stat.rindex(b")") + 2:].split()[1])  # the command may hold spaces and ")"
        children.setdefault(parent, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _kill_family(pid: int) -> None:
    """SIGKILL process `pid`, its process group, and its descendants that left that group."""
    strays = _descendants(pid)  # first: once `pid` dies, its orphans no longer trace back to it
    for kill, target in [(os.killpg, pid), *((os.kill, stray) for stray in strays)]:
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            kill(target, signal.SIGKILL)


def _tail(text: str) -> str:
    """The end of a child's output, without the import-time chatter every child prints."""
    text = "\n".join(line for line in text.strip().splitlines()
                     if not any(noise in line for noise in _NOISE))
    return text if len(text) <= _TAIL_CHARS else "…" + text[-_TAIL_CHARS:]


class LocalBackend(Backend):
    """Measures on this machine's CPU. `python` is the interpreter for the child (default: this
    one); `cores` restricts which CPU ids may be pinned (default: this process's affinity)."""

    name = "local"

    def __init__(self, device_id: str | None = None, python: str | None = None,
                 cores: Sequence[int] | None = None):
        self._device_id = device_id or f"local:{platform.node()}:{platform.machine()}"
        self.python = python or sys.executable
        self.cores = sorted(cores) if cores is not None else sorted(os.sched_getaffinity(0))

    @property
    def device_id(self) -> str:
        return self._device_id

    def hardware(self) -> dict[str, str]:
        return local_cpu()

    def _command(self, pte_path: Path, protocol: MeasurementProtocol, cores: list[int]) -> list[str]:
        command = [self.python, "-m", "star_search.profiler.runner", str(pte_path),
                   "--threads", str(protocol.threads), "--cores", ",".join(map(str, cores)),
                   "--warmup", str(protocol.warmup), "--repeats", str(protocol.repeats),
                   "--max-repeats", str(protocol.max_repeats),
                   "--cv-target", repr(float(protocol.cv_target)),
                   "--prompt-len", str(protocol.prompt_len),
                   "--decode-steps", str(protocol.decode_steps), "--parent-pid", str(os.getpid())]
        return [*command, "--etdump"] if protocol.etdump else command

    def _run_child(self, command: list[str], env: dict[str, str],
                   timeout_s: float) -> tuple[int, int, str, str]:
        """Run the child; returns (exit status, wait4 peak RSS in bytes, stdout, stderr)."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            # Files, not pipes: a chatty child can never block on a full pipe.
            child = subprocess.Popen(command, stdout=out, stderr=err, env=env,
                                     start_new_session=True)
            reaped = False
            try:
                deadline = time.monotonic() + timeout_s
                while True:
                    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                    if pid:
                        reaped = True
                        break
                    if time.monotonic() > deadline:
                        err.seek(0)
                        raise ProfilerError(f"measurement timed out after {timeout_s:g} s "
                                            f"(child killed); stderr: {_tail(err.read())}")
                    time.sleep(_POLL_S)
            finally:
                if not reaped:  # timeout, or the parent itself interrupted: leave no orphan
                    _kill_family(child.pid)
                    os.wait4(child.pid, 0)
                    child.returncode = -signal.SIGKILL  # reaped here; Popen must not wait
            code = child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            return code, usage.ru_maxrss * 1024, out.read(), err.read()

    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol) -> Measurement:
        """Time `pte_path` in a child process; raises ProfilerError with the reason on failure."""
        path = checked_program(pte_path, protocol, self.cores, "cores are available")
        cores = self.cores[:protocol.threads]
        sha256 = file_sha256(path)
        env = {**os.environ, **{name: str(protocol.threads) for name in THREAD_ENV_VARS}}
        code, wait4_rss, stdout, stderr = self._run_child(
            self._command(path, protocol, cores), env, protocol.timeout_s)
        result = self._parse(stdout, code, stderr)
        if result.get("affinity") != cores:
            raise ProfilerError(f"child ran on cores {result.get('affinity')}, asked for {cores}")
        peak_rss = int(result["peak_rss_bytes"])
        if not 0 < peak_rss <= wait4_rss + _RSS_SLACK_BYTES:
            raise ProfilerError(f"child reported peak RSS {peak_rss} B but wait4 saw "
                                f"{wait4_rss} B for that process")
        return Measurement.from_samples(
            backend=self.name, device_id=self.device_id, program_sha256=sha256,
            threads=protocol.threads, prompt_len=protocol.prompt_len,
            decode_steps=protocol.decode_steps, warmup=protocol.warmup,
            repeats=int(result["repeats"]), max_repeats=protocol.max_repeats,
            cv_target=protocol.cv_target, stop_reason=result["stop_reason"],
            ttft_samples_ms=result["ttft_samples_ms"], decode_samples_ms=result["decode_samples_ms"],
            peak_rss_bytes=peak_rss, baseline_rss_bytes=int(result["baseline_rss_bytes"]),
            operator_times=result.get("operator_times", ()), page_cache=result.get("page_cache"))

    @staticmethod
    def _parse(stdout: str, code: int, stderr: str) -> dict[str, Any]:
        lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
        result: dict[str, Any] | None = None
        if lines:
            try:
                result = json.loads(lines[-1][len(RESULT_MARKER):])
            except json.JSONDecodeError as err:
                raise ProfilerError(f"child printed a malformed result ({err}): "
                                    f"{_tail(lines[-1])}") from err
        if result is not None and "error" in result:
            raise ProfilerError(f"child failed: {result['error']}; stderr: {_tail(stderr)}")
        if code != 0:
            how = (f"killed by signal {_signal_name(-code)}" if code < 0
                   else f"exited with status {code}")
            raise ProfilerError(f"child {how}; stderr: {_tail(stderr)}")
        if result is None:
            raise ProfilerError(f"child printed no result line; stdout: {_tail(stdout)}; "
                                f"stderr: {_tail(stderr)}")
        return result


def _local_backend(profile: DeviceProfile) -> Backend:
    return LocalBackend(cores=list(profile.cores) if profile.cores else None)


KIND = BackendKind(name="local", create=_local_backend)
