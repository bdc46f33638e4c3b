"""Build and run an agent: `AgentSettings` → devices → `AgentService` → FastAPI app → uvicorn."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from star_search.errors import SpecError
from star_search.profiler.agent.app import create_app
from star_search.profiler.agent.jobs import log
from star_search.profiler.agent.service import AgentService
from star_search.profiler.agent.storage import AgentStorage
from star_search.profiler.backend import Backend
from star_search.profiler.local import LocalBackend
from star_search.profiler.token import read_token

DEFAULT_PORT = 8765
# How long a stopping agent waits for open connections. An idle keep-alive TLS connection (a
# search's connection pool) closes only when its client answers the close, which an idle client
# never does: without a bound, stopping an HTTPS agent waits on every search connected to it.
GRACEFUL_SHUTDOWN_S = 5


@dataclass(frozen=True)
class AgentSettings:
    """data_dir: everything the agent stores (created if missing). token: the bearer token.
    host/port: where to listen (127.0.0.1 by default: other machines need host=0.0.0.0, and then
    TLS, since the token travels in every request). ssl_certfile/ssl_keyfile: PEM files of the
    server certificate (its chain after it) and its private key; given both, the agent serves
    HTTPS only, and clients trust the CA that signed the certificate (`agent.ca_file`).
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
        if self.ssl_certfile is not None and self.ssl_keyfile is not None:
            _check_certificate(self.ssl_certfile, self.ssl_keyfile)


def _check_certificate(certfile: str, keyfile: str) -> None:
    """Load the pair now, so that a missing file or a key that does not match the certificate
    is refused by name before uvicorn starts (it would fail with a bare ssl traceback)."""
    for name, path in (("ssl_certfile", certfile), ("ssl_keyfile", keyfile)):
        if not Path(path).is_file():
            raise SpecError(name, path, "an existing PEM file")
    try:
        # An encrypted key is refused (no prompt for a password: an agent runs unattended).
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile, password=lambda: b"")
    except ssl.SSLError as err:
        raise SpecError("ssl_certfile", certfile, f"a PEM certificate whose private key is "
                        f"ssl_keyfile={keyfile} ({err.reason or err})") from err


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


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
                         adb_runner=adb_runner,
                         ssl_certfile=str(Path(ssl_certfile).expanduser()) if ssl_certfile else None,
                         ssl_keyfile=str(Path(ssl_keyfile).expanduser()) if ssl_keyfile else None)


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

    if settings.ssl_certfile is None and not _loopback(settings.host):
        log.warning("serving plain HTTP on %s: the bearer token crosses the network in clear; "
                    "give ssl_certfile= and ssl_keyfile= to serve HTTPS", settings.host)
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, log_level="info",
                ssl_certfile=settings.ssl_certfile, ssl_keyfile=settings.ssl_keyfile,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
