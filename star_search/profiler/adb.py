"""AdbBackend: time a program on an Android phone with ExecuTorch's `executor_runner` over adb.

The runner binary (arm64, built as in docs/android_runner.md) and the program are pushed once
into `remote_dir` on the phone, content-addressed (`<sha256>.pte`, `executor_runner-<sha16>`).
Each timed round is two fresh runner processes, pinned with `taskset <mask>` to the profile's
big cores, with `--cpu_threads=<threads>`, and wrapped in toybox `time -v` for the peak RSS:

    prefill: --method_name=prefill --num_executions=<warmup + 1>   last execution = one TTFT sample
    decode:  --method_name=decode  --num_executions=<warmup + D>   last D executions = D step samples

Rounds go on as the protocol says (`repeats_done`). `executor_runner` sets every input to ones
and cannot carry the decode state from one call to the next; with static shapes (a fixed-size
cache and a position mask) a decode step costs the same whatever the values, so the step time is
the one a real decode loop sees. Peak RSS is the largest `Max RSS` of the round's processes.
With `protocol.etdump`, one more decode run writes an ETDump (the runner must be built with
`-DEXECUTORCH_ENABLE_EVENT_TRACER=ON`), which is pulled and read with the devtools Inspector.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from star_search.errors import ProfileError, ProfilerError, SpecError
from star_search.profiler.backend import Backend, BackendKind, checked_program
from star_search.profiler.local import file_sha256
from star_search.profiler.measurement import Measurement, coefficient_of_variation, decode_repeat_cv
from star_search.profiler.protocol import MeasurementProtocol, repeats_done
from star_search.profiler.runner_output import AdbDevice, parse_adb_devices, parse_runner_output
from star_search.sections import parse_section

if TYPE_CHECKING:
    from star_search.profiler.device_profile import DeviceProfile

RUNNER_ENV = "STAR_SEARCH_ADB_RUNNER"
DEFAULT_REMOTE_DIR = "/data/local/tmp/star_search"
# The phone-side folder is spliced into `adb shell` command lines: keep it free of shell syntax.
_SAFE_REMOTE_DIR = re.compile(r"/[A-Za-z0-9._/-]+")


def attached_devices(adb: str = "adb") -> list[AdbDevice]:
    """Phones `adb devices -l` lists in state "device" (authorised and online)."""
    try:
        listing = subprocess.run([adb, "devices", "-l"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ProfilerError(f"cannot run `{adb} devices -l`: {err}") from err
    if listing.returncode != 0:
        raise ProfilerError(f"`{adb} devices -l` failed: {listing.stderr.strip()[-500:]}")
    return [device for device in parse_adb_devices(listing.stdout) if device.state == "device"]


def core_mask(cores: Sequence[int]) -> str:
    """taskset's hexadecimal CPU mask for `cores` (e.g. [4, 5, 6, 7] → "f0")."""
    return format(sum(1 << core for core in set(cores)), "x")


