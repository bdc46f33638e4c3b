"""Sigmoid-routed mixture of SwiGLU experts with an expert bias, as in LFM2-8B-A1B.

Routing, per token: scores = sigmoid(gate(x)) [num_experts]; the `top_k` experts are chosen by
scores + `expert_bias`, but weighted by their *unbiased* scores normalised to sum to one
(`norm_topk_prob=True`, `routed_scaling_factor=1`). The bias is a float32 buffer moved by the
auxiliary-loss-free balancing rule (`update_expert_bias`), never by gradients. Each expert is a
SwiGLU, w2_e (silu(w1_e x) · w3_e x).

Layout: the experts side by side form one wide SwiGLU of hidden width E·I (E experts of width I):
`w1`, `w3` are [E·I, d] and `w2` is [d, E·I], expert e owning hidden units e·I .. (e+1)·I - 1.
Stored this way the prompt path is three plain `F.linear` calls on parameters, which the XNNPACK
partitioner delegates as fully-connected ops with packed static weights; stacked [E, I, d]
parameters would need a reshape in the graph, and XNNPACK leaves such matmuls to slow portable
kernels. Names against Hugging Face `lfm2_moe` (`feed_forward` there is `ffn` here):

    ours                      published checkpoint (safetensors)    transformers >= 5 in memory
    gate.weight [E, d]        feed_forward.gate.weight              feed_forward.gate.weight
    expert_bias [E] buffer    feed_forward.expert_bias              feed_forward.expert_bias
    w1[e·I:(e+1)·I]           feed_forward.experts.{e}.w1.weight    experts.gate_up_proj[e, :I]
    w3[e·I:(e+1)·I]           feed_forward.experts.{e}.w3.weight    experts.gate_up_proj[e, I:]
    w2[:, e·I:(e+1)·I]        feed_forward.experts.{e}.w2.weight    experts.down_proj[e]

so checkpoint export slices, never reshapes (transformers' conversion mapping stacks the experts
into `gate_up_proj` / `down_proj` on load): `w1.view(E, I, d)[e]`, and for `w2` the column block
(contiguous once copied). As in transformers, the normalisation adds 1e-6 to the sum.

Expert compute has no data-dependent shapes, so it exports with torch.export: when few tokens
arrive (tokens · top_k < num_experts, i.e. decode) the chosen experts' weights are gathered per
token, reading only active weights; otherwise every expert runs on every token (the wide SwiGLU)
and unchosen experts get weight zero, cheaper than per-token gathers for a prompt.

Stored once per program: the two paths read the same three parameters, the prompt path through
XNNPACK, the gather on portable kernels. `GATHERED_WEIGHTS` names them so that lowering hands
them to XNNPACK as inputs rather than as packed constants of its own (`lower/export.py`); the
program then holds one copy, in its constant segment, which both methods read.

Quantized (8da4w, `lower/quantize.py`): the three become torchao `IntxUnpackedToInt8Tensor`s,
int4 values held in int8 with one scale per group of input channels (along d for w1/w3, along
E·I for w2, so groups never straddle experts). The prompt path runs them as XNNPACK's dynamically
quantized linears (int8 activations); the gather reads the chosen experts' int8 values and
scales and dequantizes them (weight-only int4: activations stay fp32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from star_search.ops.base import FeedForward

# Transformers adds this to the sum of the chosen scores before normalising.
_NORM_EPS = 1e-6


class MixtureOfExperts(FeedForward):
    # Read by both paths: XNNPACK linears (prompt) and portable index_select (decode).
    GATHERED_WEIGHTS = ("w1", "w3", "w2")

    def __init__(self, d_model: int, expert_dim: int, num_experts: int, top_k: int):
        super().__init__()
        self.d_model = d_model
        self.expert_dim = expert_dim
        self.num_experts = num_experts
        self.top_k = top_k
        self.gate = nn.Linear(d_model, num_experts, bias=False)
        self.register_buffer("expert_bias", torch.zeros(num_experts, dtype=torch.float32))
        # The experts side by side form one wide SwiGLU of width E·I (see the module docstring).
        self.w1 = nn.Parameter(torch.empty(num_experts * expert_dim, d_model))
        self.w3 = nn.Parameter(torch.empty(num_experts * expert_dim, d_model))
        self.w2 = nn.Parameter(torch.empty(d_model, num_experts * expert_dim))
        # Same initialisation as each expert's nn.Linear would get (bound 1/sqrt(fan_in)).
        for weight, fan_in in ((self.w1, d_model), (self.w3, d_model), (self.w2, expert_dim)):
            nn.init.uniform_(weight, -fan_in ** -0.5, fan_in ** -0.5)

    def route(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x [tokens, d_model] → (weights [tokens, top_k] summing to 1, experts [tokens, top_k] int64)."""
        scores = torch.sigmoid(self.gate(x))
        _, experts = torch.topk(scores + self.expert_bias, self.top_k, dim=-1)
        chosen = torch.gather(scores, 1, experts)
        return chosen / (chosen.sum(dim=-1, keepdim=True) + _NORM_EPS), experts

    def forward(self, x: Tensor) -> Tensor:
        flat = x.reshape(-1, self.d_model)
        weights, experts = self.route(flat)
        if flat.shape[0] * self.top_k < self.num_experts:
            out = self._gathered(flat, weights, experts)
        else:
            out = self._dense(flat, weights, experts)
        return out.reshape(x.shape)

    def _gathered(self, flat: Tensor, weights: Tensor, experts: Tensor) -> Tensor:
        """Each token through its own top_k experts, weights gathered per token."""
        n, k, size = flat.shape[0], self.top_k, self.expert_dim
        # Hidden-unit numbers of the chosen experts, [n·k·size].
        units = (experts[..., None] * size + torch.arange(size, device=flat.device)).reshape(-1)
        w1 = _select_units(self.w1, 0, units).reshape(n, k * size, self.d_model)
        w3 = _select_units(self.w3, 0, units).reshape(n, k * size, self.d_model)
        column = flat[:, :, None]
        gate = torch.bmm(w1, column).reshape(n, k, size)
        up = torch.bmm(w3, column).reshape(n, k, size)
        hidden = (F.silu(gate) * up * weights[..., None]).reshape(n, k * size, 1)
        w2 = _select_units(self.w2, 1, units).reshape(self.d_model, n, k * size).transpose(0, 1)
        return torch.bmm(w2, hidden).reshape(n, self.d_model)

    def _dense(self, flat: Tensor, weights: Tensor, experts: Tensor) -> Tensor:
        """Every expert on every token; the routing weights (zero for unchosen experts) scale the
        hidden units, so the down projection is a single [tokens, E·I] × [E·I, d] matmul."""
        combine = torch.zeros(flat.shape[0], self.num_experts, dtype=flat.dtype, device=flat.device)
        combine = combine.scatter(1, experts, weights.to(flat.dtype))
        gate = F.linear(flat, self.w1)
        up = F.linear(flat, self.w3)
        hidden = (F.silu(gate) * up).unflatten(-1, (self.num_experts, self.expert_dim)) * combine[..., None]
        return F.linear(hidden.flatten(1), self.w2)

    def update_expert_bias(self, tokens_per_expert: Tensor, rate: float) -> None:
        """Auxiliary-loss-free balancing: raise the bias of under-loaded experts, lower overloaded.

        tokens_per_expert: [num_experts] counts (any numeric dtype) from recent routing decisions;
        rate: bias change per call, in score units.
        """
        with torch.no_grad():
            load = tokens_per_expert.to(self.expert_bias.dtype)
            self.expert_bias += rate * torch.sign(load.mean() - load)


