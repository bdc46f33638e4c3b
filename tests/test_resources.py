"""Configs by name: an explicit path, then the working directory's own folder, then the shipped
package data; and the package list in pyproject.toml that ships them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from star_search.errors import SpecError
from star_search.profiler.device_profile import load_profile
from star_search.resources import SHIPPED_PACKAGES, resolve_config, shipped_folder, shipped_names
from star_search.space import load_space

ROOT = Path(__file__).resolve().parents[1]
LOADERS = {"search_spaces": load_space, "device_profiles": load_profile}


@pytest.mark.parametrize("folder", sorted(SHIPPED_PACKAGES))
def test_shipped_data_is_the_top_level_folder(folder: str) -> None:
    repo_files = {p.name: p.read_bytes() for p in (ROOT / folder).glob("*.yaml")}
    assert shipped_names(folder) == sorted(name.removesuffix(".yaml") for name in repo_files)
    for name, data in repo_files.items():
        assert (shipped_folder(folder) / name).read_bytes() == data


@pytest.mark.parametrize("folder", sorted(SHIPPED_PACKAGES))
def test_every_shipped_name_resolves_and_loads_from_an_empty_folder(
        folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in shipped_names(folder):
        path = resolve_config(name, folder, "field")
        assert path.name == f"{name}.yaml" and path.is_file()
        LOADERS[folder](path)


def test_the_working_directory_s_own_folder_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "search_spaces" / "demo.yaml"
    own.parent.mkdir()
    own.write_text((ROOT / "search_spaces" / "demo.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    assert resolve_config("demo", "search_spaces", "space") == own


def test_an_explicit_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "laptop_cpu.yaml"
    path.write_text((ROOT / "device_profiles" / "laptop_cpu.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    assert resolve_config(str(path), "device_profiles", "device") == path


def test_an_unknown_name_lists_the_shipped_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match=r"'device'.*'phone'.*laptop_cpu"):
        resolve_config("phone", "device_profiles", "device")


def test_pyproject_ships_every_package_and_the_config_folders() -> None:
    setuptools_config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    inits = (ROOT / "star_search").rglob("__init__.py")
    code = [".".join(init.parent.relative_to(ROOT).parts) for init in inits]
    assert sorted(setuptools_config["packages"]) == sorted([*code, *SHIPPED_PACKAGES.values()])
    for folder, package in SHIPPED_PACKAGES.items():
        assert setuptools_config["package-dir"][package] == folder
        assert setuptools_config["package-data"][package] == ["*.yaml"]
        # Editable installs import a package-dir mapped folder only through its __init__.py.
        assert (ROOT / folder / "__init__.py").is_file()
