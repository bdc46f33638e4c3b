"""`star-search profile`: one architecture lowered (here: found in the program cache) and measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from star_search.commands.profile import profile_spec
from star_search.errors import SpecError
from star_search.lower import ProgramCache
from star_search.presets import preset
from star_search.profiler import MeasurementProtocol
from star_search.profiler.local import file_sha256
from star_search.spec import ArchSpec

ROOT = Path(__file__).resolve().parents[2]


def _profile_command(*overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "star_search.commands.cli", "profile", *overrides],
                          capture_output=True, text=True, timeout=300)


def test_profile_prints_a_table_and_times_nothing_twice(
        tmp_path: Path, tiny_pte: Path, tiny_spec: ArchSpec, tiny_program_cache: ProgramCache,
        quick_protocol: MeasurementProtocol) -> None:
    prompt_len, decode_steps = quick_protocol.prompt_len, quick_protocol.decode_steps
    raw = yaml.safe_load((ROOT / "device_profiles" / "laptop_cpu.yaml").read_text())
    raw.update(name="tiny_cpu", threads=1)
    raw["shapes"].update(prompt_len=prompt_len, decode_steps=decode_steps)
    raw["protocol"].update(repeats=2, max_repeats=3)
    (tmp_path / "tiny_cpu.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "arch.json").write_text(tiny_spec.to_json())
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "programs").symlink_to(tiny_program_cache.directory)  # already lowered
    args = (f"device={tmp_path / 'tiny_cpu.yaml'}", f"preset={tmp_path / 'arch.json'}",
            f"cache_dir={tmp_path / 'cache'}", f"json_out={tmp_path / 'out.json'}")

    first = _profile_command(*args)
    assert first.returncode == 0, first.stderr[-2000:]
    table = first.stdout
    for row in ("architecture", "time to first token", "decode", "decode noise", "repeats", "peak RSS",
                "delegated to XNNPACK"):
        assert f"\n{row} " in f"\n{table}", table
    assert f"arch_id {tiny_spec.arch_id}" in table and "from cache)" in table and "measured" in table
    record = json.loads((tmp_path / "out.json").read_text())
    m = record["measurement"]
    assert m["source"] == "measured" and m["program_sha256"] == file_sha256(tiny_pte)
    assert 0 < m["delegated_fraction"] <= 1 and m["prompt_len"] == prompt_len
    assert 2 <= m["repeats"] <= 3 and len(m["decode_samples_ms"]) == m["repeats"] * decode_steps

    second = _profile_command(*args)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "from the measurement cache" in second.stdout
    assert json.loads((tmp_path / "out.json").read_text())["measurement"] == m


def test_profile_names_a_bad_preset() -> None:
    result = _profile_command("preset=lfm2-9000b")
    assert result.returncode == 2
    assert "field 'preset' has invalid value 'lfm2-9000b'" in result.stderr and "lfm2-350m" in result.stderr


def test_profile_spec_scales_a_preset_to_a_width() -> None:
    spec = profile_spec("lfm2-350m", width=256, vocab_size=4096)
    full = preset("lfm2-350m")
    assert (spec.d_model, spec.vocab_size, spec.mixers()) == (256, 4096, full.mixers())
    assert spec.ffn_dim == round(full.ffn_dim * 256 / 1024)
    with pytest.raises(SpecError, match=r"arch\.json"):
        profile_spec("/nonexistent/arch.json")


def test_a_profile_with_llm_ops_lowers_attention_on_the_custom_ops(
        tmp_path: Path, tiny_spec: ArchSpec, quick_protocol: MeasurementProtocol) -> None:
    from executorch.runtime import Runtime

    from star_search.profiler.device_profile import parse_profile
    from star_search.profiler.meter import Meter

    raw = yaml.safe_load((ROOT / "device_profiles" / "laptop_cpu.yaml").read_text())
    raw.update(name="tiny_llm_ops", threads=1)
    raw["shapes"].update(prompt_len=quick_protocol.prompt_len, decode_steps=quick_protocol.decode_steps,
                         llm_ops=True)
    profile = parse_profile(raw)
    whole = Meter.for_profile(profile, tmp_path).measure(tiny_spec, quick_protocol)

    program = Runtime.get().load_program(str(whole.program.path))
    assert "get_llm_ops" in program.method_names  # only programs lowered with llm_ops carry it
    m = whole.measurement
    assert m.source == "measured" and m.ttft_ms > 0 and m.decode_p50_ms > 0
    assert len(m.decode_samples_ms) == m.repeats * quick_protocol.decode_steps
