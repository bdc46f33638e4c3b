"""The agent's HTTP surface: bearer-token auth, upload limits, and names that must not escape."""

from __future__ import annotations

import hashlib
import http.client
import os
from collections.abc import Iterator
from pathlib import Path

import httpx

from star_search.profiler.local import file_sha256

PROTECTED = [("GET", "/devices"), ("GET", "/jobs"), ("GET", "/openapi.json"),
             ("GET", f"/programs/{'0' * 64}"), ("HEAD", f"/programs/{'0' * 64}"),
             ("PUT", f"/programs/{'0' * 64}"), ("POST", "/jobs"), ("GET", f"/jobs/{'0' * 32}")]


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_token_guards_everything_but_health(tmp_path: Path, start_agent) -> None:
    agent = start_agent(tmp_path / "data")
    assert httpx.get(f"{agent.url}/health").json()["status"] == "ok"
    for header in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                   {"Authorization": f"Basic {agent.token}"}, {"Authorization": agent.token}):
        for method, path in PROTECTED:
            response = httpx.request(method, agent.url + path, headers=header, content=b"x")
            assert response.status_code == 401, (method, path, header, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert agent.token not in response.text
    devices = agent.http.get("/devices").json()
    assert devices == [{"device_id": "test-cpu", "backend": "local", "queued": 0, "running": False}]
    schema = agent.http.get("/openapi.json").json()
    assert {"/devices", "/jobs", "/jobs/{job_id}", "/programs/{sha256}", "/health"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert agent.token not in agent.log_path.read_text()


def test_uploads_are_limited_and_verified(tmp_path: Path, start_agent, tiny_pte: Path) -> None:
    agent = start_agent(tmp_path / "data", max_program_mb=1)  # the tiny program is ~0.5 MiB
    sha256 = file_sha256(tiny_pte)
    big = os.urandom((1 << 20) + 1)
    response = agent.http.put(f"/programs/{hashlib.sha256(big).hexdigest()}", content=big)
    assert response.status_code == 413, response.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        for _ in range(40):
            yield b"\x00" * (64 << 10)
    response = agent.http.put(f"/programs/{'1' * 64}", content=chunks())
    assert response.status_code == 413 and "limit" in response.json()["detail"]

    response = agent.http.put(f"/programs/{'2' * 64}", content=tiny_pte.read_bytes())
    assert response.status_code == 400 and sha256 in response.json()["detail"]
    assert _files(agent.data_dir) == set()  # nothing kept from refused uploads

    first = agent.http.put(f"/programs/{sha256}", content=tiny_pte.read_bytes())
    again = agent.http.put(f"/programs/{sha256}", content=tiny_pte.read_bytes())
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert agent.http.head(f"/programs/{sha256}").status_code == 200
    assert agent.http.get(f"/programs/{'3' * 64}").status_code == 404
    assert _files(agent.data_dir) == {f"programs/{sha256}.pte"}
    assert (agent.data_dir / "programs" / f"{sha256}.pte").read_bytes() == tiny_pte.read_bytes()


HOSTILE_NAMES = ["../../../../victim/evil", "..%2F..%2F..%2Fvictim%2Fevil", "%2Ftmp%2Fevil",
                 "/etc/passwd", "abc%00def", "0" * 64 + "%00.pte", "A" * 64, "0" * 63,
                 "0" * 64 + "%2F..%2F..%2Fevil", "..", ".", "%2e%2e", "x" * 5000, "~root", "con",
                 "0" * 64 + ".pte", "*", "%0a" * 3]


def test_hostile_names_never_write_outside_the_data_dir(tmp_path: Path, start_agent,
                                                        tiny_pte: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    agent = start_agent(tmp_path / "data")
    before_outside = _files(tmp_path) - {f"data/{name}" for name in _files(agent.data_dir)}
    payload = tiny_pte.read_bytes()
    for name in HOSTILE_NAMES:
        for method, path in (("PUT", f"/programs/{name}"), ("GET", f"/programs/{name}"),
                             ("GET", f"/jobs/{name}")):
            response = agent.http.request(method, path, content=payload if method == "PUT" else None)
            # A GET may be normalised onto a listing ("/jobs/." is "/jobs/"); a PUT must be refused.
            assert response.status_code < 500, (method, path, response.status_code)
            assert method == "GET" or response.status_code >= 400, (method, path, response.status_code)
        for body in ({"program_sha256": name, "protocol": {}},
                     {"program_sha256": file_sha256(tiny_pte), "device_id": name, "protocol": {}},
                     {"program_sha256": file_sha256(tiny_pte), "protocol": {name: 1}}):
            response = agent.http.post("/jobs", json=body)
            assert 400 <= response.status_code < 500, (body, response.status_code)
    # The same, unnormalised: raw request targets straight onto the socket.
    host, port = agent.url.removeprefix("http://").split(":")
    for target in ("/programs/../../victim/evil", "/programs/..%2f..%2fvictim%2fevil",
                   "/programs/%2e%2e/%2e%2e/victim/evil", "//programs/" + "0" * 64):
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("PUT", target, body=payload, headers={"Authorization": f"Bearer {agent.token}"})
        status = connection.getresponse().status
        connection.close()
        assert 400 <= status < 500, (target, status)
    assert httpx.get(f"{agent.url}/health").status_code == 200
    assert list(victim.iterdir()) == []
    after_outside = _files(tmp_path) - {f"data/{name}" for name in _files(agent.data_dir)}
    assert after_outside == before_outside  # only the agent's own log, written before the requests
    assert _files(agent.data_dir) == set()
    assert not any(name in ("evil", "passwd") for name in os.listdir("/tmp"))


BAD_PROTOCOLS = [({"threads": 0}, "protocol.threads"),
                 ({"repeats": 5, "max_repeats": 2}, "protocol.max_repeats"),
                 ({"cv_target": 2}, "protocol.cv_target"), ({"speed": "max"}, "protocol.speed")]


def test_bad_jobs_are_refused_naming_the_field(tmp_path: Path, start_agent, tiny_pte: Path) -> None:
    agent = start_agent(tmp_path / "data")
    sha256 = agent.upload(tiny_pte)
    for protocol, field in BAD_PROTOCOLS:
        response = agent.http.post("/jobs", json={"program_sha256": sha256, "protocol": protocol})
        assert response.status_code == 422 and field in response.json()["detail"], response.text
    body = {"program_sha256": sha256, "device_id": "phone-9", "protocol": {}}
    unknown = agent.http.post("/jobs", json=body)
    assert unknown.status_code == 404 and "phone-9" in unknown.json()["detail"]
    missing = agent.http.post("/jobs", json={"program_sha256": "4" * 64, "protocol": {}})
    assert missing.status_code == 404 and "has not been uploaded" in missing.json()["detail"]
    assert agent.http.get("/jobs").json() == []
