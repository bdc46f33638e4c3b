"""The agent's HTTP API fuzzed from its own OpenAPI schema (schemathesis) on a real agent.

Every operation of `GET /openapi.json` gets schema-valid requests (positive) and requests that
break the schema (negative). The agent must answer each with a status and body its schema
documents (schemathesis' checks: no 5xx, status code, content type, headers and body conformance,
invalid data refused, auth not ignored), every error must be a 4xx with a `detail`, and nothing
may be written outside its data directory. The positive uploads are given the name their bytes
hash to, and half the positive jobs name a stored program, so that stores and job runs are
fuzzed too, not only the refusals.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from star_search.profiler.agent.storage import JOB_ID_PATTERN, SHA256_PATTERN

FUZZ_EXAMPLES = 60  # per operation and mode: ~780 requests, 15-25 s here
SLOW_FUZZ_EXAMPLES = 600  # ~7800 requests, ~2.5 min here
NOTHING_TO_NEGATE = {"GET /health"}  # no parameters, no body, no token: every request is valid
# Schema-valid but refused on purpose: a job protocol's ranges and max_repeats >= repeats are
# MeasurementProtocol's to check (a 422 naming the field), not the schema's.
NOT_ALL_VALID_ACCEPTED = {"POST /jobs"}


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def _store(agent, data: bytes) -> str:
    sha256 = hashlib.sha256(data).hexdigest()
    response = agent.http.put(f"/programs/{sha256}", content=data)
    assert response.status_code == 201, response.text
    return sha256


def _adjust(case: Any, mode: GenerationMode, stored_sha256: str) -> None:
    """Give the positive uploads their true name (no schema can say that a name must be the
    bytes' sha256) and half the positive jobs a stored program (a fuzzer never guesses a
    sha256), so that stores and runs happen too."""
    if not mode.is_positive:
        return
    label = case.operation.label
    if label == "PUT /programs/{sha256}":
        body = getattr(case.body, "data", case.body)  # schemathesis wraps binary data in `Binary`
        body = body.encode() if isinstance(body, str) else body
        assert isinstance(body, bytes), type(case.body)
        case.body = body
        case.path_parameters = {**case.path_parameters, "sha256": hashlib.sha256(body).hexdigest()}
    elif (label == "POST /jobs" and isinstance(case.body, dict)
          and len(case.body.get("protocol", {})) % 2 == 0):
        case.body = {**case.body, "program_sha256": stored_sha256}


def _fuzz_operation(operation: Any, mode: GenerationMode, auth: dict[str, str], stored_sha256: str,
                    examples: int, derandomize: bool) -> set[int]:
    """`examples` requests to one operation in one mode; returns the statuses seen."""
    excluded = [positive_data_acceptance] if operation.label in NOT_ALL_VALID_ACCEPTED else []
    seen: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    def request(case: Any) -> None:
        _adjust(case, mode, stored_sha256)
        response = case.call_and_validate(headers=auth, excluded_checks=excluded)
        seen.add(response.status_code)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            detail = response.json()["detail"]
            assert detail and isinstance(detail, str | list), response.text

    try:
        request()
    except Unsatisfiable:
        assert mode.is_negative and operation.label in NOTHING_TO_NEGATE, operation.label
    return seen


def _fuzz(agent, examples: int, derandomize: bool) -> dict[str, set[int]]:
    """Every operation of the agent's schema in both modes; returns the statuses seen per
    operation."""
    auth = {"Authorization": f"Bearer {agent.token}"}
    schema = schemathesis.openapi.from_url(f"{agent.url}/openapi.json", headers=auth)
    stored = _store(agent, os.urandom(4096))  # not a program: its jobs fail fast, with reasons
    seen: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            statuses = _fuzz_operation(operation, mode, auth, stored, examples, derandomize)
            seen.setdefault(operation.label, set()).update(statuses)
    return seen


def _check_data_dir(agent, outside_before: set[str], root: Path) -> None:
    data = agent.data_dir
    assert _files(root) - {f"data/{name}" for name in _files(data)} == outside_before
    assert not any((root / "agent-tmp").iterdir())
    for name in _files(data):
        folder, _, file = name.partition("/")
        assert folder in ("programs", "jobs", "measurements"), name
        if folder == "programs":
            sha256 = file.removesuffix(".pte")
            assert hashlib.sha256((data / name).read_bytes()).hexdigest() == sha256, name
            assert re.fullmatch(SHA256_PATTERN, sha256), name
        elif folder == "jobs":
            assert re.fullmatch(JOB_ID_PATTERN, file.removesuffix(".json")), name


def _check_jobs(agent) -> None:
    """Every fuzzed job ended (within the 2 s cap) with a result or a reason of the agent's
    own, never an exception the agent did not expect (those read `SomeError: ...`)."""
    deadline = time.monotonic() + 120
    while jobs := agent.http.get("/jobs", params={"state": "queued"}).json():
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)
    for job in agent.http.get("/jobs", params={"limit": 1000}).json():
        if job["state"] == "failed":
            assert job["error"] and not re.match(r"[A-Z]\w*(Error|Exception): ", job["error"]), job


def _start_fuzz_target(tmp_path: Path, start_agent, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "agent-tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "agent-tmp"))  # the agent's and its children's
    # Short job cap and upload limit: fuzzed jobs and uploads stay cheap.
    agent = start_agent(tmp_path / "data", job_timeout_s=2, max_program_mb=1)
    outside = _files(tmp_path) - {f"data/{name}" for name in _files(agent.data_dir)}
    return agent, outside


def test_fuzzed_requests_get_documented_answers_and_write_only_in_data_dir(
        tmp_path: Path, start_agent, monkeypatch: pytest.MonkeyPatch) -> None:
    agent, outside = _start_fuzz_target(tmp_path, start_agent, monkeypatch)
    seen = _fuzz(agent, FUZZ_EXAMPLES, derandomize=True)
    assert {201, 200} <= seen["PUT /programs/{sha256}"]  # uploads were stored, not only refused
    assert {202, 422} <= seen["POST /jobs"]  # jobs were run, not only refused
    _check_jobs(agent)
    assert httpx.get(f"{agent.url}/health").status_code == 200
    _check_data_dir(agent, outside, tmp_path)


@pytest.mark.slow
def test_fuzzed_requests_at_length(tmp_path: Path, start_agent, monkeypatch: pytest.MonkeyPatch) -> None:
    agent, outside = _start_fuzz_target(tmp_path, start_agent, monkeypatch)
    # Derandomized, as the default tier is: a random run once failed on a case that was not
    # negative as sent (its two violations were a dropped Authorization header, which every request
    # here carries, and an extra query parameter the client never serialized: the reproduced request
    # was `GET /jobs?limit=1`), so a random seed made the tier flaky without finding anything.
    _fuzz(agent, SLOW_FUZZ_EXAMPLES, derandomize=True)
    _check_jobs(agent)
    assert httpx.get(f"{agent.url}/health").status_code == 200
    _check_data_dir(agent, outside, tmp_path)


NON_FINITE = ["Infinity", "-Infinity", "NaN", "1e999"]


def test_numbers_json_cannot_carry_back_are_refused(tmp_path: Path, start_agent) -> None:
    """Python's JSON parser takes NaN and infinities, which no JSON answer can hold; the fuzzer
    sends only valid JSON, so these are sent by hand. Outside the protocol each was a 500 (the
    422 FastAPI makes echoes the input, which then fails to render); an infinite timeout_s was
    accepted and queued (MeasurementProtocol now refuses it, naming the field)."""
    agent = start_agent(tmp_path / "data")
    sha256 = _store(agent, b"not a program")
    for number in NON_FINITE:
        bodies = {f"protocol.{field}":
                  f'{{"program_sha256": "{sha256}", "protocol": {{"{field}": {number}}}}}'
                  for field in ("timeout_s", "cv_target", "threads")}
        bodies["program_sha256"] = f'{{"program_sha256": {number}, "protocol": {{}}}}'
        bodies["device_id"] = f'{{"program_sha256": "{sha256}", "device_id": [{number}], "protocol": {{}}}}'
        for field, body in bodies.items():
            response = agent.http.post("/jobs", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 422, (body, response.text)
            assert field.rpartition(".")[2] in str(response.json()["detail"]), response.text
    assert agent.http.get("/jobs").json() == []
