"""Parse what ExecuTorch's `executor_runner` and toybox `time -v` print on an Android phone.

`executor_runner` (examples/portable/executor_runner, ExecuTorch 1.4+) logs through ET_LOG;
built with the posix platform layer (`-DEXECUTORCH_PAL_DEFAULT=posix`, see
docs/android_runner.md) each log line goes to stderr as

    <level> <hh>:<mm>:<ss>.<us> executorch:<file>:<line>] <message>

with level I (info), E (error) or F (fatal: a failed ET_CHECK, after which the runner aborts).
The messages read here are, verbatim from its source:

    "Model loaded in %f ms."
    "Iteration %u of %u: %f ms"                       one per execution of the method
    "Model executed successfully %u time(s) in %f ms."

`toybox time -v CMD` prints, after CMD exits, lines such as `Max RSS (KiB): 10240` (the child's
ru_maxrss, its peak resident set size).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from star_search.errors import ProfilerError

_LOG_LINE = re.compile(r"^([DIEF]) \d+:\d{2}:\d{2}\.\d+ executorch:[^\]]*\] (.*)$")
_LOADED = re.compile(r"^Model loaded in ([0-9.]+) ms\.$")
_ITERATION = re.compile(r"^Iteration (\d+) of (\d+): ([0-9.]+) ms$")
_TOTAL = re.compile(r"^Model executed successfully (\d+) time\(s\) in ([0-9.]+) ms\.$")
_MAX_RSS = re.compile(r"^Max RSS \(KiB\): (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class RunnerOutput:
    """One executor_runner invocation: per-execution times (ms), their reported total (ms), the
    method load time (ms, None when not printed) and the peak RSS from `time -v` (bytes, None
    when absent)."""

    iterations_ms: tuple[float, ...]
    total_ms: float
    load_ms: float | None
    peak_rss_bytes: int | None


def _failure(lines: list[tuple[str, str]], text: str) -> str:
    errors = [message for level, message in lines if level in ("E", "F")]
    if errors:
        return "; ".join(errors[-3:])
    tail = text.strip().splitlines()[-3:]
    return " | ".join(tail) if tail else "no output"


def parse_runner_output(text: str, expected_executions: int) -> RunnerOutput:
    """The timings in `text` (stdout and stderr together); ProfilerError if the run failed or the
    output lacks a figure. `expected_executions` is the --num_executions that was asked for."""
    lines = [(m.group(1), m.group(2).rstrip()) for m in map(_LOG_LINE.match, text.splitlines()) if m]
    iterations: dict[int, float] = {}
    total: tuple[int, float] | None = None
    load_ms: float | None = None
    for _, message in lines:
        if match := _ITERATION.match(message):
            iterations[int(match.group(1))] = float(match.group(3))
        elif match := _TOTAL.match(message):
            total = (int(match.group(1)), float(match.group(2)))
        elif match := _LOADED.match(message):
            load_ms = float(match.group(1))
    if total is None:
        raise ProfilerError(f"executor_runner did not finish: {_failure(lines, text)}")
    if total[0] != expected_executions or sorted(iterations) != list(range(1, expected_executions + 1)):
        raise ProfilerError(f"executor_runner reported {len(iterations)} iteration times and "
                            f"{total[0]} executions; expected {expected_executions}")
    rss = _MAX_RSS.search(text)
    return RunnerOutput(tuple(iterations[i] for i in sorted(iterations)), total[1], load_ms,
                        int(rss.group(1)) * 1024 if rss else None)


@dataclass(frozen=True)
class AdbDevice:
    """One line of `adb devices -l`: serial, state ("device" when usable) and properties such as
    product, model, device and transport_id."""

    serial: str
    state: str
    properties: dict[str, str]

    @property
    def model(self) -> str:
        return self.properties.get("model", "")


_PROPERTY = re.compile(r"^(product|model|device|transport_id):(.*)$")


def parse_adb_devices(text: str) -> list[AdbDevice]:
    """Devices listed by `adb devices -l` (adb prints `%-22s %s` serial and state, then optional
    devpath and `key:value` properties; daemon start-up messages begin with `*`)."""
    devices = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("List of devices", "*", "adb server")):
            continue
        fields = line.split()
        serial, rest = fields[0], fields[1:]
        if not rest:
            continue
        state = "no permissions" if rest[0] == "no" else rest[0]
        properties = {m.group(1): m.group(2) for m in map(_PROPERTY.match, rest) if m}
        devices.append(AdbDevice(serial, state, properties))
    return devices
