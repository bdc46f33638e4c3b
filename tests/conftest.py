"""Shared fixtures: shipped configs made small enough for the default test tier."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from star_search.device_profile import DeviceProfile, Protocol, Shapes, load_profile
from star_search.space import SearchSpace, load_space

ROOT = Path(__file__).resolve().parents[1]


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
    return replace(profile, threads=1,
                   shapes=replace(profile.shapes, prompt_len=16, decode_steps=4),
                   protocol=Protocol(warmup=1, repeats=2, max_repeats=2, timeout_s=120))


__all__ = ["DeviceProfile", "Shapes"]
