"""The table's arithmetic: stack differences recover block costs, blocks compose, fits recover lines."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from star_search.errors import ProfileError, StarSearchError
from star_search.latency.blocks import (
    DRIFT_REFERENCE,
    WidthKey,
    component_names,
    component_spec,
    drift_scaled,
)
from star_search.latency.calibration import fit_correction
from star_search.latency.composition import block_costs, compose, moe_scale
from star_search.latency.sampling import spread
from star_search.latency.table import LatencyTable
from star_search.profiler.device_profile import parse_profile
from star_search.spec import ArchSpec, LayerSpec

WIDTH = WidthKey(d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, vocab_size=256, tie_embeddings=True,
                 ssm_state_dim=16, ssm_expand=1)
# Ground truth used to fabricate stack figures: fixed part, mixer costs, SwiGLU per unit, MoE.
TRUTH = {"fixed": 3.0, "mixer:conv": 0.5, "mixer:attention": 1.25, "mixer:ssm": 2.0,
         "mixer:linear_attention": 0.75, "swiglu_per_unit": 0.01, "moe_reference": 4.0}


def _figure(spec: ArchSpec) -> float:
    """What a stack program would measure if blocks added exactly (the model's assumption)."""
    return compose(spec, TRUTH, "ttft_ms")


def _figures(stack_layers: int) -> dict[str, dict[str, float]]:
    names = ["base", "stack:conv", "stack:attention", "stack:ssm", "stack:linear_attention", "ffn2", "moe"]
    return {name: {"ttft_ms": _figure(component_spec(WIDTH, name, stack_layers))} for name in names}


@pytest.mark.parametrize("stack_layers", [1, 2, 4])
def test_stack_differences_recover_the_block_costs(stack_layers):
    costs = block_costs(WIDTH, _figures(stack_layers), stack_layers, "ttft_ms")
    assert costs == pytest.approx(TRUTH)


def test_a_candidate_composes_from_its_layers():
    spec = ArchSpec(d_model=64, layers=(LayerSpec("conv"), LayerSpec("attention"), LayerSpec("ssm", "moe")),
                    n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=160, vocab_size=256,
                    moe_num_experts=16, moe_top_k=4, moe_expert_dim=32)
    expected = 3.0 + 0.5 + 1.25 + 2.0 + 2 * 0.01 * 160 + 4.0 * (4 * 32) / (2 * 64)
    assert compose(spec, TRUTH, "decode_p50_ms") == pytest.approx(expected)
    # Memory and prefill scale with the experts stored (a prompt runs every expert on every
    # token), decode with the experts routed to (a step gathers only those).
    assert moe_scale(spec, "peak_rss_bytes") == pytest.approx(16 * 32 / (8 * 64))
    assert moe_scale(spec, "ttft_ms") == pytest.approx(16 * 32 / (8 * 64))
    assert moe_scale(spec, "decode_p50_ms") == pytest.approx(4 * 32 / (2 * 64))
    assert moe_scale(spec, "decode_p95_ms") == pytest.approx(4 * 32 / (2 * 64))


def test_moe_prefill_follows_the_experts_stored_not_the_experts_routed_to():
    """Two MoE shapes with the same routed width (top_k x expert_dim) but twice the experts: the
    same decode cost, twice the prefill cost."""
    def spec(experts: int) -> ArchSpec:
        return ArchSpec(d_model=64, layers=(LayerSpec("conv", "moe"),), n_heads=4, n_kv_heads=2, head_dim=16,
                        ffn_dim=128, vocab_size=256, moe_num_experts=experts, moe_top_k=2, moe_expert_dim=64)
    few, many = spec(4), spec(8)
    assert compose(many, TRUTH, "decode_p50_ms") == pytest.approx(compose(few, TRUTH, "decode_p50_ms"))
    moe_few = compose(few, TRUTH, "ttft_ms") - compose(few, {**TRUTH, "moe_reference": 0.0}, "ttft_ms")
    moe_many = compose(many, TRUTH, "ttft_ms") - compose(many, {**TRUTH, "moe_reference": 0.0}, "ttft_ms")
    assert moe_many == pytest.approx(2 * moe_few)


def test_a_missing_block_is_a_clear_error():
    spec = ArchSpec(d_model=64, layers=(LayerSpec("ssm"),), n_heads=4, n_kv_heads=2, head_dim=16,
                    ffn_dim=128, vocab_size=256)
    partial = {k: v for k, v in TRUTH.items() if k != "mixer:ssm"}
    with pytest.raises(StarSearchError, match="no 'ssm' block"):
        compose(spec, partial, "ttft_ms")


def test_components_are_valid_specs_of_the_width():
    spec = ArchSpec(d_model=64, layers=(LayerSpec("linear_attention"), LayerSpec("conv", "moe")), n_heads=4,
                    n_kv_heads=2, head_dim=16, ffn_dim=128, vocab_size=256, moe_num_experts=4,
                    moe_top_k=1, moe_expert_dim=64)
    names = component_names(spec)
    assert names == ("base", "stack:conv", "ffn2", "stack:linear_attention", "moe")
    for name in names:
        program = component_spec(WidthKey.of(spec), name, 3)
        assert WidthKey.of(program) == WidthKey.of(spec)
    assert component_spec(WIDTH, "stack:attention", 3).pattern() == "caaa"
    with pytest.raises(ValueError):
        component_spec(WIDTH, "stack:mlp", 3)


def test_only_the_ssm_stack_depends_on_the_ssm_sizes():
    wider_state = WidthKey(**{**WIDTH.__dict__, "ssm_state_dim": 32, "ssm_expand": 2})
    for name in ("base", "stack:conv", "stack:attention", "stack:linear_attention", "ffn2", "moe"):
        assert component_spec(wider_state, name, 2).arch_id == component_spec(WIDTH, name, 2).arch_id
    ssm = component_spec(wider_state, "stack:ssm", 2)
    assert (ssm.ssm_state_dim, ssm.ssm_expand) == (32, 2)
    assert ssm.arch_id != component_spec(WIDTH, "stack:ssm", 2).arch_id


def test_relative_least_squares_recovers_a_line():
    raw = [1.0, 2.0, 5.0, 9.0]
    fit = fit_correction(raw, [0.5 + 1.5 * x for x in raw])
    assert (fit.intercept, fit.slope, fit.points) == pytest.approx((0.5, 1.5, 4))
    single = fit_correction([2.0], [3.0])
    assert (single.intercept, single.slope) == pytest.approx((0.0, 1.5))
    assert fit_correction([], []).apply(7.0) == 7.0


def test_a_table_file_is_versioned_by_what_it_depends_on(tmp_path):
    settings = {"device_id": "local:x", "threads": 2}
    table = LatencyTable.open(tmp_path, "dev", settings)
    table.put_component(WIDTH, "base", {"ttft_ms": 1.0})
    table.save()
    assert LatencyTable.open(tmp_path, "dev", settings).components(WIDTH) == {"base": {"ttft_ms": 1.0}}
    changed = LatencyTable.open(tmp_path, "dev", {**settings, "threads": 1})
    assert changed.path != table.path and changed.components(WIDTH) == {}
    data = json.loads(table.path.read_text())
    assert data["table_version"] == table.version and data["settings"] == settings
    table.path.write_text("{ not json")
    with pytest.raises(StarSearchError, match="damaged"):
        LatencyTable.open(tmp_path, "dev", settings)


@pytest.mark.parametrize(("field", "value"), [("stack_layers", 0), ("min_repeats", "many"),
                                              ("calibration_archs", -1), ("seed", 1.5), ("depth", 3),
                                              ("rounds", 0)])
def test_a_bad_latency_section_names_its_field(field, value):
    with pytest.raises(ProfileError, match=f"latency.{field}"):
        parse_profile({"name": "p", "latency": {field: value}})


def test_spread_takes_both_ends_and_even_ranks_between() -> None:
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0]
    assert spread(values, lambda v: v, 3) == [1.0, 5.0, 9.0]
    assert spread(values, lambda v: v, 2) == [1.0, 9.0]
    assert spread(values, lambda v: -v, 1) == [5.0]
    assert spread(values, lambda v: v, 10) == sorted(values)


