"""The published LFM2 models as `ArchSpec`s: `lfm2-350m`, `lfm2-700m`, `lfm2-1.2b`, `lfm2-2.6b`,
`lfm2-8b-a1b`.

Sizes are the published `config.json` values (see `shared/reference/lfm2_family.md`). The dense
models publish their FFN width *before* LFM2's `block_auto_adjust_ff_dim` rule; `lfm2_ffn_dim`
applies that rule so `ArchSpec.ffn_dim` is the width the weights really have. This module must
not import torch.
"""

from __future__ import annotations

from star_search.errors import SpecError
from star_search.sizing import active_param_count, param_count
from star_search.spec import ArchSpec, LayerSpec

LFM2_VOCAB = 65536
LFM2_HEAD_DIM = 64
LFM2_KV_HEADS = 8
LFM2_MAX_POSITIONS = 128_000
LFM2_MULTIPLE_OF = 256


def lfm2_ffn_dim(published: int, multiplier: float = 1.0, multiple_of: int = LFM2_MULTIPLE_OF) -> int:
    """LFM2's `block_auto_adjust_ff_dim`: two thirds of the published size, times `multiplier`,
    rounded up to a multiple of `multiple_of` (6656 → 4608 for LFM2-350M)."""
    width = int(multiplier * int(2 * published / 3))
    return multiple_of * -(-width // multiple_of)


def lfm2_layers(n_layers: int, attention_at: tuple[int, ...],
                n_dense: int | None = None) -> tuple[LayerSpec, ...]:
    """Conv layers with attention at `attention_at`; with `n_dense` set, layers from `n_dense` on use MoE."""
    return tuple(
        LayerSpec("attention" if index in attention_at else "conv",
                  "moe" if n_dense is not None and index >= n_dense else "swiglu")
        for index in range(n_layers))


def _dense(name: str, d_model: int, n_layers: int, ffn_dim: int, attention_at: tuple[int, ...]) -> ArchSpec:
    return ArchSpec(d_model=d_model, layers=lfm2_layers(n_layers, attention_at),
                    n_heads=d_model // LFM2_HEAD_DIM, n_kv_heads=LFM2_KV_HEADS, head_dim=LFM2_HEAD_DIM,
                    ffn_dim=ffn_dim, vocab_size=LFM2_VOCAB, max_seq_len=LFM2_MAX_POSITIONS, name=name)


SMALL_ATTENTION = (2, 5, 8, 10, 12, 14)

PRESETS: dict[str, ArchSpec] = {
    "lfm2-350m": _dense("lfm2-350m", 1024, 16, lfm2_ffn_dim(6656), SMALL_ATTENTION),
    "lfm2-700m": _dense("lfm2-700m", 1536, 16, lfm2_ffn_dim(10240), SMALL_ATTENTION),
    "lfm2-1.2b": _dense("lfm2-1.2b", 2048, 16, lfm2_ffn_dim(12288), SMALL_ATTENTION),
    "lfm2-2.6b": _dense("lfm2-2.6b", 2048, 30, 10752, (2, 5, 9, 13, 17, 21, 24, 27)),
    "lfm2-8b-a1b": ArchSpec(
        d_model=2048, layers=lfm2_layers(24, (2, 6, 10, 14, 18, 21), n_dense=2),
        n_heads=32, n_kv_heads=LFM2_KV_HEADS, head_dim=LFM2_HEAD_DIM, ffn_dim=7168,
        moe_num_experts=32, moe_top_k=4, moe_expert_dim=1792, vocab_size=LFM2_VOCAB,
        max_seq_len=LFM2_MAX_POSITIONS, name="lfm2-8b-a1b"),
}


def preset(name: str) -> ArchSpec:
    """The published model called `name`; `SpecError` listing the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError("preset", name, f"one of {sorted(PRESETS)}") from None


def preset_table() -> str:
    """One line per preset: name, layer strip, width, depth, attention layers, total and active counts."""
    lines = [f"{'name':<12} {'d_model':>7} {'layers':>6} {'attn':>4} {'total':>15} {'active':>15}  pattern"]
    for name, spec in PRESETS.items():
        lines.append(f"{name:<12} {spec.d_model:>7} {spec.n_layers:>6} {spec.count('attention'):>4} "
                     f"{param_count(spec):>15,} {active_param_count(spec):>15,}  {spec.pattern()}")
    return "\n".join(lines)


__all__ = ["PRESETS", "lfm2_ffn_dim", "lfm2_layers", "preset", "preset_table"]
