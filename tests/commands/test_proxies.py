"""`star-search proxies list` and `star-search proxies run`: the library functions and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from star_search.commands.architectures import resolve_arch
from star_search.commands.proxies import run_for_arch, settings_table
from star_search.errors import SpecError
from star_search.presets import preset
from star_search.proxies import TIERS, all_tasks

STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]


def test_settings_table_has_a_line_per_setting_and_the_count() -> None:
    lines = settings_table().splitlines()
    assert len(lines) == 1 + len(all_tasks()) + 1
    assert lines[-1] == f"{len(all_tasks())} settings in 14 families registered"
    mqar = next(line for line in lines if "mqar/pairs4-keys32-values32" in line).split()
    assert mqar == ["mqar", "mqar/pairs4-keys32-values32", "accuracy", "0.0312", "17"]
    fast = settings_table("fast").splitlines()
    assert fast[-1].startswith(f"{len(TIERS['fast'].tasks)} settings in 14 families in tier fast")


def test_resolve_arch_takes_a_preset_or_an_arch_json(tmp_path: Path) -> None:
    assert resolve_arch("lfm2-350m") == preset("lfm2-350m")
    path = tmp_path / "arch.json"
    path.write_text(preset("lfm2-700m").to_json())
    assert resolve_arch(str(path)) == preset("lfm2-700m")
    with pytest.raises(SpecError, match="'arch' has invalid value 'gpt'"):
        resolve_arch("gpt")
    with pytest.raises(SpecError, match=r"readable arch\.json"):
        resolve_arch(str(tmp_path / "missing.json"))


def test_run_for_arch_scores_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "proxy.json"
    run = run_for_arch("lfm2-350m", tier="demo", json_out=str(out), steps=3, eval_samples=4, device="cpu",
                       family_weights={"mqar": 2.0}, seed=None)
    text = run.summary()
    assert "lfm2-350m ccaccaccacacacac: tier demo, 8 settings, 3 steps" in text
    assert "mqar/pairs4-keys32-values32" in text and "quality" in text
    assert re.search(r"mqar \d\.\d{3} \(2\)", text)  # family mean and its weight
    record = json.loads(out.read_text())
    assert record["proxy"]["family_weights"]["mqar"] == 2.0
    assert record["proxy"]["quality"] == pytest.approx(run.result.quality)
    assert "seed spread of this quality: not measured for this recipe" in text  # 3 steps: never repeated
    assert "quality_sd" not in record["proxy"]


def test_cli_lists_settings_and_reports_bad_arguments(tmp_path: Path) -> None:
    listed = subprocess.run([*STAR_SEARCH, "proxies", "list"], capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().endswith(f"{len(all_tasks())} settings in 14 families registered")
    bad = subprocess.run([*STAR_SEARCH, "proxies", "run", "arch=lfm2-350m", "tier=fast", "steps=2",
                          "family_weights={recall: 2}"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "proxies.family_weights" in bad.stderr and "'recall'" in bad.stderr
