"""The expected seed spread of a proxy quality: pooled from repeats, looked up by depth."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from star_search.errors import SpecError
from star_search.proxies.config import proxy_config_for_tier
from star_search.proxies.spread import (
    Repeat,
    SpreadTable,
    expected_spread,
    measure_spread,
    noise_margin,
    recipe_key,
    shipped_table,
)

FAST = proxy_config_for_tier("fast", repeats=1)  # one run per score, whatever the tier's default
FAST_RECIPE = recipe_key(FAST)
SETS = {"shallow": ("ca", "cc", "aa"), "deep": ("c" * 16, "a" * 16)}


def run(pattern: str, seed: int, quality: float, device: str = "cpu", key: str = FAST_RECIPE) -> Repeat:
    return Repeat(key, pattern, len(pattern), seed, quality, "2026-12-05", device)


def test_repeats_pool_into_one_standard_deviation_per_depth_band() -> None:
    runs = [run("ca", 0, 0.5), run("ca", 1, 0.7),           # s² = 0.02, 1 dof
            run("cc", 0, 0.2), run("cc", 1, 0.2), run("cc", 2, 0.5),  # s² = 0.03, 2 dof
            run("aa", 0, 0.9),                               # one seed: no information
            run("c" * 16, 0, 0.1), run("c" * 16, 1, 0.3)]    # deep: s² = 0.02
    (bands,) = measure_spread(runs, SETS).bands.values()
    shallow, deep = bands
    assert (shallow.set, shallow.min_layers, shallow.max_layers, shallow.patterns, shallow.dof) == \
        ("shallow", 2, 2, 2, 3)
    assert shallow.sd == pytest.approx(math.sqrt((0.02 + 0.06) / 3))
    assert shallow.seeds == (0, 1, 2)
    assert (deep.min_layers, deep.max_layers, deep.patterns, deep.dof) == (16, 16, 1, 1)
    assert deep.sd == pytest.approx(math.sqrt(0.02))


def test_repeats_on_different_devices_are_not_compared() -> None:
    runs = [run("ca", 0, 0.1, "cpu"), run("ca", 1, 0.1, "cpu"), run("ca", 0, 0.9, "cuda")]
    (bands,) = measure_spread(runs, SETS).bands.values()
    assert bands[0].sd == 0.0 and bands[0].dof == 1
    assert measure_spread([run("ca", 0, 0.1, "cpu"), run("ca", 1, 0.9, "cuda")], SETS).bands == {}


def test_lookup_by_depth_inside_between_and_beyond_the_bands() -> None:
    runs = [run("ca", 0, 0.5), run("ca", 1, 0.6), run("c" * 16, 0, 0.1), run("c" * 16, 1, 0.4)]
    table = measure_spread(runs, SETS)
    low, high = 0.1 / math.sqrt(2), 0.3 / math.sqrt(2)
    inside = table.lookup(FAST, 2)
    assert inside is not None and inside.sd == pytest.approx(low) and inside.basis.startswith("measured")
    between = table.lookup(FAST, 9)  # halfway from 2 to 16 layers
    assert between is not None and between.sd == pytest.approx((low + high) / 2)
    assert "interpolated" in between.basis
    beyond = table.lookup(FAST, 32)
    assert beyond is not None and beyond.sd == pytest.approx(high) and "extrapolated" in beyond.basis
    # Seed, threads, device and the tier's name are not part of the recipe; steps are.
    assert table.lookup(replace(FAST, seed=7, threads=2, device="cpu"), 2) == inside
    assert table.lookup(replace(FAST, steps=301), 2) is None


def test_table_round_trips_and_a_broken_table_is_named() -> None:
    table = measure_spread([run("ca", 0, 0.5), run("ca", 1, 0.6)], SETS)
    assert SpreadTable.from_json(table.to_json()).lookup(FAST, 2) == table.lookup(FAST, 2)
    with pytest.raises(SpecError, match=r"seed_spread\.json"):
        SpreadTable.from_json('{"recipes": [{"bands": []}]}')


def test_shipped_table_covers_the_fast_tier_at_shipping_depth() -> None:
    """The table in the package holds measured spreads for the fast tier at 2–6 and 12–24
    layers (benchmarks/proxy_fidelity.py --write-spread); the demo tier was never repeated."""
    assert shipped_table().bands, "star_search/proxies/seed_spread.json is missing or empty"
    deep = expected_spread(FAST, 16)
    shallow = expected_spread(FAST, 4)
    assert deep is not None and shallow is not None
    assert "12–24 layers" in deep.basis and "2–6 layers" in shallow.basis
    assert 0 < shallow.sd < 0.5 and 0 < deep.sd < 0.5
    assert expected_spread(proxy_config_for_tier("demo"), 4) is None


def test_noise_margin_is_the_spread_of_a_difference() -> None:
    assert noise_margin(0.03, 0.04, 2.0) == pytest.approx(0.1)
    assert noise_margin(None, 0.05, 1.0) == pytest.approx(0.05)
    assert noise_margin(0.03, 0.04, 0.0) == 0.0


def test_a_mean_of_seeds_without_its_own_measurement_takes_one_runs_spread_over_root_k() -> None:
    table = measure_spread([run("ca", 0, 0.5), run("ca", 1, 0.7)], SETS)
    one = table.lookup(FAST, 2)
    four = table.lookup(replace(FAST, repeats=4), 2)
    assert one is not None and four is not None
    assert four.sd == pytest.approx(one.sd / 2) and "sqrt(4)" in four.basis
    # A measurement of the averaged recipe itself wins over the derived figure.
    averaged = recipe_key(replace(FAST, repeats=4))
    measured = measure_spread([run("ca", 0, 0.5, key=averaged), run("ca", 4, 0.9, key=averaged)], SETS)
    own = measured.lookup(replace(FAST, repeats=4), 2)
    assert own is not None and own.sd == pytest.approx(0.4 / math.sqrt(2))
    assert own.basis.startswith("measured")
    # The mean measured only shallow, one run measured deep too: at depth the derived figure wins
    # over extrapolating the shallow measurement.
    both = measure_spread([run("ca", 0, 0.5, key=averaged), run("ca", 4, 0.9, key=averaged),
                           run("c" * 16, 0, 0.1), run("c" * 16, 1, 0.5)], SETS)
    deep = both.lookup(replace(FAST, repeats=4), 16)
    assert deep is not None and deep.sd == pytest.approx(0.4 / math.sqrt(2) / 2) and "sqrt(4)" in deep.basis
