"""Delegation coverage: how much of a lowered program runs inside XNNPACK.

Counted on the edge program after partitioning. An operator node inside a delegated subgraph
counts as delegated; an operator node left in the top-level graph runs on ExecuTorch's portable
(or optimized) CPU kernels. `getitem` nodes (tuple unpacking) and the delegate calls themselves are
plumbing, not operators, and are not counted.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx

_PLUMBING = ("executorch_call_delegate",)


@dataclass(frozen=True)
class DelegationCoverage:
    """Operator counts of one method (or of a whole program when summed with `combine`).

    delegated_nodes: operator nodes inside XNNPACK subgraphs.
    portable_nodes: operator nodes left on portable kernels.
    delegate_calls: number of delegated subgraphs (each is one backend call at run time).
    portable_ops: operator name → count of the nodes left on portable kernels.
    """

    delegated_nodes: int
    portable_nodes: int
    delegate_calls: int
    portable_ops: dict[str, int] = field(default_factory=dict)

    @property
    def delegated_fraction(self) -> float:
        """Share of operator nodes that were delegated, in [0, 1] (1.0 for an empty graph)."""
        total = self.delegated_nodes + self.portable_nodes
        return self.delegated_nodes / total if total else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"delegated_nodes": self.delegated_nodes, "portable_nodes": self.portable_nodes,
                "delegate_calls": self.delegate_calls, "portable_ops": dict(self.portable_ops),
                "delegated_fraction": self.delegated_fraction}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DelegationCoverage:
        return cls(int(data["delegated_nodes"]), int(data["portable_nodes"]),
                   int(data["delegate_calls"]), dict(data.get("portable_ops", {})))

    @staticmethod
    def combine(parts: list[DelegationCoverage]) -> DelegationCoverage:
        """Sum of several methods' coverage."""
        ops: Counter[str] = Counter()
        for part in parts:
            ops.update(part.portable_ops)
        return DelegationCoverage(sum(p.delegated_nodes for p in parts),
                                  sum(p.portable_nodes for p in parts),
                                  sum(p.delegate_calls for p in parts), dict(sorted(ops.items())))


def _op_name(node: fx.Node) -> str:
    """Short operator name, e.g. "aten.mean.dim" (edge ops) or "aten.scalar_tensor.default"."""
    target = node.target
    if isinstance(target, torch._ops.OpOverload):
        return str(target)
    return str(getattr(target, "__name__", target))


def _is_operator(node: fx.Node) -> bool:
    if node.op != "call_function" or node.target is operator.getitem:
        return False
    return not any(p in str(node.target) for p in _PLUMBING)


def graph_coverage(graph_module: fx.GraphModule) -> DelegationCoverage:
    """Coverage of one partitioned edge graph module."""
    portable: Counter[str] = Counter()
    delegated = calls = 0
    for node in graph_module.graph.nodes:
        if node.op == "get_attr" and node.name.startswith("lowered_module"):
            lowered = getattr(graph_module, str(node.target))
            calls += 1
            delegated += sum(_is_operator(n) for n in lowered.original_module.graph.nodes)
        elif _is_operator(node):
            portable[_op_name(node)] += 1
    return DelegationCoverage(delegated, sum(portable.values()), calls, dict(sorted(portable.items())))


def delegation_coverage(edge_manager: Any) -> dict[str, DelegationCoverage]:
    """Coverage per method of an `EdgeProgramManager` returned by `to_edge_transform_and_lower`."""
    return {name: graph_coverage(edge_manager.exported_program(name).graph_module)
            for name in sorted(edge_manager.methods)}
