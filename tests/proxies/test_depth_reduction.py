"""The proxy's depth-preserving reduction: fewer layers, same kinds, order and ratio."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from star_search.errors import SpecError
from star_search.proxies.config import ProxyConfig, proxy_config_for_tier
from star_search.proxies.fidelity import arch_from_pattern
from star_search.proxies.proxy_model import proxy_size
from star_search.scaling import SHALLOW_LAYERS, proxy_depth, proxy_spec, reduced_layers
from star_search.spec import LayerSpec

KINDS = [LayerSpec("conv"), LayerSpec("attention"), LayerSpec("ssm"), LayerSpec("linear_attention"),
         LayerSpec("conv", "moe")]
LETTERS = {"conv": "c", "attention": "a", "ssm": "s", "linear_attention": "l"}


def pattern(layers) -> str:
    return "".join(LETTERS[layer.mixer] + ("*" if layer.ffn == "moe" else "") for layer in layers)


@pytest.mark.parametrize(("full", "count", "reduced"), [
    ("ccaccaccacacacac", 8, "ccacacac"),      # LFM2-350M: 10 conv + 6 GQA -> 5 + 3
    ("scscscsascscscsa", 8, "scscscsa"),      # the SSM hybrid the fast tier missed
    ("cccacccacccaccca", 8, "cccaccca"),
    ("accccccccccccccc", 8, "accccccc"),      # a lone kind keeps one layer, where it was
    ("ccccccccccccccca", 8, "ccccccca"),
    ("cacc", 8, "cacc"),                      # shallower than asked: unchanged
])
def test_reduction_keeps_order_and_ratio(full: str, count: int, reduced: str) -> None:
    assert pattern(reduced_layers(arch_from_pattern(full).layers, count)) == reduced


@given(st.lists(st.sampled_from(KINDS), min_size=1, max_size=32), st.integers(1, 32))
def test_reduction_invariants(layers: list[LayerSpec], count: int) -> None:
    kept = reduced_layers(layers, count)
    assert len(kept) == min(count, len(layers))
    # A subsequence of the original (same order), of its kinds only.
    it = iter(layers)
    assert all(any(layer == original for original in it) for layer in kept)
    before, after = Counter(layers), Counter(kept)
    for kind, n in after.items():
        # Each kind within one layer of its share (largest remainder), and every kind kept while
        # there is room for all of them.
        assert abs(n - before[kind] * len(kept) / len(layers)) < 1 + 1e-9 or n == 1
    if len(before) <= len(kept):
        assert set(after) == set(before)


def test_depth_still_orders_the_proxies_of_one_pattern() -> None:
    assert [proxy_depth(n, 0.5) for n in (2, 6, 8, 12, 16, 20, 24)] == [2, 6, 6, 6, 8, 10, 12]
    assert proxy_depth(16, 1.0) == 16 and SHALLOW_LAYERS == 6


def test_the_proxy_of_a_deep_candidate_is_reduced_only_when_asked() -> None:
    spec = arch_from_pattern("scscscsascscscsa")
    full = proxy_spec(spec, proxy_size(proxy_config_for_tier("fast")))
    half = proxy_spec(spec, proxy_size(proxy_config_for_tier("fast", depth_fraction=0.5)))
    assert full.n_layers == 16 and pattern(half.layers) == "scscscsa"
    assert (half.d_model, half.ffn_dim) == (full.d_model, full.ffn_dim)


def test_depth_fraction_is_checked_and_left_out_of_old_cache_keys() -> None:
    for bad in (0, 1.5, -0.5, True, "half"):
        with pytest.raises(SpecError, match=r"proxies\.depth_fraction"):
            ProxyConfig(depth_fraction=bad)
    assert "depth_fraction" not in json.loads(ProxyConfig().cache_key())
    assert json.loads(ProxyConfig(depth_fraction=0.5).cache_key())["depth_fraction"] == 0.5
