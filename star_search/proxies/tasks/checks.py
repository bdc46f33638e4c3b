"""Validation of task settings: every failure is a `SpecError` naming the setting, the field,
its value and what was expected, raised when the setting is built (before any training)."""

from __future__ import annotations

from star_search.errors import SpecError
from star_search.proxies.vocab import CONTENT_SIZE

MAX_KEY_SPANS = 4096  # key spans are drawn by a per-row permutation of all of them, so keep it small


def require(ok: bool, field: str, value: object, expected: str) -> None:
    """Raise `SpecError(field, value, expected)` unless `ok`."""
    if not ok:
        raise SpecError(field, value, expected)


def require_at_most(task: str, field: str, value: int, limit_name: str, limit: int, why: str = "") -> None:
    """Raise `SpecError` naming `task.field` unless `value` ≤ `limit` (`limit_name` says what the
    limit is, `why` why it holds)."""
    require(value <= limit, f"{task}.{field}", value,
            f"at most {limit_name}={limit}" + (f" ({why})" if why else ""))


def require_positive(task: str, **values: int) -> None:
    """Raise `SpecError` naming the first parameter that is not a positive integer."""
    for name, value in values.items():
        require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
                f"{task}.{name}", value, "a positive integer")


def require_content(task: str, used: int, what: str) -> None:
    """Raise `SpecError` when a setting draws from more than the `CONTENT_SIZE` content tokens;
    `what` names the parameters that add up to `used`, i.e. what to shrink."""
    require(used <= CONTENT_SIZE, f"{task}: {what}", used, f"at most {CONTENT_SIZE} content tokens")


def require_key_spans(task: str, key_pool: int, key_len: int) -> int:
    """The number of distinct key spans, key_pool ** key_len; `SpecError` above `MAX_KEY_SPANS`."""
    spans = key_pool ** key_len
    require(spans <= MAX_KEY_SPANS, f"{task}: key_pool ** key_len", spans, f"at most {MAX_KEY_SPANS}")
    return spans
