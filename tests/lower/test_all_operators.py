"""Every operator kind (conv, attention, ssm, linear_attention, swiglu, moe) lowers to one program
whose prefill and decode agree with PyTorch."""

from __future__ import annotations

import torch
from executorch.runtime import Runtime

from star_search.lower import ProgramShapes, lower_arch_with_report
from star_search.model import build_model
from star_search.spec import ArchSpec, LayerSpec

MIXED = ArchSpec(
    d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=128, vocab_size=256, max_seq_len=64,
    moe_num_experts=4, moe_top_k=2, moe_expert_dim=32,
    layers=(LayerSpec("conv"), LayerSpec("ssm"), LayerSpec("linear_attention", "moe"),
            LayerSpec("attention")))
SHAPES = ProgramShapes(prompt_len=8, max_seq_len=16)
TOLERANCE = 1e-4


def test_mixed_program_matches_pytorch(tmp_path) -> None:
    lowered = lower_arch_with_report(MIXED, SHAPES)
    path = tmp_path / "mixed.pte"
    path.write_bytes(lowered.pte)
    program = Runtime.get().load_program(path)
    model = build_model(MIXED).eval()
    tokens = torch.randint(0, MIXED.vocab_size, (1, SHAPES.prompt_len),
                           generator=torch.Generator().manual_seed(1))
    state = model.init_state(1, SHAPES.max_seq_len)
    with torch.no_grad():
        reference, ref_state = model.prefill(tokens, state)
    outputs = program.load_method("prefill").execute([tokens, *state])
    torch.testing.assert_close(outputs[0], reference, atol=TOLERANCE, rtol=0.0)
    decode = program.load_method("decode")
    for step in range(3):
        token = reference.argmax(dim=-1, keepdim=True)
        pos = torch.tensor([SHAPES.prompt_len + step])
        with torch.no_grad():
            reference, ref_state = model.step(token, ref_state, pos)
        outputs = decode.execute([token, pos, *outputs[1:]])
        torch.testing.assert_close(outputs[0], reference, atol=TOLERANCE, rtol=0.0)
    assert all(part.delegated_nodes > 0 for part in lowered.coverage.values())
