"""One measurement path: a search and `star-search profile` under the same profile lower the same
program and time it once (issue 22), for attention on the LLM custom ops and for 8da4w."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from star_search.profiler.device_profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]
# A space holding exactly one architecture: conv then attention, 64 wide.
ONE_ARCH_SPACE = """\
name: one_arch
fixed: {vocab_size: 256, head_dim: 16, n_kv_heads: 2, ffn_multiple_of: 16, max_seq_len: 128}
params:
  d_model: {choices: [64]}
  ffn_ratio: {choices: [2.0]}
layers:
  - slots: [conv, attention]
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*STAR_SEARCH, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def _profile_file(tmp_path: Path, shapes: dict[str, object]) -> Path:
    raw = yaml.safe_load((ROOT / "device_profiles" / "laptop_cpu.yaml").read_text())
    raw.update(name="one_meter", threads=1)
    raw["shapes"].update(prompt_len=8, decode_steps=4, **shapes)
    raw["protocol"].update(repeats=2, max_repeats=2, timeout_s=120)
    path = tmp_path / "one_meter.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("shapes", [{"llm_ops": True}, {"quantize": "8da4w"}], ids=["llm_ops", "8da4w"])
def test_search_and_profile_share_one_program_and_one_measurement(tmp_path: Path, shapes) -> None:
    space = tmp_path / "one_arch.yaml"
    space.write_text(ONE_ARCH_SPACE)
    device = _profile_file(tmp_path, shapes)
    run = tmp_path / "run"
    _cli("search", f"space={space}", f"device={device}", "search.n_trials=1", "proxies.steps=2",
         f"out_dir={run}", cwd=tmp_path)

    study = optuna.load_study(study_name=None, storage=f"sqlite:///{run / 'study.db'}")
    (trial,) = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    searched = trial.user_attrs["measurement"]
    measurements = run / "cache" / "measurements"
    assert len(list(measurements.glob("*.json"))) == 1

    printed = _cli("profile", f"device={device}", f"preset={run / 'export' / 'arch.json'}",
                   f"cache_dir={run / 'cache'}", f"json_out={tmp_path / 'profile.json'}", cwd=tmp_path).stdout
    profiled = json.loads((tmp_path / "profile.json").read_text())["measurement"]
    assert profiled["program_sha256"] == searched["program_sha256"]  # the very same program
    assert "from cache)" in printed and "from the measurement cache" in printed  # neither lowered nor timed
    assert profiled["ttft_samples_ms"] == searched["ttft_samples_ms"]  # the search's own samples
    assert len(list(measurements.glob("*.json"))) == 1  # timed once, stored once

    # The program is the one the profile asks for: its shapes and quantization are in the cache key.
    program = load_profile(device).shapes
    (sidecar,) = (run / "cache" / "programs").glob("*.json")
    key = json.loads(sidecar.read_text())["key_fields"]
    assert key["shapes"] == program.program.to_dict() and key["quantize"] == program.quantize
