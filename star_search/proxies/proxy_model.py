"""The small proxy model of a candidate: same layer pattern, tiny widths, the proxy vocabulary."""

from __future__ import annotations

import torch

from star_search.model import Backbone, build_model
from star_search.proxies.config import ProxyConfig
from star_search.proxies.vocab import VOCAB_SIZE
from star_search.scaling import ProxySize
from star_search.spec import ArchSpec


def proxy_seq_len(config: ProxyConfig) -> int:
    """Longest training sequence in tokens: the longest selected task plus its family token."""
    return max(task.seq_len for task in config.select_tasks()) + 1


def proxy_size(config: ProxyConfig) -> ProxySize:
    """The global sizes `scaling.proxy_spec` scales a candidate to under `config`: its width, head
    size and expert cap, the proxy vocabulary and the longest selected task."""
    return ProxySize(d_model=config.d_model, head_dim=config.head_dim, max_experts=config.max_experts,
                     vocab_size=VOCAB_SIZE, max_seq_len=proxy_seq_len(config),
                     depth_fraction=config.depth_fraction)


def build_proxy(small: ArchSpec, seed: int, residual_init: str = "default") -> Backbone:
    """`build_model(small, seed)`, then the token embedding (tied to the LM head) redrawn from
    N(0, 1/d_model) with a generator seeded by `seed`; with `residual_init` "depth", every block's
    output projections scaled by 1 / sqrt(2 · layers) (`ProxyConfig.residual_init`).

    Why: `nn.Embedding`'s default N(0, 1) makes the tied head's initial logits ~sqrt(d_model)
    wide (an initial loss near 57 nats at d_model 64 instead of ln 128 = 4.9), and a short
    proxy run spends its first steps undoing that.
    """
    model = build_model(small, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    weight = model.embed.weight
    with torch.no_grad():
        weight.copy_(torch.randn(weight.shape, generator=generator) * small.d_model ** -0.5)
        if residual_init == "depth":
            scale = (2 * small.n_layers) ** -0.5
            for projection in residual_projections(model):
                projection.mul_(scale)
    return model


def residual_projections(model: Backbone) -> list[torch.Tensor]:
    """The weights that write into the residual stream: each block's mixer `out_proj` and its
    feed-forward's down projection `w2` (a SwiGLU's linear layer, or an MoE's expert matrix)."""
    weights = []
    for block in model.blocks:
        weights.append(block.mixer.out_proj.weight)
        down = block.ffn.w2
        weights.append(down if isinstance(down, torch.nn.Parameter) else down.weight)
    return weights
