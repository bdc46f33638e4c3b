"""ArchSpec: the frozen, typed description of one candidate backbone.

`ArchSpec` is the single currency of the project: search spaces sample it, models are built from
it, and every cache is keyed by its `arch_id`. This module must not import torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from star_search.errors import SpecError

MIXER_KINDS: tuple[str, ...] = ("conv", "attention", "ssm", "linear_attention")
FFN_KINDS: tuple[str, ...] = ("swiglu", "moe")
SPEC_FORMAT_VERSION = 1


@dataclass(frozen=True)
class LayerSpec:
    """One block: pre-norm token mixer, then pre-norm feed-forward, each with a residual."""

    mixer: str
    ffn: str = "swiglu"

    def __post_init__(self) -> None:
        if self.mixer not in MIXER_KINDS:
            raise SpecError("mixer", self.mixer, f"one of {list(MIXER_KINDS)}")
        if self.ffn not in FFN_KINDS:
            raise SpecError("ffn", self.ffn, f"one of {list(FFN_KINDS)}")


@dataclass(frozen=True)
class ArchSpec:
    """A decoder-only backbone: embeddings, a stack of `layers`, final RMSNorm, LM head.

    Widths are in elements, never bytes. `ffn_dim` is the actual SwiGLU intermediate size (no
    rounding rule is applied here). `name` is a label and does not enter `arch_id`.
    """

    d_model: int
    layers: tuple[LayerSpec, ...]
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_dim: int
    vocab_size: int = 65536
    conv_kernel: int = 3
    ssm_state_dim: int = 16
    ssm_expand: int = 1
    moe_num_experts: int = 0
    moe_top_k: int = 0
    moe_expert_dim: int = 0
    rope_theta: float = 1_000_000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    max_seq_len: int = 4096
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        for name in ("d_model", "n_heads", "n_kv_heads", "head_dim", "ffn_dim", "vocab_size",
                     "conv_kernel", "ssm_state_dim", "ssm_expand", "max_seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise SpecError(name, value, "a positive integer")
        if not self.layers:
            raise SpecError("layers", self.layers, "at least one layer")
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, LayerSpec):
                raise SpecError(f"layers[{index}]", layer, "a LayerSpec")
        if self.n_heads % self.n_kv_heads:
            raise SpecError("n_kv_heads", self.n_kv_heads,
                            f"a divisor of n_heads={self.n_heads}")
        if self.head_dim % 2:
            raise SpecError("head_dim", self.head_dim, "an even number (RoPE rotates pairs)")
        if (self.d_model * self.ssm_expand) % self.head_dim and self.count("ssm"):
            raise SpecError("head_dim", self.head_dim,
                            f"a divisor of d_model*ssm_expand={self.d_model * self.ssm_expand}")
        if any(layer.ffn == "moe" for layer in self.layers):
            if self.moe_num_experts < 2:
                raise SpecError("moe_num_experts", self.moe_num_experts, "at least 2 for MoE")
            if not 1 <= self.moe_top_k <= self.moe_num_experts:
                raise SpecError("moe_top_k", self.moe_top_k,
                                f"between 1 and moe_num_experts={self.moe_num_experts}")
            if self.moe_expert_dim <= 0:
                raise SpecError("moe_expert_dim", self.moe_expert_dim, "a positive integer")
        if self.norm_eps <= 0:
            raise SpecError("norm_eps", self.norm_eps, "a positive number")

    # ----- derived facts -------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def ssm_inner_dim(self) -> int:
        return self.d_model * self.ssm_expand

    def count(self, mixer: str) -> int:
        """Number of layers whose mixer is `mixer`."""
        return sum(layer.mixer == mixer for layer in self.layers)

    def mixers(self) -> tuple[str, ...]:
        return tuple(layer.mixer for layer in self.layers)

    def pattern(self) -> str:
        """Compact layer strip, one letter per layer: c=conv a=attention s=ssm l=linear_attention."""
        letters = {"conv": "c", "attention": "a", "ssm": "s", "linear_attention": "l"}
        return "".join(letters[layer.mixer] + ("*" if layer.ffn == "moe" else "")
                       for layer in self.layers)

    def with_width(self, **changes: Any) -> ArchSpec:
        """Same layer pattern, other global sizes (used for proxy and target scales)."""
        return replace(self, **changes)

    # ----- identity and serialisation ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["layers"] = [asdict(layer) for layer in self.layers]
        data["format_version"] = SPEC_FORMAT_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchSpec:
        if not isinstance(data, dict):
            raise SpecError("arch", data, "a mapping of ArchSpec fields")
        data = dict(data)
        version = data.pop("format_version", SPEC_FORMAT_VERSION)
        if version != SPEC_FORMAT_VERSION:
            raise SpecError("format_version", version, f"{SPEC_FORMAT_VERSION}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(unknown[0], data[unknown[0]], f"one of the ArchSpec fields {sorted(known)}")
        raw_layers = data.get("layers")
        if not isinstance(raw_layers, list):
            raise SpecError("layers", raw_layers, "a list of {mixer, ffn} mappings")
        layers = []
        for index, raw in enumerate(raw_layers):
            if not isinstance(raw, dict) or "mixer" not in raw:
                raise SpecError(f"layers[{index}]", raw, "a mapping with 'mixer' and optional 'ffn'")
            layers.append(LayerSpec(mixer=raw["mixer"], ffn=raw.get("ffn", "swiglu")))
        data["layers"] = tuple(layers)
        try:
            return cls(**data)
        except TypeError as err:
            raise SpecError("arch", sorted(data), f"all required ArchSpec fields ({err})") from err

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError("arch.json", text[:60], f"valid JSON ({err})") from err
        return cls.from_dict(data)

    @property
    def arch_id(self) -> str:
        """Stable 16-hex-digit hash of everything that changes the model (not `name`)."""
        data = self.to_dict()
        data.pop("name")
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
