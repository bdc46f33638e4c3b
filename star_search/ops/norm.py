"""RMSNorm with a learned scale initialised to one (as in LFM2 and Llama).

The mean of squares is computed as a matrix product with a constant column of 1/dim rather
than with `mean`: XNNPACK delegates matrix products but not `mean.dim` over the last axis, and an
undelegated op in every block splits the lowered graph into dozens of small delegate calls
(slower to lower and to run). The result is the same up to fp32 rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.register_buffer("mean_weight", torch.full((1, dim), 1.0 / dim), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x_fp32 = x.float()
        mean_square = F.linear(x_fp32 * x_fp32, self.mean_weight)
        return (x_fp32 * torch.rsqrt(mean_square + self.eps)).to(x.dtype) * self.weight
