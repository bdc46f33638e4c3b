"""The scripts in `benchmarks/`, imported as modules for their tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def load_benchmark() -> Callable[[str], ModuleType]:
    """`load_benchmark("proxy_fidelity")` → the module of `benchmarks/proxy_fidelity.py`.

    Imported by name from the folder on sys.path, so that a script's spawned workers (which
    inherit sys.path) can unpickle the functions they are sent."""
    def load(stem: str) -> ModuleType:
        if str(BENCHMARKS) not in sys.path:
            sys.path.insert(0, str(BENCHMARKS))
        return importlib.import_module(stem)
    return load
