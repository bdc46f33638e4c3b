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


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(PROFILE))
    return path


@pytest.mark.slow
def test_it_composes_the_stacks_and_compares_them_with_the_whole_model(
        load_benchmark: Callable[[str], ModuleType], profile: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_benchmark("latency_additivity")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    conv, attention, ssm = LayerSpec("conv"), LayerSpec("attention"), LayerSpec("ssm")
    first.write_text(replace(TINY, layers=(conv, attention, conv)).to_json())
    second.write_text(replace(TINY, layers=(conv, ssm)).to_json())
    assert bench.main(["--device", str(profile), "--arch", str(first), "--arch", str(second), "--rounds", "2",
                       "--repeats", "2", "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    # The programs either model needs (once, though both use conv), and both models, each timed once a round.
    for name in ("base", "stack:conv", "ffn2", "stack:attention", "stack:ssm", "whole:1", "whole:2"):
        assert len(re.findall(rf"round \d {re.escape(name)} ", out)) == 2
    ratios = re.findall(r"after 2 rounds, (median of rounds|least disturbed) +(ttft_ms|decode_p50_ms) +"
                        r"(whole:\d) (\w+) .* composed/whole (\d+\.\d+)", out)
    assert {(whole, pattern) for _, _, whole, pattern, _ in ratios} == {("whole:1", "cac"), ("whole:2", "cs")}
    assert len(ratios) == 8 and all(float(ratio) > 0 for *_, ratio in ratios)
    assert "per-round TTFT spread" in out


def test_it_refuses_architectures_of_different_widths(load_benchmark: Callable[[str], ModuleType],
                                                       profile: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_benchmark("latency_additivity")
    narrow, wide = tmp_path / "narrow.json", tmp_path / "wide.json"
    narrow.write_text(TINY.to_json())
    wide.write_text(TINY.with_width(d_model=2 * TINY.d_model).to_json())
    with pytest.raises(SystemExit):
        bench.main(["--device", str(profile), "--arch", str(narrow), "--arch", str(wide),
                    "--cache-dir", str(tmp_path / "cache")])
    assert "every --arch must have the same width" in capsys.readouterr().err
