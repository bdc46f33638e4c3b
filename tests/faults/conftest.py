"""Shared by the fault tests: `tiny_spec`'s program as `tiny_pte` has it, and a stand-in for
lowering that returns its bytes (what is under test is how programs are written, checked and
rebuilt; the real lowering of those bytes is `tiny_pte`'s)."""

from __future__ import annotations

import pytest

import star_search.lower.cache as cache_module
from star_search.lower import CachedProgram, LoweredProgram, ProgramCache, ProgramShapes
from star_search.spec import ArchSpec


class Relowered:
    """Stands in for `lower_arch_with_report`: returns `program`'s bytes and counts its calls."""

    def __init__(self, program: CachedProgram):
        self.program = program
        self.calls = 0

    def __call__(self, *args: object) -> LoweredProgram:
        self.calls += 1
        return LoweredProgram(self.program.path.read_bytes(), self.program.coverage, 0.5)


@pytest.fixture(scope="session")
def tiny_pte_shapes() -> ProgramShapes:
    """`tiny_pte`'s shapes (tests/conftest.py), so its program is usually already lowered."""
    return ProgramShapes(8, 16)


@pytest.fixture
def whole_program(tiny_program_cache: ProgramCache, tiny_spec: ArchSpec,
                  tiny_pte_shapes: ProgramShapes) -> CachedProgram:
    """`tiny_spec` lowered for `tiny_pte_shapes` (the entry behind `tiny_pte`)."""
    return tiny_program_cache.get_or_lower(tiny_spec, tiny_pte_shapes)


@pytest.fixture
def relowered(monkeypatch: pytest.MonkeyPatch, whole_program: CachedProgram) -> Relowered:
    """Lowering in this process replaced by `Relowered` (the isolated child lowers for real)."""
    stand_in = Relowered(whole_program)
    monkeypatch.setattr(cache_module, "lower_arch_with_report", stand_in)
    return stand_in
