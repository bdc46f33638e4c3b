"""Shared fixtures: shipped configs made small enough for the default test tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from star_search.lower import ProgramCache
from star_search.profiler import MeasurementProtocol
from star_search.profiler.device_profile import DeviceProfile, load_profile, with_changes
from star_search.shapes import ProgramShapes
from star_search.space import SearchSpace, load_space
from star_search.spec import ArchSpec, LayerSpec

ROOT = Path(__file__).resolve().parents[1]
# A tiny real program for the profiler and command tests (lowered once, kept in pytest's cache).
TINY = ArchSpec(d_model=64, layers=(LayerSpec("conv"), LayerSpec("attention")), n_heads=4,
                n_kv_heads=2, head_dim=16, ffn_dim=128, vocab_size=256, max_seq_len=64, name="tiny")
PROMPT_LEN = 8
DECODE_STEPS = 8


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture
def demo_space() -> SearchSpace:
    return load_space(ROOT / "search_spaces" / "demo.yaml")


@pytest.fixture
def quick_profile() -> DeviceProfile:
    """The laptop profile with short shapes and one repeat: real measurements, small cost."""
    profile = load_profile(ROOT / "device_profiles" / "laptop_cpu.yaml")
    protocol = {"warmup": 1, "repeats": 2, "max_repeats": 2, "timeout_s": 120}
    return with_changes(profile, {"threads": 1, "shapes": {"prompt_len": 16, "decode_steps": 4},
                                  "protocol": protocol})


@pytest.fixture(scope="session")
def tiny_spec() -> ArchSpec:
    """A two-layer conv + attention architecture that lowers in seconds (`tiny_pte`'s)."""
    return TINY


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
