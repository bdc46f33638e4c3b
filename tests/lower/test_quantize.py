"""8da4w: int8 dynamic activations, int4 weights; linears stay inside XNNPACK and still run."""

from __future__ import annotations

import pytest
import torch
from executorch.runtime import Runtime

from star_search.lower import ProgramCache, ProgramShapes
from star_search.model import build_model
from star_search.spec import ArchSpec


@pytest.mark.slow
def test_8da4w_program_is_smaller_delegated_and_close(
        program_cache: ProgramCache, tiny_spec: ArchSpec, tiny_shapes: ProgramShapes) -> None:
    quantized = program_cache.get_or_lower(tiny_spec, tiny_shapes, quantize="8da4w")
    model = build_model(tiny_spec).eval()
    fp32_weight_bytes = 4 * sum(p.numel() for p in model.parameters())
    assert quantized.size_bytes < 0.6 * fp32_weight_bytes
    for part in quantized.coverage.values():
        leftover = " ".join(part.portable_ops)
        assert "linear" not in leftover and "quantize" not in leftover, part.portable_ops

    state = model.init_state(1, tiny_shapes.max_seq_len)
    tokens = torch.arange(tiny_shapes.prompt_len).reshape(1, -1)
    with torch.no_grad():
        reference, _ = model.prefill(tokens, state)
    program = Runtime.get().load_program(quantized.path)
    logits = program.load_method("prefill").execute([tokens, *state])[0]
    relative = (logits - reference).norm() / reference.norm()
    assert relative < 0.1, f"8da4w logits are {relative:.3f} away from fp32 (relative L2)"
