"""A failed lowering raises LoweringError naming the operator kind to blame."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from star_search.errors import LoweringError
from star_search.lower import ProgramShapes, lower_model
from star_search.lower.localize import culprit_by_isolation
from star_search.model import build_model
from star_search.ops.base import Mixer, State
from star_search.spec import ArchSpec, LayerSpec

SHAPES = ProgramShapes(prompt_len=4, max_seq_len=8)


@torch.library.custom_op("star_search_test::opaque_scale", mutates_args=())
def opaque_scale(x: Tensor) -> Tensor:
    """A custom operator with no ExecuTorch kernel: exports fine, cannot become a program."""
    return x * 2.0


@opaque_scale.register_fake
def _(x: Tensor) -> Tensor:
    return torch.empty_like(x)


class DataDependentMixer(Mixer):
    """Wraps a real mixer but branches in Python on a tensor value: torch.export cannot trace it."""

    def __init__(self, inner: Mixer):
        super().__init__()
        self.inner = inner

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype) -> State:
        return self.inner.init_state(batch, max_seq_len, dtype)

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        if x.sum() > 0:
            x = -x
        return self.inner.prefill(x, state)

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        if x.sum() > 0:
            x = -x
        return self.inner.step(x, state, pos)


class OpaqueScale(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return opaque_scale(x)


class OpaqueOpMixer(DataDependentMixer):
    """Traceable, but calls (directly in prefill/step) an operator ExecuTorch cannot run."""

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        return self.inner.prefill(opaque_scale(x), state)

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        return self.inner.step(opaque_scale(x), state, pos)


def _spec(*mixers: str) -> ArchSpec:
    return ArchSpec(d_model=32, layers=tuple(LayerSpec(m) for m in mixers), n_heads=2,
                    n_kv_heads=1, head_dim=16, ffn_dim=64, vocab_size=64, max_seq_len=16)


def test_untraceable_operator_is_named_from_the_traceback() -> None:
    model = build_model(_spec("conv", "attention"))
    model.blocks[1].mixer = DataDependentMixer(model.blocks[1].mixer)
    with pytest.raises(LoweringError) as caught:
        lower_model(model, SHAPES)
    assert caught.value.operator == "attention"
    assert "operator 'attention'" in str(caught.value)
    assert "layer 1" in str(caught.value) and "traceback" in str(caught.value)


def test_operator_failing_after_export_is_found_in_the_graph() -> None:
    model = build_model(_spec("attention", "conv"))
    # Inside a submodule called through __call__, so the node's nn_module_stack names the block.
    model.blocks[1].mixer.out_proj = nn.Sequential(OpaqueScale(), model.blocks[1].mixer.out_proj)
    with pytest.raises(LoweringError) as caught:
        lower_model(model, SHAPES, localize=False)
    assert caught.value.operator == "conv"
    assert "layer 1" in str(caught.value) and "graph" in str(caught.value)
    assert "opaque_scale" in str(caught.value)


def test_isolation_blames_the_kind_that_fails_alone() -> None:
    model = build_model(_spec("conv", "attention"))
    model.blocks[1].mixer = OpaqueOpMixer(model.blocks[1].mixer)
    culprit = culprit_by_isolation(model, SHAPES.prompt_len, SHAPES.max_seq_len)
    assert culprit is not None
    assert (culprit.operator, culprit.layer, culprit.evidence) == ("attention", 1, "isolation")
