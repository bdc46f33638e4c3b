"""Small file helpers shared by the caches and the config loaders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from star_search.errors import SpecError


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    would keep the last value silently)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: the base class names it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


def read_yaml(path: Path, field: str, error: type[SpecError] = SpecError) -> Any:
    """The YAML document at `path`; a missing, unreadable or malformed file is an `error` naming
    `field` (never a raw exception, whatever the bytes in the file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise error(field, str(path), "an existing YAML file") from err
    except OSError as err:
        raise error(field, str(path), f"a readable YAML file ({err.strerror or err})") from err
    except UnicodeDecodeError as err:
        raise error(field, str(path), f"a UTF-8 text file ({err})") from err
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        raise error(field, str(path), f"valid YAML ({err})") from err
    except RecursionError as err:
        raise error(field, str(path), "valid YAML nested less deeply") from err
    except (ValueError, OverflowError) as err:
        # PyYAML builds ints, floats and dates with Python's own constructors, which refuse some
        # values that the grammar accepts (a 5000-digit integer, month 13).
        raise error(field, str(path), f"valid YAML values ({err})") from err
