"""Every operator honours the same contract: the parallel prefill and the token-by-token step agree
on outputs and on state (fp32), and feed-forwards are position-wise."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from star_search.model import build_model
from star_search.ops import FFN_BUILDERS, MIXER_BUILDERS, Mixer, State
from star_search.ops.moe import MixtureOfExperts
from star_search.ops.ssm import SelectiveSSM
from star_search.spec import ArchSpec, LayerSpec

ATOL = 1e-4
D_MODEL = 32
# 13 tokens fit in one GLA chunk of 32; 70 span three (the last one padded).
LENGTHS = (13, 70)


def tiny_spec(layers: tuple[LayerSpec, ...] = (LayerSpec("conv"),)) -> ArchSpec:
    return ArchSpec(d_model=D_MODEL, layers=layers, n_heads=4, n_kv_heads=2, head_dim=8, ffn_dim=48,
                    vocab_size=64, ssm_state_dim=8, moe_num_experts=4, moe_top_k=2, moe_expert_dim=16)


def build_mixer(kind: str) -> Mixer:
    torch.manual_seed(0)
    return MIXER_BUILDERS[kind](tiny_spec()).eval()


def inputs(time: int) -> Tensor:
    return torch.randn(2, time, D_MODEL, generator=torch.Generator().manual_seed(1))


def decode(mixer: Mixer, x: Tensor, state: State, start: int) -> tuple[Tensor, State]:
    """Step through x one token at a time from position `start`."""
    outputs = []
    for offset in range(x.shape[1]):
        pos = torch.tensor([start + offset], dtype=torch.int64)
        y, state = mixer.step(x[:, offset:offset + 1], state, pos)
        outputs.append(y)
    return torch.cat(outputs, dim=1), state


def assert_close(actual: Tensor, expected: Tensor) -> None:
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() <= ATOL


@pytest.mark.parametrize("time", LENGTHS)
@pytest.mark.parametrize("kind", sorted(MIXER_BUILDERS))
class TestMixerContract:
    def test_prefill_matches_forward(self, kind: str, time: int) -> None:
        mixer, x = build_mixer(kind), inputs(time)
        with torch.no_grad():
            prefilled, _ = mixer.prefill(x, mixer.init_state(2, time, torch.float32))
            assert_close(prefilled, mixer(x))

    def test_decode_matches_prefill_outputs_and_state(self, kind: str, time: int) -> None:
        mixer, x = build_mixer(kind), inputs(time)
        with torch.no_grad():
            prefilled, prefill_state = mixer.prefill(x, mixer.init_state(2, time, torch.float32))
            decoded, decode_state = decode(mixer, x, mixer.init_state(2, time, torch.float32), 0)
        assert_close(decoded, prefilled)
        assert len(prefill_state) == len(decode_state)
        for after_prefill, after_decode in zip(prefill_state, decode_state, strict=True):
            assert_close(after_prefill, after_decode)

    def test_partial_prefill_then_decode(self, kind: str, time: int) -> None:
        mixer, x = build_mixer(kind), inputs(time)
        split = time // 2 + 1
        with torch.no_grad():
            full = mixer(x)
            head, state = mixer.prefill(x[:, :split], mixer.init_state(2, time, torch.float32))
            tail, _ = decode(mixer, x[:, split:], state, split)
        assert_close(torch.cat((head, tail), dim=1), full)


def test_backbone_prefill_then_step_matches_forward() -> None:
    layers = (LayerSpec("conv"), LayerSpec("ssm", "moe"), LayerSpec("attention"),
              LayerSpec("linear_attention", "moe"), LayerSpec("conv", "moe"))
    model = build_model(tiny_spec(layers), seed=0).eval()
    tokens = torch.randint(0, 64, (2, 11), generator=torch.Generator().manual_seed(2))
    split = 6
    with torch.no_grad():
        expected = model(tokens)
        logits, state = model.prefill(tokens[:, :split], model.init_state(2, tokens.shape[1]))
        assert_close(logits, expected[:, split - 1])
        for pos in range(split, tokens.shape[1]):
            logits, state = model.step(tokens[:, pos:pos + 1], state, torch.tensor([pos]))
            assert_close(logits, expected[:, pos])


@pytest.mark.parametrize("kind", sorted(FFN_BUILDERS))
def test_ffn_is_position_wise(kind: str) -> None:
    torch.manual_seed(0)
    ffn = FFN_BUILDERS[kind](tiny_spec()).eval()
    x = inputs(13)
    perturbed = x.clone()
    perturbed[:, 5:] = torch.randn_like(perturbed[:, 5:])
    with torch.no_grad():
        full = ffn(x)
        assert_close(ffn(perturbed)[:, :5], full[:, :5])
        # One token alone takes MoE's gathered path; the batch above takes the dense one.
        for batch, pos in ((0, 0), (1, 7), (0, 12)):
            assert_close(ffn(x[batch:batch + 1, pos:pos + 1])[0, 0], full[batch, pos])


def test_moe_routing_weights_are_normalised_unbiased_scores() -> None:
    torch.manual_seed(0)
    moe = MixtureOfExperts(D_MODEL, expert_dim=16, num_experts=4, top_k=2)
    tokens = inputs(13).reshape(-1, D_MODEL)
    with torch.no_grad():
        scores = torch.sigmoid(moe.gate(tokens))
        weights, experts = moe.route(tokens)
        assert torch.allclose(weights.sum(-1), torch.ones(len(tokens)), atol=1e-5)
        assert torch.equal(experts, scores.topk(2, dim=-1).indices)

        moe.expert_bias[3] = 10.0  # expert 3 now wins every token's selection...
        biased_weights, biased_experts = moe.route(tokens)
    assert (biased_experts == 3).any(dim=-1).all()
    assert not torch.equal(biased_experts, experts)
    chosen = torch.gather(scores, 1, biased_experts)  # ...but is weighted by its unbiased score
    assert torch.allclose(biased_weights, chosen / chosen.sum(-1, keepdim=True), atol=1e-5)


def test_moe_expert_bias_update_is_a_buffer_step() -> None:
    moe = MixtureOfExperts(D_MODEL, expert_dim=16, num_experts=4, top_k=2)
    assert "expert_bias" not in dict(moe.named_parameters())
    assert moe.expert_bias.dtype == torch.float32
    moe.update_expert_bias(torch.tensor([10, 2, 6, 6]), rate=0.01)
    assert torch.allclose(moe.expert_bias, torch.tensor([-0.01, 0.01, 0.0, 0.0]))
    assert not moe.expert_bias.requires_grad



def test_ssm_matches_transformers_mamba2() -> None:
    """Same names, layouts and numbers as `Mamba2Mixer` with one group (weights load strictly)."""
    mamba2 = pytest.importorskip("transformers.models.mamba2.modeling_mamba2")
    config = mamba2.Mamba2Config(hidden_size=D_MODEL, expand=2, head_dim=8, num_heads=8, state_size=8,
                                 n_groups=1, conv_kernel=4, use_bias=False, use_conv_bias=True,
                                 chunk_size=8, layer_norm_epsilon=1e-5)
    reference = mamba2.Mamba2Mixer(config, layer_idx=0).eval()
    torch.manual_seed(0)
    ssm = SelectiveSSM(D_MODEL, inner_dim=64, head_dim=8, state_dim=8, kernel=4, norm_eps=1e-5).eval()
    reference.load_state_dict(ssm.state_dict(), strict=True)
    x = inputs(13)
    with torch.no_grad():
        assert_close(ssm(x), reference(x))


def test_moe_matches_transformers_lfm2_moe() -> None:
    """The weight mapping in ops/moe.py's docstring reproduces `Lfm2MoeSparseMoeBlock`."""
    lfm2_moe = pytest.importorskip("transformers.models.lfm2_moe.modeling_lfm2_moe")
    experts, width, top_k = 4, 16, 2
    config = lfm2_moe.Lfm2MoeConfig(hidden_size=D_MODEL, moe_intermediate_size=width,
                                    num_experts=experts, num_experts_per_tok=top_k)
    reference = lfm2_moe.Lfm2MoeSparseMoeBlock(config).eval()
    torch.manual_seed(0)
    moe = MixtureOfExperts(D_MODEL, width, experts, top_k).eval()
    moe.expert_bias.copy_(torch.tensor([0.0, 0.3, -0.2, 0.1]))
    per_expert = (experts, width, D_MODEL)
    with torch.no_grad():
        reference.gate.weight.copy_(moe.gate.weight)
        reference.expert_bias.copy_(moe.expert_bias)
        reference.experts.gate_up_proj.copy_(torch.cat((moe.w1.view(per_expert), moe.w3.view(per_expert)), 1))
        reference.experts.down_proj.copy_(moe.w2.view(D_MODEL, experts, width).transpose(0, 1))
        x = inputs(13)
        assert_close(moe(x), reference(x))
        assert_close(moe(x[:1, :1]), reference(x[:1, :1]))  # the gathered (decode) path
