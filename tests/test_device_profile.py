"""Device profiles: shipped ones load; a wrong one names the field and the value."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from star_search.device_profile import load_profile, parse_profile
from star_search.errors import ProfileError

ROOT = Path(__file__).resolve().parents[1]


def laptop_raw() -> dict:
    return yaml.safe_load((ROOT / "device_profiles" / "laptop_cpu.yaml").read_text())


@pytest.mark.parametrize("path", sorted((ROOT / "device_profiles").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_profiles_load(path: Path) -> None:
    profile = load_profile(path)
    assert profile.name == path.stem
    assert profile.shapes.max_seq_len == profile.shapes.prompt_len + profile.shapes.decode_steps


def test_laptop_cpu_is_local_with_budgets() -> None:
    profile = parse_profile(laptop_raw())
    assert profile.backend == "local"
    assert profile.threads >= 1
    assert profile.budgets.decode_p50_ms is not None


@pytest.mark.parametrize(
    ("mutate", "field", "value"),
    [
        (lambda r: r.update(backend="gpu"), "backend", "'gpu'"),
        (lambda r: r.update(threads=0), "threads", "0"),
        (lambda r: r["shapes"].update(prompt_len=-8), "shapes.prompt_len", "-8"),
        (lambda r: r["shapes"].update(quantize="int3"), "shapes.quantize", "'int3'"),
        (lambda r: r["shapes"].update(llm_ops="yes"), "shapes.llm_ops", "'yes'"),
        (lambda r: r["budgets"].update(decode_p50_ms="fast"), "budgets.decode_p50_ms", "'fast'"),
        (lambda r: r["budgets"].update(latency=3), "budgets.latency", "3"),
        (lambda r: r.update(backend="remote"), "agent.url", "None"),
        (lambda r: r.update(operators=["conv", "mamba"]), "operators[1]", "'mamba'"),
        (lambda r: r.update(operators="conv"), "operators", "'conv'"),
    ],
)
def test_wrong_profile_names_field(mutate, field: str, value: str) -> None:
    raw = copy.deepcopy(laptop_raw())
    mutate(raw)
    with pytest.raises(ProfileError) as info:
        parse_profile(raw, source="laptop.yaml")
    assert f"'{field}'" in str(info.value)
    assert value in str(info.value)


def test_llm_ops_reaches_the_program_shapes() -> None:
    from star_search.lower import ProgramShapes

    raw = copy.deepcopy(laptop_raw())
    assert not ProgramShapes.from_profile(parse_profile(raw)).llm_ops
    raw["shapes"]["llm_ops"] = True
    shapes = ProgramShapes.from_profile(parse_profile(raw))
    assert shapes.llm_ops and shapes.to_dict()["llm_ops"] is True  # so it enters program cache keys


def test_llm_ops_is_refused_on_a_phone() -> None:
    raw = raw_profile("android_snapdragon")
    raw["shapes"]["llm_ops"] = True
    with pytest.raises(ProfileError, match=r"shapes\.llm_ops"):
        parse_profile(raw)


def test_the_searched_backbone_benchmark_profile_loads() -> None:
    """benchmarks/searched_backbone_profile.yaml: the budgets its search ran under."""
    profile = load_profile(ROOT / "benchmarks" / "searched_backbone_profile.yaml")
    assert profile.shapes.llm_ops and profile.shapes.prompt_len == 1024
    assert profile.budgets.ttft_ms and profile.budgets.decode_p50_ms


def raw_profile(name: str) -> dict:
    return yaml.safe_load((ROOT / "device_profiles" / f"{name}.yaml").read_text())


def test_remote_and_android_profiles() -> None:
    remote = load_profile(ROOT / "device_profiles" / "remote_cpu.yaml")
    assert remote.backend == "remote" and remote.agent.endpoints and remote.agent.token_env
    android = load_profile(ROOT / "device_profiles" / "android_snapdragon.yaml")
    assert android.backend == "adb" and android.cores == (4, 5, 6, 7) and android.threads == 4
    for profile in (remote, android):
        assert profile.budgets.decode_p50_ms and profile.budgets.peak_rss_mb and profile.shapes.prompt_len


@pytest.mark.parametrize(
    ("name", "mutate", "field", "value"),
    [
        ("remote_cpu", lambda r: r["agent"].update(token="s3cr3t-token-value"), "agent.token", "<hidden>"),
        ("remote_cpu", lambda r: r["agent"].update(token_file="~/.tok"), "agent.token_env", "STAR_SEARCH"),
        ("remote_cpu", lambda r: r["agent"].update(token_env=None), "agent.token_env", "None"),
        ("remote_cpu", lambda r: r["agent"].update(urls=["ftp://lab-7"]), "agent.urls[0]", "'ftp://lab-7'"),
        ("remote_cpu", lambda r: r["agent"].update(urls="http://lab-7"), "agent.urls", "'http://lab-7'"),
        ("remote_cpu", lambda r: r["agent"].update(url="http://lab-7:8765"), "agent.urls", "http://"),
        ("remote_cpu", lambda r: r["agent"].update(urls=[]), "agent.url", "None"),
        ("android_snapdragon", lambda r: r.update(cores=None), "cores", "None"),
        ("android_snapdragon", lambda r: r.update(threads=8), "threads", "8"),
        ("android_snapdragon", lambda r: r["adb"].update(remote_dir="/data/x; rm -rf /"), "adb.remote_dir",
         "rm -rf"),
        ("android_snapdragon", lambda r: r["adb"].update(shell="sh"), "adb.shell", "'sh'"),
        ("laptop_cpu", lambda r: r["protocol"].update(max_repeats=2), "protocol.max_repeats", "2"),
        ("laptop_cpu", lambda r: r["protocol"].update(cv_target=5), "protocol.cv_target", "5"),
        ("laptop_cpu", lambda r: r["protocol"].update(etdump="yes"), "protocol.etdump", "'yes'"),
    ],
)
def test_backend_sections_name_the_field(name: str, mutate, field: str, value: str) -> None:
    raw = copy.deepcopy(raw_profile(name))
    mutate(raw)
    with pytest.raises(ProfileError) as info:
        parse_profile(raw, source=f"{name}.yaml")
    assert f"'{field}'" in str(info.value)
    assert value in str(info.value)
    assert "s3cr3t" not in str(info.value)  # an inline token is never echoed
