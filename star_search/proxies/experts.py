"""Auxiliary-loss-free expert balancing while a MoE proxy trains (as LFM2-8B-A1B is trained).

Every training forward of a `MixtureOfExperts` layer is watched: its routing decisions are
counted, and after the optimiser step each layer's expert bias moves by `rate` towards balance
(`MixtureOfExperts.update_expert_bias`). The bias steers top-k choice only; it gets no gradient.
"""

from __future__ import annotations

from types import TracebackType

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from star_search.ops.moe import MixtureOfExperts


class ExpertLoad:
    """Context manager: counts tokens per expert of every MoE layer of `model` while active.

    rate: bias change per `update()` in router score units; 0 (or a model without MoE layers)
    makes it a no-op.
    """

    def __init__(self, model: nn.Module, rate: float):
        self.rate = rate
        self.layers = [m for m in model.modules() if isinstance(m, MixtureOfExperts)] if rate else []
        self.counts: dict[int, Tensor] = {}
        self.handles: list[RemovableHandle] = []

    def __enter__(self) -> ExpertLoad:
        self.handles = [layer.register_forward_hook(self._count) for layer in self.layers]
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def _count(self, layer: nn.Module, args: tuple[Tensor, ...], output: Tensor) -> None:
        assert isinstance(layer, MixtureOfExperts)
        with torch.no_grad():
            _, experts = layer.route(args[0].reshape(-1, layer.d_model))
            # one_hot + sum, not bincount: bincount has no deterministic CUDA kernel.
            counts = F.one_hot(experts.flatten(), layer.num_experts).sum(dim=0)
        key = id(layer)
        self.counts[key] = self.counts[key] + counts if key in self.counts else counts

    def update(self) -> None:
        """Move every MoE layer's expert bias by the loads counted since the last update."""
        for layer in self.layers:
            counts = self.counts.get(id(layer))
            if counts is not None:
                layer.update_expert_bias(counts, self.rate)
        self.counts.clear()
