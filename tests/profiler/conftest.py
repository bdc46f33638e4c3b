"""A tiny real program for the profiler tests (lowered once, kept in pytest's cache) and a protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from star_search.lower import ProgramCache, ProgramShapes
from star_search.profiler import MeasurementProtocol
from star_search.spec import ArchSpec, LayerSpec

TINY = ArchSpec(d_model=64, layers=(LayerSpec("conv"), LayerSpec("attention")), n_heads=4,
                n_kv_heads=2, head_dim=16, ffn_dim=128, vocab_size=256, max_seq_len=64, name="tiny")
PROMPT_LEN = 8
DECODE_STEPS = 8


@pytest.fixture(scope="session")
def tiny_program_cache(request: pytest.FixtureRequest) -> ProgramCache:
    """A program cache kept across test sessions (pytest's cache folder): its keys hold the
    toolchain versions and the lowering recipe, so an entry is reused only while it is valid."""
    return ProgramCache(request.config.cache.mkdir("star-search-programs"))


@pytest.fixture(scope="session")
def tiny_pte(tiny_program_cache: ProgramCache) -> Path:
    """Path of TINY lowered for PROMPT_LEN prompt tokens plus DECODE_STEPS decoded tokens."""
    return tiny_program_cache.get_or_lower(TINY, ProgramShapes(PROMPT_LEN, PROMPT_LEN + DECODE_STEPS)).path


@pytest.fixture
def quick_protocol() -> MeasurementProtocol:
    """One thread, a short run, shapes matching `tiny_pte`."""
    return MeasurementProtocol(threads=1, warmup=1, repeats=3, max_repeats=3, prompt_len=PROMPT_LEN,
                               decode_steps=DECODE_STEPS, timeout_s=120)


@pytest.fixture(scope="session")
def tiny_spec() -> ArchSpec:
    """The architecture `tiny_pte` was lowered from."""
    return TINY
