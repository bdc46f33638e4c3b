"""What a program is lowered for: `ProgramShapes`, the dtypes and the quantization schemes.

The one definition of these values and their validation: the device profile's `shapes` section
(`profiler.device_profile.Shapes`) yields a `ProgramShapes`, and the lowering
(`star_search.lower`) takes it as it is. Kept free of torch so that profiles parse without it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from star_search.errors import SpecError

# Activation and state dtypes a program can be lowered with (the lowering maps each to torch's).
DTYPES: tuple[str, ...] = ("fp32",)
DEFAULT_DTYPE = "fp32"
# Weight quantization schemes the lowering applies (`lower.quantize`); None = none.
QUANTIZATIONS: tuple[str, ...] = ("8da4w",)
# Shortest prompt a dynamic-length prefill takes (export specialises lengths 0 and 1).
MIN_DYNAMIC_PROMPT = 2


def check_quantize(quantize: object, field: str = "shapes.quantize") -> str | None:
    """`quantize` when it is None or a known scheme; otherwise a SpecError naming `field`."""
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise SpecError(field, quantize, f"null or one of {list(QUANTIZATIONS)}")
    return quantize  # type: ignore[return-value]


def check_flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(field, value, "true or false")
    return value


def check_count(value: object, field: str, minimum: int = 1) -> int:
    """`value` when it is an integer (not a bool) of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(field, value, "a positive integer" if minimum == 1 else f"an integer >= {minimum}")
    return value


@dataclass(frozen=True)
class ProgramShapes:
    """Static shapes a program is lowered for.

    prompt_len: tokens consumed by one `prefill` call (fixed; the prompt is not padded).
    max_seq_len: capacity of the KV caches in tokens; prompt plus decoded tokens must fit.
    dtype: activation and state dtype, one of `DTYPES`.
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
    dtype: str = DEFAULT_DTYPE
    dynamic_prompt: bool = False
    llm_ops: bool = False

    def __post_init__(self) -> None:
        for name in ("prompt_len", "max_seq_len"):
            check_count(getattr(self, name), f"shapes.{name}")
        if self.prompt_len >= self.max_seq_len:
            raise SpecError("shapes.prompt_len", self.prompt_len,
                            f"fewer tokens than max_seq_len={self.max_seq_len} (room to decode)")
        if self.dtype not in DTYPES:
            raise SpecError("shapes.dtype", self.dtype, f"one of {list(DTYPES)}")
        for name in ("dynamic_prompt", "llm_ops"):
            check_flag(getattr(self, name), f"shapes.{name}")
        if self.dynamic_prompt and self.prompt_len < MIN_DYNAMIC_PROMPT:
            raise SpecError("shapes.prompt_len", self.prompt_len,
                            f"at least {MIN_DYNAMIC_PROMPT} with dynamic_prompt")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("dynamic_prompt", "llm_ops"):
            if not data[name]:
                del data[name]
        return data
