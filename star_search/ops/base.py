"""The contract every token mixer and feed-forward operator honours.

A mixer has two paths that must agree numerically:

* the parallel path, `prefill(x, state)`, which processes a whole sequence starting at position 0
  and returns the outputs plus the state after the last token, and
* the step path, `step(x, state, pos)`, which processes one token at position `pos` and returns
  its output plus the updated state.

State is an explicit tuple of tensors (KV cache, convolution window, recurrent state), so both
paths can be exported to ExecuTorch as pure functions: state in, state out.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

State = tuple[Tensor, ...]


class Mixer(nn.Module):
    """Base class for token mixers (conv, attention, ssm, linear_attention)."""

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype) -> State:
        """Zero state for a sequence of at most `max_seq_len` tokens."""
        raise NotImplementedError

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """x: [batch, time, d_model] from position 0; returns outputs and the state after it."""
        raise NotImplementedError

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        """x: [batch, 1, d_model] at position `pos` (int64 tensor of shape [1])."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Training path: causal outputs for a whole sequence, state discarded."""
        y, _ = self.prefill(x, self.init_state(x.shape[0], x.shape[1], x.dtype))
        return y


class FeedForward(nn.Module):
    """Base class for position-wise feed-forward operators (swiglu, moe). Stateless."""

    def forward(self, x: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError
