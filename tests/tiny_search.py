"""A two-trial search of two-layer hybrids narrow enough to lower in seconds, for tests that put a
fault under a real search (an agent restarted mid-job, a measuring child that hangs)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from star_search.profiler.device_profile import DeviceProfile
from star_search.proxies.suite import proxy_config_for_tier
from star_search.search import SearchSettings
from star_search.space import parse_space

TINY_SPACE = {"name": "tiny", "fixed": {"vocab_size": 256, "head_dim": 16, "n_kv_heads": 2,
                                        "ffn_multiple_of": 16, "max_seq_len": 64},
              "params": {"d_model": {"choices": [32, 64]}},
              "layers": [{"slots": [{"mixer": ["conv", "attention"]}, "conv"]}]}


def tiny_search_settings(profile: DeviceProfile, out_dir: Path) -> SearchSettings:
    """Two trials of `TINY_SPACE` on `profile`, seed 0, demo-tier proxies cut to 10 steps."""
    return SearchSettings(space=parse_space(TINY_SPACE), profile=profile, out_dir=out_dir, n_trials=2,
                          seed=0, population_size=4,
                          proxies=replace(proxy_config_for_tier("demo"), steps=10))
