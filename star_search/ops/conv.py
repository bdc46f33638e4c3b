"""LFM2 gated short convolution: in_proj → (B, C, x) → depthwise causal conv of B·x → C· → out_proj.

Parameter names follow Hugging Face's `Lfm2ShortConv` (`in_proj`, `conv`, `out_proj`) so that
weights export without renaming. Decode state: the last `kernel - 1` values of B·x per channel.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from star_search.ops.base import Mixer, State


class GatedShortConv(Mixer):
    def __init__(self, d_model: int, kernel: int):
        super().__init__()
        self.d_model = d_model
        self.kernel = kernel
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=False)
        self.conv = nn.Conv1d(d_model, d_model, kernel_size=kernel, groups=d_model,
                              padding=kernel - 1, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype) -> State:
        weight = self.in_proj.weight
        return (torch.zeros(batch, self.d_model, self.kernel - 1, dtype=dtype, device=weight.device),)

    def _gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b, c, v = self.in_proj(x).chunk(3, dim=-1)
        return (b * v).transpose(1, 2), c  # B·x as [batch, channels, time]

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        time = x.shape[1]
        bx, c = self._gates(x)
        conv_out = self.conv(bx)[..., :time]
        y = self.out_proj(c * conv_out.transpose(1, 2))
        padded = torch.cat((state[0], bx), dim=-1)
        window = padded[..., padded.shape[-1] - (self.kernel - 1):]
        return y, (window,)

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        bx, c = self._gates(x)
        window = torch.cat((state[0], bx), dim=-1)
        conv_out = (window * self.conv.weight[:, 0, :]).sum(dim=-1, keepdim=True)
        y = self.out_proj(c * conv_out.transpose(1, 2))
        return y, (window[..., 1:],)
