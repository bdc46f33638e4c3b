"""ArchSpec → Hugging Face `config.json` for `lfm2` (dense) or `lfm2_moe` (trailing MoE block).

Transformers has model classes only for LFM2's two mixers (gated short conv, GQA) and two
feed-forwards (SwiGLU, sigmoid-routed MoE with an expert bias). Anything else raises
`ExportError` naming the layers that cannot be expressed. Field names follow the installed
`Lfm2Config` / `Lfm2MoeConfig`: `layer_types` ("conv" / "full_attention") is authoritative and
`full_attn_idxs` is written beside it, as `rope_theta` is beside `rope_parameters`, for readers
older than transformers 5.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from star_search.errors import ExportError
from star_search.spec import ArchSpec

HF_LAYER_TYPES = {"conv": "conv", "attention": "full_attention"}
CONFIG_FILE = "config.json"


def _check_mixers(spec: ArchSpec) -> None:
    unsupported = [(index, layer.mixer) for index, layer in enumerate(spec.layers)
                   if layer.mixer not in HF_LAYER_TYPES]
    if unsupported:
        listed = ", ".join(f"layer {index} is {kind}" for index, kind in unsupported)
        kinds = sorted({kind for _, kind in unsupported})
        raise ExportError(
            f"cannot write a Hugging Face config for {spec.pattern()} (arch_id {spec.arch_id}): {listed}; "
            f"transformers has no LFM2 model class for {', '.join(kinds)} mixers "
            f"(only conv and attention); keep arch.json as the exported spec")


def _check_heads(spec: ArchSpec) -> None:
    if spec.d_model % spec.n_heads or spec.d_model // spec.n_heads != spec.head_dim:
        raise ExportError(
            f"cannot write a Hugging Face config for arch_id {spec.arch_id}: head_dim={spec.head_dim} "
            f"must equal d_model / n_heads = {spec.d_model} / {spec.n_heads} because Lfm2Config "
            f"derives the head size from hidden_size and num_attention_heads")


def _num_dense_layers(spec: ArchSpec) -> int:
    """Leading SwiGLU layers before a trailing block of MoE layers; ExportError for other orders."""
    ffns = [layer.ffn for layer in spec.layers]
    first_moe = ffns.index("moe")
    stray = [index for index, kind in enumerate(ffns) if index > first_moe and kind != "moe"]
    if stray:
        raise ExportError(
            f"cannot write an lfm2_moe config for {spec.pattern()} (arch_id {spec.arch_id}): "
            f"layers {stray} are swiglu after the first moe layer {first_moe}; Lfm2MoeConfig expects "
            f"num_dense_layers dense layers followed only by moe layers")
    return first_moe


def _common_fields(spec: ArchSpec) -> dict[str, Any]:
    layer_types = [HF_LAYER_TYPES[layer.mixer] for layer in spec.layers]
    return {
        "vocab_size": spec.vocab_size,
        "hidden_size": spec.d_model,
        "intermediate_size": spec.ffn_dim,
        "num_hidden_layers": spec.n_layers,
        "num_attention_heads": spec.n_heads,
        "num_key_value_heads": spec.n_kv_heads,
        "max_position_embeddings": spec.max_seq_len,
        "norm_eps": spec.norm_eps,
        "tie_word_embeddings": spec.tie_embeddings,
        "rope_parameters": {"rope_type": "default", "rope_theta": spec.rope_theta},
        "rope_theta": spec.rope_theta,
        "conv_bias": False,
        "conv_L_cache": spec.conv_kernel,
        "layer_types": layer_types,
    }


def to_hf_config(spec: ArchSpec) -> dict[str, Any]:
    """The `config.json` mapping for `spec`; `ExportError` when transformers cannot express it.

    Dense specs become `lfm2` with `block_auto_adjust_ff_dim` off, so `intermediate_size` is the
    exact SwiGLU width. Specs whose MoE layers form a trailing block become `lfm2_moe` with
    `num_dense_layers` leading SwiGLU layers of width `ffn_dim`.
    """
    _check_mixers(spec)
    _check_heads(spec)
    config = _common_fields(spec)
    if all(layer.ffn == "swiglu" for layer in spec.layers):
        config.update({
            "model_type": "lfm2",
            "architectures": ["Lfm2ForCausalLM"],
            "full_attn_idxs": [i for i, layer in enumerate(spec.layers) if layer.mixer == "attention"],
            "block_auto_adjust_ff_dim": False,
            "block_multiple_of": 256,
            "block_ffn_dim_multiplier": 1.0,
        })
    else:
        config.update({
            "model_type": "lfm2_moe",
            "architectures": ["Lfm2MoeForCausalLM"],
            "num_dense_layers": _num_dense_layers(spec),
            "moe_intermediate_size": spec.moe_expert_dim,
            "num_experts": spec.moe_num_experts,
            "num_experts_per_tok": spec.moe_top_k,
            "use_expert_bias": True,
            "norm_topk_prob": True,
            "routed_scaling_factor": 1.0,
        })
    return dict(sorted(config.items()))


def write_hf_config(spec: ArchSpec, out_dir: str | Path) -> Path:
    """Write `config.json` for `spec` into `out_dir` (created if needed) and return its path."""
    config = to_hf_config(spec)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONFIG_FILE
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path