class AdbBackend(Backend):
    name = "adb"

    def __init__(self, serial: str, runner: str | os.PathLike[str], cores: Sequence[int],
                 adb: str = "adb", remote_dir: str = DEFAULT_REMOTE_DIR, model: str = ""):
        self.serial = serial
        self.runner = Path(runner).expanduser()
        if not self.runner.is_file():
            raise ProfileError("adb.runner", str(runner), "the host path of an arm64 executor_runner "
                               "binary (docs/android_runner.md)")
        self.cores = list(cores)
        self.adb = adb
        self.remote_dir = remote_dir.rstrip("/")
        self.model = model

    @classmethod
    def from_profile(cls, profile: DeviceProfile) -> AdbBackend:
        """The phone the profile's `adb` section names (or the only one attached)."""
        settings: AdbSettings = profile.backend_settings
        runner = settings.runner or os.environ.get(RUNNER_ENV)
        if not runner:
            raise ProfileError("adb.runner", None, f"the host path of an arm64 executor_runner (or set "
                               f"${RUNNER_ENV}); see docs/android_runner.md")
        phones = attached_devices(settings.executable)
        if settings.serial is not None:
            phones = [phone for phone in phones if phone.serial == settings.serial]
        if len(phones) != 1:
            found = [phone.serial for phone in phones]
            raise ProfilerError(f"adb backend needs exactly one usable phone (adb.serial="
                                f"{settings.serial!r}); `adb devices -l` has {found}")
        return cls(phones[0].serial, runner, profile.cores or (), settings.executable, settings.remote_dir,
                   phones[0].model)

    @property
    def device_id(self) -> str:
        return f"adb:{self.model or 'android'}:{self.serial}"

    def _adb(self, args: list[str], timeout_s: float, check: bool = True) -> tuple[int, str]:
        """(exit status, stdout) of `adb -s <serial> ARGS`; with `check`, a non-zero status raises."""
        command = [self.adb, "-s", self.serial, *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=max(timeout_s, 1.0))
        except subprocess.TimeoutExpired as err:
            raise ProfilerError(f"`{shlex.join(command)}` timed out after {timeout_s:.0f} s") from err
        except OSError as err:
            raise ProfilerError(f"cannot run {self.adb}: {err}") from err
        if check and done.returncode != 0:
            raise ProfilerError(f"`{shlex.join(command)}` exited with status {done.returncode}: "
                                f"{(done.stdout + done.stderr).strip()[-800:]}")
        return done.returncode, done.stdout

    def _push_once(self, local: Path, remote: str, deadline: float, executable: bool = False) -> None:
        _, present = self._adb(["shell", f"test -f {remote} && echo present || true"], self._left(deadline))
        if "present" in present:
            return
        self._adb(["shell", f"mkdir -p {self.remote_dir}"], self._left(deadline))
        self._adb(["push", str(local), remote], self._left(deadline))
        if executable:
            self._adb(["shell", f"chmod 755 {remote}"], self._left(deadline))

    @staticmethod
    def _left(deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProfilerError("measurement timed out (protocol.timeout_s) on the phone")
        return left

    def _run(self, runner: str, program: str, method: str, executions: int, threads: int,
             deadline: float, extra: str = "") -> tuple[list[float], int | None]:
        command = (f"cd {self.remote_dir} && toybox time -v taskset {core_mask(self.cores)} {runner} "
                   f"--model_path={program} --method_name={method} --num_executions={executions} "
                   f"--cpu_threads={threads} --print_output=none {extra} 2>&1")
        status, text = self._adb(["shell", command], self._left(deadline), check=False)
        try:
            output = parse_runner_output(text, executions)
        except ProfilerError as err:
            raise ProfilerError(f"{method} on {self.device_id} (exit status {status}): {err}") from err
        if status != 0:
            raise ProfilerError(f"{method} on {self.device_id} exited with status {status} after timing")
        return list(output.iterations_ms), output.peak_rss_bytes

    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol) -> Measurement:
        path = checked_program(pte_path, protocol, self.cores, "big cores are pinned")
        deadline = time.monotonic() + protocol.timeout_s
        sha256 = file_sha256(path)
        runner = f"{self.remote_dir}/executor_runner-{file_sha256(self.runner)[:16]}"
        program = f"{self.remote_dir}/{sha256}.pte"
        self._push_once(self.runner, runner, deadline, executable=True)
        self._push_once(path, program, deadline)
        warmup, steps = max(protocol.warmup, 1), protocol.decode_steps  # every process starts cold
        ttft: list[float] = []
        decode: list[float] = []
        peak_rss = 0
        while True:
            prefill_ms, prefill_rss = self._run(runner, program, "prefill", warmup + 1, protocol.threads,
                                                deadline)
            step_ms, decode_rss = self._run(runner, program, "decode", warmup + steps, protocol.threads,
                                            deadline)
            ttft.append(prefill_ms[-1])
            decode.extend(step_ms[-steps:])
            peak_rss = max(peak_rss, prefill_rss or 0, decode_rss or 0)
            done, stop_reason = repeats_done(coefficient_of_variation(ttft), decode_repeat_cv(decode, steps),
                                             len(ttft), protocol)
            if done:
                break
        if peak_rss <= 0:
            raise ProfilerError("toybox `time -v` printed no 'Max RSS (KiB)' line on the phone")
        operator_times = self._operator_times(runner, program, protocol, deadline) if protocol.etdump else []
        return Measurement.from_samples(
            backend=self.name, device_id=self.device_id, program_sha256=sha256,
            threads=protocol.threads, prompt_len=protocol.prompt_len, decode_steps=steps,
            warmup=protocol.warmup, repeats=len(ttft), max_repeats=protocol.max_repeats,
            cv_target=protocol.cv_target, stop_reason=stop_reason, ttft_samples_ms=ttft,
            decode_samples_ms=decode, peak_rss_bytes=peak_rss, operator_times=operator_times)

    def _operator_times(self, runner: str, program: str, protocol: MeasurementProtocol,
                        deadline: float) -> list[dict[str, object]]:
        from star_search.profiler.operator_times import read_etdump

        rows: list[dict[str, object]] = []
        with tempfile.TemporaryDirectory(prefix="star-search-adb-etdump-") as folder:
            for method, calls in (("prefill", 1), ("decode", protocol.decode_steps)):
                remote = f"{program}.{method}.etdp"
                try:
                    self._run(runner, program, method, calls, protocol.threads, deadline,
                              extra=f"--etdump_path={remote}")
                except ProfilerError as err:
                    raise ProfilerError(f"ETDump run failed ({err}); the runner must be built with "
                                        "-DEXECUTORCH_ENABLE_EVENT_TRACER=ON") from err
                local = Path(folder) / f"{method}.etdp"
                self._adb(["pull", remote, str(local)], self._left(deadline))
                rows.extend(read_etdump(local, method, calls))
        return rows


