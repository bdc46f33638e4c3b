"""RemoteBackend: measure on profiler agents, one or several, over HTTP.

Several agents form one pool of equivalent machines (a lab's identical laptops, say): each
measurement goes to the agent whose device has the fewest jobs queued or running, ties broken
in turn, so concurrent search workers spread over the pool and a single worker alternates.
The pool is one device class for caching (`device_id` = `remote:<name>`); each `Measurement`
still records the device and the agent (`agent_url`) that actually ran it. An agent that cannot
be reached is skipped; when none can, the measurement fails naming each one's error.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from star_search.errors import ProfileError, ProfilerError, SpecError
from star_search.profiler.agent_client import AgentClient
from star_search.profiler.backend import Backend, BackendKind
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol
from star_search.sections import parse_section

if TYPE_CHECKING:
    from star_search.profiler.device_profile import DeviceProfile


class RemoteBackend(Backend):
    name = "remote"

    def __init__(self, agents: Sequence[AgentClient], pool_name: str, device: str | None = None):
        if not agents:
            raise ProfilerError("the remote backend needs at least one agent URL")
        self.agents = list(agents)
        self.pool_name = pool_name
        self.device = device
        self._turn = 0
        self._lock = threading.Lock()

    @property
    def device_id(self) -> str:
        return f"remote:{self.pool_name}"

    def _load(self, agent: AgentClient) -> int:
        """Jobs queued or running on the device this backend uses at `agent`."""
        devices = agent.devices()
        if not devices:
            raise ProfilerError(f"agent {agent.url} serves no device")
        wanted = self.device or devices[0]["device_id"]
        for device in devices:
            if device["device_id"] == wanted:
                return int(device["queued"]) + int(bool(device["running"]))
        raise ProfilerError(f"agent {agent.url} has no device {wanted!r}; it has "
                            f"{[d['device_id'] for d in devices]}")

    def choose_agent(self) -> AgentClient:
        """The least busy reachable agent; among equals, the next in turn."""
        with self._lock:
            start = self._turn
            order = self.agents[start:] + self.agents[:start]
            loads: list[tuple[int, int, AgentClient]] = []
            errors: list[str] = []
            for position, agent in enumerate(order):
                try:
                    loads.append((self._load(agent), position, agent))
                except ProfilerError as err:
                    errors.append(str(err))
            if not loads:
                raise ProfilerError("no agent reachable: " + "; ".join(errors))
            _, position, chosen = min(loads, key=lambda item: item[:2])
            self._turn = (start + position + 1) % len(self.agents)
            return chosen

    def measure(self, pte_path: str | os.PathLike[str], protocol: MeasurementProtocol) -> Measurement:
        return self.choose_agent().measure(pte_path, protocol, self.device)


@dataclass(frozen=True)
class AgentSettings:
    """The profile's `agent` section: `url` (one agent) or `urls` (several, used as one pool of
    equivalent machines), the bearer token from `token_env` or `token_file` (never inline),
    `device`, the device id on each agent (null = the agent's first device), and `ca_file`, a PEM
    file of the CA certificate(s) that signed https:// agents' certificates (null: httpx's
    bundle of public CAs, or $SSL_CERT_FILE). Certificates are always verified."""

    url: str | None = None
    urls: tuple[str, ...] = ()
    token_env: str | None = None
    token_file: str | None = None
    device: str | None = None
    ca_file: str | None = None

    @property
    def endpoints(self) -> tuple[str, ...]:
        return (self.url,) if self.url else self.urls


def parse_agent(body: Mapping[str, Any]) -> AgentSettings:
    if "token" in body:
        # Never echo the value: it is a secret that should not be in the file at all.
        raise SpecError("agent.token", "<hidden>", "no token inline: put it in a file named by "
                        "agent.token_file or in an environment variable named by agent.token_env")
    urls = body.get("urls")
    if urls is not None and (not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls)):
        raise SpecError("agent.urls", urls, "a list of agent URLs")
    settings = parse_section(AgentSettings, {**body, "urls": tuple(urls or ())}, "agent")
    if settings.url and settings.urls:
        raise SpecError("agent.urls", list(settings.urls), "either agent.url or agent.urls, not both")
    if not settings.endpoints:
        raise SpecError("agent.url", settings.url, "the agent's URL (or agent.urls: a list of them) "
                        "for the remote backend")
    for index, url in enumerate(settings.endpoints):
        name = "agent.url" if settings.url else f"agent.urls[{index}]"
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SpecError(name, url, "an http:// or https:// URL")
    if (settings.token_env is None) == (settings.token_file is None):
        raise SpecError("agent.token_env", settings.token_env, "exactly one of agent.token_env (an "
                        "environment variable) and agent.token_file (a file) for the bearer token")
    for name in ("token_env", "token_file", "device", "ca_file"):
        value = getattr(settings, name)
        if value is not None and (not isinstance(value, str) or not value):
            raise SpecError(f"agent.{name}", value, "a non-empty string or null")
    return settings


def _remote_backend(profile: DeviceProfile) -> Backend:
    from star_search.profiler.token import read_token

    agent: AgentSettings = profile.backend_settings
    token = read_token(agent.token_file, agent.token_env)
    verify = _trusting(agent.ca_file) if agent.ca_file else True
    return RemoteBackend([AgentClient(url, token, verify=verify) for url in agent.endpoints],
                         pool_name=profile.name, device=agent.device)


def _trusting(ca_file: str) -> ssl.SSLContext:
    """A client TLS context that trusts the CA certificate(s) in `ca_file` (and only those)."""
    try:
        return ssl.create_default_context(cafile=os.path.expanduser(ca_file))
    except (OSError, ssl.SSLError) as err:
        raise ProfileError("agent.ca_file", ca_file,
                           f"a readable PEM file of CA certificates ({err})") from err


KIND = BackendKind(name="remote", create=_remote_backend, section="agent", parse=parse_agent)
