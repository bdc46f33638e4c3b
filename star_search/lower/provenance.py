"""Keep torch.fx's node-provenance bookkeeping from dominating ExecuTorch lowering time.

Every pass that re-creates a node records where it came from (`node.meta["from_node"]`), and
`torch.fx.traceback.NodeSource` deep-copies the whole chain of earlier records each time. The
chain grows by one link per pass, so over ExecuTorch's dozens of edge and XNNPACK passes the
copying is quadratic: measured here it was about half the wall time of lowering a small model
(see BENCHMARKS.md). Provenance records are read-only debugging metadata, so sharing the
earlier records instead of copying them gives the same program bytes, much sooner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch.fx import traceback as fx_traceback


def _sharing_init(self: Any, node: Any, pass_name: str = "", action: Any = None) -> None:
    self.pass_name = pass_name
    if action is None:
        action = []
    elif not isinstance(action, list):
        action = [action]
    self.action = action
    if node:
        self.node_info = fx_traceback.NodeSource.NodeInfo(
            name=node.name, target=str(node.target), graph_id=id(node.graph))
        self.from_node = list(node.meta.get("from_node", []))
    else:
        self.node_info = None
        self.from_node = []
    self._action_string = None
    self._dict = None


@contextmanager
def shared_provenance() -> Iterator[None]:
    """Within the block, provenance chains are shared rather than deep-copied."""
    original = fx_traceback.NodeSource.__init__
    fx_traceback.NodeSource.__init__ = _sharing_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        fx_traceback.NodeSource.__init__ = original  # type: ignore[method-assign]
