"""Tiny programs, lowered once per session and shared by the lowering tests: a conv+attention
model, and a conv+attention model whose feed-forwards are mixtures of experts."""

from __future__ import annotations

import pytest

from star_search.lower import CachedProgram, ProgramCache, ProgramShapes
from star_search.spec import ArchSpec, LayerSpec

TINY_SHAPES = ProgramShapes(prompt_len=8, max_seq_len=24)
# Experts hold most of the weights (8 × 64 wide at d_model 64: 768 KiB of 950), and both widths are
# multiples of the 8da4w group, so 8da4w quantizes them.
TINY_MOE = ArchSpec(d_model=64, layers=(LayerSpec("conv", "moe"), LayerSpec("attention", "moe")),
                    n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=128, vocab_size=256, max_seq_len=64,
                    moe_num_experts=8, moe_top_k=2, moe_expert_dim=64, name="tiny-moe")
TINY_MOE_SHAPES = ProgramShapes(prompt_len=8, max_seq_len=16)


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


@pytest.fixture(scope="session")
def tiny_moe_spec() -> ArchSpec:
    return TINY_MOE


@pytest.fixture(scope="session")
def tiny_moe_shapes() -> ProgramShapes:
    return TINY_MOE_SHAPES


@pytest.fixture(scope="session")
def tiny_moe_program(program_cache: ProgramCache) -> CachedProgram:
    """TINY_MOE lowered (fp32, XNNPACK) into the session's cache."""
    return program_cache.get_or_lower(TINY_MOE, TINY_MOE_SHAPES)


@pytest.fixture(scope="session")
def tiny_moe_8da4w_program(program_cache: ProgramCache) -> CachedProgram:
    """TINY_MOE lowered with 8da4w quantization into the session's cache."""
    return program_cache.get_or_lower(TINY_MOE, TINY_MOE_SHAPES, quantize="8da4w")
