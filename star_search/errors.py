"""Error hierarchy: every message names the field, the bad value and what was expected."""

from __future__ import annotations

import difflib
import os
import reprlib
from collections.abc import Iterable
from pathlib import Path


class _ShortRepr(reprlib.Repr):
    """`repr` cut to a readable length, safe on any value a config file can hold: deep or
    self-referencing structures and integers too long for `str` (Python refuses over 4300 digits)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = self.maxother = 120
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 8

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:
            return f"<a {x.bit_length()}-bit integer>"
        return repr(x)


_SHORT_REPR = _ShortRepr()


def shown(value: object) -> str:
    """`value` as an error message shows it: its repr, cut to a readable length."""
    try:
        return _SHORT_REPR.repr(value)
    except Exception:  # a value whose own __repr__ fails must not hide the error it is part of
        return f"<{type(value).__name__}>"


def did_you_mean(value: object, allowed: Iterable[object]) -> str:
    """' (did you mean 'attention'?)' when `value` is a close misspelling of one of `allowed`."""
    if not isinstance(value, str):
        return ""
    names = [name for name in allowed if isinstance(name, str)]
    matches = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def one_of(value: object, allowed: Iterable[object]) -> str:
    """'one of [...]' followed by a close-match hint for `value`, for a SpecError's `expected`."""
    allowed = list(allowed)
    return f"one of {allowed}{did_you_mean(value, allowed)}"


def no_such_key(key: object, allowed: Iterable[str]) -> str:
    """The `expected` of a SpecError for an unknown key: a close-match hint, then every key allowed."""
    names = sorted(allowed)
    return f"no such key{did_you_mean(key, names)}; allowed keys are {names}"


class StarSearchError(Exception):
    """Base class for all errors raised on purpose by star-search."""


class SpecError(StarSearchError):
    """A search space, architecture spec or config file is malformed."""

    def __init__(self, field: str, value: object, expected: str, source: str | None = None):
        self.field = field
        self.value = value
        self.expected = expected
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}field '{field}' has invalid value {shown(value)}; expected {expected}")

    def __reduce__(self) -> tuple[type, tuple[str, object, str, str | None]]:
        return type(self), (self.field, self.value, self.expected, self.source)


class ProfileError(SpecError):
    """A device profile is malformed."""


class SizeUnreachable(StarSearchError):
    """A sampled candidate cannot land on its space's parameter target (`space.target_size`):
    the search prunes it at `sample`, with this reason. `pattern`: the candidate's layer strip."""

    def __init__(self, message: str, pattern: str = ""):
        self.pattern = pattern
        super().__init__(message)


class BuildError(StarSearchError):
    """A candidate could not be built as a PyTorch model."""


class LoweringError(StarSearchError):
    """ExecuTorch export or lowering failed; names the operator that failed when known."""

    def __init__(self, message: str, operator: str | None = None):
        self.operator = operator
        self.detail = message
        prefix = f"lowering failed in operator '{operator}': " if operator else "lowering failed: "
        super().__init__(prefix + message)

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        # Rebuilt from its parts when it crosses a process boundary (isolated lowering).
        return type(self), (self.detail, self.operator)


class ProfilerError(StarSearchError):
    """A measurement could not be taken (child process crashed, timed out, bad output)."""


class ProxyError(StarSearchError):
    """Proxy training or evaluation failed."""


class ExportError(StarSearchError):
    """An architecture cannot be exported in the requested format."""


class DiskFullError(StarSearchError):
    """No space left to write `path`; what was written before (the old file included) is intact."""

    def __init__(self, path: str | os.PathLike[str], detail: str):
        self.path = Path(path)
        self.detail = detail
        super().__init__(f"no space left to write {self.path} ({detail}); free some space and run the "
                         "same command again: everything written before is intact")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Rebuilt from its parts when it crosses a process boundary (isolated lowering).
        return type(self), (str(self.path), self.detail)


class StudyStorageError(StarSearchError):
    """The study's storage cannot be used: a damaged study file, or a database server lost for
    longer than `RECONNECT_WINDOW_S`."""
