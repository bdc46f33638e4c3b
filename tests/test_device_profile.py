"""Device profiles: shipped ones load; a wrong one names the field and the value."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from star_search.device_profile import load_profile, parse_profile
from star_search.errors import ProfileError

ROOT = Path(__file__).resolve().parents[1]


def laptop_raw() -> dict:
    return yaml.safe_load((ROOT / "device_profiles" / "laptop_cpu.yaml").read_text())


@pytest.mark.parametrize("path", sorted((ROOT / "device_profiles").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_profiles_load(path: Path) -> None:
    profile = load_profile(path)
    assert profile.name == path.stem
    assert profile.shapes.max_seq_len == profile.shapes.prompt_len + profile.shapes.decode_steps


def test_laptop_cpu_is_local_with_budgets() -> None:
    profile = parse_profile(laptop_raw())
    assert profile.backend == "local"
    assert profile.threads >= 1
    assert profile.budgets.decode_p50_ms is not None


@pytest.mark.parametrize(
    ("mutate", "field", "value"),
    [
        (lambda r: r.update(backend="gpu"), "backend", "'gpu'"),
        (lambda r: r.update(threads=0), "threads", "0"),
        (lambda r: r["shapes"].update(prompt_len=-8), "shapes.prompt_len", "-8"),
        (lambda r: r["shapes"].update(quantize="int3"), "shapes.quantize", "'int3'"),
        (lambda r: r["budgets"].update(decode_p50_ms="fast"), "budgets.decode_p50_ms", "'fast'"),
        (lambda r: r["budgets"].update(latency=3), "budgets.latency", "3"),
        (lambda r: r.update(backend="remote"), "agent.url", "None"),
    ],
)
def test_wrong_profile_names_field(mutate, field: str, value: str) -> None:
    raw = copy.deepcopy(laptop_raw())
    mutate(raw)
    with pytest.raises(ProfileError) as info:
        parse_profile(raw, source="laptop.yaml")
    assert f"'{field}'" in str(info.value)
    assert value in str(info.value)
