"""Export wrappers: a `Backbone` seen as two pure functions, `prefill` and `decode`.

ExecuTorch methods take and return flat tensors, so the decode state (KV caches, convolution
windows, recurrent states) is explicit I/O: one input and one output per tensor of
`Backbone.init_state(1, max_seq_len)`, in that order. Batch size is always 1.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from star_search.model import Backbone
from star_search.shapes import MIN_DYNAMIC_PROMPT, ProgramShapes

# One torch dtype per name in `shapes.DTYPES`.
TORCH_DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32}

# Names of the constant methods stored beside `prefill` and `decode` in every program, so that a
# runner needs nothing but the .pte to know the shapes it was lowered for.
PROMPT_LEN_METHOD = "get_prompt_len"
MAX_SEQ_LEN_METHOD = "get_max_seq_len"
VOCAB_SIZE_METHOD = "get_vocab_size"
# Stored only in programs lowered with `ProgramShapes.dynamic_prompt` / `llm_ops` (value 1), so
# the programs lowered before these options existed keep their bytes.
DYNAMIC_PROMPT_METHOD = "get_dynamic_prompt"
LLM_OPS_METHOD = "get_llm_ops"


def torch_dtype(shapes: ProgramShapes) -> torch.dtype:
    """The torch dtype of `shapes.dtype` (validated by `ProgramShapes`)."""
    return TORCH_DTYPES[shapes.dtype]


class PrefillProgram(nn.Module):
    """forward(tokens [1, P] int64, *state) → (logits [1, vocab], *new_state)."""

    def __init__(self, model: Backbone):
        super().__init__()
        self.model = model

    def forward(self, tokens: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        logits, new_state = self.model.prefill(tokens, tuple(state))
        return (logits, *new_state)


class DecodeProgram(nn.Module):
    """forward(token [1, 1] int64, pos [1] int64, *state) → (logits [1, vocab], *new_state)."""

    def __init__(self, model: Backbone):
        super().__init__()
        self.model = model

    def forward(self, token: Tensor, pos: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        logits, new_state = self.model.step(token, tuple(state), pos)
        return (logits, *new_state)


def zero_state(model: Backbone, shapes: ProgramShapes) -> tuple[Tensor, ...]:
    """The state a sequence starts from: zeros shaped by `Backbone.init_state(1, max_seq_len)`."""
    return tuple(model.init_state(1, shapes.max_seq_len, torch_dtype(shapes)))


def prefill_example_inputs(model: Backbone, shapes: ProgramShapes) -> tuple[Tensor, ...]:
    """Example inputs for `PrefillProgram`: a [1, prompt_len] int64 prompt plus the zero state."""
    tokens = torch.zeros(1, shapes.prompt_len, dtype=torch.int64)
    return (tokens, *zero_state(model, shapes))


def decode_example_inputs(model: Backbone, shapes: ProgramShapes) -> tuple[Tensor, ...]:
    """Example inputs for `DecodeProgram`: one token at position prompt_len plus the zero state."""
    token = torch.zeros(1, 1, dtype=torch.int64)
    pos = torch.tensor([shapes.prompt_len], dtype=torch.int64)
    return (token, pos, *zero_state(model, shapes))


def constant_methods(model: Backbone, shapes: ProgramShapes) -> dict[str, int]:
    """Integers stored in the program as zero-input methods (read by the profiler's runner)."""
    methods = {
        PROMPT_LEN_METHOD: shapes.prompt_len,
        MAX_SEQ_LEN_METHOD: shapes.max_seq_len,
        VOCAB_SIZE_METHOD: model.spec.vocab_size,
    }
    if shapes.dynamic_prompt:
        methods[DYNAMIC_PROMPT_METHOD] = 1
    if shapes.llm_ops:
        methods[LLM_OPS_METHOD] = 1
    return methods


def prefill_dynamic_shapes(model: Backbone, shapes: ProgramShapes) -> tuple[Any, ...] | None:
    """`dynamic_shapes` for exporting `PrefillProgram`: the prompt's length varies when
    `shapes.dynamic_prompt`, nothing else does."""
    if not shapes.dynamic_prompt:
        return None
    length = torch.export.Dim("prompt_len", min=MIN_DYNAMIC_PROMPT, max=shapes.prompt_len)
    # Structure of the signature forward(tokens, *state): the prompt, then the state tuple
    # (absent when the model has no explicit state, e.g. all attention on llm_ops).
    state = zero_state(model, shapes)
    return ({1: length}, tuple(None for _ in state)) if state else ({1: length},)
