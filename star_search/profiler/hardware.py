"""What CPU a local measurement ran on: its model name and vector instruction sets.

A latency table holds for the machine it was timed on. A VM keeps its host name (and so its
device id) when it moves to another host, and its CPU's vector units decide how the GEMMs that
dominate a prefill compare with the rest of a program: on 2026-12-07 this VM came back ≈ 1.7×
faster at LFM2-350M's prefill, reporting AVX-512 (what it reported before was not recorded), and
the held-out models' TTFT relative to LFM2-350M moved by up to 25% against a table timed before
(BENCHMARKS.md, "pairs in rounds"). So a table records the CPU it was built on and the predictor
says so when it is used on another (`LatencyPredictor.open`).
"""

from __future__ import annotations

import platform
import re
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# Flags that change how fast the kernels run: x86 SIMD families and Arm's vector extensions.
_VECTOR_FLAG = re.compile(r"^(sse\S*|ssse3|avx\S*|fma\S*|f16c|amx\S*|asimd\S*|sve\S*|sme(?!p$)\S*|i8mm|bf16|"
                          r"dotprod|neon|fphp)$")


def local_cpu(cpuinfo: Path = CPUINFO) -> dict[str, str]:
    """{"cpu": model name, "isa": its vector instruction sets, space-separated and sorted}; from
    /proc/cpuinfo where there is one, else the model name `platform` gives and no "isa"."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return {"cpu": platform.processor() or platform.machine()}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    model = fields.get("model name") or fields.get("hardware") or fields.get("cpu part") or platform.machine()
    flags = (fields.get("flags") or fields.get("features") or "").split()
    return {"cpu": model, "isa": " ".join(sorted({flag for flag in flags if _VECTOR_FLAG.match(flag)}))}


def differences(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """How `current` differs from `recorded`, field by field ("isa: +avx512f -avx2", "cpu: A -> B");
    empty when they agree or either is unknown (an empty record)."""
    if not recorded or not current:
        return []
    out = []
    if recorded.get("cpu") != current.get("cpu"):
        out.append(f"cpu: {recorded.get('cpu')!r} -> {current.get('cpu')!r}")
    before, after = set(recorded.get("isa", "").split()), set(current.get("isa", "").split())
    if before != after:
        added = [f"+{flag}" for flag in sorted(after - before)]
        out.append("isa: " + " ".join(added + [f"-{flag}" for flag in sorted(before - after)]))
    return out
