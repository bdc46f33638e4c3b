"""The program cache never serves a partial .pte: a lowering child killed mid-write, a program cut
short or altered on disk under an intact sidecar, a killed writer's temporary file. Lowering is
replaced by `tiny_pte`'s bytes (conftest.py's `relowered`)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import resource
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

import star_search.lower.cache as cache_module
from star_search.atomic import remove_stale_temps
from star_search.errors import LoweringError
from star_search.lower import CachedProgram, LoweredProgram, ProgramCache, ProgramShapes
from star_search.spec import ArchSpec


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lower_killed_mid_write(directory: str, spec: ArchSpec, shapes: ProgramShapes, quantize: str | None,
                            *, program: CachedProgram) -> CachedProgram:
    """The isolated lowering child's work (lowering `program`'s bytes), in a child whose files may
    not grow past half the program: the kernel kills it (SIGXFSZ, which Python ignores unless told
    otherwise) the moment its program file reaches that size, half-way through writing it."""
    pte = program.path.read_bytes()
    cache_module.lower_arch_with_report = lambda *args: LoweredProgram(pte, program.coverage, 0.5)
    sys.dont_write_bytecode = True  # no other file of the child may reach the limit first
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    limit = program.size_bytes // 2
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return cache_module._lower_into(directory, spec, shapes, quantize)


def test_a_lowering_child_killed_mid_write_leaves_no_program_to_serve(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_spec: ArchSpec, tiny_pte_shapes: ProgramShapes,
        whole_program: CachedProgram, relowered) -> None:
    shapes = tiny_pte_shapes
    cache = ProgramCache(tmp_path / "programs", isolate_above_params=0)  # lowered in a child
    pte_path, meta_path = cache.paths(cache.key(tiny_spec, shapes, None))
    monkeypatch.setattr(cache_module, "_lower_into",
                        functools.partial(_lower_killed_mid_write, program=whole_program))
    with pytest.raises(LoweringError, match="died before finishing"):
        cache.get_or_lower(tiny_spec, shapes)
    left = sorted(cache.directory.iterdir())
    assert [p.stat().st_size for p in left] == [whole_program.size_bytes // 2], \
        "the child was not killed half-way through the program"
    assert left[0].name.startswith(f".{pte_path.name}.") and left[0].name.endswith(".tmp")
    assert not pte_path.exists() and not meta_path.exists()  # the half is only in its temporary file
    assert cache.lookup(tiny_spec, shapes) is None

    again = ProgramCache(cache.directory, isolate_above_params=None).get_or_lower(tiny_spec, shapes)
    assert relowered.calls == 1 and not again.hit
    assert _sha256(pte_path) == again.sha256 == whole_program.sha256
    # The dead child's temporary file went with the next lowering of its key.
    assert sorted(p.name for p in cache.directory.iterdir()) == sorted([meta_path.name, pte_path.name])
    assert ProgramCache(cache.directory).get_or_lower(tiny_spec, shapes).hit


@pytest.mark.parametrize("damage", ["cut_short", "bytes_changed"])
def test_a_damaged_program_under_an_intact_sidecar_is_named_and_lowered_again(
        damage: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, tiny_spec: ArchSpec,
        tiny_pte_shapes: ProgramShapes, whole_program: CachedProgram, relowered) -> None:
    """What a crash before the bytes reached the disk, or a partial copy of the cache folder, leaves."""
    cache = ProgramCache(tmp_path / "programs", isolate_above_params=None)
    pte_path, meta_path = cache.paths(cache.key(tiny_spec, tiny_pte_shapes, None))
    shutil.copy(whole_program.path, pte_path)
    shutil.copy(whole_program.path.with_suffix(".json"), meta_path)
    data = bytearray(pte_path.read_bytes())
    if damage == "cut_short":
        del data[len(data) // 2:]
    else:
        data[len(data) // 2] ^= 0xFF
    pte_path.write_bytes(bytes(data))

    with caplog.at_level(logging.WARNING, logger="star_search.lower.cache"):
        assert cache.lookup(tiny_spec, tiny_pte_shapes) is None
    assert str(pte_path) in caplog.text and "lowered again" in caplog.text
    program = cache.get_or_lower(tiny_spec, tiny_pte_shapes)
    assert relowered.calls == 1 and not program.hit and _sha256(pte_path) == whole_program.sha256
    assert ProgramCache(cache.directory).get_or_lower(tiny_spec, tiny_pte_shapes).hit


def test_a_damaged_sidecar_is_named_in_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                 tiny_spec: ArchSpec, tiny_pte_shapes: ProgramShapes,
                                                 whole_program: CachedProgram) -> None:
    cache = ProgramCache(tmp_path / "programs")
    pte_path, meta_path = cache.paths(cache.key(tiny_spec, tiny_pte_shapes, None))
    shutil.copy(whole_program.path, pte_path)
    meta_path.write_bytes(whole_program.path.with_suffix(".json").read_bytes()[:100])  # cut short
    with caplog.at_level(logging.WARNING, logger="star_search.lower.cache"):
        assert cache.lookup(tiny_spec, tiny_pte_shapes) is None
    assert str(meta_path) in caplog.text


def test_only_temporary_files_of_gone_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "entry.pte"
    host = socket.gethostname()
    dead_pid = _a_finished_pid()
    mine = tmp_path / f".entry.pte.{host}-{os.getpid()}.abc123.tmp"
    dead = tmp_path / f".entry.pte.{host}-{dead_pid}.def456.tmp"
    elsewhere_fresh = tmp_path / ".entry.pte.other-host-7.ghi789.tmp"
    elsewhere_old = tmp_path / ".entry.pte.other-host-8.jkl012.tmp"
    other_entry = tmp_path / f".entry.pte2.{host}-{dead_pid}.mno345.tmp"
    for path in (mine, dead, elsewhere_fresh, elsewhere_old, other_entry):
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3700
    os.utime(elsewhere_old, (an_hour_ago, an_hour_ago))
    assert sorted(remove_stale_temps(target)) == sorted([dead, elsewhere_old])
    assert mine.exists() and elsewhere_fresh.exists() and other_entry.exists()


def _a_finished_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid
