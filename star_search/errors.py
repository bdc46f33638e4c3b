"""Error hierarchy: every message names the field, the bad value and what was expected."""

from __future__ import annotations


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
        super().__init__(f"{where}field '{field}' has invalid value {value!r}; expected {expected}")


class ProfileError(SpecError):
    """A device profile is malformed."""


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
