"""benchmarks/lfm2_vs_attention.py: the models it compares, and a whole run at tiny scale (slow)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from star_search.sizing import param_count
from star_search.spec import ArchSpec, LayerSpec


@pytest.fixture
def bench(load_benchmark: Callable[[str], ModuleType]) -> ModuleType:
    return load_benchmark("lfm2_vs_attention")


def test_baseline_has_qwen3_0_6b_shape(bench: ModuleType) -> None:
    spec = bench.qwen3_shape()
    assert spec.pattern() == "a" * 28
    assert (spec.d_model, spec.n_heads, spec.n_kv_heads, spec.head_dim, spec.ffn_dim, spec.vocab_size) == (
        1024, 16, 8, 128, 3072, 151_936)
    assert spec.tie_embeddings
    # Qwen3-0.6B: 596M parameters with tied embeddings (0.44B without the embedding).
    assert param_count(spec) == pytest.approx(596e6, rel=0.01)


def test_write_baseline_writes_the_baseline_arch_json(bench: ModuleType, tmp_path: Path) -> None:
    assert bench.main(["--write-baseline", str(tmp_path / "qwen3.json")]) == 0
    assert ArchSpec.from_json((tmp_path / "qwen3.json").read_text()) == bench.qwen3_shape()


def test_missing_searched_backbone_is_skipped_with_a_note(bench: ModuleType, tmp_path: Path) -> None:
    specs, note = bench.models(tmp_path / "absent.json", bench.SCALES["full"])
    assert list(specs) == ["lfm2-350m", bench.BASELINE]
    assert "absent.json" in note and "skipped" in note


def test_shipped_searched_backbone_is_at_lfm2_350m_size(bench: ModuleType) -> None:
    specs, note = bench.models(bench.DEFAULT_SEARCHED, bench.SCALES["full"])
    assert note is None and list(specs) == ["lfm2-350m", "searched", bench.BASELINE]
    ratio = param_count(specs["searched"]) / param_count(specs["lfm2-350m"])
    assert abs(ratio - 1) < 0.03


SEARCHED = ArchSpec(d_model=256, layers=tuple(LayerSpec(m) for m in ("conv", "conv", "attention", "ssm")),
                    n_heads=4, n_kv_heads=2, head_dim=64, ffn_dim=768, vocab_size=4096, name="found")


@pytest.mark.slow
def test_tiny_run_writes_the_ratio_table(bench: ModuleType, tmp_path: Path) -> None:
    searched = tmp_path / "arch.json"
    searched.write_text(SEARCHED.to_json())
    md, out = tmp_path / "BENCHMARKS.md", tmp_path / "figures.json"
    md.write_text("# Benchmarks\n\nearlier text\n")
    assert bench.main(["--scale", "tiny", "--rounds", "1", "--dtypes", "fp32", "--searched", str(searched),
                       "--cache-dir", str(tmp_path / "cache"), "--benchmarks-md", str(md),
                       "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    keys = {f"{model}/fp32/{figure}" for model in ("lfm2-350m", "searched")
            for figure in ("prefill_short", "prefill_long", "decode", "rss_mib")}
    assert set(figures["ratios"]) == keys
    assert all(value > 0 for value in figures["ratios"].values())
    text = md.read_text()
    assert text.startswith("# Benchmarks\n\nearlier text\n")
    section = text.split(bench.SECTION_START, 1)[1].split(bench.SECTION_END, 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ") and "/ baseline" in line]
    assert table == ["| figure | dtype | lfm2-350m / baseline | searched / baseline |"]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "| fp32 |" in line]
    assert len(rows) == 4 + 3  # four ratio rows, three models in the absolute table
