"""Selective state-space mixer, Mamba-2 style: a diagonal recurrence with one scalar decay per head.

Per head (`head_dim` channels p, `state_dim` state entries n), with dt_t = softplus(dt_t + dt_bias):

    a_t = exp(-exp(A_log) · dt_t)                      scalar decay in (0, 1)
    h_t = a_t · h_{t-1} + dt_t · x_t ⊗ B_t             h: [head_dim, state_dim]
    y_t = h_t C_t + D · x_t

x, B and C come out of a depthwise causal conv (+ SiLU) over `in_proj` outputs; B and C are shared
by all heads (one group). The output is gated and normalised, `norm(y · silu(z))`, then projected.

Parameter names follow Hugging Face's `Mamba2Mixer` with `n_groups=1` (`in_proj` ordered as
[z, x, B, C, dt], `conv1d` with bias over [x, B, C], `A_log`, `D`, `dt_bias`, gated `norm`,
`out_proj`). Decode state: the last `kernel - 1` conv inputs [batch, inner + 2·state_dim,
kernel - 1] and the recurrent state [batch, n_heads, head_dim, state_dim].

Prefill uses the quadratic (SSD) form: the decay from token s to token t is exp(cum_t - cum_s)
with cum the running sum of log-decays; entries with s > t are masked to -inf *before* exp, so
every exponent is ≤ 0 and nothing overflows. Memory is O(heads · time²) per sequence, fine for
prompts of a few hundred tokens.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from star_search.ops.base import Mixer, State
from star_search.ops.norm import RMSNorm

# Mamba-2's initial ranges: per-head decay rates A in [1, 16], step sizes dt in [1e-3, 1e-1].
_A_INIT_RANGE = (1.0, 16.0)
_DT_INIT_RANGE = (1e-3, 1e-1)


class SelectiveSSM(Mixer):
    def __init__(self, d_model: int, inner_dim: int, head_dim: int, state_dim: int, kernel: int,
                 norm_eps: float):
        super().__init__()
        self.inner_dim = inner_dim
        self.head_dim = head_dim
        self.state_dim = state_dim
        self.n_heads = inner_dim // head_dim
        self.kernel = kernel
        self.conv_dim = inner_dim + 2 * state_dim
        self.in_proj = nn.Linear(d_model, inner_dim + self.conv_dim + self.n_heads, bias=False)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, kernel_size=kernel, groups=self.conv_dim,
                                bias=True)
        low, high = _A_INIT_RANGE
        self.A_log = nn.Parameter(torch.empty(self.n_heads).uniform_(low, high).log())
        self.D = nn.Parameter(torch.ones(self.n_heads))
        log_dt = torch.empty(self.n_heads).uniform_(math.log(_DT_INIT_RANGE[0]), math.log(_DT_INIT_RANGE[1]))
        dt = log_dt.exp()
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.norm = RMSNorm(inner_dim, norm_eps)
        self.out_proj = nn.Linear(inner_dim, d_model, bias=False)

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype) -> State:
        device = self.in_proj.weight.device
        window = torch.zeros(batch, self.conv_dim, self.kernel - 1, dtype=dtype, device=device)
        ssm = torch.zeros(batch, self.n_heads, self.head_dim, self.state_dim, dtype=dtype, device=device)
        return window, ssm

    def _split_projection(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x [batch, time, d_model] → z [b, t, inner], conv input [b, conv_dim, t], dt [b, t, heads]."""
        z, xbc, dt = self.in_proj(x).split((self.inner_dim, self.conv_dim, self.n_heads), dim=-1)
        return z, xbc.transpose(1, 2), dt

    def _conv(self, window: Tensor, xbc: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Causal conv of [window, xbc] → x [b, t, heads, head_dim], B, C [b, t, state], new window."""
        padded = torch.cat((window, xbc), dim=-1)
        out = F.silu(self.conv1d(padded)).transpose(1, 2)
        # Slice from an explicit start: `[-(kernel - 1):]` would keep everything when kernel == 1.
        new_window = padded[..., padded.shape[-1] - (self.kernel - 1):]
        x, b, c = out.split((self.inner_dim, self.state_dim, self.state_dim), dim=-1)
        return x.unflatten(-1, (self.n_heads, self.head_dim)), b, c, new_window

    def _log_decay(self, dt_raw: Tensor) -> tuple[Tensor, Tensor]:
        """Raw dt [..., heads] → step size dt and log-decay log a = -exp(A_log)·dt (both [..., heads])."""
        dt = F.softplus(dt_raw + self.dt_bias)
        return dt, -torch.exp(self.A_log) * dt

    def _output(self, y: Tensor, x: Tensor, z: Tensor) -> Tensor:
        """y, x: [b, t, heads, head_dim]; adds the skip D·x, gates with z, normalises, projects."""
        y = (y + self.D[:, None] * x).flatten(-2)
        return self.out_proj(self.norm(y * F.silu(z)))

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        window, h0 = state
        z, xbc, dt_raw = self._split_projection(x)
        x, b, c, new_window = self._conv(window, xbc)
        dt, log_a = self._log_decay(dt_raw)
        cum = torch.cumsum(log_a, dim=1).transpose(1, 2)  # [b, heads, t]
        time = cum.shape[-1]
        causal = torch.ones(time, time, dtype=torch.bool, device=x.device).tril()
        segment = (cum[..., :, None] - cum[..., None, :]).masked_fill(~causal, float("-inf"))
        weights = segment.exp() * torch.einsum("btn,bsn->bts", c, b)[:, None]  # [b, heads, t, s]
        x_dt = x * dt[..., None]
        y = torch.einsum("bhts,bshp->bthp", weights, x_dt)
        # Contribution of the incoming state, decayed to each position (exponents ≤ 0).
        y = y + torch.einsum("bhpn,btn->bthp", h0, c) * cum.exp().transpose(1, 2)[..., None]
        to_end = (cum[..., -1:] - cum).exp()  # [b, heads, t]: decay from each token to the last
        h_end = torch.einsum("bhs,bshp,bsn->bhpn", to_end, x_dt, b) + cum[..., -1].exp()[..., None, None] * h0
        return self._output(y, x, z), (new_window, h_end)

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        window, h = state
        z, xbc, dt_raw = self._split_projection(x)
        x, b, c, new_window = self._conv(window, xbc)
        dt, log_a = self._log_decay(dt_raw[:, 0])  # [b, heads]
        update = (x[:, 0] * dt[..., None])[..., None] * b[:, 0, None, None, :]
        h = log_a.exp()[..., None, None] * h + update
        y = torch.einsum("bhpn,bn->bhp", h, c[:, 0])[:, None]
        return self._output(y, x, z), (new_window, h)
