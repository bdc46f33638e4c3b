"""A lowered program runs in the ExecuTorch runtime and agrees with the PyTorch model."""

from __future__ import annotations

import pytest
import torch
from executorch.runtime import Runtime

from star_search.errors import SpecError
from star_search.lower import CachedProgram, ProgramShapes, lower_arch
from star_search.model import build_model
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
