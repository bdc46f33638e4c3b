"""Optional weight quantization applied before export.

"8da4w": int8 dynamic per-token activations, int4 symmetric per-group weights (group of
`GROUP_SIZE_8DA4W` input channels) on every `nn.Linear` whose input width the group divides, via
torchao's `Int8DynamicActivationIntxWeightConfig` — the recipe ExecuTorch's Llama export uses, and
which XNNPACK runs as dynamically quantized linears. MoE experts (`MixtureOfExperts.w1/w3/w2`,
parameters rather than linears) get the same weight quantization when the group divides both
d_model and the expert width, so that no group straddles two experts; their prefill runs on
XNNPACK like any linear, their decode gathers the int8 values and scales (see `ops/moe.py`).
Routers (`MixtureOfExperts.gate`, d_model × experts) stay fp32: they are tiny, and int4 noise
there flips expert choices, which costs far more accuracy than it saves bytes. Embeddings and
convolutions stay fp32.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from star_search.ops.moe import MixtureOfExperts
from star_search.shapes import check_quantize

GROUP_SIZE_8DA4W = 32


def _quantized_expert_weight(weight: nn.Parameter, config: object) -> nn.Parameter:
    """`weight` [out, in] quantized as `config` would quantize an nn.Linear holding it.

    Scales are rounded to bfloat16, the precision XNNPACK stores group scales in, so the prefill
    (XNNPACK) and the decode gather (dequantized in the graph) use identical weights.
    """
    from torchao.quantization import quantize_

    holder = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    holder.weight = nn.Parameter(weight.detach(), requires_grad=False)
    quantize_(holder, config)
    quantized = holder.weight
    assert not quantized.zero_point.any(), "symmetric quantization has zero points of 0"
    quantized.scale.copy_(quantized.scale.to(torch.bfloat16))
    return quantized


def _quantize_8da4w(model: nn.Module) -> None:
    from torchao.quantization import Int8DynamicActivationIntxWeightConfig, quantize_
    from torchao.quantization.granularity import PerGroup

    mixtures = [module for module in model.modules() if isinstance(module, MixtureOfExperts)]
    routers = {id(moe.gate) for moe in mixtures}

    def is_quantizable(module: nn.Module, _fqn: str) -> bool:
        return (isinstance(module, nn.Linear) and module.in_features % GROUP_SIZE_8DA4W == 0
                and id(module) not in routers)

    config = Int8DynamicActivationIntxWeightConfig(
        weight_dtype=torch.int4, weight_granularity=PerGroup(GROUP_SIZE_8DA4W))
    quantize_(model, config, filter_fn=is_quantizable)
    for moe in mixtures:
        if moe.d_model % GROUP_SIZE_8DA4W == 0 and moe.expert_dim % GROUP_SIZE_8DA4W == 0:
            for name in moe.GATHERED_WEIGHTS:
                setattr(moe, name, _quantized_expert_weight(getattr(moe, name), config))


QUANTIZERS: dict[str, Callable[[nn.Module], None]] = {"8da4w": _quantize_8da4w}


def apply_quantization(model: nn.Module, quantize: str | None) -> None:
    """Quantize `model` in place according to `quantize` (None leaves it untouched); the scheme
    names are `shapes.QUANTIZATIONS`, each with its function in `QUANTIZERS`."""
    check_quantize(quantize, "quantize")
    if quantize is not None:
        QUANTIZERS[quantize](model)
