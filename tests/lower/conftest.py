"""One tiny conv+attention program, lowered once per session and shared by the lowering tests."""

from __future__ import annotations

import pytest

from star_search.lower import CachedProgram, ProgramCache, ProgramShapes
from star_search.spec import ArchSpec, LayerSpec

TINY = ArchSpec(d_model=64, layers=(LayerSpec("conv"), LayerSpec("attention")), n_heads=4,
                n_kv_heads=2, head_dim=16, ffn_dim=128, vocab_size=256, max_seq_len=64, name="tiny")
TINY_SHAPES = ProgramShapes(prompt_len=8, max_seq_len=24)


@pytest.fixture(scope="session")
def tiny_spec() -> ArchSpec:
    return TINY


@pytest.fixture(scope="session")
def tiny_shapes() -> ProgramShapes:
    return TINY_SHAPES


@pytest.fixture(scope="session")
def program_cache(tmp_path_factory: pytest.TempPathFactory) -> ProgramCache:
    return ProgramCache(tmp_path_factory.mktemp("programs"))


@pytest.fixture(scope="session")
def tiny_program(program_cache: ProgramCache) -> CachedProgram:
    """TINY lowered (fp32, XNNPACK) into the session's cache: a real .pte on disk."""
    return program_cache.get_or_lower(TINY, TINY_SHAPES)
