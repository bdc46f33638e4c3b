"""Import the ExecuTorch runtime without its compiler stack (saves ~4 s per measuring child).

`executorch.extension.pybindings.portable_lib` imports `executorch.exir._warnings` only for a
warning class; that module is tiny, but importing it runs `executorch.exir/__init__`, which
pulls in the whole export toolchain. The runner child needs none of it, and pays that import
on every measurement. Here the small module is loaded from its own file while a placeholder
stands in for the `executorch.exir` package; the placeholder is removed again afterwards so
any later `import executorch.exir` gets the real package.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def import_runtime_without_compiler() -> None:
    """Import `executorch.extension.pybindings.portable_lib` (and the runtime) quickly."""
    if "executorch.exir" in sys.modules:
        return  # the real package is already loaded; nothing to save
    import executorch

    # executorch is a namespace package (no __file__); find the file through its search path.
    candidates = [Path(root) / "exir" / "_warnings.py" for root in executorch.__path__]
    warnings_path = next((path for path in candidates if path.is_file()), None)
    if warnings_path is None:
        return
    spec = importlib.util.spec_from_file_location("executorch.exir._warnings", warnings_path)
    if spec is None or spec.loader is None:
        return
    placeholder = types.ModuleType("executorch.exir")
    placeholder.__path__ = []  # a package with no submodules of its own
    warnings_module = importlib.util.module_from_spec(spec)
    sys.modules["executorch.exir"] = placeholder
    sys.modules["executorch.exir._warnings"] = warnings_module
    try:
        spec.loader.exec_module(warnings_module)
        placeholder._warnings = warnings_module  # type: ignore[attr-defined]
        import executorch.extension.pybindings.portable_lib
        import executorch.runtime
    finally:
        sys.modules.pop("executorch.exir", None)
        if getattr(executorch, "exir", None) is placeholder:
            delattr(executorch, "exir")


def load_llm_ops_kernels() -> None:
    """Register ExecuTorch's LLM custom-op kernels (`llama::update_cache`, `llama::custom_sdpa`,
    ...) with the runtime, for programs lowered with `ProgramShapes.llm_ops`.

    The kernels live in `libcustom_ops_aot_lib`, next to `executorch.extension.llm.custom_ops`;
    loading the library directly skips that package's Python module, which imports torch's
    inductor only to register compiler lowerings the runtime never uses.
    """
    import executorch
    import torch

    import_runtime_without_compiler()
    roots = [Path(root) / "extension" / "llm" / "custom_ops" for root in executorch.__path__]
    libraries = sorted(lib for root in roots if root.is_dir() for lib in root.glob("*custom_ops_aot_lib.*"))
    if not libraries:
        raise ImportError(f"no libcustom_ops_aot_lib under {[str(root) for root in roots]}")
    torch.ops.load_library(str(libraries[0]))