def test_working_memory_is_held_once_per_model_not_once_per_layer():
    """Memory stacks: an SSM stack stores what a conv stack stores plus a prefill working memory
    (here 300) that a model holds once; a model with three SSM layers is charged it once, as one
    with one SSM layer, and each SSM block weighs what a conv block weighs."""
    n = 4
    conv_block, working = 10.0, 300.0
    figures = {"base": 600.0, "stack:conv": 600.0 + n * conv_block, "ffn2": 600.0 + n * conv_block + 50.0,
               "stack:attention": 600.0 + n * conv_block, "stack:ssm": 600.0 + n * conv_block + working,
               "moe": 700.0 + n * conv_block}
    costs = block_costs(WIDTH, {k: {"peak_rss_bytes": v} for k, v in figures.items()}, n, "peak_rss_bytes")
    assert costs["mixer:ssm"] == pytest.approx(costs["mixer:conv"])
    assert costs["working:ssm"] == pytest.approx(working) and costs["working:attention"] == 0.0

    def model(*mixers: str) -> ArchSpec:
        return ArchSpec(d_model=64, layers=tuple(LayerSpec(m) for m in mixers), n_heads=4, n_kv_heads=2,
                        head_dim=16, ffn_dim=128, vocab_size=256)

    one, three = model("conv", "ssm", "conv", "conv"), model("ssm", "ssm", "conv", "ssm")
    assert compose(three, costs, "peak_rss_bytes") == pytest.approx(compose(one, costs, "peak_rss_bytes"))
    assert compose(one, costs, "peak_rss_bytes") - compose(model("conv", "conv", "conv", "conv"), costs,
                                                           "peak_rss_bytes") == pytest.approx(working)
    # Time still adds per layer.
    assert block_costs(WIDTH, {k: {"ttft_ms": v} for k, v in figures.items()}, n, "ttft_ms")["mixer:ssm"] > \
        costs["mixer:conv"]


