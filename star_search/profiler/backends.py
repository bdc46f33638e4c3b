"""The registry of measuring backends a device profile can name.

Adding a kind of backend is one new module that defines its `Backend` subclass and a `KIND`
(`backend.BackendKind`: its name, its own profile section with parser and checks, and how to
create it from a profile), plus its module's line in `BACKEND_MODULES`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from star_search.errors import SpecError
from star_search.profiler.backend import Backend, BackendKind

if TYPE_CHECKING:
    from star_search.profiler.device_profile import DeviceProfile

# The modules whose `KIND` is a backend a profile may name (one line each).
BACKEND_MODULES = (
    "star_search.profiler.local",
    "star_search.profiler.remote",
    "star_search.profiler.adb",
)
BACKENDS: dict[str, BackendKind] = {
    kind.name: kind for kind in (import_module(module).KIND for module in BACKEND_MODULES)}


def backend_kind(name: object) -> BackendKind:
    """The registered kind called `name` (`SpecError` naming `backend` otherwise)."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise SpecError("backend", name, f"one of {sorted(BACKENDS)}")
    return BACKENDS[name]


def backend_for_profile(profile: DeviceProfile) -> Backend:
    """The backend `profile.backend` names, configured from the profile."""
    return backend_kind(profile.backend).create(profile)
