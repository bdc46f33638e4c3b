"""benchmarks/front_vs_reference.py on a tiny real study: its trials re-timed beside the reference."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from star_search.profiler.device_profile import load_profile
from star_search.proxies.suite import proxy_config_for_tier
from star_search.search import SearchSettings, run_search
from star_search.space import load_space
from tests.conftest import ROOT, TINY

PROFILE = {"name": "tiny-cpu", "backend": "local", "threads": 1,
           "shapes": {"prompt_len": 16, "decode_steps": 4, "context_len": 64},
           "protocol": {"warmup": 1, "repeats": 1, "max_repeats": 1}}


@pytest.mark.slow
def test_trials_and_reference_are_timed_together_and_compared(
        load_benchmark: Callable[[str], ModuleType], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_benchmark("front_vs_reference")
    profile_path = tmp_path / "tiny.yaml"
    profile_path.write_text(yaml.safe_dump(PROFILE))
    reference = replace(TINY, name="tiny-reference")
    arch = tmp_path / "reference.json"
    arch.write_text(reference.to_json())
    settings = SearchSettings(space=load_space(ROOT / "search_spaces" / "demo.yaml"),
                              profile=load_profile(profile_path), out_dir=tmp_path / "run", n_trials=2,
                              seed=0, proxies=replace(proxy_config_for_tier("demo"), steps=20),
                              references=(reference,))
    run_search(settings, echo=lambda line: None)
    out_json = tmp_path / "rows.json"
    assert bench.main(["--study", str(tmp_path / "run"), "--device", str(profile_path),
                       "--reference", str(arch), "--trials", "0,1", "--rounds", "2", "--repeats", "1",
                       "--json-out", str(out_json)]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out_json.read_text())["rows"]
    assert [row["name"] for row in rows] == [str(arch), "#0", "#1"]
    assert rows[0]["decode_speedup"] == 1.0 and rows[0]["rss_ratio"] == 1.0
    assert rows[0]["quality"] is not None  # the reference's quality, from the study's own record
    for row in rows[1:]:
        assert row["decode_speedup"] > 0 and row["prefill_speedup"] > 0 and row["recorded"] is not None
    assert len(re.findall(r"^\| #\d ", out, flags=re.MULTILINE)) == 2
    assert "3 programs, 2 rounds" in out or "2 programs, 2 rounds" in out
