"""A program lowered with `llm_ops` and `dynamic_prompt` runs and computes what the model does.

Slow: it lowers a tiny conv+attention model (fp32) through ExecuTorch/XNNPACK. The `.pte` is run
with ExecuTorch's runtime at two prompt lengths, each followed by decode steps (the KV cache is
shared by the two methods as mutable buffers), and every logit is compared with the plain eager
model; then the profiler's local backend measures it at both prompt lengths.
"""

from __future__ import annotations

import pytest
import torch

from star_search.lower.cache import ProgramCache
from star_search.lower.programs import ProgramShapes
from star_search.model import build_model
from star_search.ops.llm_attention import load_llm_ops
from star_search.profiler.local import LocalBackend
from star_search.profiler.protocol import MeasurementProtocol
from star_search.spec import ArchSpec, LayerSpec

pytestmark = pytest.mark.slow

SPEC = ArchSpec(d_model=64, layers=(LayerSpec("conv"), LayerSpec("attention"), LayerSpec("attention")),
                n_heads=4, n_kv_heads=2, head_dim=32, ffn_dim=128, vocab_size=256, name="tiny-llm-ops")
SHAPES = ProgramShapes(prompt_len=12, max_seq_len=24, dynamic_prompt=True, llm_ops=True)


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory):
    return ProgramCache(tmp_path_factory.mktemp("llm-ops")).get_or_lower(SPEC, SHAPES)


def test_lowered_llm_ops_program_matches_eager(program) -> None:
    from executorch.runtime import Runtime

    load_llm_ops()
    model = build_model(SPEC).eval()
    loaded = Runtime.get().load_program(str(program.path))
    prefill, decode = loaded.load_method("prefill"), loaded.load_method("decode")
    assert prefill.metadata.num_inputs() == 1 + 1  # tokens + the conv window; no KV cache
    for prompt_len in (12, 5):  # the second sequence reuses the cache buffers without clearing
        generator = torch.Generator().manual_seed(prompt_len)
        tokens = torch.randint(0, SPEC.vocab_size, (1, prompt_len), generator=generator)
        with torch.no_grad():
            expected, state = model.prefill(tokens, model.init_state(1, SHAPES.max_seq_len))
        outputs = prefill.execute([tokens, torch.zeros(1, SPEC.d_model, SPEC.conv_kernel - 1)])
        torch.testing.assert_close(outputs[0], expected, rtol=1e-3, atol=1e-3)
        for step in range(5):
            token = expected.argmax(-1).reshape(1, 1)
            pos = torch.tensor([prompt_len + step])
            with torch.no_grad():
                expected, state = model.step(token, state, pos)
            outputs = decode.execute([token, pos, *outputs[1:]])
            torch.testing.assert_close(outputs[0], expected, rtol=1e-3, atol=1e-3)


def test_local_backend_measures_both_prompt_lengths(program) -> None:
    backend = LocalBackend()
    for prompt_len in (6, 12):
        m = backend.measure(program.path, MeasurementProtocol(
            threads=1, warmup=1, repeats=1, max_repeats=1, prompt_len=prompt_len, decode_steps=4))
        assert m.prompt_len == prompt_len and m.ttft_ms > 0 and m.decode_p50_ms > 0
    with pytest.raises(Exception, match="2 to 12 tokens"):
        backend.measure(program.path, MeasurementProtocol(threads=1, prompt_len=13, decode_steps=4))
