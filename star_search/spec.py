"""ArchSpec: the frozen, typed description of one candidate backbone.

`ArchSpec` is the single currency of the project: search spaces sample it, models are built from
it, and every cache is keyed by its `arch_id`. This module must not import torch.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

from star_search.errors import SpecError, no_such_key, one_of

MIXER_KINDS: tuple[str, ...] = ("conv", "attention", "ssm", "linear_attention")
FFN_KINDS: tuple[str, ...] = ("swiglu", "moe")
SPEC_FORMAT_VERSION = 1
# Largest width, count or vocabulary: a signed 32-bit integer, what tensor shapes and the
# ExecuTorch runners' arguments hold without overflow.
MAX_SIZE = 2**31 - 1
# Most layers one backbone may have (published LFM2 models have 16 to 24).
MAX_LAYERS = 1024
_SIZE_FIELDS = ("d_model", "n_heads", "n_kv_heads", "head_dim", "ffn_dim", "vocab_size", "conv_kernel",
                "ssm_state_dim", "ssm_expand", "max_seq_len")
_MOE_FIELDS = ("moe_num_experts", "moe_top_k", "moe_expert_dim")
_LAYER_KEYS = ("mixer", "ffn")


def check_size(value: object, field: str, minimum: int = 1) -> int:
    """`value` when it is an integer (not a bool) between `minimum` and `MAX_SIZE`."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_SIZE:
        raise SpecError(field, value, f"a positive integer (at most {MAX_SIZE})" if minimum == 1
                        else f"an integer between {minimum} and {MAX_SIZE}")
    return value


def is_finite_number(value: object) -> bool:
    """Whether `value` is an int or float (not a bool) that converts to a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the float range
        return False


def check_positive_number(value: object, field: str, below: float | None = None) -> float:
    """`value` when it is a finite number (not a bool) above 0 (and below `below`)."""
    if (not is_finite_number(value) or value <= 0  # type: ignore[operator]
            or (below is not None and value >= below)):  # type: ignore[operator]
        bound = f" and below {below}" if below is not None else ""
        raise SpecError(field, value, f"a finite number above 0{bound}")
    return value


@dataclass(frozen=True)
class LayerSpec:
    """One block: pre-norm token mixer, then pre-norm feed-forward, each with a residual."""

    mixer: str
    ffn: str = "swiglu"

    def __post_init__(self) -> None:
        if not isinstance(self.mixer, str) or self.mixer not in MIXER_KINDS:
            raise SpecError("mixer", self.mixer, one_of(self.mixer, MIXER_KINDS))
        if not isinstance(self.ffn, str) or self.ffn not in FFN_KINDS:
            raise SpecError("ffn", self.ffn, one_of(self.ffn, FFN_KINDS))


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
        if not isinstance(self.layers, list | tuple):
            raise SpecError("layers", self.layers, "a sequence of LayerSpec")
        object.__setattr__(self, "layers", tuple(self.layers))
        for name in _SIZE_FIELDS:
            check_size(getattr(self, name), name)
        for name in _MOE_FIELDS:
            check_size(getattr(self, name), name, minimum=0)
        check_positive_number(self.rope_theta, "rope_theta")
        check_positive_number(self.norm_eps, "norm_eps", below=1)
        if not isinstance(self.tie_embeddings, bool):
            raise SpecError("tie_embeddings", self.tie_embeddings, "true or false")
        if not isinstance(self.name, str):
            raise SpecError("name", self.name, "a string")
        if not 1 <= len(self.layers) <= MAX_LAYERS:
            raise SpecError("layers", self.layers, f"between 1 and {MAX_LAYERS} layers")
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
        if self.count("ssm") and self.ssm_inner_dim > MAX_SIZE:
            raise SpecError("ssm_expand", self.ssm_expand, f"d_model*ssm_expand at most {MAX_SIZE}")
        if any(layer.ffn == "moe" for layer in self.layers):
            if self.moe_num_experts < 2:
                raise SpecError("moe_num_experts", self.moe_num_experts, "at least 2 for MoE")
            if not 1 <= self.moe_top_k <= self.moe_num_experts:
                raise SpecError("moe_top_k", self.moe_top_k,
                                f"between 1 and moe_num_experts={self.moe_num_experts}")
            if self.moe_expert_dim <= 0:
                raise SpecError("moe_expert_dim", self.moe_expert_dim, "a positive integer")

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
    def from_dict(cls, data: object) -> ArchSpec:
        """An ArchSpec from `to_dict`'s mapping; any malformed field is a `SpecError` naming it."""
        if not isinstance(data, dict):
            raise SpecError("arch", data, "a mapping of ArchSpec fields")
        data = dict(data)
        version = data.pop("format_version", SPEC_FORMAT_VERSION)
        if isinstance(version, bool) or version != SPEC_FORMAT_VERSION:
            raise SpecError("format_version", version, f"{SPEC_FORMAT_VERSION}")
        known = [f.name for f in fields(cls)]
        for key in data:
            if not isinstance(key, str) or key not in known:
                raise SpecError(str(key), data[key], no_such_key(key, known))
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        for name in required:
            if name not in data:
                raise SpecError(name, None, "a value (a required ArchSpec field)")
        raw_layers = data["layers"]
        if not isinstance(raw_layers, list):
            raise SpecError("layers", raw_layers, "a list of {mixer, ffn} mappings")
        layers = []
        for index, raw in enumerate(raw_layers):
            if not isinstance(raw, dict) or "mixer" not in raw:
                raise SpecError(f"layers[{index}]", raw, "a mapping with 'mixer' and optional 'ffn'")
            for key in raw:
                if key not in _LAYER_KEYS:
                    raise SpecError(f"layers[{index}].{key}", raw[key], no_such_key(key, _LAYER_KEYS))
            try:
                layers.append(LayerSpec(mixer=raw["mixer"], ffn=raw.get("ffn", "swiglu")))
            except SpecError as err:
                raise SpecError(f"layers[{index}].{err.field}", err.value, err.expected) from None
        data["layers"] = tuple(layers)
        return cls(**data)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        try:
            data = json.loads(text)
        except RecursionError as err:
            raise SpecError("arch.json", text[:60], "JSON nested less deeply") from err
        except ValueError as err:  # JSONDecodeError, and integers too long for Python to read
            raise SpecError("arch.json", text[:60], f"valid JSON ({err})") from err
        return cls.from_dict(data)

    @property
    def arch_id(self) -> str:
        """Stable 16-hex-digit hash of everything that changes the model (not `name`)."""
        data = self.to_dict()
        data.pop("name")
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
