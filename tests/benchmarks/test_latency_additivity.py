"""benchmarks/latency_additivity.py at tiny scale: real programs, timed in rounds, composed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from star_search.spec import LayerSpec
from tests.conftest import TINY

PROFILE = {"name": "tiny-cpu", "backend": "local", "threads": 1,
           "shapes": {"prompt_len": 16, "decode_steps": 4, "context_len": 64},
           "protocol": {"warmup": 1, "repeats": 1, "max_repeats": 1}, "latency": {"stack_layers": 2}}


@pytest.mark.slow
def test_it_composes_the_stacks_and_compares_them_with_the_whole_model(
        load_benchmark: Callable[[str], ModuleType], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_benchmark("latency_additivity")
    profile = tmp_path / "tiny.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    arch = tmp_path / "arch.json"
    layers = (LayerSpec("conv"), LayerSpec("attention"), LayerSpec("conv"))
    arch.write_text(replace(TINY, layers=layers).to_json())
    assert bench.main(["--device", str(profile), "--arch", str(arch), "--rounds", "2", "--repeats", "2",
                       "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    # The programs a conv + attention model needs, and the model itself, each timed once a round.
    for name in ("base", "stack:conv", "ffn2", "stack:attention", "whole"):
        assert len(re.findall(rf"round \d {re.escape(name)} ", out)) == 2
    ratios = re.findall(r"after 2 rounds, (median of rounds|least disturbed) +(ttft_ms|decode_p50_ms) .* "
                        r"composed/whole (\d+\.\d+)", out)
    assert len(ratios) == 4 and all(float(ratio) > 0 for *_, ratio in ratios)
    assert "per-round TTFT spread" in out
