"""Search spaces cannot crash the parser or the sampler: whatever a file holds, parsing (and then
sampling candidates with a real Optuna trial) succeeds or raises `SpecError` naming the field.

Random values go at every key path of the shipped spaces, random keys beside them, and whole
random documents (arbitrary ones, and ones shaped like a space so that sampling is reached).
The default tier runs a bounded number of examples; the slow tier many more.
"""

from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path
from typing import Any

import fuzzing
import optuna
import pytest
import yaml
from fuzzing import TIERS, tier
from hypothesis import given
from hypothesis import strategies as st

from star_search.errors import SizeUnreachable, SpecError, StarSearchError
from star_search.sizing import active_param_count, param_count
from star_search.space import SearchSpace, load_space, parse_space, sample_arch
from star_search.space.relations import MAX_COMBINATIONS
from star_search.space.rules import BOOL_PARAMS, KNOWN_PARAMS, POSITIVE_FLOAT_PARAMS
from star_search.space.schema import IntRange
from star_search.spec import FFN_KINDS, MIXER_KINDS, ArchSpec

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {path.stem: yaml.safe_load(path.read_text())
           for path in sorted((ROOT / "search_spaces").glob("*.yaml"))}
SOURCE = "property.yaml"
KEYS = ["name", "description", "fixed", "params", "layers", "repeat", "slots", "mixer", "ffn", "tie",
        "choices", "low", "high", "step", "log", *KNOWN_PARAMS, "atention", "d_modle", "slot"]
WORDS = [*MIXER_KINDS, *FFN_KINDS, "atention", "mlp", "", "128", "nan", "true"]

optuna.logging.set_verbosity(optuna.logging.WARNING)

numbers = fuzzing.numbers(ints=[32, 96, 128, 1024], floats=[0.25, 2.5, -3e16])
scalars = fuzzing.scalars(numbers, WORDS)
ranges = st.fixed_dictionaries({"low": numbers, "high": numbers},
                               optional={"step": st.one_of(numbers, scalars), "log": scalars})
choices = st.fixed_dictionaries({"choices": st.lists(scalars, max_size=4)})
junk = fuzzing.nested(st.one_of(scalars, ranges, choices), KEYS, max_leaves=12,
                      odd_keys=st.one_of(st.integers(), st.booleans()))


def mutated(documents: dict[str, Any]) -> st.SearchStrategy[Any]:
    return fuzzing.mutated(documents, junk, KEYS)


# Documents shaped like a space: each key given a value of its own kind most of the time (so that
# many parse and their candidates are sampled), anything at all otherwise.
GOOD_INTS = {"d_model": [64, 128, 192, 256], "head_dim": [8, 16, 32], "n_heads": [2, 4, 8],
             "n_kv_heads": [1, 2, 4], "moe_num_experts": [2, 4, 8], "moe_top_k": [1, 2],
             "ffn_multiple_of": [8, 16, 32, 64], "repeat": [1, 2, 3],
             "target_params": [10**5, 10**6, 3 * 10**6], "target_active_params": [10**5, 10**6]}


def good_values(name: str) -> st.SearchStrategy[Any]:
    if name in POSITIVE_FLOAT_PARAMS:
        return st.sampled_from([0.5, 1.0, 2.0, 2.5, 4.0]) if name != "norm_eps" else st.just(1e-5)
    if name in BOOL_PARAMS:
        return st.booleans()
    if name == "target_params_tolerance":
        return st.sampled_from([0.01, 0.03, 0.1])
    return st.sampled_from(GOOD_INTS.get(name, [1, 2, 3, 4, 8, 16, 32, 64, 128, 256]))


def mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` nine times in ten, `other` otherwise."""
    return st.integers(0, 9).flatmap(lambda roll: other if roll == 0 else good)


def values_for(name: str) -> st.SearchStrategy[Any]:
    """A value of the kind `name` takes most of the time, anything at all otherwise."""
    return mostly(good_values(name), scalars)


@st.composite
def good_range(draw: st.DrawFn, name: str) -> dict[str, Any]:
    low = draw(good_values(name))
    if isinstance(low, bool):
        return {"low": low, "high": low}
    step = draw(good_values(name)) if isinstance(low, int) else 0.5
    high = low + step * draw(st.integers(1, 3))
    return {"low": low, "high": high, "step": step} if draw(st.booleans()) else {"low": low, "high": high}


def distributions_for(name: str) -> st.SearchStrategy[Any]:
    """A constant, a list, {choices} or a range of `name`'s kind most of the time, anything otherwise."""
    good = good_values(name)
    choices = st.lists(good, min_size=1, max_size=3, unique=True)
    return mostly(st.one_of(good, choices, st.fixed_dictionaries({"choices": choices}), good_range(name)),
                  st.one_of(scalars, ranges, st.lists(scalars, max_size=3)))


@st.composite
def space_like(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(KNOWN_PARAMS), unique=True, max_size=6))
    fixed_names = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    fixed = {name: draw(values_for(name)) for name in fixed_names}
    params = {name: draw(distributions_for(name)) for name in names if name not in fixed}
    if "d_model" not in names and draw(st.integers(0, 9)):
        params["d_model"] = draw(distributions_for("d_model"))
    mixers = mostly(st.one_of(st.sampled_from(MIXER_KINDS),
                              st.lists(st.sampled_from(MIXER_KINDS), min_size=1, max_size=4, unique=True)),
                    st.one_of(st.sampled_from(WORDS), scalars))
    ffns = st.one_of(st.sampled_from(FFN_KINDS), st.lists(st.sampled_from(FFN_KINDS), min_size=1,
                                                          max_size=2, unique=True))
    slot_mapping = st.fixed_dictionaries({"mixer": mixers}, optional={"ffn": ffns, "tie": st.booleans()})
    slot = mostly(st.one_of(st.sampled_from(MIXER_KINDS), slot_mapping), mixers)
    group = st.fixed_dictionaries({"slots": st.lists(slot, min_size=1, max_size=3)},
                                  optional={"repeat": distributions_for("repeat")})
    document = {"name": "space", "fixed": fixed, "params": params,
                "layers": draw(st.lists(group, min_size=1, max_size=3))}
    if draw(st.booleans()):
        document["description"] = draw(mostly(st.text(max_size=10), scalars))
    return document


# Text that PyYAML's grammar accepts but its constructors (or Python) refuse, and other edge cases.
AWKWARD_YAML = ["name: x\nfixed: {d_model: " + "9" * 5000 + "}\n", "[" * 5000 + "]" * 5000,
                "name: a\nname: b\n", "name: 2024-13-45\n", "name: !!int abc\n", "? [a]\n: 1\n",
                "--- 1\n--- 2\n", "\t", "&a [*a]",
                "name: x\nfixed: {d_model: 64}\nlayers: &l [{slots: *l}]\n"]


def assert_names_its_field(err: SpecError) -> None:
    assert isinstance(err.field, str) and err.field, err
    assert f"field '{err.field}'" in str(err)
    assert SOURCE in str(err)


def relations_checked(space: SearchSpace) -> bool:
    """Whether parsing checked every relation of `space` (no integer range of a divisor too long
    to enumerate), so that every candidate it samples must be valid."""
    return not any(isinstance(dist, IntRange) and (dist.high - dist.low) // dist.step >= MAX_COMBINATIONS
                   for name, dist in space.params.items() if name in ("head_dim", "n_kv_heads"))


def on_target(space: SearchSpace, spec: ArchSpec) -> bool:
    """Whether `spec` meets its space's parameter target, when the space has one."""
    tolerance = space.fixed.get("target_params_tolerance", 0.03)
    if "target_params" in space.fixed:
        return abs(param_count(spec) / space.fixed["target_params"] - 1) <= tolerance
    if "target_active_params" in space.fixed:
        return abs(active_param_count(spec) / space.fixed["target_active_params"] - 1) <= tolerance
    return True


def parse_and_sample(document: Any, candidates: int = 3) -> list[ArchSpec]:
    """Parse `document` and sample `candidates` architectures; only SpecError may leave, naming
    the field (any other exception fails the test), and sampling fails only where parsing could
    not check every relation; a candidate off the space's parameter target is skipped (the
    search prunes it, `SizeUnreachable`), and one on it lands within the tolerance."""
    try:
        space = parse_space(document, source=SOURCE)
    except StarSearchError as err:
        assert isinstance(err, SpecError), err
        assert_names_its_field(err)
        return []
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    specs = []
    with warnings.catch_warnings():
        # Optuna only warns when it shrinks a range whose step does not fit: parsing refuses those.
        warnings.filterwarnings("error", message=".*not divisible by.*")
        for _ in range(candidates):
            try:
                spec = sample_arch(space, study.ask())
            except SizeUnreachable as err:
                assert "cannot reach the space's target" in str(err)
                continue
            except SpecError as err:
                assert_names_its_field(err)
                assert not relations_checked(space), f"parsed, then a candidate failed: {err}"
                continue
            assert ArchSpec.from_json(spec.to_json()) == spec
            assert on_target(space, spec)
            specs.append(spec)
    return specs


@pytest.mark.parametrize("examples", TIERS)
def test_random_values_at_every_key_of_the_shipped_spaces(examples: int) -> None:
    @tier(examples)
    @given(mutated(SHIPPED))
    def check(document: Any) -> None:
        parse_and_sample(document)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_random_space_shaped_documents(examples: int) -> None:
    @tier(examples)
    @given(space_like())
    def check(document: Any) -> None:
        parse_and_sample(document)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_random_whole_documents(examples: int) -> None:
    @tier(examples)
    @given(junk)
    def check(document: Any) -> None:
        parse_and_sample(document)

    check()


@pytest.mark.parametrize("examples", TIERS)
def test_random_yaml_text(tmp_path: Path, examples: int) -> None:
    """Whole files: text that may not be YAML at all, or YAML that is not a mapping."""
    path = tmp_path / "space.yaml"

    @tier(examples)
    @given(st.one_of(st.text(max_size=60), st.builds(yaml.safe_dump, junk), st.sampled_from(AWKWARD_YAML)))
    def check(text: str) -> None:
        path.write_text(text)
        try:
            load_space(path)
        except SpecError as err:
            assert err.field


# The escapes the author found, and their neighbours: each a SpecError naming the field.
@pytest.mark.parametrize(("change", "field", "hint"), [
    ({"ffn_ratio": {"low": 2.5, "high": 5.0, "step": []}}, "params.ffn_ratio.step", "finite number"),
    ({"ffn_ratio": {"low": 2.5, "high": 5.0, "step": {}}}, "params.ffn_ratio.step", "finite number"),
    ({"ffn_ratio": {"low": 2.5, "high": 5.0, "step": -3e16}}, "params.ffn_ratio.step", "above 0"),
    ({"ffn_ratio": {"low": 2.5, "high": 5.0, "step": 1176}}, "params.ffn_ratio.step", "at most high - low"),
    ({"ffn_ratio": {"low": 2.5, "high": 5.0, "step": 0.3}}, "params.ffn_ratio.step", "divides"),
    ({"ffn_ratio": {"low": 2.5, "high": 5.0, "step": True}}, "params.ffn_ratio.step", "finite number"),
    ({"ffn_ratio": {"low": 2.5, "high": math.nan}}, "params.ffn_ratio.high", "finite number"),
    ({"ffn_ratio": {"low": 3.0, "high": 3.0}}, "params.ffn_ratio.low", "less than high"),
    ({"ffn_ratio": {"low": 2.0, "high": 4.0, "step": 0.5, "log": True}}, "params.ffn_ratio.step", "log"),
    ({"ffn_ratio": {"low": 2.0, "high": 4.0, "log": "yes"}}, "params.ffn_ratio.log", "true or false"),
    ({"d_model": {"low": 128, "high": 256, "step": 32.0}}, "params.d_model", "integer low, high and step"),
    ({"d_model": {"low": 128, "high": 256, "step": 48}}, "params.d_model.step", "divisor of high - low"),
    ({"d_model": {"low": 128, "high": 10**400}}, "params.d_model.high", "finite number"),
    ({"d_model": {"choices": [128, True]}}, "params.d_model.choices[1]", "positive integer"),
    ({"d_model": {"choices": [128, 128]}}, "params.d_model.choices[1]", "not already listed"),
    ({"d_model": {"choices": [128, 200]}}, "params.d_model.choices[1]", "multiple of head_dim"),
    ({"d_model": {"choices": []}}, "params.d_model.choices", "non-empty list"),
    ({"d_model": None}, "params.d_model", "a constant"),
    ({"conv_kernel": 2**40}, "params.conv_kernel", "at most"),
    ({"ffn_ratio": 1e300}, "params.ffn_ratio", "at most"),
    ({"norm_eps": 2.0}, "params.norm_eps", "below 1"),
    ({"atention": 3}, "params.atention", "no such key"),
])
def test_known_escapes_are_named(change: dict[str, Any], field: str, hint: str) -> None:
    document = copy.deepcopy(SHIPPED["demo"])
    document["params"].update(change)
    with pytest.raises(SpecError) as caught:
        parse_space(document, source=SOURCE)
    assert caught.value.field == field, caught.value
    assert hint in str(caught.value)


@pytest.mark.parametrize(("document", "field", "hint"), [
    ({"name": "x", "fixed": {"d_model": 128, "head_dim": 32, "n_heads": 6, "n_kv_heads": 4},
      "layers": [{"slots": ["attention"]}]}, "fixed.n_kv_heads", "n_heads divisible by n_kv_heads"),
    ({"name": "x", "fixed": {"d_model": 128, "head_dim": 32, "n_kv_heads": 3},
      "layers": [{"slots": ["attention"]}]}, "fixed.n_kv_heads", "divisible by n_kv_heads"),
    ({"name": "x", "fixed": {"d_model": 100}, "layers": [{"slots": ["conv"]}]},
     "fixed.d_model", "multiple of head_dim"),
    ({"name": "x", "fixed": {"d_model": 128, "head_dim": 48}, "layers": [{"slots": ["conv"]}]},
     "fixed.d_model", "multiple of head_dim"),
    ({"name": "x", "fixed": {"d_model": 128, "head_dim": 33}, "layers": [{"slots": ["conv"]}]},
     "fixed.head_dim", "even"),
    ({"name": "x", "fixed": {"d_model": 192}, "params": {"head_dim": {"low": 8, "high": 24}},
      "layers": [{"slots": ["conv"]}]}, "params.head_dim.step", "even step"),
    ({"name": "x", "fixed": {"d_model": 128, "moe_num_experts": 4},
      "params": {"moe_top_k": [2, 8]}, "layers": [{"slots": [{"mixer": "conv", "ffn": "moe"}]}]},
     "params.moe_top_k[1]", "at most moe_num_experts"),
    ({"name": "x", "fixed": {"d_model": 128, "moe_top_k": 1},
      "layers": [{"slots": [{"mixer": "conv", "ffn": "moe"}]}]}, "params.moe_num_experts", "moe"),
    ({"name": "x", "fixed": {"d_model": 128, "ffn_dim": 256, "ffn_ratio": 2.0},
      "layers": [{"slots": ["conv"]}]}, "fixed.ffn_ratio", "no ffn_ratio when ffn_dim is set"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"repeat": 0, "slots": ["conv"]}]},
     "layers[0].repeat", "repeats"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"repeat": -2, "slots": ["conv"]}]},
     "layers[0].repeat", "repeats"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"repeat": [2, "3"], "slots": ["conv"]}]},
     "layers[0].repeat[1]", "repeats"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"repeat": 10**9, "slots": ["conv"]}]},
     "layers[0].repeat", "repeats"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"repeat": 600, "slots": ["conv", "conv"]}]},
     "layers", "layers in all"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"slots": []}]}, "layers[0].slots", "non-empty"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"slots": ["atention"]}]},
     "layers[0].slots[0].mixer", "did you mean 'attention'?"),
    ({"name": "x", "fixed": {"d_model": 128}, "layers": [{"slot": ["conv"]}]},
     "layers[0].slot", "did you mean 'slots'?"),
    ({"name": "x", "fixed": {"d_modle": 128}, "layers": [{"slots": ["conv"]}]},
     "fixed.d_modle", "did you mean 'd_model'?"),
    ({"name": "x", "fixed": {"d_model": [128, 256]}, "layers": [{"slots": ["conv"]}]},
     "fixed.d_model", "one constant"),
    ({"name": "x", "fixed": [], "layers": [{"slots": ["conv"]}]}, "fixed", "a mapping"),
    ({"name": "x", "layers": [{"slots": ["conv"]}]}, "params.d_model", "d_model in 'fixed' or 'params'"),
    ({"name": "x", "fixed": {"d_model": 128}, 1: 2, "layers": [{"slots": ["conv"]}]}, "1", "no such key"),
    (None, "space", "a mapping"),
    ([1, 2], "space", "a mapping"),
])
def test_malformed_documents_are_named(document: Any, field: str, hint: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_space(document, source=SOURCE)
    assert caught.value.field == field, caught.value
    assert hint in str(caught.value)
