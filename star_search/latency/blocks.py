"""Which programs a latency table times, and what each one isolates.

A table is built per *width*: the global sizes a candidate's blocks are measured at
(`WidthKey`: d_model, heads, vocabulary, SSM sizes). At one width it times a
few small whole programs ("stacks") whose differences isolate each operator family:

    base            [conv]                                       ffn_dim = f1
    stack:<mixer>   [conv] + N x [<mixer>]                       ffn_dim = f1
    ffn2            [conv] x (N + 1)                             ffn_dim = f2
    ffn3            [conv] x (N + 1)                             ffn_dim = f3 (for SwiGLUs wider than f2)
    moe             [conv] + N x [conv with an MoE feed-forward] ffn_dim = f1, reference experts

with f1 = 2 x d_model, f2 = 4 x d_model and f3 = 8 x d_model. Per layer, `(stack:<mixer> - base) / N`
is one `<mixer>` block with a SwiGLU of width f1; the SwiGLU's cost per unit of width comes from
`ffn2` against `stack:conv`, and for prefill above f2 from `ffn3` against `ffn2` (a prompt's
SwiGLU intermediates outgrow the caches, so its cost per unit rises: BENCHMARKS.md, "a third
SwiGLU width"); the rest of `base` is the fixed part (embedding, final norm, LM head, the runtime's
per-call overhead). This module is pure arithmetic on specs (no torch).

A component timed at a width whose other rows were timed earlier (a *late* component: `ffn3` for
the first candidate wider than f2, a mixer a new space uses) is timed beside `DRIFT_REFERENCE`
again, and its times are scaled by the reference's stored / re-timed ratio (`drift_scaled`), so
that a machine whose speed moved between the two timings does not move the block costs. (Across
processors this is a first-order transfer: the ratio is the reference's, a GEMM-bound program's;
the predictor records where the late row was timed and warns when a table is used on another CPU.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from star_search.spec import MIXER_KINDS, ArchSpec, LayerSpec

# The MoE feed-forward is timed at one reference shape and scaled (see `composition.py`).
MOE_REFERENCE_EXPERTS = 8
MOE_REFERENCE_TOP_K = 2
FFN_RATIO_LOW = 2  # f1 = 2 x d_model
FFN_RATIO_HIGH = 4  # f2 = 4 x d_model
FFN_RATIO_WIDE = 8  # f3 = 8 x d_model
# Re-timed beside a late component (see the module docstring); every width has it.
DRIFT_REFERENCE = "ffn2"
# Figures a machine's speed moves (memory does not; it is stored as measured).
TIME_FIGURES = ("ttft_ms", "decode_p50_ms", "decode_p95_ms")
REFERENCE_CONV_KERNEL = 3
# An architecture's sequence capacity does not change its programs (they are lowered for the
# profile's prompt and decode lengths), so it is not part of a width: table programs declare one
# large enough for any profile's shapes.
TABLE_MAX_SEQ_LEN = 1 << 17


@dataclass(frozen=True)
class WidthKey:
    """The global sizes a candidate's blocks are timed at; candidates sharing them share rows."""

    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    tie_embeddings: bool
    ssm_state_dim: int
    ssm_expand: int

    @classmethod
    def of(cls, spec: ArchSpec) -> WidthKey:
        return cls(spec.d_model, spec.n_heads, spec.n_kv_heads, spec.head_dim, spec.vocab_size,
                   spec.tie_embeddings, spec.ssm_state_dim, spec.ssm_expand)

    def text(self) -> str:
        """Stable text form (a key in the table file)."""
        return ",".join(f"{name}={value}" for name, value in asdict(self).items())

    @property
    def f1(self) -> int:
        return FFN_RATIO_LOW * self.d_model

    @property
    def f2(self) -> int:
        return FFN_RATIO_HIGH * self.d_model

    @property
    def f3(self) -> int:
        return FFN_RATIO_WIDE * self.d_model

    @property
    def moe_expert_dim(self) -> int:
        return self.d_model


def component_names(spec: ArchSpec) -> tuple[str, ...]:
    """The stack programs a prediction for `spec` needs at its width."""
    names = ["base", "stack:conv", "ffn2"]
    if spec.ffn_dim > WidthKey.of(spec).f2 and any(layer.ffn != "moe" for layer in spec.layers):
        names.append("ffn3")
    names += [f"stack:{kind}" for kind in MIXER_KINDS if kind != "conv" and spec.count(kind)]
    if any(layer.ffn == "moe" for layer in spec.layers):
        names.append("moe")
    return tuple(names)


def component_spec(width: WidthKey, component: str, stack_layers: int) -> ArchSpec:
    """The whole-model spec that a table component times (see the module docstring)."""
    base = ArchSpec(d_model=width.d_model, layers=(LayerSpec("conv"),), n_heads=width.n_heads,
                    n_kv_heads=width.n_kv_heads, head_dim=width.head_dim, ffn_dim=width.f1,
                    vocab_size=width.vocab_size, conv_kernel=REFERENCE_CONV_KERNEL,
                    tie_embeddings=width.tie_embeddings, max_seq_len=TABLE_MAX_SEQ_LEN,
                    name=f"latency-table {component}")
    if component == "stack:ssm":
        # Only the SSM stack holds SSM layers: every other program is the same model (one arch_id,
        # one program, one measurement) whatever the width's SSM sizes.
        base = replace(base, ssm_state_dim=width.ssm_state_dim, ssm_expand=width.ssm_expand)
    if component == "base":
        return base
    if component in ("ffn2", "ffn3"):
        ffn_dim = width.f2 if component == "ffn2" else width.f3
        return replace(base, layers=(LayerSpec("conv"),) * (stack_layers + 1), ffn_dim=ffn_dim)
    if component == "moe":
        return replace(base, layers=(LayerSpec("conv"),) + (LayerSpec("conv", "moe"),) * stack_layers,
                       moe_num_experts=MOE_REFERENCE_EXPERTS, moe_top_k=MOE_REFERENCE_TOP_K,
                       moe_expert_dim=width.moe_expert_dim)
    kind = component.removeprefix("stack:")
    if not component.startswith("stack:") or kind not in MIXER_KINDS:
        raise ValueError(f"unknown latency table component {component!r}")
    return replace(base, layers=(LayerSpec("conv"),) + (LayerSpec(kind),) * stack_layers)


def drift_scaled(late: dict[str, Any], stored_reference: dict[str, Any],
                 retimed_reference: dict[str, Any]) -> dict[str, Any]:
    """A late component's figures as if timed with the width's other rows: its times scaled by
    stored / re-timed `DRIFT_REFERENCE` (per figure), memory as measured. The unscaled times and
    the ratios are kept beside them."""
    ratios = {name: stored_reference[name] / retimed_reference[name] for name in TIME_FIGURES}
    scaled = {name: late[name] * ratio for name, ratio in ratios.items()}
    return {**late, **scaled, "drift": {"reference": DRIFT_REFERENCE, "ratios": ratios,
                                        "unscaled": {name: late[name] for name in TIME_FIGURES}}}
