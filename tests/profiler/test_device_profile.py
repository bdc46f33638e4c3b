"""Device profiles: shipped ones load; a wrong one names the field and the value."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from star_search.errors import ProfileError
from star_search.profiler.device_profile import load_profile, parse_profile, with_changes
from star_search.profiler.protocol import MeasurementProtocol

ROOT = Path(__file__).resolve().parents[2]


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
    raw = copy.deepcopy(laptop_raw())
    assert not parse_profile(raw).shapes.program.llm_ops
    raw["shapes"].update(llm_ops=True, dynamic_prompt=True)
    shapes = parse_profile(raw).shapes.program
    assert shapes.llm_ops and shapes.to_dict()["llm_ops"] is True  # so it enters program cache keys
    assert shapes.dynamic_prompt
    assert shapes.max_seq_len == raw["shapes"]["prompt_len"] + raw["shapes"]["decode_steps"]


def test_the_profile_yields_the_protocol_the_profiler_takes() -> None:
    raw = copy.deepcopy(laptop_raw())
    profile = parse_profile(raw)
    protocol = profile.protocol
    assert isinstance(protocol, MeasurementProtocol)
    assert (protocol.threads, protocol.prompt_len, protocol.decode_steps) == (
        raw["threads"], raw["shapes"]["prompt_len"], raw["shapes"]["decode_steps"])
    assert protocol.repeats == raw["protocol"]["repeats"]
    assert protocol.timeout_s == raw["protocol"]["timeout_s"]
    # Without a protocol section the defaults are MeasurementProtocol's own (one set of defaults).
    del raw["protocol"]
    defaults = MeasurementProtocol()
    bare = parse_profile(raw).protocol
    assert (bare.repeats, bare.max_repeats, bare.timeout_s) == (
        defaults.repeats, defaults.max_repeats, defaults.timeout_s)


def test_with_changes_derives_shapes_and_protocol_again() -> None:
    profile = parse_profile(laptop_raw())
    changed = with_changes(profile, {"threads": 1, "shapes": {"prompt_len": 16, "quantize": "8da4w"}})
    assert changed.protocol.threads == 1 and changed.protocol.prompt_len == 16
    assert changed.shapes.program.prompt_len == 16 and changed.shapes.quantize == "8da4w"
    assert changed.shapes.decode_steps == profile.shapes.decode_steps
    assert with_changes(profile, {}) == profile  # the document round-trips
    with pytest.raises(ProfileError, match=r"shapes\.prompt_len"):
        with_changes(profile, {"shapes": {"prompt_len": 0}})


def test_llm_ops_is_refused_on_a_phone() -> None:
    raw = raw_profile("android_snapdragon")
    raw["shapes"]["llm_ops"] = True
    with pytest.raises(ProfileError, match=r"shapes\.llm_ops"):
        parse_profile(raw)


def test_the_searched_backbone_benchmark_profile_loads() -> None:
    """benchmarks/searched_backbone_profile.yaml: the budgets its search ran under."""
    profile = load_profile(ROOT / "benchmarks" / "searched_backbone_profile.yaml")
    assert profile.shapes.program.llm_ops and profile.shapes.prompt_len == 1024
    assert profile.budgets.ttft_ms and profile.budgets.decode_p50_ms


def raw_profile(name: str) -> dict:
    return yaml.safe_load((ROOT / "device_profiles" / f"{name}.yaml").read_text())


def test_remote_and_android_profiles() -> None:
    remote = load_profile(ROOT / "device_profiles" / "remote_cpu.yaml")
    agent = remote.backend_settings
    assert remote.backend == "remote" and agent.endpoints and agent.token_env
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
        ("laptop_cpu", lambda r: r["protocol"].update(threads=4), "protocol.threads", "4"),
        ("laptop_cpu", lambda r: r["shapes"].update(max_seq_len=99), "shapes.max_seq_len", "99"),
        ("laptop_cpu", lambda r: r.update(adb={"serial": "x"}), "adb", "backend adb"),
        ("remote_cpu", lambda r: r.update(backend="local"), "agent", "backend remote"),
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
