"""Grouped-query attention on ExecuTorch's LLM custom ops, for lowering only.

`apply_llm_ops(model, max_seq_len)` swaps every `GroupedQueryAttention` of a built `Backbone`
for an `LLMOpsAttention` that shares its weights (projections, QK-norms, RoPE) and attends the
way ExecuTorch's own Llama export does:

* the KV cache is not program I/O but two mutable buffers per layer, `k_cache` and `v_cache`, of
  shape [batch, max_seq_len, kv_heads, head_dim] (sequence before heads: the layout the ops take),
  written in place by `torch.ops.llama.update_cache(value, cache, start_pos)`;
* attention is `torch.ops.llama.custom_sdpa(q, k_cache, v_cache, start_pos, None, 0.0, True)`, a
  fused causal SDPA kernel that reads the cache up to `start_pos + seq_len` and takes grouped
  KV heads as they are (no repeat).

The program's `prefill` and `decode` methods share the buffers (ExecuTorch's
`share_mutable_buffers`, see `lower.export`), so a decode step neither reads nor returns the whole
cache; attention layers then have no explicit state (`init_state` is empty) and the other mixers
keep theirs. Stale cache rows past the current position are never read, so each sequence starts
from a prefill at position 0 without clearing the cache.

The ops' kernels come from ExecuTorch's `libcustom_ops_aot_lib` (`load_llm_ops`): eager and
export need it, and so does the runtime that executes such a program.
"""

from __future__ import annotations

import torch
from torch import Tensor

from star_search.ops.attention import GroupedQueryAttention
from star_search.ops.base import Mixer, State
from star_search.ops.rope import apply_rotary

LLM_OPS_NAMESPACE = "llama"


def load_llm_ops() -> None:
    """Register `torch.ops.llama.update_cache` / `custom_sdpa` (ATen and ExecuTorch kernels)."""
    if hasattr(torch.ops, LLM_OPS_NAMESPACE) and hasattr(torch.ops.llama, "custom_sdpa"):
        try:
            torch.ops.llama.custom_sdpa.default  # noqa: B018 - resolves only once registered
            return
        except (AttributeError, RuntimeError):
            pass
    from executorch.extension.llm.custom_ops import custom_ops  # noqa: F401 - registers the ops


class LLMOpsAttention(Mixer):
    """The attention of `inner` (weights shared, not copied) over an in-place KV cache."""

    def __init__(self, inner: GroupedQueryAttention, max_seq_len: int, batch: int = 1,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.inner = inner
        self.max_seq_len = max_seq_len
        shape = (batch, max_seq_len, inner.n_kv_heads, inner.head_dim)
        device = inner.q_proj.weight.device
        self.register_buffer("k_cache", torch.zeros(shape, dtype=dtype, device=device))
        self.register_buffer("v_cache", torch.zeros(shape, dtype=dtype, device=device))

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype) -> State:
        return ()

    def _project(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q, k, v as [batch, time, heads, head_dim] (the custom ops' layout), q and k rotated."""
        attn = self.inner
        batch, time, _ = x.shape
        q = attn.q_layernorm(attn.q_proj(x).view(batch, time, attn.n_heads, attn.head_dim))
        k = attn.k_layernorm(attn.k_proj(x).view(batch, time, attn.n_kv_heads, attn.head_dim))
        v = attn.v_proj(x).view(batch, time, attn.n_kv_heads, attn.head_dim)
        cos, sin = attn.rotary.cos_sin(positions)
        cos, sin = cos[:, None, :], sin[:, None, :]  # broadcast over heads in [b, t, h, d]
        return apply_rotary(q, cos, sin), apply_rotary(k, cos, sin), v

    def _attend(self, x: Tensor, positions: Tensor, start_pos: int | torch.SymInt) -> Tensor:
        batch, time, _ = x.shape
        q, k, v = self._project(x, positions)
        torch.ops.llama.update_cache(k.to(self.k_cache.dtype), self.k_cache, start_pos)
        torch.ops.llama.update_cache(v.to(self.v_cache.dtype), self.v_cache, start_pos)
        out = torch.ops.llama.custom_sdpa(q.to(self.k_cache.dtype), self.k_cache, self.v_cache,
                                          start_pos, None, 0.0, True)
        attn = self.inner
        return attn.out_proj(out.to(x.dtype).reshape(batch, time, attn.n_heads * attn.head_dim))

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        positions = torch.arange(x.shape[1], device=x.device)
        return self._attend(x, positions, 0), ()

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        start_pos = pos[0].item()
        torch._check_is_size(start_pos)
        torch._check(start_pos < self.max_seq_len)
        return self._attend(x, pos, start_pos), ()

    def forward(self, x: Tensor) -> Tensor:
        y, _ = self.prefill(x, ())
        return y


def apply_llm_ops(model: torch.nn.Module, max_seq_len: int, dtype: torch.dtype = torch.float32) -> int:
    """Swap the attention mixers of a `Backbone` in place; returns how many were swapped.

    The model's flat decode state then holds only the other mixers' tensors.
    """
    load_llm_ops()
    swapped = 0
    for block in model.blocks:
        if isinstance(block.mixer, GroupedQueryAttention):
            block.mixer = LLMOpsAttention(block.mixer, max_seq_len, dtype=dtype)
            swapped += 1
    model._state_sizes = [len(b.mixer.init_state(1, 1, torch.float32)) for b in model.blocks]
    return swapped


__all__ = ["LLMOpsAttention", "apply_llm_ops", "load_llm_ops"]
