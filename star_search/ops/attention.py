"""Grouped-query attention with per-head RMSNorm on Q and K before RoPE (LFM2 style).

Parameter names follow Hugging Face's `Lfm2Attention` (`q_proj`, `k_proj`, `v_proj`, `out_proj`,
`q_layernorm`, `k_layernorm`). Decode state: a KV cache of shape
[batch, kv_heads, max_seq_len, head_dim] for keys and for values.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from star_search.ops.base import Mixer, State
from star_search.ops.norm import RMSNorm
from star_search.ops.rope import RotaryEmbedding, apply_rotary


class GroupedQueryAttention(Mixer):
    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, head_dim: int,
                 rope_theta: float, norm_eps: float):
        super().__init__()
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads
        self.head_dim = head_dim
        self.q_proj = nn.Linear(d_model, n_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=False)
        self.out_proj = nn.Linear(n_heads * head_dim, d_model, bias=False)
        self.q_layernorm = RMSNorm(head_dim, norm_eps)
        self.k_layernorm = RMSNorm(head_dim, norm_eps)
        self.rotary = RotaryEmbedding(head_dim, rope_theta)

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype) -> State:
        shape = (batch, self.n_kv_heads, max_seq_len, self.head_dim)
        device = self.q_proj.weight.device
        return torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device)

    def _project(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        batch, time, _ = x.shape
        q = self.q_proj(x).view(batch, time, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(batch, time, self.n_kv_heads, self.head_dim)
        v = self.v_proj(x).view(batch, time, self.n_kv_heads, self.head_dim)
        q = self.q_layernorm(q).transpose(1, 2)
        k = self.k_layernorm(k).transpose(1, 2)
        cos, sin = self.rotary.cos_sin(positions)
        return apply_rotary(q, cos, sin), apply_rotary(k, cos, sin), v.transpose(1, 2)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, bias: Tensor) -> Tensor:
        """q: [b, heads, t, hd]; k, v: [b, kv_heads, s, hd]; bias: additive mask [t, s].

        Query heads are grouped under their KV head instead of repeating K and V, and the
        softmax attention is written out (matmul, add, softmax, matmul) so XNNPACK delegates all
        of it; the library SDPA decomposes into mask ops that stay on portable kernels.
        """
        batch, _, time, _ = q.shape
        groups = self.n_heads // self.n_kv_heads
        q = q.reshape(batch, self.n_kv_heads, groups * time, self.head_dim)
        scores = q @ k.transpose(-1, -2) * self.head_dim ** -0.5
        scores = scores.view(batch, self.n_kv_heads, groups, time, -1) + bias
        weights = torch.softmax(scores, dim=-1).view(batch, self.n_kv_heads, groups * time, -1)
        out = (weights @ v).view(batch, self.n_heads, time, self.head_dim)
        return self.out_proj(out.transpose(1, 2).reshape(batch, time, self.n_heads * self.head_dim))

    @staticmethod
    def _causal_bias(time: int, device: torch.device) -> Tensor:
        blocked = torch.ones(time, time, dtype=torch.bool, device=device).triu(1)
        return torch.zeros(time, time, device=device).masked_fill(blocked, float("-inf"))

    def forward(self, x: Tensor) -> Tensor:
        positions = torch.arange(x.shape[1], device=x.device)
        q, k, v = self._project(x, positions)
        return self._attend(q, k, v, self._causal_bias(x.shape[1], x.device))

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        time = x.shape[1]
        positions = torch.arange(time, device=x.device)
        q, k, v = self._project(x, positions)
        k_cache = torch.cat((k.to(state[0].dtype), state[0][:, :, time:]), dim=2)
        v_cache = torch.cat((v.to(state[1].dtype), state[1][:, :, time:]), dim=2)
        return self._attend(q, k, v, self._causal_bias(time, x.device)), (k_cache, v_cache)

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        q, k, v = self._project(x, pos)
        k_cache = state[0].index_copy(2, pos, k.to(state[0].dtype))
        v_cache = state[1].index_copy(2, pos, v.to(state[1].dtype))
        future = torch.arange(k_cache.shape[2], device=x.device) > pos
        bias = torch.zeros(future.shape, device=x.device).masked_fill(future, float("-inf"))
        out = self._attend(q, k_cache, v_cache, bias[None, :])
        return out, (k_cache, v_cache)
