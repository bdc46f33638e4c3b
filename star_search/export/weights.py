"""Model weights on disk: a Hugging Face checkpoint for LFM2 architectures, native otherwise.

`write_hf_checkpoint` writes `config.json` + `model.safetensors` under the names of the published
LFM2 checkpoints, so `AutoModelForCausalLM.from_pretrained(dir)` loads it with no missing or
unexpected keys (transformers converts per-expert MoE weights to its fused layout on load).

    ours                                 Hugging Face
    embed.weight                         model.embed_tokens.weight (lm_head tied to it)
    blocks.{i}.operator_norm / ffn_norm  model.layers.{i}.operator_norm / ffn_norm
    blocks.{i}.mixer.* (conv)            model.layers.{i}.conv.*
    blocks.{i}.mixer.* (attention)       model.layers.{i}.self_attn.*
    blocks.{i}.ffn.w1/w2/w3 (swiglu)     model.layers.{i}.feed_forward.w1/w2/w3.weight
    blocks.{i}.ffn (moe)                 model.layers.{i}.feed_forward.{gate.weight, expert_bias,
                                         experts.{e}.w1/w2/w3.weight}  (sliced, see ops/moe.py)
    final_norm.weight                    model.embedding_norm.weight
    lm_head.weight (untied only)         lm_head.weight

Architectures with SSM or linear-attention layers have no transformers class: `write_native_weights`
stores our own parameter names in `weights.safetensors` beside `arch.json`, and
`load_native_weights` rebuilds the model from both.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import Tensor

from star_search.errors import ExportError
from star_search.export.hf_config import HF_LAYER_TYPES, write_hf_config
from star_search.export.native import ARCH_FILE
from star_search.model import Backbone, build_model
from star_search.ops.moe import MixtureOfExperts
from star_search.spec import ArchSpec

HF_WEIGHTS_FILE = "model.safetensors"
NATIVE_WEIGHTS_FILE = "weights.safetensors"
HF_MIXER_PREFIX = {"conv": "conv", "attention": "self_attn"}
NATIVE_NOTE = ("transformers has no model class for ssm or linear_attention mixers; these weights use "
               "star-search names and load with star_search.export.load_native_weights(dir)")


def _plain(tensor: Tensor) -> Tensor:
    return tensor.detach().to("cpu").contiguous().clone()


def _moe_tensors(prefix: str, moe: MixtureOfExperts) -> dict[str, Tensor]:
    width, dim = moe.expert_dim, moe.d_model
    tensors = {f"{prefix}.gate.weight": _plain(moe.gate.weight),
               f"{prefix}.expert_bias": _plain(moe.expert_bias)}
    w1, w3 = moe.w1.view(moe.num_experts, width, dim), moe.w3.view(moe.num_experts, width, dim)
    for expert in range(moe.num_experts):
        hidden = slice(expert * width, (expert + 1) * width)
        tensors[f"{prefix}.experts.{expert}.w1.weight"] = _plain(w1[expert])
        tensors[f"{prefix}.experts.{expert}.w3.weight"] = _plain(w3[expert])
        tensors[f"{prefix}.experts.{expert}.w2.weight"] = _plain(moe.w2[:, hidden])
    return tensors


def hf_state_dict(model: Backbone) -> dict[str, Tensor]:
    """Our weights under published LFM2 checkpoint names; `ExportError` for other mixers."""
    spec = model.spec
    unsupported = [i for i, layer in enumerate(spec.layers) if layer.mixer not in HF_LAYER_TYPES]
    if unsupported:
        raise ExportError(f"layers {unsupported} of {spec.pattern()} have no transformers equivalent; "
                          f"{NATIVE_NOTE}")
    tensors = {"model.embed_tokens.weight": _plain(model.embed.weight),
               "model.embedding_norm.weight": _plain(model.final_norm.weight)}
    if not spec.tie_embeddings:
        tensors["lm_head.weight"] = _plain(model.lm_head.weight)
    for index, (layer, block) in enumerate(zip(spec.layers, model.blocks, strict=True)):
        prefix = f"model.layers.{index}"
        tensors[f"{prefix}.operator_norm.weight"] = _plain(block.operator_norm.weight)
        tensors[f"{prefix}.ffn_norm.weight"] = _plain(block.ffn_norm.weight)
        for name, value in block.mixer.state_dict().items():
            tensors[f"{prefix}.{HF_MIXER_PREFIX[layer.mixer]}.{name}"] = _plain(value)
        if isinstance(block.ffn, MixtureOfExperts):
            tensors.update(_moe_tensors(f"{prefix}.feed_forward", block.ffn))
        else:
            for name, value in block.ffn.state_dict().items():
                tensors[f"{prefix}.feed_forward.{name}"] = _plain(value)
    return tensors


def write_hf_checkpoint(model: Backbone, out_dir: str | Path) -> list[Path]:
    """Write `config.json` and `model.safetensors` for `model` into `out_dir`; return both paths."""
    directory = Path(out_dir)
    tensors = hf_state_dict(model)
    config_path = write_hf_config(model.spec, directory)
    weights_path = directory / HF_WEIGHTS_FILE
    save_file(tensors, str(weights_path), metadata={"format": "pt"})
    return [config_path, weights_path]


def write_native_weights(model: Backbone, out_dir: str | Path) -> list[Path]:
    """Write `arch.json` and `weights.safetensors` (our parameter names) into `out_dir`."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    arch_path = directory / ARCH_FILE
    arch_path.write_text(model.spec.to_json() + "\n")
    tensors = {name: _plain(value) for name, value in model.state_dict().items()
               if not (model.spec.tie_embeddings and name == "lm_head.weight")}
    weights_path = directory / NATIVE_WEIGHTS_FILE
    save_file(tensors, str(weights_path), metadata={"format": "pt", "arch_id": model.spec.arch_id})
    return [arch_path, weights_path]


def load_native_weights(directory: str | Path) -> Backbone:
    """Rebuild the model `write_native_weights` wrote; `ExportError` if files are missing or differ."""
    folder = Path(directory)
    for name in (ARCH_FILE, NATIVE_WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise ExportError(f"{folder} has no {name}; expected an export written by write_native_weights")
    spec = ArchSpec.from_json((folder / ARCH_FILE).read_text())
    model = build_model(spec)
    tensors = load_file(str(folder / NATIVE_WEIGHTS_FILE))
    result = model.load_state_dict(tensors, strict=False)
    missing = [key for key in result.missing_keys if not (spec.tie_embeddings and key == "lm_head.weight")]
    if missing or result.unexpected_keys:
        raise ExportError(f"{folder / NATIVE_WEIGHTS_FILE} does not match {ARCH_FILE}: missing {missing}, "
                          f"unexpected {result.unexpected_keys}")
    return model


def write_weights(model: Backbone, out_dir: str | Path) -> tuple[list[Path], str | None]:
    """HF checkpoint when transformers can load the architecture, else native weights and the reason."""
    if all(layer.mixer in HF_LAYER_TYPES for layer in model.spec.layers):
        return write_hf_checkpoint(model, out_dir), None
    return write_native_weights(model, out_dir), NATIVE_NOTE


__all__ = ["HF_WEIGHTS_FILE", "NATIVE_WEIGHTS_FILE", "hf_state_dict", "load_native_weights",
           "write_hf_checkpoint", "write_native_weights", "write_weights"]
