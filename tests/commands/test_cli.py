"""The `star-search` command as a user runs it: a real search process, SIGKILL, resume, export."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

STAR_SEARCH = [sys.executable, "-c", "from star_search.commands.cli import main; main()"]


def run_cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STAR_SEARCH, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def complete_trials(db: Path) -> dict[int, list[float]]:
    if not db.exists():
        return {}
    with sqlite3.connect(db) as connection:
        try:
            rows = connection.execute(
                "SELECT t.number, v.objective, v.value FROM trials t JOIN trial_values v "
                "ON t.trial_id = v.trial_id WHERE t.state = 'COMPLETE' ORDER BY t.number, v.objective"
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
    result: dict[int, list[float]] = {}
    for number, _, value in rows:
        result.setdefault(number, []).append(value)
    return result


def test_usage_without_command() -> None:
    result = subprocess.run([*STAR_SEARCH], capture_output=True, text=True)
    assert result.returncode == 2
    assert "search" in result.stderr and "export" in result.stderr


def test_bad_space_is_reported_with_field(tmp_path: Path) -> None:
    space = tmp_path / "bad.yaml"
    space.write_text("name: bad\nparams: {d_model: {choices: [-8]}}\nlayers: [{slots: [conv]}]\n")
    result = run_cli("search", f"space={space}", f"out_dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2
    assert "params.d_model.choices[0]" in result.stderr and "-8" in result.stderr


# Slow (≈140 s: searches in subprocesses, killed and resumed); crash-resume stays in the default
# tier through tests/search (sigkilled worker, resumed search).
@pytest.mark.slow
def test_killed_search_resumes_and_exports(tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    args = ["search", "space=demo", "device=laptop_cpu", "search.n_trials=3", f"out_dir={out_dir}",
            "proxies.steps=20", "search.heartbeat_interval_s=1", "search.grace_period_s=2"]
    process = subprocess.Popen([*STAR_SEARCH, *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    db = out_dir / "study.db"
    deadline = time.monotonic() + 400
    while not complete_trials(db) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
    first = complete_trials(db)
    os.killpg(process.pid, signal.SIGKILL)  # the search and its measuring child, mid-run
    process.wait()
    assert first, "no trial completed before the deadline"

    time.sleep(3)  # past the heartbeat grace period: the interrupted trial is stale
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished, running" in result.stdout
    after = complete_trials(db)
    for number, values in first.items():
        assert after[number] == values  # nothing completed was lost or redone
    assert len(after) >= 2
    assert (out_dir / "report.html").is_file() and (out_dir / "trials.csv").is_file()
    arch = json.loads((out_dir / "export" / "arch.json").read_text())
    assert arch["layers"]

    export_dir = tmp_path / "exported"
    number = min(after)
    result = run_cli("export", f"study={out_dir}", f"trial={number}", f"out_dir={export_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (export_dir / "arch.json").is_file()
    mixers = {layer["mixer"] for layer in json.loads((export_dir / "arch.json").read_text())["layers"]}
    if mixers <= {"conv", "attention"}:
        transformers = pytest.importorskip("transformers")
        config = transformers.AutoConfig.from_pretrained(export_dir)
        assert config.model_type == "lfm2"
    else:
        assert not (export_dir / "config.json").exists()
        assert "config.json" in result.stdout  # says why it was not written

    family_dir = tmp_path / "family"
    result = run_cli("export", f"study={out_dir}", f"trial={number}", "family=true", f"out_dir={family_dir}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for size in ("350m", "700m", "1.2b", "2.6b", "8b-a1b"):
        assert (family_dir / size / "arch.json").is_file()
        assert (family_dir / size / "config.json").is_file() == (mixers <= {"conv", "attention"})
        assert f"| {size} |" in result.stdout
    assert "| size |" in (family_dir / "family.md").read_text()


def test_export_preset_writes_config_and_arch(tmp_path: Path) -> None:
    result = run_cli("export", "preset=lfm2-1.2b", f"out_dir={tmp_path / 'out'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    arch = json.loads((tmp_path / "out" / "arch.json").read_text())
    assert arch["name"] == "lfm2-1.2b" and arch["d_model"] == 2048
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["model_type"] == "lfm2" and config["intermediate_size"] == 8192
    result = run_cli("export", "preset=lfm2-9b", f"out_dir={tmp_path / 'bad'}", cwd=tmp_path)
    assert result.returncode == 2 and "'preset'" in result.stderr and "lfm2-9b" in result.stderr
    result = run_cli("export", f"out_dir={tmp_path / 'bad'}", cwd=tmp_path)
    assert result.returncode == 2 and "exactly one of study=" in result.stderr
