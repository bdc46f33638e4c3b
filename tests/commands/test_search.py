"""The search command's settings: proxy overrides reach every proxy stage, bad ones name the field."""

from __future__ import annotations

import pytest

from star_search.commands.configs import SearchCommand
from star_search.commands.search import build_search_settings
from star_search.errors import SpecError


def test_proxy_overrides_reach_the_tier_and_every_ladder_stage() -> None:
    command = SearchCommand()
    command.proxies.steps, command.proxies.scoring, command.proxies.d_model = 40, "probability", 128
    command.search.pipeline = ["static", "fast", "full", "measure"]
    settings = build_search_settings(command)
    configs = [settings.proxies, *settings.tier_configs.values()]
    assert {c.tier for c in configs} == {"demo", "fast", "full"}  # demo: proxies.tier
    assert all(c.steps == 40 and c.scoring == "probability" and c.d_model == 128 for c in configs)


def test_an_unknown_scoring_names_the_field() -> None:
    command = SearchCommand()
    command.proxies.scoring = "loss"
    with pytest.raises(SpecError, match=r"proxies\.scoring.*'loss'"):
        build_search_settings(command)


def test_a_proxy_width_the_heads_do_not_divide_names_the_field() -> None:
    command = SearchCommand()
    command.proxies.d_model = 100
    with pytest.raises(SpecError, match=r"proxies\.head_dim.*16"):
        build_search_settings(command)
