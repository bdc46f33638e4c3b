"""Optional weight quantization applied before export.

"8da4w": int8 dynamic per-token activations, int4 symmetric per-group weights (group of
`GROUP_SIZE_8DA4W` input channels) on every `nn.Linear` whose input width the group divides, via
torchao's `Int8DynamicActivationIntxWeightConfig` — the recipe ExecuTorch's Llama export uses, and
which XNNPACK runs as dynamically quantized linears. Embeddings and convolutions stay fp32.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from star_search.errors import SpecError

GROUP_SIZE_8DA4W = 32


def _quantize_8da4w(model: nn.Module) -> None:
    from torchao.quantization import Int8DynamicActivationIntxWeightConfig, quantize_
    from torchao.quantization.granularity import PerGroup

    def is_quantizable(module: nn.Module, _fqn: str) -> bool:
        return isinstance(module, nn.Linear) and module.in_features % GROUP_SIZE_8DA4W == 0

    config = Int8DynamicActivationIntxWeightConfig(
        weight_dtype=torch.int4, weight_granularity=PerGroup(GROUP_SIZE_8DA4W))
    quantize_(model, config, filter_fn=is_quantizable)


QUANTIZERS: dict[str, Callable[[nn.Module], None]] = {"8da4w": _quantize_8da4w}


def check_quantize(quantize: str | None) -> None:
    """Raise SpecError unless `quantize` is None or a known scheme."""
    if quantize is not None and quantize not in QUANTIZERS:
        raise SpecError("quantize", quantize, f"None or one of {sorted(QUANTIZERS)}")


def apply_quantization(model: nn.Module, quantize: str | None) -> None:
    """Quantize `model` in place according to `quantize` (None leaves it untouched)."""
    check_quantize(quantize)
    if quantize is not None:
        QUANTIZERS[quantize](model)
