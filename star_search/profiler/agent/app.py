"""The agent's HTTP API (FastAPI). Every route but `GET /health` needs `Authorization: Bearer
<token>`; the OpenAPI schema is served, behind the token too, at `GET /openapi.json`.

    GET  /health                   liveness, no token
    GET  /devices                  the devices this agent measures on, with queue lengths
    HEAD|GET /programs/{sha256}    whether a program is stored (404 if not)
    PUT  /programs/{sha256}        upload a program's bytes (application/octet-stream);
                                   413 past the size limit, 400 if the bytes hash differently
    POST /jobs                     {"program_sha256", "device_id" (optional), "protocol": {...}}
    GET  /jobs/{job_id}            the job: state, result (a Measurement) or error
    GET  /jobs                     recent jobs, newest first (?state=queued|running|done|failed)
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from star_search.errors import SpecError
from star_search.profiler.agent.jobs import STATES, Job
from star_search.profiler.agent.service import AgentService, UnknownName
from star_search.profiler.agent.storage import (
    JOB_ID_PATTERN,
    SHA256_PATTERN,
    DigestMismatch,
    UnsafeName,
    UploadTooLarge,
)
from star_search.profiler.protocol import MeasurementProtocol

API_VERSION = "1"
Sha256 = Annotated[str, Path(pattern=SHA256_PATTERN, description="sha256 of the program's bytes")]


class JobRequest(BaseModel):
    program_sha256: str = Field(pattern=SHA256_PATTERN, description="sha256 of an uploaded program")
    device_id: str | None = Field(None, max_length=200, description="null: the agent's first device")
    protocol: dict[str, Any] = Field(description="MeasurementProtocol fields; timeout_s is capped "
                                                 "at the agent's job timeout")


class JobView(BaseModel):
    job_id: str
    device_id: str
    program_sha256: str
    protocol: dict[str, Any]
    state: str
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    result: dict[str, Any] | None
    error: str | None
    cached: bool


_BEARER = HTTPBearer(auto_error=False, description="the agent's token (token_file / token_env)")


def _token_guard(token: str) -> Any:
    def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> None:
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, token.encode()):
            raise HTTPException(401, "missing or wrong bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
    return check


def _view(job: Job) -> JobView:
    return JobView(**job.to_dict())


def create_app(service: AgentService, token: str) -> FastAPI:
    """The agent's ASGI app; starts the device workers on startup and stops them on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        service.stop()

    app = FastAPI(title="star-search profiler agent", version=API_VERSION, lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    api = APIRouter(dependencies=[Depends(_token_guard(token))])

    @app.exception_handler(UnknownName)
    async def unknown(_: Request, err: UnknownName) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404)

    @app.exception_handler(UnsafeName)
    async def unsafe(_: Request, err: UnsafeName) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=422)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "api_version": API_VERSION, "devices": len(service.backends)}

    @api.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @api.get("/devices")
    def devices() -> list[dict[str, Any]]:
        return service.devices()

    @api.get("/programs/{sha256}")
    @api.head("/programs/{sha256}", include_in_schema=False)
    def program(sha256: Sha256) -> dict[str, Any]:
        if not service.storage.has_program(sha256):
            raise UnknownName(f"program {sha256} is not stored")
        return {"sha256": sha256, "size_bytes": service.storage.program_size(sha256)}

    @api.put("/programs/{sha256}", status_code=201,
             openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}}})
    async def upload(request: Request, response: Response, sha256: Sha256) -> dict[str, Any]:
        limit = service.storage.max_program_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, f"program of {declared} bytes exceeds the limit of {limit} bytes")
        try:
            size, created = await service.storage.save_program(sha256, request.stream())
        except UploadTooLarge as err:
            raise HTTPException(413, str(err)) from err
        except DigestMismatch as err:
            raise HTTPException(400, str(err)) from err
        if not created:
            response.status_code = 200
        return {"sha256": sha256, "size_bytes": size, "created": created}

    @api.post("/jobs", status_code=202, response_model=JobView)
    def submit(request: JobRequest, response: Response) -> JobView:
        try:
            protocol = MeasurementProtocol.from_dict(request.protocol)
        except SpecError as err:
            raise HTTPException(422, str(err)) from err
        job, created = service.submit(request.device_id, request.program_sha256, protocol)
        if not created or job.cached:
            response.status_code = 200
        return _view(job)

    @api.get("/jobs/{job_id}", response_model=JobView)
    def job(job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN)]) -> JobView:
        return _view(service.job(job_id))

    @api.get("/jobs", response_model=list[JobView])
    def jobs(state: Annotated[str | None, Query(pattern=f"^({'|'.join(STATES)})$")] = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[JobView]:
        return [_view(job) for job in service.jobs(state, limit)]

    app.include_router(api)
    return app
