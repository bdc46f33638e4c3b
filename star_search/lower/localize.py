"""Name the operator kind (conv, attention, ssm, ...) responsible for a failed lowering.

Three ways, cheapest first:

1. The traceback: export traces the model's Python code, so an error raised while tracing has
   the failing module's frames on its stack; the innermost frame whose `self` belongs to a block's
   mixer or feed-forward names the layer and its kind.
2. The graph: when a later stage (edge conversion, partitioning, emission) fails and its message
   names an operator, e.g. "Missing out variants: {'aten::foo'}", an exported node calling that
   operator may carry an `nn_module_stack` whose path `blocks.<i>.mixer|ffn` names the layer.
3. Isolation: when neither says anything, each distinct operator kind of the model is exported
   and lowered alone, prefill and step paths, and the first one that fails is blamed.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import torch
from torch import Tensor, fx, nn

from star_search.model import Backbone
from star_search.ops.base import Mixer


@dataclass(frozen=True)
class Culprit:
    """The operator blamed for a failure: its kind, the layer it sits in, and how it was found."""

    operator: str
    layer: int
    evidence: str  # "traceback", "graph" or "isolation"


def _owners(model: Backbone) -> dict[int, tuple[str, int]]:
    """id(module) → (operator kind, layer index) for every module inside a mixer or an FFN."""
    owners: dict[int, tuple[str, int]] = {}
    for index, (block, layer) in enumerate(zip(model.blocks, model.spec.layers, strict=True)):
        for kind, root in ((layer.mixer, block.mixer), (layer.ffn, block.ffn)):
            for module in root.modules():
                owners[id(module)] = (kind, index)
    return owners


def _exception_chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _frames(tb: TracebackType | None) -> Iterator[TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def culprit_from_traceback(model: Backbone, err: BaseException) -> Culprit | None:
    """Innermost mixer/FFN module on the stack of `err` (or of the errors it was raised from)."""
    owners = _owners(model)
    for link in _exception_chain(err):
        found = None
        for tb in _frames(link.__traceback__):
            owner = owners.get(id(tb.tb_frame.f_locals.get("self")))
            if owner is not None:
                found = owner  # keep walking: the innermost frame is the most specific
        if found is not None:
            return Culprit(found[0], found[1], "traceback")
    return None


_BLOCK_PATH = re.compile(r"(?:^|\.)blocks\.(\d+)\.(mixer|ffn)(?:\.|$)")


def _operator_names(target: object) -> tuple[str, ...]:
    """Spellings an error message may use for a node's operator ("ns::op", "ns.op.overload")."""
    names = [str(target)]
    name_method = getattr(target, "name", None)
    if callable(name_method):
        with contextlib.suppress(TypeError, RuntimeError):
            names.append(str(name_method()))
    return tuple(n for n in names if "::" in n or n.count(".") >= 2)


def _node_owner(node: fx.Node, model: Backbone) -> tuple[str, int] | None:
    for path, _type in reversed(list((node.meta.get("nn_module_stack") or {}).values())):
        match = _BLOCK_PATH.search(path)
        if match:
            index, part = int(match.group(1)), match.group(2)
            layer = model.spec.layers[index]
            return (layer.mixer if part == "mixer" else layer.ffn), index
    return None


def culprit_from_graph(model: Backbone, graphs: list[fx.Graph], err: BaseException) -> Culprit | None:
    """The first node (graph order) whose operator the error message names, traced back to its
    block by `nn_module_stack`.

    Export records a module in that stack only when it is entered through `__call__`, so this
    finds ops inside a mixer's submodules (projections, norms, convolutions) but not ops written
    directly in a mixer's `prefill`/`step` methods; isolation covers those.
    """
    text = " ".join(str(link) for link in _exception_chain(err))
    for graph in graphs:
        for node in graph.nodes:
            if node.op != "call_function" or not any(n in text for n in _operator_names(node.target)):
                continue
            owner = _node_owner(node, model)
            if owner is not None:
                return Culprit(owner[0], owner[1], "graph")
    return None


class _MixerPrefill(nn.Module):
    def __init__(self, mixer: Mixer):
        super().__init__()
        self.mixer = mixer

    def forward(self, x: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        y, new_state = self.mixer.prefill(x, tuple(state))
        return (y, *new_state)


class _MixerStep(nn.Module):
    def __init__(self, mixer: Mixer):
        super().__init__()
        self.mixer = mixer

    def forward(self, x: Tensor, pos: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        y, new_state = self.mixer.step(x, tuple(state), pos)
        return (y, *new_state)


def _lowers(programs: dict[str, tuple[nn.Module, tuple[Tensor, ...]]]) -> bool:
    """True when every (module, example inputs) pair exports and lowers to XNNPACK, partitioned
    as a whole program is (`export.xnnpack_partitioner`)."""
    from executorch.exir import to_edge_transform_and_lower

    # Imported here: export imports this module.
    from star_search.lower.export import gathered_weight_names, xnnpack_partitioner

    gathered = frozenset().union(*(gathered_weight_names(module) for module, _ in programs.values()))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exported = {name: torch.export.export(module, inputs, strict=False)
                        for name, (module, inputs) in programs.items()}
            to_edge_transform_and_lower(exported, partitioner=[xnnpack_partitioner(gathered)]).to_executorch()
    except Exception:
        return False
    return True


def culprit_by_isolation(model: Backbone, prompt_len: int, max_seq_len: int,
                         dtype: torch.dtype = torch.float32) -> Culprit | None:
    """Lower one instance of each distinct mixer and FFN kind alone; blame the first that fails."""
    d_model = model.spec.d_model
    x_prefill = torch.zeros(1, prompt_len, d_model, dtype=dtype)
    x_step = torch.zeros(1, 1, d_model, dtype=dtype)
    pos = torch.tensor([prompt_len], dtype=torch.int64)
    tried: set[str] = set()
    for index, (block, layer) in enumerate(zip(model.blocks, model.spec.layers, strict=True)):
        if layer.mixer not in tried:
            tried.add(layer.mixer)
            state = tuple(block.mixer.init_state(1, max_seq_len, dtype))
            if not _lowers({"prefill": (_MixerPrefill(block.mixer), (x_prefill, *state)),
                            "decode": (_MixerStep(block.mixer), (x_step, pos, *state))}):
                return Culprit(layer.mixer, index, "isolation")
    for index, (block, layer) in enumerate(zip(model.blocks, model.spec.layers, strict=True)):
        if layer.ffn not in tried:
            tried.add(layer.ffn)
            if not _lowers({"prefill": (block.ffn, (x_prefill,)), "decode": (block.ffn, (x_step,))}):
                return Culprit(layer.ffn, index, "isolation")
    return None
