"""The adb backend on a real phone: runs only when `adb` sees one and a runner binary is given.

Set STAR_SEARCH_ADB_RUNNER to an arm64 executor_runner built as in docs/android_runner.md and
attach one phone (USB debugging authorised); run with `pytest -m adb tests/profiler/test_adb.py`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from star_search.profiler import MeasurementProtocol
from star_search.profiler.adb import RUNNER_ENV, AdbBackend, attached_devices

pytestmark = pytest.mark.adb
ADB_SERVER_PORT = 5037


def _adb_server_running() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", ADB_SERVER_PORT)) == 0


@pytest.fixture
def phone_backend() -> Iterator[AdbBackend]:
    if shutil.which("adb") is None:
        pytest.skip("adb is not installed (apt-get install adb)")
    started_here = not _adb_server_running()
    try:
        phones = attached_devices()
        if not phones:
            pytest.skip("no Android phone attached: `adb devices -l` lists none in state 'device'")
        runner = os.environ.get(RUNNER_ENV)
        if not runner:
            pytest.skip(f"${RUNNER_ENV} is not set to an arm64 executor_runner (docs/android_runner.md)")
        yield AdbBackend(phones[0].serial, runner, cores=[4, 5, 6, 7], model=phones[0].model)
    finally:
        if started_here:  # `adb devices` started the adb server; leave no daemon behind
            subprocess.run(["adb", "kill-server"], capture_output=True, timeout=30)


def test_measures_on_the_phone(phone_backend: AdbBackend, tiny_pte: Path,
                               quick_protocol: MeasurementProtocol) -> None:
    m = phone_backend.measure(tiny_pte, quick_protocol)
    assert (m.source, m.backend) == ("measured", "adb")
    assert m.device_id.startswith("adb:")
    assert len(m.ttft_samples_ms) == m.repeats >= quick_protocol.repeats
    assert len(m.decode_samples_ms) == m.repeats * quick_protocol.decode_steps
    assert m.decode_p50_ms > 0 and m.ttft_ms > 0 and m.peak_rss_bytes > 0
