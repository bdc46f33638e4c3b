"""LocalBackend: real measurements in a child process, and failures that say why."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from star_search.errors import ProfilerError
from star_search.profiler import LocalBackend, MeasurementProtocol
from star_search.profiler.local import file_sha256


def current_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_measures_a_real_program(tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    # A big parent must not inflate the child's peak RSS (Linux keeps ru_maxrss across exec).
    ballast = b"\x01" * (256 << 20)
    parent_rss = current_rss_bytes()
    m = LocalBackend(device_id="test-cpu").measure(tiny_pte, quick_protocol)
    assert len(ballast) and m.peak_rss_bytes < parent_rss
    assert (m.source, m.backend, m.device_id, m.threads) == ("measured", "local", "test-cpu", 1)
    assert m.program_sha256 == file_sha256(tiny_pte)
    assert len(m.ttft_samples_ms) == quick_protocol.repeats
    assert len(m.decode_samples_ms) == quick_protocol.repeats * quick_protocol.decode_steps
    assert all(0 < t < 10_000 for t in (*m.ttft_samples_ms, *m.decode_samples_ms))
    assert m.ttft_ms > 0 and m.prefill_tok_s > 0 and m.decode_p50_ms > 0
    assert m.decode_p95_ms >= m.decode_p50_ms and m.decode_cv >= 0
    assert m.peak_rss_bytes >= m.baseline_rss_bytes > 0
    assert m.page_cache == "evicted"  # the child read the program afresh, and the record says so


def test_garbage_program_fails_with_reason(tmp_path: Path, quick_protocol: MeasurementProtocol) -> None:
    bogus = tmp_path / "garbage.pte"
    bogus.write_bytes(os.urandom(4096))
    with pytest.raises(ProfilerError, match="not an ExecuTorch program"):
        LocalBackend().measure(bogus, quick_protocol)


def test_corrupt_program_crashing_the_runtime_is_reported(
        tmp_path: Path, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    data = bytearray(tiny_pte.read_bytes())
    data[8:4096] = os.urandom(4088)  # keep the identifier, wreck the flatbuffer
    corrupt = tmp_path / "corrupt.pte"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ProfilerError, match="child"):
        LocalBackend().measure(corrupt, quick_protocol)


def test_wrong_prompt_length_is_named(tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    protocol = replace(quick_protocol, warmup=0, repeats=1,
                       prompt_len=quick_protocol.prompt_len + 1, decode_steps=1)
    with pytest.raises(ProfilerError, match="prompt_len"):
        LocalBackend().measure(tiny_pte, protocol)


def test_timeout_kills_the_child(tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    protocol = replace(quick_protocol, warmup=0, repeats=1, timeout_s=0.2)
    with pytest.raises(ProfilerError, match=r"timed out after 0\.2 s"):
        LocalBackend().measure(tiny_pte, protocol)


def test_crash_by_signal_is_reported(tmp_path: Path, tiny_pte: Path,
                                     quick_protocol: MeasurementProtocol) -> None:
    crasher = tmp_path / "crashing-python"
    crasher.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crasher.chmod(crasher.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ProfilerError, match="SIGSEGV"):
        LocalBackend(python=str(crasher)).measure(tiny_pte, quick_protocol)


def test_impossible_requests_fail_before_starting(
        tmp_path: Path, tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    with pytest.raises(ProfilerError, match="does not exist"):
        LocalBackend().measure(tmp_path / "absent.pte", quick_protocol)
    with pytest.raises(ProfilerError, match="2 threads"):
        LocalBackend(cores=[0]).measure(tiny_pte, MeasurementProtocol(threads=2, prompt_len=8))


def test_noisy_runs_repeat_up_to_the_maximum(tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    # Sub-millisecond calls on a shared CPU never agree to within 1e-6: the bound stops the run.
    protocol = replace(quick_protocol, warmup=0, repeats=2, max_repeats=5, cv_target=1e-6)
    m = LocalBackend().measure(tiny_pte, protocol)
    assert (m.repeats, m.stop_reason, m.max_repeats, m.cv_target) == (5, "max_repeats", 5, 1e-6)
    assert len(m.ttft_samples_ms) == 5 and len(m.decode_samples_ms) == 5 * protocol.decode_steps
    assert m.ttft_cv > 1e-6 or m.decode_repeat_cv > 1e-6


def test_etdump_adds_operator_times_and_quiet_runs_stop_early(
        tiny_pte: Path, quick_protocol: MeasurementProtocol) -> None:
    protocol = replace(quick_protocol, repeats=2, max_repeats=6, cv_target=1.0, etdump=True)
    m = LocalBackend().measure(tiny_pte, protocol)
    assert (m.repeats, m.stop_reason) == (2, "cv_target")  # any two runs agree within CV 1.0
    methods = {op["method"] for op in m.operator_times}
    assert methods == {"prefill", "decode"}
    delegated = [op for op in m.operator_times if op["delegated"] and op["operator"] != "DELEGATE_CALL"]
    portable = [op for op in m.operator_times if not op["delegated"]]
    assert delegated and portable  # XNNPACK's own operators and the portable kernels around them
    assert any(op["operator"].startswith("Fully Connected") for op in delegated)
    assert all(op["ms"] >= 0 and op["calls"] > 0 for op in m.operator_times)
    subgraphs = [op for op in m.operator_times
                 if op["method"] == "decode" and op["operator"] == "DELEGATE_CALL"]
    # Per decode call, the XNNPACK subgraphs take less than the whole step measured from Python.
    assert 0 < subgraphs[0]["ms"] < max(m.decode_samples_ms)
