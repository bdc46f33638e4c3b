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
import threading
from collections.abc import Sequence

from star_search.errors import ProfilerError
from star_search.profiler.agent_client import AgentClient
from star_search.profiler.backend import Backend
from star_search.profiler.measurement import Measurement
from star_search.profiler.protocol import MeasurementProtocol


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
