"""The rooms' import contract (pyproject.toml, `[tool.importlinter]`) holds, and it has teeth."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                "sys.exit(lint_imports_command())", "--no-cache"]


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `star_search` package under `project` with its pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run([*LINT_IMPORTS, str(project / "pyproject.toml")], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_import_contract_is_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "star_search", tmp_path / "star_search",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    project = _copy_of_the_package(tmp_path)
    latency = project / "star_search" / "latency" / "sampling.py"
    latency.write_text(latency.read_text() + "\nfrom star_search.search import candidate  # noqa\n")
    result = _lint(project)
    assert result.returncode != 0
    assert "Rooms import only the rooms below them BROKEN" in result.stdout
    assert "star_search.latency.sampling -> star_search.search.candidate" in result.stdout


def test_proxies_may_not_reach_the_profiler(tmp_path: Path) -> None:
    project = _copy_of_the_package(tmp_path)
    suite = project / "star_search" / "proxies" / "suite.py"
    suite.write_text(suite.read_text() + "\nfrom star_search.profiler import measurement  # noqa\n")
    result = _lint(project)
    assert result.returncode != 0
    assert "Proxies know nothing of lowering, devices or latency BROKEN" in result.stdout
