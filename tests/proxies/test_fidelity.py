"""The fidelity benchmark's pieces: the architecture set and Kendall's τ-b."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from star_search.errors import SpecError
from star_search.proxies.fidelity import FIDELITY_PATTERNS, arch_from_pattern, kendall_tau_b


def test_tau_b_matches_pandas_with_and_without_ties() -> None:
    rng = random.Random(0)
    for n, levels in [(16, 1000), (16, 4), (30, 3), (5, 100)]:
        x = [rng.randrange(levels) for _ in range(n)]
        y = [value + rng.randrange(levels) for value in x]
        expected = pd.Series(x, dtype=float).corr(pd.Series(y, dtype=float), method="kendall")
        assert kendall_tau_b(x, y) == pytest.approx(expected)


def test_tau_b_extremes() -> None:
    assert kendall_tau_b([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau_b([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert math.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="length"):
        kendall_tau_b([1, 2], [1])


def test_architecture_set_is_diverse() -> None:
    specs = [arch_from_pattern(p) for p in FIDELITY_PATTERNS]
    assert len(specs) >= 16 and len({s.arch_id for s in specs}) == len(specs)
    pure = {s.mixers()[0] for s in specs if len(set(s.mixers())) == 1}
    assert pure == {"conv", "attention", "ssm", "linear_attention"}
    fractions = {s.count("attention") / s.n_layers for s in specs if len(set(s.mixers())) > 1}
    assert len(fractions - {0.0}) >= 3  # hybrids at several attention ratios
    assert any(layer.ffn == "moe" for s in specs for layer in s.layers)


def test_patterns_build_specs_and_bad_letters_are_named() -> None:
    spec = arch_from_pattern("c*a")
    assert spec.pattern() == "c*a" and spec.moe_num_experts == 32
    with pytest.raises(SpecError, match=r"pattern\[1\].*'x'"):
        arch_from_pattern("cx")
    with pytest.raises(SpecError, match="'\\*' only"):
        arch_from_pattern("*c")