def _select_units(weight: Tensor, dim: int, units: Tensor) -> Tensor:
    """Hidden units `units` along `dim` of an expert weight (rows of w1/w3, columns of w2), float.

    index_select on the parameter itself: a row copy in ExecuTorch's portable kernels (advanced
    indexing there goes element by element, and a view or transpose of a parameter becomes a
    copy of every expert). A quantized weight (see the module docstring) is gathered as int8
    values plus their group scales; its zero points are 0 (symmetric). The int8 → float step is
    a `dequantize_per_tensor` with scale 1, which XNNPACK runs (a plain dtype cast stays on a
    portable kernel ~5x slower); the op is registered by torchao, loaded with any such weight.
    """
    if not hasattr(weight, "qdata"):
        return torch.index_select(weight, dim, units)
    group = weight.block_size[1]
    values = torch.index_select(weight.qdata, dim, units)
    # Scales are [rows, columns / group]: a gathered row keeps all its scales; gathered columns
    # come in whole groups (expert_dim is a multiple of the group), one scale per group.
    scale_units = units if dim == 0 else torch.div(units[::group], group, rounding_mode="floor")
    scale = torch.index_select(weight.scale, dim, scale_units)
    values = torch.ops.quantized_decomposed.dequantize_per_tensor(values, 1.0, 0, -8, 7, torch.int8)
    rows = values.shape[0]
    return (values.reshape(rows, -1, group) * scale[..., None]).reshape(rows, -1)
