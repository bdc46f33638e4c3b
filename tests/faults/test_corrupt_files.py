"""Truncated or corrupted files are detected and named, then rebuilt (cache entries) or refused
(latency tables, study files), never a crash later: the JSON caches (proxy results and
measurements), latency tables and the SQLite study file. Program cache entries:
test_program_cache_faults.py."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from star_search.errors import StarSearchError, StudyStorageError
from star_search.json_cache import JsonCache
from star_search.latency.table import LatencyTable
from star_search.lower import ProgramCache, ProgramShapes
from star_search.profiler.backend import Backend
from star_search.profiler.measurement import Measurement
from star_search.profiler.measurement_cache import MeasurementCache
from star_search.profiler.meter import Meter
from star_search.profiler.protocol import MeasurementProtocol
from star_search.search import SearchSettings, open_study
from star_search.spec import ArchSpec

SHAPES = ProgramShapes(8, 16)  # `tiny_pte`'s (tests/conftest.py)
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask/tell, no optimize
STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    damaged = {
        "cut_short": data[: len(data) // 2],
        "emptied": b"",
        "garbage": os.urandom(max(len(data), 64)),
        "not_an_entry": b'["a", "list"]',
    }[how]
    path.write_bytes(damaged)


@pytest.mark.parametrize("how", ["cut_short", "emptied", "garbage", "not_an_entry"])
def test_a_damaged_json_cache_entry_is_named_and_rebuilt(how: str, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    cache = JsonCache(tmp_path / "results")
    cache.put("proxy|abc", {"quality": 0.5, "tasks": {"copy": 0.75}})
    _damage(cache.path("proxy|abc"), how)
    with caplog.at_level(logging.WARNING, logger="star_search.json_cache"):
        assert cache.get("proxy|abc") is None
    assert str(cache.path("proxy|abc")) in caplog.text and "rebuilt" in caplog.text
    cache.put("proxy|abc", {"quality": 0.5})
    assert cache.get("proxy|abc") == {"quality": 0.5}
    assert cache.get("proxy|other") is None  # a missing entry is a plain miss


class CountingBackend(Backend):
    """A backend that makes up a measurement and counts how often it was asked."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    @property
    def device_id(self) -> str:
        return "counting:0"

    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol) -> Measurement:
        import hashlib

        self.calls += 1
        return Measurement.from_samples(
            backend=self.name, device_id=self.device_id,
            program_sha256=hashlib.sha256(Path(pte_path).read_bytes()).hexdigest(), threads=protocol.threads,
            prompt_len=protocol.prompt_len, decode_steps=protocol.decode_steps, warmup=protocol.warmup,
            repeats=1, ttft_samples_ms=[2.0], decode_samples_ms=[1.0] * protocol.decode_steps,
            peak_rss_bytes=50_000_000)


@pytest.mark.parametrize("how", ["cut_short", "garbage", "figure_as_text"])
def test_a_damaged_measurement_is_named_and_measured_again(
        how: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, tiny_program_cache: ProgramCache,
        tiny_spec: ArchSpec, quick_protocol: MeasurementProtocol) -> None:
    backend = CountingBackend()
    meter = Meter(tiny_program_cache, MeasurementCache(tmp_path / "measurements"), backend, SHAPES, None,
                  quick_protocol)
    first = meter.measure(tiny_spec)
    assert meter.measure(tiny_spec).measurement_cached and backend.calls == 1
    [entry] = (tmp_path / "measurements").iterdir()
    if how == "figure_as_text":
        data = json.loads(entry.read_text())
        data["value"]["decode_p50_ms"] = "fast"
        entry.write_text(json.dumps(data))
    else:
        _damage(entry, how)
    with caplog.at_level(logging.WARNING, logger="star_search"):
        again = meter.measure(tiny_spec)
    assert not again.measurement_cached and backend.calls == 2
    assert str(entry) in caplog.text
    assert again.measurement.decode_p50_ms == first.measurement.decode_p50_ms
    assert meter.measure(tiny_spec).measurement_cached and backend.calls == 2  # rewritten whole


@pytest.mark.parametrize("content", ['{"table_version": "1-abc", "wid', "\x00\x01garbage\xff",
                                     '["a", "list"]', "null", "WIDTHS"])
def test_a_damaged_latency_table_is_refused_by_name_on_opening(content: str, tmp_path: Path) -> None:
    settings = {"device_id": "local:x", "threads": 2}
    table = LatencyTable.open(tmp_path, "dev", settings)
    if content == "WIDTHS":  # valid JSON, the right version, rows of the wrong shape
        content = json.dumps({"table_version": table.version, "widths": ["w64"], "calibrations": {}})
    table.path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(StarSearchError, match="damaged") as info:
        LatencyTable.open(tmp_path, "dev", settings)
    assert str(table.path) in str(info.value) and "delete it to rebuild" in str(info.value)


@pytest.fixture
def settings(tmp_path: Path, demo_space, quick_profile) -> SearchSettings:
    return SearchSettings(space=demo_space, profile=quick_profile, out_dir=tmp_path / "run", n_trials=3)


def _study_with_trials(settings: SearchSettings, count: int) -> Path:
    """A study file holding `count` complete trials (made-up values: no evaluation runs)."""
    study = open_study(settings)
    for index in range(count):
        trial = study.ask()
        trial.set_user_attr("arch_id", f"arch{index}")
        study.tell(trial, [0.5 + index / 10, 1.0, 10.0, 100.0])
    study._storage.remove_session()
    return settings.out_dir / "study.db"


def _damage_study(path: Path, how: str) -> None:
    data = path.read_bytes()
    damaged = {
        "cut_short": data[: len(data) // 2],
        "garbage": os.urandom(len(data)),
        "pages_zeroed": data[:8192] + bytes(8192) + data[16384:],
    }[how]
    path.write_bytes(damaged)


@pytest.mark.parametrize("how", ["cut_short", "garbage", "pages_zeroed"])
def test_a_damaged_study_file_is_refused_by_name_on_resume(how: str, settings: SearchSettings) -> None:
    path = _study_with_trials(settings, 3)
    assert len(open_study(settings).get_trials()) == 3
    _damage_study(path, how)
    damaged = path.read_bytes()
    with pytest.raises(StudyStorageError, match="is damaged") as info:
        open_study(settings)
    assert str(path) in str(info.value)
    assert path.read_bytes() == damaged  # refused, not rewritten over


def test_the_search_command_refuses_a_damaged_study_file_without_a_traceback(
        settings: SearchSettings, project_root: Path, tmp_path: Path) -> None:
    path = _study_with_trials(replace(settings, study_name="demo-laptop_cpu"), 2)
    _damage_study(path, "cut_short")
    result = subprocess.run([*STAR_SEARCH, "search", "space=demo", "device=laptop_cpu",
                             f"out_dir={settings.out_dir}", "search.n_trials=3"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"study file {path} is damaged" in result.stderr
    assert "Traceback" not in result.stderr
