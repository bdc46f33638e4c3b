"""A wheel of star-search works without the source tree: built, installed into a new virtual
environment and run from an empty folder (`star-search presets`, a one-trial demo search).

The wheel is built by `pip wheel` (with pip's usual isolated build) from a copy of the files a
build reads, so the checkout gets no `build/` folder. The new environment is a plain
`python -m venv` that gets the wheel with `--no-deps`; a `.pth` file then appends this test
environment's site-packages to its import path, so torch, ExecuTorch and the other dependencies
(gigabytes) are found without being reinstalled, offline and in seconds. A folder a `.pth` file
adds is a plain import path: the `.pth` files inside it (among them an editable install's hook
into the source tree) are not run, and the new site-packages comes first, so star_search and its
package data come from the wheel. The test asserts this through `star_search.__file__` and the
paths the shipped configs resolve to.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from star_search.presets import PRESETS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from: pyproject.toml names README.md as the long description.
BUILD_INPUTS = ("pyproject.toml", "README.md", "star_search", "search_spaces", "device_profiles")
SEARCH_TIMEOUT_S = 900


def _run(command: list[str | Path], cwd: Path, timeout_s: float = 300) -> str:
    """stdout of `command`, run without PYTHONPATH; a failure shows the command's output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout_s)
    assert result.returncode == 0, (f"{command} exited {result.returncode}\n"
                                    f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}")
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, source], cwd=source)
    (built,) = out.glob("star_search-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding the wheel, its dependencies borrowed (module docstring)."""
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", root], cwd=root)
    python = root / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    borrowed = "\n".join(site.getsitepackages()) + "\n"
    (Path(purelib.strip()) / "star_search_test_dependencies.pth").write_text(borrowed)
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed", wheel],
         cwd=root)
    return root


def test_the_wheel_ships_the_configs_as_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("search_spaces", "device_profiles"):
        for path in (ROOT / folder).glob("*.yaml"):
            assert f"star_search/{folder}/{path.name}" in names
    assert not any(name.startswith(("tests/", "search_spaces/", "device_profiles/")) for name in names)


def test_presets_and_a_demo_search_run_from_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    where = _run([venv / "bin" / "python", "-c",
                  "import star_search, star_search.resources as r; print(star_search.__file__); "
                  "print(r.resolve_config('demo', 'search_spaces', 'space')); "
                  "print(r.resolve_config('laptop_cpu', 'device_profiles', 'device'))"], cwd=work)
    for line in where.splitlines():
        assert Path(line).resolve().is_relative_to(venv.resolve()), where

    presets = _run([venv / "bin" / "star-search", "presets"], cwd=work)
    assert all(name in presets for name in PRESETS), presets

    # The README's demo with one trial and short proxy training.
    _run([venv / "bin" / "star-search", "search", "space=demo", "device=laptop_cpu", "search.n_trials=1",
          "proxies.steps=20", "out_dir=run"], cwd=work, timeout_s=SEARCH_TIMEOUT_S)
    run = work / "run"
    assert (run / "report.html").stat().st_size > 10_000
    rows = (run / "trials.csv").read_text().splitlines()
    assert len(rows) == 2 and ",COMPLETE," in rows[1], rows
    assert (run / "export" / "arch.json").is_file()
