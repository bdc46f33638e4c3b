"""Gated linear attention (GLA, Yang et al. 2024): linear attention with a data-dependent forget
gate on every key dimension.

Per head, with state S: [head_dim (keys), head_dim (values)] and g_t = logsigmoid(gk_t) / 16:

    S_t = diag(exp(g_t)) S_{t-1} + k_tᵀ v_t
    o_t = q_t S_t                                   (q scaled by head_dim**-0.5)

then a per-head RMSNorm, a swish output gate, and `out_proj`: out_proj(norm(o) · silu(g_proj x)).
The forget gate is low-rank, gk = gk_proj(x) = Linear(d_model → 16) → Linear(16 → heads·head_dim,
bias); dividing its logsigmoid by 16 keeps decays close to 1 (GLA's normaliser).

Parameter names follow flash-linear-attention's `GatedLinearAttention` (`q_proj`, `k_proj`,
`v_proj`, `g_proj`, `gk_proj.0`, `gk_proj.1`), except that its `o_proj` is `out_proj` and its
`g_norm_swish_gate` is `norm` here. Decode state: S, [batch, heads, head_dim, head_dim].

Prefill is chunkwise and fully parallel: within a chunk of `CHUNK_TOKENS` tokens the decay between
key j and query i is exp(cum_i - cum_j) per key dimension, masked to -inf for j > i before exp;
across chunks, each chunk's local state is carried forward by the same masked-difference trick
on chunk totals. Every exponent is ≤ 0, so fp32 never overflows however long the prompt.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from star_search.ops.base import Mixer, State
from star_search.ops.norm import RMSNorm

GATE_RANK = 16
GATE_NORMALISER = 16.0
CHUNK_TOKENS = 16  # intra-chunk work and memory grow as time · CHUNK_TOKENS · head_dim


def _masked_exp(diff: Tensor, keep: Tensor) -> Tensor:
    """exp(diff) where `keep` (broadcast over the trailing key dim), 0 elsewhere; masks before exp."""
    return diff.masked_fill(~keep[..., None], float("-inf")).exp()


class GatedLinearAttention(Mixer):
    def __init__(self, d_model: int, n_heads: int, head_dim: int, norm_eps: float):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = head_dim
        width = n_heads * head_dim
        self.q_proj = nn.Linear(d_model, width, bias=False)
        self.k_proj = nn.Linear(d_model, width, bias=False)
        self.v_proj = nn.Linear(d_model, width, bias=False)
        self.gk_proj = nn.Sequential(nn.Linear(d_model, GATE_RANK, bias=False),
                                     nn.Linear(GATE_RANK, width, bias=True))
        self.g_proj = nn.Linear(d_model, width, bias=False)
        self.norm = RMSNorm(head_dim, norm_eps)
        self.out_proj = nn.Linear(width, d_model, bias=False)

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype) -> State:
        shape = (batch, self.n_heads, self.head_dim, self.head_dim)
        return (torch.zeros(shape, dtype=dtype, device=self.q_proj.weight.device),)

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """x [b, t, d_model] → q, k, v, log-decay g, each [b, heads, t, head_dim]."""
        def heads(y: Tensor) -> Tensor:
            return y.unflatten(-1, (self.n_heads, self.head_dim)).transpose(1, 2)

        q = heads(self.q_proj(x)) * self.head_dim ** -0.5
        g = F.logsigmoid(self.gk_proj(x)) / GATE_NORMALISER
        return q, heads(self.k_proj(x)), heads(self.v_proj(x)), heads(g)

    def _output(self, o: Tensor, x: Tensor) -> Tensor:
        """o [b, heads, t, head_dim] → normalise per head, swish-gate, project to d_model."""
        gated = self.norm(o.transpose(1, 2)) * F.silu(self.g_proj(x).unflatten(-1, (self.n_heads, -1)))
        return self.out_proj(gated.flatten(-2))

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        q, k, v, g = self._project(x)
        time = q.shape[2]
        chunk = min(CHUNK_TOKENS, time)
        n_chunks = -(-time // chunk)
        pad = n_chunks * chunk - time
        # Padding with k = 0 and g = 0 leaves the state untouched, so the final state stays exact.
        q, k, v, g = (F.pad(t, (0, 0, 0, pad)).unflatten(2, (n_chunks, chunk)) for t in (q, k, v, g))
        cum = torch.cumsum(g, dim=3)  # [b, h, chunks, chunk, dim]: log-decay since chunk start

        # Within a chunk: scores[i, j] = Σ_d q_i k_j exp(cum_i - cum_j) for j ≤ i.
        causal = torch.ones(chunk, chunk, dtype=torch.bool, device=x.device).tril()
        decay = _masked_exp(cum[..., :, None, :] - cum[..., None, :, :], causal)
        scores = (q[..., :, None, :] * k[..., None, :, :] * decay).sum(-1)
        o = scores @ v

        # Each chunk's own contribution to the state at its end: Σ_j exp(total - cum_j) k_jᵀ v_j.
        totals = cum[..., -1, :]  # [b, h, chunks, dim]
        local = (k * (totals[..., None, :] - cum).exp()).transpose(-1, -2) @ v
        # State entering chunk n (n = 0..chunks; the last is the final state):
        # Σ_{m<n} exp(P_n - P_{m+1}) local_m + exp(P_n) S_0, with P the running sum of totals.
        prefix = F.pad(torch.cumsum(totals, dim=2), (0, 0, 1, 0))  # [b, h, chunks + 1, dim]
        earlier = torch.ones(n_chunks + 1, n_chunks, dtype=torch.bool, device=x.device).tril(-1)
        carry = _masked_exp(prefix[:, :, :, None, :] - prefix[:, :, None, 1:, :], earlier)
        entering = (torch.einsum("bhnmd,bhmde->bhnde", carry, local)
                    + prefix.exp()[..., None] * state[0][:, :, None])

        o = o + (q * cum.exp()) @ entering[:, :, :n_chunks]
        o = o.flatten(2, 3)[:, :, :time]
        return self._output(o, x), (entering[:, :, n_chunks],)

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        q, k, v, g = self._project(x)  # [b, h, 1, dim]
        s = g.exp().transpose(-1, -2) * state[0] + k.transpose(-1, -2) @ v
        return self._output(q @ s, x), (s,)
