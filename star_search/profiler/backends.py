"""The measuring backend a device profile names: `local`, `remote` or `adb`.

A new kind of backend is a new module with a `from_profile` constructor, registered here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from star_search.errors import ProfileError
from star_search.profiler.backend import Backend

if TYPE_CHECKING:
    from star_search.device_profile import DeviceProfile


def _local(profile: DeviceProfile) -> Backend:
    from star_search.profiler.local import LocalBackend

    return LocalBackend(cores=list(profile.cores) if profile.cores else None)


def _remote(profile: DeviceProfile) -> Backend:
    from star_search.profiler.agent_client import AgentClient
    from star_search.profiler.remote import RemoteBackend
    from star_search.profiler.token import read_token

    token = read_token(profile.agent.token_file, profile.agent.token_env)
    agents = [AgentClient(url, token) for url in profile.agent.endpoints]
    return RemoteBackend(agents, pool_name=profile.name, device=profile.agent.device)


def _adb(profile: DeviceProfile) -> Backend:
    from star_search.profiler.adb import AdbBackend

    return AdbBackend.from_profile(profile)


BACKENDS: dict[str, Callable[[DeviceProfile], Backend]] = {"local": _local, "remote": _remote,
                                                           "adb": _adb}


def backend_for_profile(profile: DeviceProfile) -> Backend:
    """The backend `profile.backend` names, configured from the profile."""
    factory = BACKENDS.get(profile.backend)
    if factory is None:
        raise ProfileError("backend", profile.backend, f"one of {sorted(BACKENDS)}")
    return factory(profile)
