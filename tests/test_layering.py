"""The rooms' import contract (pyproject.toml, `[tool.importlinter]`) holds, and it has teeth."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("module", "forbidden_import", "broken"),
    [
        ("latency/sampling.py", "from star_search.search import candidate",
         "Rooms import only the rooms below them BROKEN"),
        ("proxies/suite.py", "from star_search.profiler import measurement",
         "Proxies know nothing of lowering, devices or latency BROKEN"),
    ],
    ids=["upward", "proxies-to-profiler"],
)
def test_a_forbidden_import_breaks_the_contract(tmp_path: Path, module: str, forbidden_import: str,
                                                broken: str) -> None:
    shutil.copytree(ROOT / "star_search", tmp_path / "star_search",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    source = tmp_path / "star_search" / module
    source.write_text(source.read_text() + f"\n{forbidden_import}  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout[-3000:]
