"""ArchSpec → one ExecuTorch program (.pte bytes) with methods `prefill` and `decode`.

Pipeline: build the model (fixed seed; weights do not change latency) → optional quantization →
`torch.export.export` of `PrefillProgram` and `DecodeProgram` → `to_edge_transform_and_lower`
with the XNNPACK partitioner → `to_executorch`. Three constant methods record the shapes the
program was lowered for (see `programs.constant_methods`). Any failure becomes a `LoweringError`
naming the stage (export or lowering) and the operator kind to blame when it can be
found (see `localize`).

Weights are stored once per program. XNNPACK keeps the static weights it packs in the program's
named data, keyed by content hash, so a weight both methods delegate is stored once; the emitter
likewise stores one copy of a constant that both methods read on portable kernels. A weight read
both ways (an MoE expert: XNNPACK linear in prefill, index_select in decode) would be stored in
each place, and ExecuTorch 1.5 resolves a portable operator's constant from named data only
through an external .ptd file. So `xnnpack_partitioner` passes such weights
(`gathered_weight_names`) to XNNPACK's fp32 linears as inputs: XNNPACK packs them at each call
instead of at load time, and the constant segment's copy is the only one.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.export import ExportedProgram

from star_search.errors import LoweringError
from star_search.lower.coverage import DelegationCoverage, delegation_coverage
from star_search.lower.localize import (
    culprit_by_isolation,
    culprit_from_graph,
    culprit_from_traceback,
)
from star_search.lower.programs import (
    DecodeProgram,
    PrefillProgram,
    ProgramShapes,
    constant_methods,
    decode_example_inputs,
    prefill_dynamic_shapes,
    prefill_example_inputs,
    torch_dtype,
)
from star_search.lower.provenance import shared_provenance
from star_search.lower.quantize import apply_quantization
from star_search.model import Backbone, build_model
from star_search.shapes import check_quantize
from star_search.spec import ArchSpec

_MESSAGE_CHARS = 600


@dataclass(frozen=True)
class LoweredProgram:
    """A lowered program: the .pte bytes, delegation coverage per method, and the wall time in
    seconds that quantization, export and lowering took (model construction excluded)."""

    pte: bytes
    coverage: dict[str, DelegationCoverage]
    lowering_s: float


def _describe(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if len(text) > _MESSAGE_CHARS:
        text = text[:_MESSAGE_CHARS] + " …"
    return f"{type(err).__name__}: {text}"


def gathered_weight_names(module: nn.Module) -> frozenset[str]:
    """Parameter names (as `module.named_parameters` spells them) of the weights some submodule
    also reads outside XNNPACK, declared by its `GATHERED_WEIGHTS` (MoE experts)."""
    return frozenset(f"{name}.{weight}" if name else weight
                     for name, submodule in module.named_modules()
                     for weight in getattr(submodule, "GATHERED_WEIGHTS", ()))


def xnnpack_partitioner(gathered_weights: frozenset[str] = frozenset()) -> Any:
    """XNNPACK's partitioner with every default config, except that an fp32 linear whose weight
    is one of `gathered_weights` takes that weight as a delegate input, not as a packed constant.

    ExecuTorch's own switch for this, `force_non_static_weights_for_f32_linear`, applies to
    every fp32 linear; turned on per node here, the other linears keep weights packed at load.
    """
    from executorch.backends.xnnpack.partition.config import ALL_PARTITIONER_CONFIGS
    from executorch.backends.xnnpack.partition.config.gemm_configs import LinearConfig
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    class GatheredWeightLinearConfig(LinearConfig):
        def get_deps(self, node: fx.Node, ep: ExportedProgram) -> tuple[bool, list[fx.Node]]:
            weight = node.args[1]
            name = ep.graph_signature.inputs_to_parameters.get(getattr(weight, "name", ""))
            self.force_non_static_weights_for_f32_linear = name in gathered_weights
            return super().get_deps(node, ep)

    configs = [GatheredWeightLinearConfig if config is LinearConfig else config
               for config in ALL_PARTITIONER_CONFIGS]
    return XnnpackPartitioner(configs=configs)


def _export(model: Backbone, shapes: ProgramShapes, quantize: str | None) -> dict[str, ExportedProgram]:
    model.eval()
    apply_quantization(model, quantize)
    if shapes.llm_ops:
        from star_search.ops.llm_attention import apply_llm_ops

        apply_llm_ops(model, shapes.max_seq_len, torch_dtype(shapes))
    return {
        "prefill": torch.export.export(
            PrefillProgram(model), prefill_example_inputs(model, shapes),
            dynamic_shapes=prefill_dynamic_shapes(model, shapes), strict=False),
        "decode": torch.export.export(
            DecodeProgram(model), decode_example_inputs(model, shapes), strict=False),
    }


def _to_program(model: Backbone, shapes: ProgramShapes,
                exported: dict[str, ExportedProgram]) -> tuple[bytes, dict[str, DelegationCoverage]]:
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower
    from executorch.exir.passes import MemoryPlanningPass
    from executorch.exir.passes.sym_shape_eval_pass import ConstraintBasedSymShapeEvalPass

    config = None
    if shapes.llm_ops or shapes.dynamic_prompt:
        # Shared mutable buffers: prefill and decode read and write one KV cache (llm_ops).
        # Constraint-based shape evaluation plans dynamic tensors at their upper bound.
        config = ExecutorchBackendConfig(
            memory_planning_pass=MemoryPlanningPass(share_mutable_buffers=shapes.llm_ops),
            emit_mutable_buffer_names=shapes.llm_ops,
            sym_shape_eval_pass=ConstraintBasedSymShapeEvalPass())
    with shared_provenance():
        partitioner = xnnpack_partitioner(gathered_weight_names(PrefillProgram(model)))
        edge = to_edge_transform_and_lower(
            exported, partitioner=[partitioner], constant_methods=constant_methods(model, shapes))
        coverage = delegation_coverage(edge)
        return edge.to_executorch(config).buffer, coverage


def _failure(model: Backbone, shapes: ProgramShapes, quantize: str | None, err: Exception,
             exported: dict[str, ExportedProgram] | None, localize: bool) -> LoweringError:
    culprit = culprit_from_traceback(model, err)
    if culprit is None and exported is not None:
        culprit = culprit_from_graph(model, [ep.graph for ep in exported.values()], err)
    if culprit is None and localize:
        culprit = culprit_by_isolation(model, shapes.prompt_len, shapes.max_seq_len,
                                       torch_dtype(shapes))
    where = (f" (layer {culprit.layer}, found by {culprit.evidence})" if culprit
             else " (no single operator fails alone)" if localize else "")
    stage = "export" if exported is None else "lowering"
    spec = model.spec
    return LoweringError(
        f"{stage} of {spec.pattern()} arch_id {spec.arch_id} at prompt_len={shapes.prompt_len} "
        f"max_seq_len={shapes.max_seq_len} quantize={quantize}{where}: {_describe(err)}",
        operator=culprit.operator if culprit else None)


def lower_model(model: Backbone, shapes: ProgramShapes, quantize: str | None = None,
                localize: bool = True) -> LoweredProgram:
    """Lower an already built model (quantized in place when `quantize` is set).

    On failure raises `LoweringError` whose `operator` is the blamed operator kind, or None when
    every operator lowers alone (the fault is then in the glue or in their combination). With
    `localize=False` no isolation lowering is attempted (only the traceback and graph are read).
    """
    check_quantize(quantize, "quantize")
    started = time.perf_counter()
    exported = None
    with torch.no_grad(), warnings.catch_warnings():
        # torch/executorch internals emit pages of FutureWarnings per export.
        warnings.simplefilter("ignore", FutureWarning)
        try:
            exported = _export(model, shapes, quantize)
            pte, coverage = _to_program(model, shapes, exported)
        except Exception as err:
            raise _failure(model, shapes, quantize, err, exported, localize) from err
    return LoweredProgram(pte, coverage, time.perf_counter() - started)


def lower_arch_with_report(spec: ArchSpec, shapes: ProgramShapes, quantize: str | None = None,
                           seed: int = 0) -> LoweredProgram:
    """Build `spec` with weights from `seed` and lower it; returns bytes, coverage and timing."""
    check_quantize(quantize, "quantize")
    return lower_model(build_model(spec, seed=seed), shapes, quantize)


def lower_arch(spec: ArchSpec, shapes: ProgramShapes, quantize: str | None = None) -> bytes:
    """The .pte bytes of `spec` with methods `prefill` and `decode` (see module docstring)."""
    return lower_arch_with_report(spec, shapes, quantize).pte
