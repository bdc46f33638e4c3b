"""Build and run an agent: `AgentSettings` → devices → `AgentService` → FastAPI app → uvicorn."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from star_search.errors import SpecError
from star_search.profiler.agent.app import create_app
from star_search.profiler.agent.service import AgentService
from star_search.profiler.agent.storage import AgentStorage
from star_search.profiler.backend import Backend
from star_search.profiler.local import LocalBackend
from star_search.profiler.token import read_token

DEFAULT_PORT = 8765


@dataclass(frozen=True)
class AgentSettings:
    """data_dir: everything the agent stores (created if missing). token: the bearer token.
    host/port: where to listen (127.0.0.1 by default: other machines need host=0.0.0.0, and then
    TLS, ssl_certfile/ssl_keyfile, since the token travels in every request).
    device_id: this machine's CPU as clients see it (default `local:<hostname>:<arch>`);
    cores: CPU ids its jobs may be pinned to (default: all this process may use).
    max_program_bytes: upload limit. job_timeout_s: cap on any job's protocol timeout.
    adb_runner: host path of an arm64 `executor_runner`; when set, every attached Android phone
    becomes a device too, pinned to `adb_cores`.
    """

    data_dir: Path
    token: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    device_id: str | None = None
    cores: tuple[int, ...] | None = None
    max_program_bytes: int = 2 << 30
    job_timeout_s: float = 1800.0
    adb_runner: str | None = None
    adb_cores: tuple[int, ...] = (4, 5, 6, 7)
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SpecError("port", self.port, "a TCP port in [0, 65535]")
        if self.max_program_bytes <= 0:
            raise SpecError("max_program_mb", self.max_program_bytes / 2**20, "a positive size")
        if not self.job_timeout_s > 0:
            raise SpecError("job_timeout_s", self.job_timeout_s, "a positive number of seconds")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise SpecError("ssl_keyfile", self.ssl_keyfile, "given together with ssl_certfile")


def agent_settings(*, data_dir: str, token_file: str | None, token_env: str | None, host: str,
                   port: int, device_id: str | None = None, cores: list[int] | None = None,
                   max_program_mb: float = 2048.0, job_timeout_s: float = 1800.0,
                   adb_runner: str | None = None, ssl_certfile: str | None = None,
                   ssl_keyfile: str | None = None) -> AgentSettings:
    """Settings from plain command-line values; the token is read from its file or variable."""
    token = read_token(token_file, token_env, field_prefix="")
    return AgentSettings(data_dir=Path(data_dir).expanduser(), token=token, host=host, port=port,
                         device_id=device_id, cores=tuple(cores) if cores else None,
                         max_program_bytes=int(max_program_mb * 2**20), job_timeout_s=job_timeout_s,
                         adb_runner=adb_runner, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


def agent_devices(settings: AgentSettings) -> dict[str, Backend]:
    """This machine's CPU, plus attached phones when an adb runner is configured."""
    local = LocalBackend(device_id=settings.device_id, cores=settings.cores)
    devices: dict[str, Backend] = {local.device_id: local}
    if settings.adb_runner is not None:
        from star_search.profiler.adb import AdbBackend, attached_devices

        for phone in attached_devices():
            backend = AdbBackend(phone.serial, settings.adb_runner, settings.adb_cores,
                                 model=phone.model)
            devices[backend.device_id] = backend
    return devices


def build_app(settings: AgentSettings) -> FastAPI:
    storage = AgentStorage(settings.data_dir, settings.max_program_bytes)
    service = AgentService(storage, agent_devices(settings), settings.job_timeout_s)
    return create_app(service, settings.token)


def serve(settings: AgentSettings) -> None:
    """Run the agent until interrupted (SIGINT/SIGTERM stop it after the running job)."""
    import uvicorn

    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, log_level="info",
                ssl_certfile=settings.ssl_certfile, ssl_keyfile=settings.ssl_keyfile)