@dataclass(frozen=True)
class AdbSettings:
    """The profile's `adb` section: `serial` (null = the only attached device), `runner` (host path
    of an arm64 ExecuTorch `executor_runner`, see docs/android_runner.md; null = the path in
    $STAR_SEARCH_ADB_RUNNER), `remote_dir` on the phone, `executable` (the adb program)."""

    serial: str | None = None
    runner: str | None = None
    remote_dir: str = DEFAULT_REMOTE_DIR
    executable: str = "adb"


def parse_adb(body: Mapping[str, Any]) -> AdbSettings:
    settings = parse_section(AdbSettings, body, "adb")
    if not isinstance(settings.remote_dir, str) or not _SAFE_REMOTE_DIR.fullmatch(settings.remote_dir):
        raise SpecError("adb.remote_dir", settings.remote_dir,
                        "an absolute path of letters, digits, '.', '_', '-' and '/'")
    if not isinstance(settings.executable, str) or not settings.executable:
        raise SpecError("adb.executable", settings.executable, "the adb program (a non-empty string)")
    for name in ("serial", "runner"):
        value = getattr(settings, name)
        if value is not None and (not isinstance(value, str) or not value):
            raise SpecError(f"adb.{name}", value, "a non-empty string or null")
    return settings


def check_adb_profile(profile: DeviceProfile) -> None:
    """A phone needs its big cores named, at least as many as threads, and no LLM custom ops."""
    if profile.cores is None:
        raise SpecError("cores", None, "the phone's big-core CPU ids to pin to, e.g. [4, 5, 6, 7]")
    if profile.threads > len(profile.cores):
        raise SpecError("threads", profile.threads,
                        f"at most the {len(profile.cores)} pinned cores {list(profile.cores)}")
    if profile.shapes.program.llm_ops:
        # docs/android_runner.md's executor_runner links no LLM custom-op kernels.
        raise SpecError("shapes.llm_ops", True,
                        "false with backend adb (its executor_runner has no LLM custom ops)")


KIND = BackendKind(name="adb", create=AdbBackend.from_profile, section="adb", parse=parse_adb,
                   check=check_adb_profile)
