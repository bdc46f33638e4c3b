"""ArchSpec: JSON round-trip, a stable identity, and errors that name the field and value."""

from __future__ import annotations

import pytest

from star_search.errors import SpecError
from star_search.spec import ArchSpec, LayerSpec

LAYERS = (LayerSpec("conv"), LayerSpec("attention"), LayerSpec("ssm", "moe"),
          LayerSpec("linear_attention"))


def make_spec(**changes: object) -> ArchSpec:
    sizes: dict[str, object] = dict(d_model=64, layers=LAYERS, n_heads=4, n_kv_heads=2, head_dim=16,
                                    ffn_dim=128, moe_num_experts=4, moe_top_k=2, moe_expert_dim=32)
    sizes.update(changes)
    return ArchSpec(**sizes)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    spec = make_spec(name="candidate-7", tie_embeddings=False)
    again = ArchSpec.from_json(spec.to_json())
    assert again == spec
    assert again.name == "candidate-7"
    assert again.layers == LAYERS


def test_arch_id_is_stable_and_ignores_name() -> None:
    spec = make_spec()
    assert spec.arch_id == make_spec().arch_id
    assert len(spec.arch_id) == 16
    assert make_spec(name="other").arch_id == spec.arch_id
    assert ArchSpec.from_json(spec.to_json(indent=None)).arch_id == spec.arch_id


@pytest.mark.parametrize("changes", [
    {"d_model": 96}, {"n_heads": 8}, {"n_kv_heads": 4}, {"head_dim": 32}, {"ffn_dim": 160},
    {"vocab_size": 1000}, {"conv_kernel": 4}, {"ssm_state_dim": 8}, {"ssm_expand": 2},
    {"moe_num_experts": 8}, {"moe_top_k": 1}, {"moe_expert_dim": 48}, {"max_seq_len": 2048},
    {"tie_embeddings": False}, {"rope_theta": 10_000.0}, {"norm_eps": 1e-6},
    {"layers": (*LAYERS[:-1], LayerSpec("linear_attention", "moe"))},
])
def test_arch_id_changes_with_any_size_field(changes: dict[str, object]) -> None:
    assert make_spec(**changes).arch_id != make_spec().arch_id


def test_negative_width_names_the_field() -> None:
    with pytest.raises(SpecError, match="d_model") as caught:
        make_spec(d_model=-64)
    assert caught.value.field == "d_model"
    assert "-64" in str(caught.value)


def test_unknown_mixer_names_the_value() -> None:
    with pytest.raises(SpecError, match="mamba3") as caught:
        LayerSpec("mamba3")
    assert caught.value.field == "mixer"
    with pytest.raises(SpecError, match="mamba3"):
        ArchSpec.from_dict({**make_spec().to_dict(), "layers": [{"mixer": "mamba3"}]})
