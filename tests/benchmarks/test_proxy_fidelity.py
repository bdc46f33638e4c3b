"""benchmarks/proxy_fidelity.py: its job cache tells runs apart by the device they ran on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from star_search.proxies import proxy_config_for_tier


@pytest.fixture
def bench(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    return load_benchmark("proxy_fidelity")


def _record(config_device: str, ran_on: str) -> dict:
    config = proxy_config_for_tier("fast", device=config_device)
    return {"kind": "fast", "pattern": "ac", "config": config.cache_key(), "device": ran_on, "quality": 0.5}


def test_cache_keys_name_the_device_a_job_ran_on(bench: ModuleType, tmp_path: Path) -> None:
    cpu = bench.configs(4, 0, 1, "cpu", {})
    cuda = bench.configs(4, 0, 1, "cuda", {})
    assert cpu["fast"].device == cpu["reference"].device == "cpu"
    assert cpu["fast"].cache_key() != cuda["fast"].cache_key()
    # Records written before the device was resolved say "auto" and where they ran.
    assert bench.stored_key(_record("auto", "cpu")) == cpu["fast"].cache_key()
    assert bench.stored_key(_record("auto", "cuda")) == cuda["fast"].cache_key()
    assert bench.stored_key(_record("cuda", "cuda")) == cuda["fast"].cache_key()
    results = tmp_path / "results.json"
    results.write_text(json.dumps([_record("auto", "cuda")]))
    stored = bench.load(results)
    assert ("fast", "ac", cuda["fast"].cache_key()) in stored
    assert ("fast", "ac", cpu["fast"].cache_key()) not in stored  # a GPU run never stands in for a CPU one


def test_reference_is_the_full_recipe_on_every_setting_for_more_steps(bench: ModuleType) -> None:
    kinds = bench.configs(4, 0, 1, "cpu", {"d_model": 128})
    fast, reference, full = kinds["fast"], kinds["reference"], proxy_config_for_tier("full")
    assert fast.d_model == 128 and reference.d_model == full.d_model  # a fast variant keeps the reference
    assert reference.steps == 4 * fast.steps and reference.tasks == () and len(reference.select_tasks()) == 60
    assert (reference.batch_size, reference.final_lr_fraction) == (full.batch_size, full.final_lr_fraction)
    earlier = bench.configs(4, 0, 1, "cpu", {}, {"batch_size": 14, "final_lr_fraction": 0.1})["reference"]
    assert (earlier.batch_size, earlier.final_lr_fraction, earlier.steps) == (14, 0.1, 4 * fast.steps)
    assert earlier.cache_key() != reference.cache_key()


def test_deep_set_is_where_backbones_ship(bench: ModuleType) -> None:
    from star_search.presets import preset
    from star_search.proxies.fidelity import FIDELITY_DEEP_PATTERNS, arch_from_pattern

    deep = bench.patterns_from(None, "deep")
    assert deep == list(FIDELITY_DEEP_PATTERNS) and len(set(deep)) == len(deep) >= 16
    depths = {arch_from_pattern(p).n_layers for p in deep}
    assert min(depths) >= 12 and max(depths) <= 24 and {12, 16, 20, 24} <= depths
    for name in ("lfm2-350m", "lfm2-8b-a1b"):  # the published patterns, MoE feed-forwards included
        published = preset(name)
        strip = "".join(("c" if layer.mixer == "conv" else "a") + ("*" if layer.ffn == "moe" else "")
                        for layer in published.layers)
        assert strip in deep
    assert bench.patterns_from("3", "deep") == deep[:3]
    assert bench.patterns_from(None) == list(bench.FIDELITY_SETS["shallow"])
    assert bench.RESULTS["deep"] != bench.RESULTS["shallow"]
