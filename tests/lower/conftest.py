"""One tiny conv+attention program, lowered once per session and shared by the lowering tests."""

from __future__ import annotations

import pytest

from star_search.lower import CachedProgram, ProgramCache, ProgramShapes
from star_search.spec import ArchSpec

TINY_SHAPES = ProgramShapes(prompt_len=8, max_seq_len=24)


@pytest.fixture(scope="session")
def tiny_shapes() -> ProgramShapes:
    return TINY_SHAPES


@pytest.fixture(scope="session")
def program_cache(tmp_path_factory: pytest.TempPathFactory) -> ProgramCache:
    return ProgramCache(tmp_path_factory.mktemp("programs"))


@pytest.fixture(scope="session")
def tiny_program(program_cache: ProgramCache, tiny_spec: ArchSpec) -> CachedProgram:
    """`tiny_spec` lowered (fp32, XNNPACK) into the session's cache: a real .pte on disk."""
    return program_cache.get_or_lower(tiny_spec, TINY_SHAPES)
