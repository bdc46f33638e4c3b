"""Export wrappers: a `Backbone` seen as two pure functions, `prefill` and `decode`.

ExecuTorch methods take and return flat tensors, so the decode state (KV caches, convolution
windows, recurrent states) is explicit I/O: one input and one output per tensor of
`Backbone.init_state(1, max_seq_len)`, in that order. Batch size is always 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from star_search.errors import SpecError
from star_search.model import Backbone

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32}

# Names of the constant methods stored beside `prefill` and `decode` in every program, so that a
# runner needs nothing but the .pte to know the shapes it was lowered for.
PROMPT_LEN_METHOD = "get_prompt_len"
MAX_SEQ_LEN_METHOD = "get_max_seq_len"
VOCAB_SIZE_METHOD = "get_vocab_size"
# Stored only in programs lowered with `ProgramShapes.dynamic_prompt` / `llm_ops` (value 1), so
# the programs lowered before these options existed keep their bytes.
DYNAMIC_PROMPT_METHOD = "get_dynamic_prompt"
LLM_OPS_METHOD = "get_llm_ops"
# Shortest prompt a dynamic-length prefill takes (export specialises lengths 0 and 1).
MIN_DYNAMIC_PROMPT = 2


@dataclass(frozen=True)
class ProgramShapes:
    """Static shapes a program is lowered for.

    prompt_len: tokens consumed by one `prefill` call (fixed; the prompt is not padded).
    max_seq_len: capacity of the KV caches in tokens; prompt plus decoded tokens must fit.
    dtype: activation and state dtype; only "fp32" is supported so far.
    dynamic_prompt: when true, `prefill` takes any prompt of MIN_DYNAMIC_PROMPT..prompt_len tokens
        (one program serves several prompt lengths; `prompt_len` is the upper bound).
    llm_ops: when true, attention runs on ExecuTorch's LLM custom ops (`llama::update_cache`,
        `llama::custom_sdpa`) with the KV cache as mutable buffers shared by `prefill` and
        `decode` instead of explicit state (see `ops.llm_attention`); the runtime must have the
        custom-op kernels loaded.

    The two options enter `to_dict` (hence cache keys) only when true, so the keys of programs
    lowered without them are unchanged.
    """

    prompt_len: int
    max_seq_len: int
    dtype: str = "fp32"
    dynamic_prompt: bool = False
    llm_ops: bool = False

    def __post_init__(self) -> None:
        for name in ("prompt_len", "max_seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise SpecError(f"shapes.{name}", value, "a positive integer")
        if self.prompt_len >= self.max_seq_len:
            raise SpecError("shapes.prompt_len", self.prompt_len,
                            f"fewer tokens than max_seq_len={self.max_seq_len} (room to decode)")
        if self.dtype not in DTYPES:
            raise SpecError("shapes.dtype", self.dtype, f"one of {sorted(DTYPES)}")
        for name in ("dynamic_prompt", "llm_ops"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"shapes.{name}", getattr(self, name), "true or false")
        if self.dynamic_prompt and self.prompt_len < MIN_DYNAMIC_PROMPT:
            raise SpecError("shapes.prompt_len", self.prompt_len,
                            f"at least {MIN_DYNAMIC_PROMPT} with dynamic_prompt")

    @classmethod
    def from_profile(cls, profile: Any) -> ProgramShapes:
        """Shapes of a `DeviceProfile`: its prompt, room for every decode step after it, and its
        attention lowering (`shapes.llm_ops`)."""
        return cls(prompt_len=profile.shapes.prompt_len, max_seq_len=profile.shapes.max_seq_len,
                   dtype=profile.shapes.dtype, llm_ops=profile.shapes.llm_ops)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("dynamic_prompt", "llm_ops"):
            if not data[name]:
                del data[name]
        return data


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
    return tuple(model.init_state(1, shapes.max_seq_len, shapes.torch_dtype))


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
