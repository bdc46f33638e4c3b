"""The joint trainer's pieces: dealing, micro-batches, task weighting, family tokens, schedule,
expert balancing."""

from __future__ import annotations

import itertools
import os

import pytest
import torch

from star_search.errors import ProxyError
from star_search.proxies import ProxyConfig, proxy_size
from star_search.proxies.batching import (
    dealt,
    family_tokens,
    micro_batches,
    mixed_batch,
    step_parts,
)
from star_search.proxies.experts import ExpertLoad
from star_search.proxies.proxy_model import build_proxy
from star_search.proxies.tasks import Compression, MultiQueryRecall
from star_search.proxies.trainer import (
    CUBLAS_WORKSPACE,
    deterministic_algorithms,
    learning_rate,
    sequence_loss,
    train,
)
from star_search.proxies.vocab import IGNORE, PAD, TASK_BASE
from star_search.scaling import proxy_spec
from star_search.spec import ArchSpec, LayerSpec


@pytest.mark.parametrize(("batch_size", "n_tasks"), [(14, 7), (10, 7), (3, 7), (56, 50)])
def test_dealing_fills_each_step_and_is_fair_over_a_round(batch_size: int, n_tasks: int) -> None:
    steps = n_tasks  # after n_tasks steps every task has had exactly batch_size sequences
    counts = [dealt(step, batch_size, n_tasks) for step in range(steps)]
    assert all(sum(step) == batch_size for step in counts)
    assert [sum(column) for column in zip(*counts, strict=True)] == [batch_size] * n_tasks


def test_family_tokens_are_shared_within_a_family_and_bounded() -> None:
    tasks = [MultiQueryRecall(n_pairs=2), Compression(length=4), MultiQueryRecall(n_pairs=3)]
    assert family_tokens(tasks) == [TASK_BASE, TASK_BASE + 1, TASK_BASE]
    many = [MultiQueryRecall(n_pairs=2, family=f"family{i}") for i in range(17)]
    with pytest.raises(ProxyError, match="17 task families"):
        family_tokens(many)


def test_mixed_batch_pads_without_scoring_padding() -> None:
    tasks = [MultiQueryRecall(n_pairs=2), Compression(length=8)]
    inputs, targets = mixed_batch(tasks, family_tokens(tasks), [3, 2], torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (5, 1 + 16)
    assert (inputs[:3, 1 + 9:] == PAD).all() and (targets[:3, 1 + 9:] == IGNORE).all()
    assert (inputs[:3, 0] == TASK_BASE).all() and (inputs[3:, 0] == TASK_BASE + 1).all()


def test_micro_batches_split_long_settings_off_without_changing_the_loss() -> None:
    tasks = [MultiQueryRecall(n_pairs=2), MultiQueryRecall(n_pairs=3), Compression(length=60)]
    parts = step_parts(tasks, family_tokens(tasks), [4, 4, 2], torch.Generator().manual_seed(0))
    groups = micro_batches(parts)
    assert [g[0].shape for g in groups] == [(8, 1 + 13), (2, 1 + 120)]  # 4 rows × 4 pads ≤ 256
    assert len(micro_batches(parts, max_padding=10**6)) == 1
    spec = ArchSpec(d_model=64, layers=(LayerSpec("conv"), LayerSpec("attention")), n_heads=4, n_kv_heads=1,
                    head_dim=16, ffn_dim=128, vocab_size=128, max_seq_len=128)
    model = build_proxy(spec, seed=0)
    inputs, targets = mixed_batch(tasks, family_tokens(tasks), [4, 4, 2], torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = sequence_loss(model(inputs), targets)
        split = sum(sequence_loss(model(x), y) * x.shape[0] / 10 for x, y in groups)
    assert float(split) == pytest.approx(float(whole), rel=1e-5)


def test_sequence_loss_weighs_rows_not_positions() -> None:
    logits = torch.zeros(2, 4, 8)
    logits[0, :, 1] = 10.0  # row 0 predicts token 1 everywhere: right at its one scored position
    targets = torch.full((2, 4), IGNORE)
    targets[0, 0] = 1
    targets[1, :] = 2  # row 1 has four scored positions, all wrong by the same margin
    per_row = torch.nn.functional.cross_entropy(logits.flatten(0, 1), torch.tensor([1, 2, 2, 2, 2, 2, 2, 2]),
                                                reduction="none").view(2, 4)
    assert sequence_loss(logits, targets) == pytest.approx(float(per_row[0, 0] + per_row[1].mean()) / 2)


def test_learning_rate_warms_up_then_decays_to_a_tenth() -> None:
    rates = [learning_rate(step, 100, 1.0, 0.1, 0.1) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(rates[9:]))
    assert rates[-1] == pytest.approx(0.1, abs=1e-3)


def test_learning_rate_final_fraction_sets_the_floor() -> None:
    constant = [learning_rate(step, 100, 1.0, 0.1, final_fraction=1.0) for step in range(10, 100)]
    assert constant == pytest.approx([1.0] * 90)
    assert learning_rate(99, 100, 1.0, 0.1, final_fraction=0.0) == pytest.approx(0.0, abs=1e-3)


def test_moe_proxy_training_moves_expert_biases_and_leaves_no_hooks() -> None:
    spec = ArchSpec(d_model=256, layers=(LayerSpec("conv", "moe"),), n_heads=4, n_kv_heads=1,
                    head_dim=64, ffn_dim=512, moe_num_experts=16, moe_top_k=2, moe_expert_dim=128)
    config = ProxyConfig(d_model=32, head_dim=16, steps=3, batch_size=4, tasks=("compression/len12-pool32",))
    small = proxy_spec(spec, proxy_size(config))
    model = build_proxy(small, seed=0)
    moe = model.blocks[0].ffn
    train(model, config.select_tasks(), config)
    assert moe.expert_bias.abs().sum() > 0
    assert not moe._forward_hooks
    with ExpertLoad(model, rate=0.0) as idle:
        assert idle.layers == []


@pytest.mark.parametrize("fraction", [1.0, 0.1])
def test_training_follows_the_configured_final_learning_rate(fraction: float,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The last step runs at `final_lr_fraction` of the peak: a constant schedule ends at the peak."""
    spec = ArchSpec(d_model=64, layers=(LayerSpec("conv", "swiglu"),), n_heads=4, n_kv_heads=2,
                    head_dim=16, ffn_dim=128)
    config = ProxyConfig(d_model=32, head_dim=16, steps=4, batch_size=2, lr=0.01,
                         final_lr_fraction=fraction, tasks=("compression/len12-pool32",))
    rates: list[float] = []
    step = torch.optim.AdamW.step

    def recording(optimizer: torch.optim.Optimizer, *args: object, **kwargs: object) -> object:
        rates.append(optimizer.param_groups[0]["lr"])
        return step(optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording)
    train(build_proxy(proxy_spec(spec, proxy_size(config)), seed=0), config.select_tasks(), config)
    assert rates[-1] == pytest.approx(learning_rate(3, 4, 0.01, config.warmup_fraction, fraction))
    assert (rates[-1] == pytest.approx(0.01)) is (fraction == 1.0)


def test_deterministic_mode_fixes_the_cublas_workspace_unless_the_user_set_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # cuBLAS repeats itself only with a fixed workspace (read at the first GPU matrix product).
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = torch.are_deterministic_algorithms_enabled()
    with deterministic_algorithms():
        assert torch.are_deterministic_algorithms_enabled()
    assert torch.are_deterministic_algorithms_enabled() == before
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    with deterministic_algorithms():
        pass
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
