"""SwiGLU feed-forward: w2(silu(w1 x) · w3 x). Names follow Hugging Face's `Lfm2MLP`."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from star_search.ops.base import FeedForward


class SwiGLU(FeedForward):
    def __init__(self, d_model: int, hidden_dim: int):
        super().__init__()
        self.w1 = nn.Linear(d_model, hidden_dim, bias=False)
        self.w3 = nn.Linear(d_model, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))
