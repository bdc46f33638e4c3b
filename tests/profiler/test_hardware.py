"""The CPU a table was timed on: read from /proc/cpuinfo, recorded in the table, checked on use."""

from __future__ import annotations

from pathlib import Path

from star_search.latency import LatencyPredictor
from star_search.latency.predictor import table_settings
from star_search.latency.table import LatencyTable
from star_search.profiler.device_profile import parse_profile
from star_search.profiler.hardware import differences, local_cpu
from star_search.profiler.meter import Meter

X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R45
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c smep avx512f avx512_bf16 avx512_vp2intersect

processor\t: 1
model name\t: AMD EPYC 9R45
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c smep avx512f avx512_bf16 avx512_vp2intersect
"""
ARM = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp sve i8mm bf16 sme
CPU part\t: 0xd4f
"""


def test_vector_units_are_read_from_cpuinfo(tmp_path: Path) -> None:
    x86 = tmp_path / "x86"
    x86.write_text(X86)
    assert local_cpu(x86) == {"cpu": "AMD EPYC 9R45",
                              "isa": "avx avx2 avx512_bf16 avx512_vp2intersect avx512f f16c fma "
                                     "sse sse2 sse4_1 sse4_2 ssse3"}  # not fpu, not smep
    arm = tmp_path / "arm"
    arm.write_text(ARM)
    assert local_cpu(arm) == {"cpu": "0xd4f", "isa": "asimd asimddp asimdhp bf16 fphp i8mm sme sve"}
    assert local_cpu(tmp_path / "missing")["cpu"]  # no cpuinfo: a model name, no vector units


def test_differences_name_what_changed_and_nothing_when_unknown() -> None:
    old = {"cpu": "AMD EPYC", "isa": "avx avx2 fma"}
    new = {"cpu": "AMD EPYC", "isa": "avx avx2 avx512f fma"}
    assert differences(old, new) == ["isa: +avx512f"]
    assert differences(old, {"cpu": "Other", "isa": "avx"}) == ["cpu: 'AMD EPYC' -> 'Other'",
                                                                "isa: -avx2 -fma"]
    assert differences(old, old) == [] and differences({}, new) == [] and differences(old, {}) == []


def _open(tmp_path: Path, recorded: dict[str, str]) -> list[str]:
    """Open a predictor over a table recorded as timed on `recorded`; the lines it says."""
    profile = parse_profile({"name": "p"})
    meter = Meter.for_profile(profile, tmp_path)
    table = LatencyTable.open(tmp_path / "latency", profile.name, table_settings(profile, meter.device_id))
    table.hardware = recorded
    table.save()
    assert LatencyTable.open(tmp_path / "latency", profile.name, table.settings).hardware == recorded
    said: list[str] = []
    LatencyPredictor.open(profile, tmp_path / "latency", meter, echo=said.append)
    return said


def test_a_table_used_on_another_processor_says_so(tmp_path: Path) -> None:
    said = _open(tmp_path, {"cpu": "Some Other CPU", "isa": "sse sse2"})
    assert len(said) == 1 and "timed on another processor" in said[0] and "delete the table" in said[0]
    assert "Some Other CPU" in said[0]


def test_a_table_on_its_own_processor_or_of_unknown_origin_says_nothing(tmp_path: Path) -> None:
    assert _open(tmp_path / "same", local_cpu()) == []
    assert _open(tmp_path / "unknown", {}) == []
