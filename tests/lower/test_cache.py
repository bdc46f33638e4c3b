"""ProgramCache: a second request is served from disk; entries are complete and keyed right."""

from __future__ import annotations

import hashlib
import json

import pytest

import star_search.lower.cache as cache_module
from star_search.lower import CachedProgram, ProgramCache, ProgramShapes
from star_search.spec import ArchSpec


def _no_lowering(*args, **kwargs):
    raise AssertionError("the cache lowered again instead of serving the stored program")


def test_second_request_hits_without_lowering(
        monkeypatch: pytest.MonkeyPatch, program_cache: ProgramCache, tiny_program: CachedProgram,
        tiny_spec: ArchSpec, tiny_shapes: ProgramShapes) -> None:
    assert not tiny_program.hit
    monkeypatch.setattr(cache_module, "lower_arch_with_report", _no_lowering)
    again = program_cache.get_or_lower(tiny_spec, tiny_shapes)
    assert again.hit
    assert (again.path, again.sha256, again.size_bytes) == (
        tiny_program.path, tiny_program.sha256, tiny_program.size_bytes)
    assert again.coverage == tiny_program.coverage
    # A fresh cache object over the same directory sees it too (nothing lives in memory).
    assert ProgramCache(program_cache.directory).get_or_lower(tiny_spec, tiny_shapes).hit


def test_entry_is_complete(program_cache: ProgramCache, tiny_program: CachedProgram) -> None:
    data = tiny_program.path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == tiny_program.sha256
    assert len(data) == tiny_program.size_bytes
    sidecar = json.loads(tiny_program.path.with_suffix(".json").read_text())
    assert sidecar["sha256"] == tiny_program.sha256
    assert sidecar["lowering_s"] > 0
    assert sidecar["key_fields"]["executorch"] not in ("", "absent")
    assert not [p for p in program_cache.directory.iterdir() if p.name.endswith(".tmp")]


def test_key_changes_with_what_changes_the_program(
        program_cache: ProgramCache, tiny_spec: ArchSpec, tiny_shapes: ProgramShapes) -> None:
    base = program_cache.key(tiny_spec, tiny_shapes, None)
    assert base.startswith(tiny_spec.arch_id)
    assert program_cache.key(tiny_spec, tiny_shapes, "8da4w") != base
    assert program_cache.key(tiny_spec, ProgramShapes(8, 32), None) != base
    assert program_cache.key(tiny_spec.with_width(d_model=128), tiny_shapes, None) != base
    assert program_cache.key(tiny_spec.with_width(name="renamed"), tiny_shapes, None) == base


def test_damaged_sidecar_is_a_miss(tmp_path, program_cache: ProgramCache,
                                   tiny_program: CachedProgram, tiny_spec: ArchSpec,
                                   tiny_shapes: ProgramShapes) -> None:
    other = ProgramCache(tmp_path)
    key = other.key(tiny_spec, tiny_shapes, None)
    pte_path, meta_path = other.paths(key)
    pte_path.write_bytes(tiny_program.path.read_bytes())
    meta_path.write_text("{not json")
    assert other.lookup(tiny_spec, tiny_shapes) is None
    meta_path.unlink()
    assert other.lookup(tiny_spec, tiny_shapes) is None


def test_isolated_lowering_stores_the_same_program(tmp_path, tiny_program: CachedProgram,
                                                   tiny_spec: ArchSpec, tiny_shapes: ProgramShapes) -> None:
    """Above `isolate_above_params` a child process lowers; the entry is the one this process makes."""
    isolated = ProgramCache(tmp_path / "isolated", isolate_above_params=0)
    program = isolated.get_or_lower(tiny_spec, tiny_shapes)
    assert not program.hit and program.path.parent == tmp_path / "isolated"
    assert program.sha256 == tiny_program.sha256 and program.coverage == tiny_program.coverage
    assert isolated.get_or_lower(tiny_spec, tiny_shapes).hit


def test_lowering_error_keeps_its_parts_across_processes() -> None:
    import pickle

    from star_search.errors import LoweringError

    error = pickle.loads(pickle.dumps(LoweringError("no kernel for the op", "aten.foo")))
    assert str(error) == "lowering failed in operator 'aten.foo': no kernel for the op"
    assert error.operator == "aten.foo"
