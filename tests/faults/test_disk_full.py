"""The disk full while writing: a `DiskFullError` naming the file and "no space", everything
written before intact (cache entries, programs, latency tables, finished trials), and a search
that stops with that error instead of failing trial after trial.

The disk is a real one that fills: a 2 MiB tmpfs mounted for the test (needs root, which the test
container has; skipped with the reason otherwise). Where mounting is not allowed the cache writes
are still checked, under a file-size limit (RLIMIT_FSIZE: the kernel refuses the write with
EFBIG), which needs no privilege.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from star_search.errors import DiskFullError
from star_search.json_cache import JsonCache
from star_search.latency.table import LatencyTable
from star_search.lower import CachedProgram, ProgramCache, ProgramShapes
from star_search.scoring import budget_names
from star_search.search import SearchSettings, open_study
from star_search.search.candidate import CandidateResult, StageFailure
from star_search.search.objective import SearchObjective
from star_search.search.stopping import StopAtTrials
from star_search.spec import ArchSpec

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask/tell, no optimize


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB file system of its own (tmpfs), unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small disk with")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; returns it (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    os.write(fd, bytes(chunk))
            except OSError as err:
                assert err.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def assert_names_the_file(err: DiskFullError, path: Path) -> None:
    assert str(path) in str(err) and "no space" in str(err), str(err)


def no_temporary_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*.tmp")]


def test_a_json_cache_entry_on_a_full_disk(small_disk: Path) -> None:
    cache = JsonCache(small_disk / "results")
    cache.put("earlier", {"quality": 0.5})
    filler = fill(small_disk)
    with pytest.raises(DiskFullError) as info:
        cache.put("later", {"quality": 0.25})
    assert_names_the_file(info.value, cache.path("later"))
    assert cache.get("earlier") == {"quality": 0.5} and cache.get("later") is None
    assert no_temporary_files(small_disk)
    filler.unlink()
    cache.put("later", {"quality": 0.25})
    assert cache.get("later") == {"quality": 0.25}


def test_a_program_on_a_full_disk_is_a_disk_error_not_a_lowering_failure(
        small_disk: Path, tiny_spec: ArchSpec, tiny_pte_shapes: ProgramShapes, whole_program: CachedProgram,
        relowered) -> None:
    cache = ProgramCache(small_disk / "programs", isolate_above_params=None)
    earlier = cache.get_or_lower(tiny_spec, tiny_pte_shapes)
    other = tiny_spec.with_width(d_model=128)  # another key (the stand-in returns the same bytes)
    fill(small_disk)
    with pytest.raises(DiskFullError) as info:
        cache.get_or_lower(other, tiny_pte_shapes)
    assert_names_the_file(info.value, cache.paths(cache.key(other, tiny_pte_shapes, None))[0])
    assert cache.lookup(other, tiny_pte_shapes) is None
    # The earlier program is still served, whole (a fresh cache object checks its sha256).
    assert ProgramCache(cache.directory).lookup(tiny_spec, tiny_pte_shapes) == replace(earlier, hit=True)
    assert no_temporary_files(small_disk)


def test_a_latency_table_on_a_full_disk_keeps_the_table_before(small_disk: Path) -> None:
    settings = {"device_id": "local:x", "threads": 1}
    table = LatencyTable.open(small_disk / "latency", "dev", settings)
    table.calibrations["first"] = {"archs": ["a"], "corrections": {}}
    table.save()
    fill(small_disk)
    table.calibrations["second"] = {"archs": ["b" * 10_000], "corrections": {}}
    with pytest.raises(DiskFullError) as info:
        table.save()
    assert_names_the_file(info.value, table.path)
    assert list(LatencyTable.open(small_disk / "latency", "dev", settings).calibrations) == ["first"]
    assert no_temporary_files(small_disk)


# Run in a child with a file-size limit: writing a file past it fails with EFBIG (Python ignores
# SIGXFSZ), as a full disk would fail it with ENOSPC.
FILE_SIZE_LIMIT_CHILD = """\
import json, resource, sys
from star_search.errors import DiskFullError
from star_search.json_cache import JsonCache
cache = JsonCache(sys.argv[1])
cache.put("earlier", {"quality": 0.5})
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    cache.put("later", {"notes": "x" * 10_000})
except DiskFullError as err:
    print(json.dumps({"error": str(err), "earlier": cache.get("earlier"), "later": cache.get("later")}))
"""


def test_a_json_cache_entry_past_the_file_size_limit(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    result = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT_CHILD, str(folder)], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    assert str(JsonCache(folder).path("later")) in outcome["error"] and "no space" in outcome["error"]
    assert outcome["earlier"] == {"quality": 0.5} and outcome["later"] is None
    assert no_temporary_files(folder)


class CachingEvaluator:
    """Stands in for `CandidateEvaluator`: each candidate's result goes to a JSON cache, and a write
    that fails is raised as the real evaluator raises it (a `StageFailure` from the error)."""

    def __init__(self, profile, results: JsonCache):
        self.profile = profile
        self.results = results
        self.calls = 0

    def evaluate(self, spec: ArchSpec, finished: Callable[[], object]) -> CandidateResult:
        self.calls += 1
        try:
            self.results.put(f"proxy|{spec.arch_id}", {"quality": 0.5, "padding": "x" * 20_000})
        except DiskFullError as err:
            raise StageFailure("proxies", str(err)) from err
        latency = {"source": "measured", "decode_p50_ms": 5.0, "ttft_ms": 20.0, "peak_rss_bytes": 10**8}
        constraints = {name: -1.0 for name in budget_names(self.profile.budgets)}
        return CandidateResult(spec, 1000, {"quality": 0.5}, latency, constraints)

    def reusable(self, record: Mapping[str, Any]) -> bool:
        """As `CandidateEvaluator.reusable` without an anchor: a finished twin's record always
        stands (the random sampler may draw an architecture again)."""
        return True


def test_a_full_disk_stops_the_search_and_keeps_its_finished_trials(
        small_disk: Path, tmp_path: Path, demo_space, quick_profile) -> None:
    """The caches on the full disk, the study elsewhere (another disk, or PostgreSQL): the trial
    that hit the full disk fails with the reason and the search stops with the error."""
    settings = SearchSettings(space=demo_space, profile=quick_profile, out_dir=tmp_path / "run",
                              sampler="random", cache_dir=small_disk / "cache")
    study = open_study(settings)
    results = JsonCache(small_disk / "cache" / "results")
    evaluator = CachingEvaluator(quick_profile, results)
    objective = SearchObjective(demo_space, evaluator)
    objective.optimize(study, [StopAtTrials(2)])
    finished = {t.number: t.values for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert len(finished) == 2

    filler = fill(small_disk)
    with pytest.raises(DiskFullError) as info:
        objective.optimize(study, [StopAtTrials(6)])
    assert "no space" in str(info.value) and str(results.directory) in str(info.value)
    assert evaluator.calls == 3, "the search went on failing trials on a full disk"
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert len(failed) == 1 and "no space" in failed[0].user_attrs["fail_reason"]

    filler.unlink()
    study = optuna.load_study(study_name=settings.resolved_study_name, storage=settings.storage_url)
    assert {t.number: t.values for t in study.get_trials(states=(TrialState.COMPLETE,))} == finished
    assert [t.number for t in study.get_trials()] == [0, 1, 2]
    assert objective.optimize(study, [StopAtTrials(4)]) is None  # the same search goes on
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 3


def test_a_search_whose_study_is_on_the_full_disk_stops_naming_it(
        small_disk: Path, demo_space, quick_profile) -> None:
    settings = SearchSettings(space=demo_space, profile=quick_profile, out_dir=small_disk / "run",
                              sampler="random", cache_dir=small_disk / "cache")
    study = open_study(settings)
    objective = SearchObjective(demo_space, CachingEvaluator(quick_profile, JsonCache(settings.cache_dir)))
    objective.optimize(study, [StopAtTrials(1)])
    filler = fill(small_disk)
    with pytest.raises(DiskFullError) as info:
        objective.optimize(study, [StopAtTrials(3)])
    assert_names_the_file(info.value, settings.out_dir / "study.db")
    filler.unlink()
    study = optuna.load_study(study_name=settings.resolved_study_name, storage=settings.storage_url)
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE]


def test_a_study_file_on_a_full_disk_is_named(small_disk: Path, demo_space, quick_profile) -> None:
    settings = SearchSettings(space=demo_space, profile=quick_profile, out_dir=small_disk / "run")
    study = open_study(settings)
    trial = study.ask()
    study.tell(trial, [0.5, 1.0, 10.0, 100.0])
    filler = fill(small_disk)
    with pytest.raises(DiskFullError) as info:
        study.ask().set_user_attr("arch", {"notes": "x" * 50_000})
    assert_names_the_file(info.value, settings.out_dir / "study.db")
    filler.unlink()
    study = optuna.load_study(study_name=settings.resolved_study_name, storage=settings.storage_url)
    assert study.trials[0].state == TrialState.COMPLETE and study.trials[0].values == [0.5, 1.0, 10.0, 100.0]

