"""A lowered program runs in the ExecuTorch runtime and agrees with the PyTorch model; an MoE
program stores its experts once and runs in the profiler's runtime."""

from __future__ import annotations

import os

import pytest
import torch
from executorch.runtime import Runtime

from star_search.errors import SpecError
from star_search.lower import CachedProgram, ProgramShapes, lower_arch
from star_search.lower.export import gathered_weight_names
from star_search.model import build_model
from star_search.ops.moe import MixtureOfExperts
from star_search.profiler.local import LocalBackend
from star_search.profiler.protocol import MeasurementProtocol
from star_search.spec import ArchSpec

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def program(tiny_program: CachedProgram):
    return Runtime.get().load_program(tiny_program.path)


def test_program_has_prefill_decode_and_shape_constants(
        program, tiny_spec: ArchSpec, tiny_shapes: ProgramShapes) -> None:
    assert {"prefill", "decode"} <= program.method_names
    assert program.load_method("get_prompt_len").execute([])[0] == tiny_shapes.prompt_len
    assert program.load_method("get_max_seq_len").execute([])[0] == tiny_shapes.max_seq_len
    assert program.load_method("get_vocab_size").execute([])[0] == tiny_spec.vocab_size


def test_prefill_then_decode_match_pytorch(
        program, tiny_spec: ArchSpec, tiny_shapes: ProgramShapes) -> None:
    model = build_model(tiny_spec).eval()
    state = model.init_state(1, tiny_shapes.max_seq_len)
    tokens = torch.randint(0, tiny_spec.vocab_size, (1, tiny_shapes.prompt_len),
                           generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref_logits, ref_state = model.prefill(tokens, state)
    outputs = program.load_method("prefill").execute([tokens, *state])
    assert outputs[0].shape == (1, tiny_spec.vocab_size)
    torch.testing.assert_close(outputs[0], ref_logits, atol=TOLERANCE, rtol=0.0)
    et_state = tuple(outputs[1:])
    decode = program.load_method("decode")
    for step in range(4):
        token = ref_logits.argmax(dim=-1, keepdim=True)
        pos = torch.tensor([tiny_shapes.prompt_len + step])
        with torch.no_grad():
            ref_logits, ref_state = model.step(token, ref_state, pos)
        outputs = decode.execute([token, pos, *et_state])
        et_state = tuple(outputs[1:])
        torch.testing.assert_close(outputs[0], ref_logits, atol=TOLERANCE, rtol=0.0)
        for ours, theirs in zip(et_state, ref_state, strict=True):
            torch.testing.assert_close(ours, theirs, atol=TOLERANCE, rtol=0.0)


def test_coverage_counts_delegated_and_portable_nodes(tiny_program: CachedProgram) -> None:
    assert set(tiny_program.coverage) == {"prefill", "decode"}
    for part in tiny_program.coverage.values():
        assert part.delegate_calls > 0 and part.delegated_nodes > 0
        assert part.portable_nodes == sum(part.portable_ops.values())
        assert 0.0 < part.delegated_fraction <= 1.0


def test_shapes_and_quantize_are_validated(tiny_spec: ArchSpec, tiny_shapes: ProgramShapes) -> None:
    with pytest.raises(SpecError, match="max_seq_len"):
        ProgramShapes(prompt_len=16, max_seq_len=16)
    with pytest.raises(SpecError, match="dtype"):
        ProgramShapes(prompt_len=8, max_seq_len=16, dtype="int3")
    with pytest.raises(SpecError, match="quantize"):
        lower_arch(tiny_spec, tiny_shapes, quantize="2bit")


def test_moe_expert_weights_are_stored_once(tiny_moe_program: CachedProgram,
                                            tiny_moe_spec: ArchSpec) -> None:
    """Prefill's XNNPACK linears and decode's gathers read one copy of the expert weights."""
    model = build_model(tiny_moe_spec)
    experts = [getattr(block.ffn, name) for block in model.blocks
               for name in MixtureOfExperts.GATHERED_WEIGHTS]
    assert gathered_weight_names(model) == {
        f"blocks.{index}.ffn.{name}" for index in range(len(model.blocks))
        for name in MixtureOfExperts.GATHERED_WEIGHTS}
    expert_bytes = sum(weight.nbytes for weight in experts)
    param_bytes = sum(parameter.nbytes for parameter in model.parameters())
    # Every parameter once, the tied embedding a second time (decode's embedding gather reads
    # the constant, the LM head is packed by XNNPACK) and some program overhead; the experts
    # a second time (768 KiB here) would not fit.
    budget = param_bytes + model.embed.weight.nbytes + expert_bytes // 4
    assert tiny_moe_program.size_bytes < budget, (
        f"{tiny_moe_program.size_bytes} B program for {param_bytes} B of parameters "
        f"({expert_bytes} B of experts)")


def test_moe_programs_run_in_the_profiler(tiny_moe_program: CachedProgram,
                                          tiny_moe_8da4w_program: CachedProgram,
                                          tiny_moe_shapes: ProgramShapes) -> None:
    protocol = MeasurementProtocol(threads=min(2, len(os.sched_getaffinity(0))), warmup=1,
                                   repeats=2, max_repeats=2,
                                   prompt_len=tiny_moe_shapes.prompt_len, decode_steps=4)
    for program in (tiny_moe_program, tiny_moe_8da4w_program):
        measurement = LocalBackend().measure(program.path, protocol)
        assert measurement.ttft_ms > 0 and measurement.decode_p50_ms > 0
        assert measurement.peak_rss_bytes > measurement.baseline_rss_bytes > 0
