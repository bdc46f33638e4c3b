"""Malformed inputs through the real command: `star-search search` with a broken space, device
profile or override exits non-zero, names the field, prints no Python traceback, and stops before
any work (no study, no lowering).

Each case is one process (each imports torch), so the table is kept short and the processes run a
few at a time; tests/space, tests/profiler and tests/test_spec_properties.py fuzz the parsers
themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]
DEMO = (ROOT / "search_spaces" / "demo.yaml").read_text()
LAPTOP = yaml.safe_load((ROOT / "device_profiles" / "laptop_cpu.yaml").read_text())


def _profile(**sections: dict[str, object]) -> str:
    document = {key: dict(value) if isinstance(value, dict) else value for key, value in LAPTOP.items()}
    for section, change in sections.items():
        document[section].update(change)
    return yaml.safe_dump(document)


@dataclass(frozen=True)
class Case:
    """One run: the space file (None: demo), the profile file (None: laptop_cpu), extra overrides,
    and what stderr must contain."""

    name: str
    space: str | bytes | None = None
    profile: str | None = None
    overrides: tuple[str, ...] = ()
    named: tuple[str, ...] = ()


CASES = [
    Case("step-list", space=DEMO.replace("step: 0.5", "step: []"), named=("params.ffn_ratio.step",)),
    Case("step-past-range", space=DEMO.replace("ffn_ratio: {low: 2.0, high: 4.0, step: 0.5}",
                                               "ffn_ratio: {low: 2.5, high: 5.0, step: 1176}"),
         named=("params.ffn_ratio.step", "1176")),
    Case("yaml-syntax", space="name: [unclosed\n", named=("'space'", "valid YAML")),
    Case("empty-file", space="", named=("'space'", "a mapping")),
    Case("not-utf8", space=b"\xff\xfe\x00name", named=("'space'", "UTF-8")),
    Case("mistyped-mixer", space=DEMO.replace("[conv, attention]}", "[conv, atention]}"),
         named=("layers[0].slots[0].mixer[1]", "did you mean 'attention'?")),
    Case("kv-heads", space=DEMO.replace("n_kv_heads: 2", "n_kv_heads: 3"), named=("n_kv_heads",)),
    Case("huge-repeat", space=DEMO.replace("repeat: 2", "repeat: 1000000000"), named=("layers[0].repeat",)),
    Case("protocol-list", profile=_profile(protocol={"warmup": ["x"]}), named=("protocol.warmup",)),
    Case("budget-nan", profile=_profile(budgets={"ttft_ms": float("nan")}), named=("budgets.ttft_ms",)),
    Case("n-trials", overrides=("search.n_trials=-1",), named=("search.n_trials",)),
    Case("mistyped-override", overrides=("search.n_trail=3",), named=("did you mean 'search.n_trials'?",)),
    Case("override-type", overrides=("search.n_trials=abc",), named=("n_trials",)),
]


Result = subprocess.CompletedProcess[str]


def _run(case: Case, folder: Path) -> Result:
    folder.mkdir()
    args = ["search", f"out_dir={folder / 'run'}", "search.n_trials=1", *case.overrides]
    if case.space is not None:
        path = folder / "space.yaml"
        path.write_bytes(case.space if isinstance(case.space, bytes) else case.space.encode())
        args.append(f"space={path}")
    if case.profile is not None:
        (folder / "device.yaml").write_text(case.profile)
        args.append(f"device={folder / 'device.yaml'}")
    env = {key: value for key, value in os.environ.items() if key != "HYDRA_FULL_ERROR"}
    return subprocess.run([*STAR_SEARCH, *args], cwd=folder, capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Result, Path]]:
    """Every case run once, three processes at a time: {name: (result, its out_dir)}."""
    root = tmp_path_factory.mktemp("malformed")
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda case: _run(case, root / case.name), CASES))
    return {case.name: (result, root / case.name / "run")
            for case, result in zip(CASES, results, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_malformed_input_is_a_named_error_before_any_work(case: Case, runs) -> None:
    result, out_dir = runs[case.name]
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "Traceback" not in output, output[-3000:]
    for text in case.named:
        assert text in result.stderr, result.stderr[-2000:]
    assert not (out_dir / "study.db").exists() and not (out_dir / "cache").exists()
