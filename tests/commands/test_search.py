"""The search command's settings: proxy overrides reach every proxy stage, bad ones name the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from star_search.commands.configs import SearchCommand
from star_search.commands.search import build_search_settings
from star_search.errors import SpecError

STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]


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


def test_references_and_proxy_repeats_reach_the_settings(tmp_path) -> None:
    command = SearchCommand()
    arch = tmp_path / "arch.json"
    from star_search.presets import preset

    arch.write_text(preset("lfm2-700m").to_json())
    command.search.references = ["lfm2-350m", str(arch)]
    command.proxies.repeats, command.proxies.residual_init = 2, "depth"
    settings = build_search_settings(command)
    assert [spec.name for spec in settings.references] == ["lfm2-350m", "lfm2-700m"]
    assert settings.proxies.repeats == 2 and settings.proxies.residual_init == "depth"
    command.search.references = ["lfm2-350m", "lfm2-35m"]
    with pytest.raises(SpecError, match=r"search\.references\[1\].*'lfm2-35m'.*did you mean 'lfm2-350m'"):
        build_search_settings(command)


def test_a_negative_front_noise_z_names_the_field() -> None:
    from star_search.commands.configs import SearchGroup

    with pytest.raises(SpecError, match=r"search\.front_noise_z.*-1"):
        SearchGroup(front_noise_z=-1.0)
    assert SearchGroup(front_noise_z=0.0).front_noise_z == 0.0


def test_a_negative_timeout_names_the_field() -> None:
    from star_search.commands.configs import SearchGroup
    from star_search.errors import SpecError

    with pytest.raises(SpecError, match=r"search\.timeout_s.*-5"):
        SearchGroup(timeout_s=-5)
    assert SearchGroup(timeout_s=600).timeout_s == 600 and SearchGroup().timeout_s is None
    with pytest.raises(SpecError, match=r"search\.anchor_tolerance.*-0\.1"):
        SearchGroup(anchor_tolerance=-0.1)
    with pytest.raises(SpecError, match=r"search\.anchor_retimes.*-1"):
        SearchGroup(anchor_retimes=-1)


def test_the_shipping_size_profile_reads_times_relative_to_lfm2_350m() -> None:
    command = SearchCommand()
    command.device, command.space, command.search.timeout_s = "laptop_cpu_350m", "lfm2_hybrid_350m", 3600
    settings = build_search_settings(command)
    assert settings.anchor is not None and settings.anchor.name == "lfm2-350m"
    assert settings.profile.budgets.relative_to == "lfm2-350m" and settings.timeout_s == 3600
    assert (settings.anchor_tolerance, settings.anchor_retimes) == (0.15, 2)
    assert settings.correct_predictions and settings.enqueue == ()
    results = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "search-350m"
    command.search.enqueue = [str(results / "enqueue_conv_attention.yaml")]
    seeds = build_search_settings(command).enqueue
    assert len(seeds) == 6 and seeds[0][1]["g0.r0.s2.mixer"] == "attention"


def test_one_tier_of_the_ladder_gets_its_own_overrides() -> None:
    """`proxies.tiers={full: {repeats: 2}}`: the front members' tier averages two seeds, the fast
    tier stays one run; the shared overrides still reach both."""
    command = SearchCommand()
    command.search.pipeline = ["static", "fast", "front", "full", "measure"]
    command.proxies.tier, command.proxies.residual_init = "fast", "depth"
    command.proxies.tiers = {"full": {"repeats": 2}}
    settings = build_search_settings(command)
    assert settings.proxies.tier == "fast" and settings.proxies.repeats == 1
    assert settings.tier_configs["full"].repeats == 2
    assert settings.proxies.residual_init == settings.tier_configs["full"].residual_init == "depth"


@pytest.mark.parametrize(("tiers", "match"), [
    ({"demo": {"repeats": 2}}, r"proxies\.tiers\.demo.*one of \['fast', 'full'\]"),
    ({"full": {"lr": 0.1}}, r"proxies\.tiers\.full\.lr.*0\.1.*'repeats'"),
    ({"full": {"repeats": 0}}, r"proxies\.tiers\.full\.repeats.*0"),
    ({"full": 2}, r"proxies\.tiers\.full.*2"),
    ([2], r"proxies\.tiers.*\[2\]")])
def test_a_bad_tier_override_names_its_entry(tiers: object, match: str) -> None:
    command = SearchCommand()
    command.search.pipeline = ["static", "fast", "front", "full", "measure"]
    command.proxies.tier, command.proxies.tiers = "fast", tiers
    with pytest.raises(SpecError, match=match):
        build_search_settings(command)


def test_tier_overrides_pass_through_the_command_line(tmp_path: Path) -> None:
    """Hydra reads `proxies.tiers={...}` into the command; a tier the pipeline lacks is named."""
    bad = subprocess.run([*STAR_SEARCH, "search", "proxies.tiers={full: {repeats: 2}}"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "proxies.tiers.full" in bad.stderr and "['demo']" in bad.stderr
    assert not list(tmp_path.rglob("*.db")) and not list(tmp_path.rglob("*.pte"))  # nothing ran


def test_a_depth_reduced_recipe_reaches_the_proxy_configs() -> None:
    """`proxies.depth_fraction=0.5 proxies.batch_size=28`: every proxy tier of the ladder trains deep
    candidates' proxies at half their depth, 28 sequences a step (the fidelity benchmark's lever)."""
    command = SearchCommand()
    command.search.pipeline = ["static", "fast", "front", "full", "measure"]
    command.proxies.tier, command.proxies.depth_fraction, command.proxies.batch_size = "fast", 0.5, 28
    settings = build_search_settings(command)
    assert (settings.proxies.depth_fraction, settings.proxies.batch_size) == (0.5, 28)
    assert settings.tier_configs["full"].depth_fraction == 0.5
    command.proxies.depth_fraction = 1.5
    with pytest.raises(SpecError, match=r"proxies\.depth_fraction.*1\.5"):
        build_search_settings(command)
