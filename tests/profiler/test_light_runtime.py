"""The measuring child imports the ExecuTorch runtime without the compiler stack."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import sys
from star_search.profiler.light_runtime import import_runtime_without_compiler
import_runtime_without_compiler()
from executorch.runtime import Runtime
assert Runtime.get() is not None
assert "executorch.exir" not in sys.modules, "the compiler stack was imported"
import executorch.exir
assert hasattr(executorch.exir, "to_edge_transform_and_lower"), "the real package must load later"
print("ok")
"""


def test_runtime_loads_without_exir_and_exir_still_imports_afterwards() -> None:
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
