"""Parsing what the phone prints: `adb devices -l`, ExecuTorch's executor_runner, toybox time -v.

Provenance of the inputs in data/ (no phone and no arm64 runner were at hand when they were made):
- adb_devices_l_no_device.txt: captured from `adb devices -l` (adb 1.0.41, Debian) with no phone.
- adb_devices_l_format.txt: written to the format adb's `append_transport` prints
  ("%-22s %s" serial and state, devpath, product:, model:, device:, transport_id:).
- executor_runner_*.txt: written line by line to the format strings of
  examples/portable/executor_runner/executor_runner.cpp and the posix ET_LOG prefix
  ("%c %02u:%02u:%02u.%06lu executorch:%s:%zu] %s") of ExecuTorch v1.4.1, followed by the
  lines toybox's `time -v` prints (toys/posix/time.c); they are not captures of a real run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from star_search.errors import ProfilerError
from star_search.profiler.adb import core_mask
from star_search.profiler.runner_output import parse_adb_devices, parse_runner_output

DATA = Path(__file__).parent / "data"


def test_adb_devices_without_a_phone() -> None:
    assert parse_adb_devices((DATA / "adb_devices_l_no_device.txt").read_text()) == []


def test_adb_devices_states_and_properties() -> None:
    devices = parse_adb_devices((DATA / "adb_devices_l_format.txt").read_text())
    assert [(d.serial, d.state) for d in devices] == [
        ("R5CW1234ABC", "device"), ("emulator-5554", "device"), ("0a1b2c3d", "unauthorized"),
        ("9f8e7d6c", "no permissions")]
    assert devices[0].model == "SM_S928B" and devices[0].properties["transport_id"] == "3"
    assert devices[2].model == ""


def test_executor_runner_timings_and_peak_rss() -> None:
    output = parse_runner_output((DATA / "executor_runner_decode.txt").read_text(), expected_executions=5)
    assert output.iterations_ms == (2.101302, 0.642187, 0.611458, 0.603854, 0.619271)
    assert output.total_ms == pytest.approx(4.578072)
    assert output.total_ms == pytest.approx(sum(output.iterations_ms), abs=1e-5)
    assert output.load_ms == pytest.approx(7.4371)
    assert output.peak_rss_bytes == 12544 * 1024


def test_executor_runner_abort_names_the_runtime_errors() -> None:
    with pytest.raises(ProfilerError, match=r"Missing operator: \[0\] aten::index_put.out.*assert failed"):
        parse_runner_output((DATA / "executor_runner_abort.txt").read_text(), expected_executions=5)


def test_executor_runner_with_missing_iterations_is_rejected() -> None:
    text = (DATA / "executor_runner_decode.txt").read_text()
    with pytest.raises(ProfilerError, match="expected 6"):
        parse_runner_output(text, expected_executions=6)
    without_one = "\n".join(line for line in text.splitlines() if "Iteration 3 of 5" not in line)
    with pytest.raises(ProfilerError, match="4 iteration times"):
        parse_runner_output(without_one, expected_executions=5)
    with pytest.raises(ProfilerError, match="did not finish: no output"):
        parse_runner_output("", expected_executions=1)


def test_taskset_mask_of_big_cores() -> None:
    assert core_mask([4, 5, 6, 7]) == "f0"
    assert core_mask([7]) == "80"
    assert core_mask([0, 1]) == "3"
