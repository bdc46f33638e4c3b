"""Slow tier: one LFM2-scale candidate lowered and measured whole on this CPU."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from star_search import sizing
from star_search.lower import ProgramCache, ProgramShapes
from star_search.profiler import LocalBackend, MeasurementProtocol
from star_search.space import load_space, sample_arch


@pytest.mark.slow
def test_lfm2_scale_candidate_lowers_and_is_measured(tmp_path: Path, project_root: Path) -> None:
    space = load_space(project_root / "search_spaces" / "lfm2_hybrid.yaml")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    spec = sample_arch(space, study.ask())
    assert sizing.param_count(spec) > 300_000_000
    program = ProgramCache(tmp_path).get_or_lower(spec, ProgramShapes(prompt_len=32, max_seq_len=40))
    measurement = LocalBackend().measure(
        program.path, MeasurementProtocol(threads=2, warmup=1, repeats=1, max_repeats=1, prompt_len=32,
                                          decode_steps=8, timeout_s=900))
    assert measurement.source == "measured"
    assert measurement.decode_p50_ms > 0 and measurement.ttft_ms > 0
    # The weights alone are over a gigabyte in fp32; the child's peak RSS must show them.
    assert measurement.peak_rss_bytes > sizing.param_count(spec) * 4 * 0.5