def test_a_wide_swiglu_costs_more_per_unit_in_prefill_only():
    """With `ffn3` timed, a prompt's SwiGLU cost is piecewise linear: the slope of ffn2 up to 4 x
    d_model, the slope from ffn2 to ffn3 above it. Decode and memory stay on the first slope."""
    n, wide = 4, 0.03
    figures = _figures(n)
    ffn2 = component_spec(WIDTH, "ffn2", n)
    extra = (n + 1) * wide * (WIDTH.f3 - WIDTH.f2)
    figures["ffn3"] = {"ttft_ms": figures["ffn2"]["ttft_ms"] + extra}
    costs = block_costs(WIDTH, figures, n, "ttft_ms")
    assert costs["swiglu_per_unit_wide"] == pytest.approx(wide)
    assert costs["swiglu_per_unit"] == pytest.approx(TRUTH["swiglu_per_unit"])
    # At or below the knee nothing changes; above it, the excess width is charged the wide slope.
    at_knee = replace(ffn2, layers=(LayerSpec("conv"),), ffn_dim=WIDTH.f2)
    assert compose(at_knee, costs, "ttft_ms") == pytest.approx(compose(at_knee, TRUTH, "ttft_ms"))
    wider = replace(ffn2, layers=(LayerSpec("conv"),) * 2, ffn_dim=6 * WIDTH.d_model)
    excess = 2 * (wide - TRUTH["swiglu_per_unit"]) * (6 - 4) * WIDTH.d_model
    assert compose(wider, costs, "ttft_ms") == pytest.approx(compose(wider, TRUTH, "ttft_ms") + excess)
    decode = {name: {"decode_p50_ms": row["ttft_ms"]} for name, row in figures.items()}
    assert "swiglu_per_unit_wide" not in block_costs(WIDTH, decode, n, "decode_p50_ms")


def test_ffn3_is_timed_only_for_a_dense_swiglu_wider_than_4x():
    def spec(ffn_ratio: float, ffn: str = "swiglu") -> ArchSpec:
        return ArchSpec(d_model=64, layers=(LayerSpec("conv", ffn),), n_heads=4, n_kv_heads=2, head_dim=16,
                        ffn_dim=int(ffn_ratio * 64), vocab_size=256, moe_num_experts=4, moe_top_k=1,
                        moe_expert_dim=64)
    assert "ffn3" not in component_names(spec(4)) and "ffn3" in component_names(spec(4.5))
    assert "ffn3" not in component_names(spec(6, "moe"))  # no dense SwiGLU at all
    program = component_spec(WIDTH, "ffn3", 3)
    assert program.ffn_dim == 8 * WIDTH.d_model and program.pattern() == "cccc"


def test_a_late_component_is_scaled_by_its_references_drift():
    stored = {"ttft_ms": 100.0, "decode_p50_ms": 10.0, "decode_p95_ms": 12.0, "peak_rss_bytes": 1000}
    retimed = {"ttft_ms": 80.0, "decode_p50_ms": 11.0, "decode_p95_ms": 12.0, "peak_rss_bytes": 990}
    late = {"ttft_ms": 160.0, "decode_p50_ms": 22.0, "decode_p95_ms": 30.0, "peak_rss_bytes": 2000,
            "repeats": 9}
    scaled = drift_scaled(late, stored, retimed)
    # The machine ran 25% faster on prefill, 10% slower on decode: the late figures are brought back.
    assert scaled["ttft_ms"] == pytest.approx(200.0) and scaled["decode_p50_ms"] == pytest.approx(20.0)
    assert scaled["decode_p95_ms"] == pytest.approx(30.0)
    assert scaled["peak_rss_bytes"] == 2000 and scaled["repeats"] == 9  # memory is not drift
    assert scaled["drift"]["reference"] == DRIFT_REFERENCE == "ffn2"
    assert scaled["drift"]["unscaled"]["ttft_ms"] == 160.0
    assert scaled["drift"]["ratios"]["ttft_ms"] == pytest.approx(1.25)
