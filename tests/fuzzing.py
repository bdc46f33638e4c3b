"""Shared pieces of the property tests (hypothesis): example counts per tier, random values, and
shipped documents with random changes at random key paths. Each parser's test builds its own
values from its own keys and words."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Examples per property: a bounded count in the default tier, many more in the slow tier.
TIERS = [pytest.param(300, id="default"), pytest.param(3000, id="slow", marks=pytest.mark.slow)]
EDGE_INTS = [0, 1, 2, 16, 64, 2**31 - 1, 2**31, 2**32, 2**63, 10**30, -(10**30), 10**400]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1e-300, 1e308, math.nan, math.inf, -math.inf]


def tier(examples: int) -> settings:
    """Hypothesis settings of one tier: no deadline (the first example imports and warms caches) and
    no example database (nothing written into the checkout)."""
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def numbers(ints: Sequence[int] = (), floats: Sequence[float] = ()) -> st.SearchStrategy[Any]:
    """Small ints, any float, and edge values (plus a parser's own `ints` and `floats`)."""
    return st.one_of(st.integers(min_value=-3, max_value=300), st.sampled_from([*EDGE_INTS, *ints]),
                     st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([*EDGE_FLOATS, *floats]))


def scalars(number: st.SearchStrategy[Any], words: Sequence[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), number, st.sampled_from(list(words)), st.text(max_size=8))


def nested(leaf: st.SearchStrategy[Any], keys: Sequence[str], max_leaves: int = 10,
           odd_keys: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    """Lists and mappings of `leaf` values, keyed by `keys` (often misspelled ones) or `odd_keys`."""
    key = st.one_of(st.sampled_from(list(keys)), odd_keys if odd_keys is not None else st.integers())
    return st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(key, inner, max_size=4)),
                        max_leaves=max_leaves)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a loaded YAML or JSON document (the document itself first)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: dict[str, Any], junk: st.SearchStrategy[Any],
            keys: Sequence[str]) -> Any:
    """One of `documents` with one to three changes: a value replaced by `junk`, a key removed, or
    a key added (often a misspelled one) at a random path; or `junk` in place of the document."""
    document = copy.deepcopy(documents[draw(st.sampled_from(sorted(documents)))])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(document)))
        if not path:
            return draw(junk)
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(junk)
        elif action == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.one_of(st.sampled_from(list(keys)), st.text(max_size=6)))] = draw(junk)
    return document
