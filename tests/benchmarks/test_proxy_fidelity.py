"""benchmarks/proxy_fidelity.py: its job cache tells runs apart by the device they ran on."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
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


def test_held_back_set_is_deep_and_disjoint_from_every_other_set(bench: ModuleType) -> None:
    from star_search.proxies.fidelity import FIDELITY_DEEP_HELD_BACK, SPREAD_BANDS, arch_from_pattern

    held = bench.patterns_from(None, "deep-held-back")
    assert held == list(FIDELITY_DEEP_HELD_BACK) and len(set(held)) == len(held) >= 8
    assert all(12 <= arch_from_pattern(p).n_layers <= 24 for p in held)
    others = set(bench.FIDELITY_SETS["deep"]) | set(bench.FIDELITY_SETS["shallow"])
    assert not set(held) & others
    assert len(set(bench.RESULTS.values())) == len(bench.RESULTS) == len(bench.FIDELITY_SETS)
    assert set(held) <= set(SPREAD_BANDS["deep"])  # one depth band for the seed spread


def _run(config, pattern: str, quality: float, families: dict[str, float]) -> dict:
    return {"kind": "fast", "pattern": pattern, "config": config.cache_key(), "device": "cpu",
            "quality": quality, "families": families, "seconds": 10.0, "cpu_seconds": 8.0,
            "train_seconds": 9.0, "date": "2026-12-05"}


def test_a_mean_of_seeds_is_assembled_from_stored_one_seed_runs(bench: ModuleType, tmp_path: Path) -> None:
    """repeats=2 at seed 2 is seeds 2 and 3 averaged, as `run_suite` computes it; nothing runs
    when both are stored, and a missing one leaves the record out (run=False)."""
    one = proxy_config_for_tier("fast", device="cpu")
    runs = [_run(replace(one, seed=seed), "ca", q, {"mqar": q}) for seed, q in ((2, 0.2), (3, 0.6))]
    results = tmp_path / "results.json"
    results.write_text(json.dumps(runs))
    two = replace(one, seed=2, repeats=2)
    done = bench.run_jobs(["ca"], {"fast": two}, 1, results, run=False)
    record = done[("fast", "ca")]
    assert record["quality"] == pytest.approx(0.4) and record["families"] == {"mqar": pytest.approx(0.4)}
    assert record["assembled_from_seeds"] == [2, 3] and record["cpu_seconds"] == 16.0
    assert record["config"] == two.cache_key()
    assert bench.run_jobs(["ca"], {"fast": replace(two, seed=3)}, 1, results, run=False) == {}


def test_write_spread_pools_the_caches_for_todays_tiers(bench: ModuleType, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from star_search.proxies.spread import SpreadTable

    fast = proxy_config_for_tier("fast", device="cpu")
    caches = {}
    for name, pattern, qualities in (("shallow", "ac", (0.5, 0.7)), ("deep", "c" * 16, (0.1, 0.3))):
        path = tmp_path / f"{name}.json"
        records = [_run(replace(fast, seed=s), pattern, q, {}) for s, q in enumerate(qualities)]
        records.append(_run(replace(fast, seed=0, steps=7), pattern, 0.9, {}))  # another recipe, one seed
        path.write_text(json.dumps(records))
        caches[name] = path
    caches["deep-held-back"] = tmp_path / "missing.json"
    monkeypatch.setattr(bench, "RESULTS", caches)
    out = tmp_path / "seed_spread.json"
    bench.write_spread(out)
    table = SpreadTable.from_json(out.read_text())
    shallow, deep = table.lookup(fast, 2), table.lookup(fast, 16)
    assert shallow is not None and shallow.sd == pytest.approx(0.2 / 2**0.5)
    assert deep is not None and deep.sd == pytest.approx(0.2 / 2**0.5) and "16–16 layers" in deep.basis
    assert table.lookup(replace(fast, steps=7), 2) is None  # one seed only: no spread


def test_a_changed_recipe_is_ranked_against_the_tiers_own(bench: ModuleType, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`--reference-set residual_init="depth"`: the changed reference against the tier's own at the
    same seed, and the changed fast tier against the yardstick before the change; nothing is
    printed when no recipe was changed."""
    tiers = bench.configs(4, 0, 1, "cpu", {})
    kinds = bench.configs(4, 0, 1, "cpu", {"residual_init": "depth"}, {"residual_init": "depth"})
    patterns = ["ca", "cc", "aa"]
    qualities = {"ca": 0.5, "cc": 0.1, "aa": 0.3}
    records = []
    for side, config in (("fast", kinds["fast"]), ("reference", kinds["reference"]),
                         ("fast", tiers["fast"]), ("reference", tiers["reference"])):
        for p in patterns:
            q = qualities[p] if config is not tiers["reference"] else 1 - qualities[p]  # reversed order
            records.append({**_run(config, p, q, {}), "kind": side})
    results = tmp_path / "results.json"
    results.write_text(json.dumps(records))
    stored = bench.load(results)
    bench.against_tier_recipes(patterns, stored, tiers, tiers)
    assert capsys.readouterr().out == ""
    bench.against_tier_recipes(patterns, stored, kinds, tiers)
    out = capsys.readouterr().out
    assert "fast (this recipe) vs fast (the tier's own), seed 0: 1.000 (3 architectures)" in out
    assert "reference (this recipe) vs reference (the tier's own), seed 0: -1.000 (3 architectures)" in out
    assert "fast (this recipe) seed 0 vs reference (the tier's own) seed 0: -1.000 (3 architectures)" in out


def test_a_reference_is_found_by_its_recipe_whatever_multiplier_derived_it(bench: ModuleType,
                                                                          tmp_path: Path) -> None:
    """A 600-step fast tier at ×2 has the 1200-step reference of the 300-step tier at ×4, stored
    under its old label ("full, fast steps×4"): it is reused, not trained again."""
    at_four = bench.configs(4, 0, 1, "cpu", {})["reference"]
    at_two = bench.configs(2, 0, 1, "cpu", {"steps": 600})["reference"]
    assert at_two == at_four and at_two.steps == 1200
    old = {**_run(replace(at_four, tier="full, fast steps×4"), "ca", 0.4, {}), "kind": "reference"}
    results = tmp_path / "results.json"
    results.write_text(json.dumps([old]))
    done = bench.run_jobs(["ca"], {"reference": at_two}, 1, results, run=False)
    assert done[("reference", "ca")]["quality"] == 0.4


def _add_many(path: str, kind: str, count: int) -> None:
    """In a spawned process, which inherits sys.path with `benchmarks/` on it (`load_benchmark`)."""
    import importlib

    module = importlib.import_module("proxy_fidelity")
    config = proxy_config_for_tier("fast", device="cpu")
    for i in range(count):
        module.add(Path(path), {**_run(replace(config, seed=i), "ca", 0.1, {}), "kind": kind})


def test_two_runs_sharing_a_cache_keep_each_others_records(bench: ModuleType, tmp_path: Path) -> None:
    """A fast variant beside a reference run, both adding to one results file: every record of
    both is there at the end (each addition merges with the file as it is on disk)."""
    import multiprocessing

    results = tmp_path / "results.json"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_many, args=(str(results), kind, 15))
               for kind in ("fast", "reference")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    stored = bench.load(results)
    assert sorted(kind for kind, _, _ in stored) == ["fast"] * 15 + ["reference"] * 15
