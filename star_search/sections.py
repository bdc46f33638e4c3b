"""A mapping of a config file turned into a frozen dataclass, unknown keys named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from star_search.errors import SpecError, no_such_key

T = TypeVar("T")


def section_body(body: object, name: str) -> Mapping[str, Any]:
    """`body` as a mapping (an absent or empty section is an empty one)."""
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise SpecError(name, body, "a mapping")
    return body


def parse_section(cls: type[T], body: object, name: str, exclude: tuple[str, ...] = ()) -> T:
    """`cls(**body)` once every key of `body` is a field of `cls` (less `exclude`); the fields'
    own checks (`__post_init__`) run on the values."""
    mapping = section_body(body, name)
    allowed = sorted(set(cls.__dataclass_fields__) - set(exclude))  # type: ignore[attr-defined]
    for key in mapping:
        if not isinstance(key, str) or key not in allowed:
            raise SpecError(f"{name}.{key}", mapping[key], no_such_key(key, allowed))
    return cls(**mapping)
