"""The search-space DSL: shipped spaces load; malformed ones name the field and the bad value."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest
import yaml

from star_search.errors import SizeUnreachable, SpecError
from star_search.space import load_space, parse_space, sample_arch
from star_search.spec import MIXER_KINDS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "search_spaces").glob("*.yaml"))


def demo_raw() -> dict:
    return yaml.safe_load((ROOT / "search_spaces" / "demo.yaml").read_text())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_spaces_load_and_sample(path: Path) -> None:
    space = load_space(path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sampled = 0
    for _ in range(20):
        try:
            spec = sample_arch(space, study.ask())
        except SizeUnreachable:  # off the space's parameter target: the search prunes it
            continue
        assert spec.n_layers >= 1
        assert spec.n_heads % spec.n_kv_heads == 0
        sampled += 1
    assert sampled >= 10


def test_lfm2_hybrid_offers_all_four_operator_families() -> None:
    space = load_space(ROOT / "search_spaces" / "lfm2_hybrid.yaml")
    offered = {choice for group in space.groups for slot in group.slots
               for choice in getattr(slot.mixer, "choices", (getattr(slot.mixer, "value", None),))}
    assert offered == set(MIXER_KINDS)
    ffns = {choice for group in space.groups for slot in group.slots
            for choice in getattr(slot.ffn, "choices", (getattr(slot.ffn, "value", None),))}
    assert ffns == {"swiglu", "moe"}


def test_lfm2_350m_candidates_are_the_size_of_lfm2_350m() -> None:
    """Every candidate has LFM2-350M's width, depth and FFN, so it is timed at the size it ships at."""
    from star_search.presets import preset
    from star_search.sizing import param_count

    space = load_space(ROOT / "search_spaces" / "lfm2_350m.yaml")
    reference = preset("lfm2-350m")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    patterns = set()
    for _ in range(20):
        spec = sample_arch(space, study.ask())
        shape = ("d_model", "n_layers", "ffn_dim", "vocab_size", "n_heads", "n_kv_heads")
        assert [getattr(spec, name) for name in shape] == [getattr(reference, name) for name in shape]
        assert abs(param_count(spec) / param_count(reference) - 1) < 0.02
        assert all(layer.mixer == "conv" for layer in spec.layers[::2])
        patterns.add(spec.pattern())
    assert len(patterns) > 10


def test_sampling_is_define_by_run_and_reproducible() -> None:
    space = parse_space(demo_raw())
    first = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    second = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    a = [sample_arch(space, first.ask()).arch_id for _ in range(5)]
    b = [sample_arch(space, second.ask()).arch_id for _ in range(5)]
    assert a == b
    assert len(set(a)) > 1


def test_tied_slot_repeats_one_choice() -> None:
    raw = demo_raw()
    raw["layers"] = [{"repeat": 3, "slots": [{"mixer": ["conv", "attention"], "tie": True}, "conv"]}]
    space = parse_space(raw)
    for seed in range(6):
        spec = sample_arch(space, optuna.trial.FixedTrial({"d_model": 128, "ffn_ratio": 2.0,
                                                           "conv_kernel": 3,
                                                           "g0.s0.mixer": ["conv", "attention"][seed % 2],
                                                           "g0.s0.ffn": "swiglu"}))
        assert len({layer.mixer for layer in spec.layers[::2]}) == 1
        assert spec.n_layers == 6


def test_unknown_operator_is_named() -> None:
    raw = demo_raw()
    raw["layers"][0]["slots"][0]["mixer"] = ["conv", "transformer"]
    with pytest.raises(SpecError) as info:
        parse_space(raw)
    message = str(info.value)
    assert "layers[0].slots[0].mixer[1]" in message
    assert "'transformer'" in message
    assert "attention" in message  # what is allowed


def test_negative_width_is_named() -> None:
    raw = demo_raw()
    raw["params"]["d_model"] = {"choices": [128, -64]}
    with pytest.raises(SpecError) as info:
        parse_space(raw)
    assert "params.d_model.choices[1]" in str(info.value)
    assert "-64" in str(info.value)
    assert "positive integer" in str(info.value)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(colour="red"), "colour"),
        (lambda r: r["params"].update(depth={"choices": [1]}), "params.depth"),
        (lambda r: r["params"].update(ffn_ratio={"low": 4.0, "high": 2.0}), "params.ffn_ratio.low"),
        (lambda r: r["layers"][0].update(repeat=0), "layers[0].repeat"),
        (lambda r: r["layers"][0].update(slots=[]), "layers[0].slots"),
        (lambda r: r["layers"][0]["slots"][0].update(ffn="mlp"), "layers[0].slots[0].ffn"),
        (lambda r: r["fixed"].update(vocab_size="big"), "fixed.vocab_size"),
        (lambda r: r.pop("layers"), "layers"),
        (lambda r: r.update(name=""), "name"),
    ],
)
def test_malformed_space_names_the_field(mutate, field: str) -> None:
    raw = copy.deepcopy(demo_raw())
    mutate(raw)
    with pytest.raises(SpecError) as info:
        parse_space(raw, source="bad.yaml")
    assert f"'{field}'" in str(info.value)
    assert "bad.yaml" in str(info.value)


def test_invalid_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="valid YAML"):
        load_space(path)
