"""ArchSpec → PyTorch decoder model with a training path, a prefill path and a decode step."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from star_search.errors import BuildError
from star_search.ops import State, build_ffn, build_mixer
from star_search.ops.norm import RMSNorm
from star_search.spec import ArchSpec, LayerSpec


class Block(nn.Module):
    """Pre-norm residual block: x + mixer(norm(x)), then + ffn(norm(x))."""

    def __init__(self, spec: ArchSpec, layer: LayerSpec):
        super().__init__()
        self.operator_norm = RMSNorm(spec.d_model, spec.norm_eps)
        self.mixer = build_mixer(layer.mixer, spec)
        self.ffn_norm = RMSNorm(spec.d_model, spec.norm_eps)
        self.ffn = build_ffn(layer.ffn, spec)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mixer(self.operator_norm(x))
        return x + self.ffn(self.ffn_norm(x))

    def prefill(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        mixed, state = self.mixer.prefill(self.operator_norm(x), state)
        x = x + mixed
        return x + self.ffn(self.ffn_norm(x)), state

    def step(self, x: Tensor, state: State, pos: Tensor) -> tuple[Tensor, State]:
        mixed, state = self.mixer.step(self.operator_norm(x), state, pos)
        x = x + mixed
        return x + self.ffn(self.ffn_norm(x)), state


class Backbone(nn.Module):
    """Embedding → blocks → final RMSNorm → LM head (tied to the embedding when the spec says so).

    Decode state is passed around flat (a tuple of tensors, layer by layer) so that ExecuTorch
    programs can take it as plain inputs and return it as plain outputs.
    """

    def __init__(self, spec: ArchSpec):
        super().__init__()
        self.spec = spec
        self.embed = nn.Embedding(spec.vocab_size, spec.d_model)
        self.blocks = nn.ModuleList(Block(spec, layer) for layer in spec.layers)
        self.final_norm = RMSNorm(spec.d_model, spec.norm_eps)
        self.lm_head = nn.Linear(spec.d_model, spec.vocab_size, bias=False)
        if spec.tie_embeddings:
            self.lm_head.weight = self.embed.weight
        self._state_sizes: list[int] = [len(b.mixer.init_state(1, 1, torch.float32)) for b in self.blocks]

    def hidden(self, tokens: Tensor) -> Tensor:
        """Final normalised hidden states [batch, time, d_model] (training path)."""
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.lm_head(self.hidden(tokens))

    def init_state(self, batch: int, max_seq_len: int, dtype: torch.dtype = torch.float32) -> State:
        flat: list[Tensor] = []
        for block in self.blocks:
            flat.extend(block.mixer.init_state(batch, max_seq_len, dtype))
        return tuple(flat)

    def _split(self, flat: State) -> list[State]:
        states, offset = [], 0
        for size in self._state_sizes:
            states.append(tuple(flat[offset:offset + size]))
            offset += size
        return states

    def prefill(self, tokens: Tensor, flat_state: State) -> tuple[Tensor, State]:
        """tokens: [batch, time] from position 0 → logits of the last position [batch, vocab]."""
        x = self.embed(tokens)
        new_state: list[Tensor] = []
        for block, state in zip(self.blocks, self._split(flat_state), strict=True):
            x, state = block.prefill(x, state)
            new_state.extend(state)
        return self.lm_head(self.final_norm(x[:, -1, :])), tuple(new_state)

    def step(self, token: Tensor, flat_state: State, pos: Tensor) -> tuple[Tensor, State]:
        """token: [batch, 1] at position `pos` ([1] int64) → logits [batch, vocab]."""
        x = self.embed(token)
        new_state: list[Tensor] = []
        for block, state in zip(self.blocks, self._split(flat_state), strict=True):
            x, state = block.step(x, state, pos)
            new_state.extend(state)
        return self.lm_head(self.final_norm(x[:, -1, :])), tuple(new_state)


def build_model(spec: ArchSpec, seed: int = 0) -> Backbone:
    """Build a model with deterministic initialisation for `seed`."""
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return Backbone(spec)
    except (RuntimeError, ValueError) as err:
        raise BuildError(f"cannot build {spec.pattern()} (arch_id {spec.arch_id}): {err}") from err
    finally:
        torch.random.set_rng_state(generator_state)
