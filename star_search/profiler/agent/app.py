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

Every error is a 4xx whose JSON body has a `detail`: the reason as text, or for a request that
does not match the schema FastAPI's list of the fields at fault. The schema documents every
status each route answers, so a client (or a fuzzer) can hold the agent to it. The one 5xx is
503, when the agent's own data directory fails it (a full disk), again with a `detail`.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, TypeAdapter, WithJsonSchema
from starlette.requests import ClientDisconnect

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


class ErrorView(BaseModel):
    detail: str | list[dict[str, Any]] = Field(
        description="why the request was refused: a sentence, or (request not matching the "
                    "schema) one entry per field at fault")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorView} for status in statuses}


def _protocol_schema() -> dict[str, Any]:
    """MeasurementProtocol's fields, for the schema only: `MeasurementProtocol.from_dict` is what
    checks them (ranges, max_repeats >= repeats) and names the field at fault."""
    schema = TypeAdapter(MeasurementProtocol).json_schema()
    return {**schema, "additionalProperties": False,
            "description": "MeasurementProtocol fields (missing ones take their defaults); "
                           "timeout_s is capped at the agent's job timeout"}


def _sendable(value: Any) -> Any:
    """`value` with every NaN or infinity written as text, so that it can be sent as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _sendable(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_sendable(child) for child in value]
    return value


class JobRequest(BaseModel):
    program_sha256: str = Field(pattern=SHA256_PATTERN, description="sha256 of an uploaded program")
    device_id: str | None = Field(None, max_length=200, description="null: the agent's first device")
    protocol: Annotated[dict[str, Any], WithJsonSchema(_protocol_schema())]


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
    retryable: bool


class JobQuery(BaseModel):
    """GET /jobs's query; an unknown parameter (a misspelt `state`, say) is refused, not ignored."""

    model_config = {"extra": "forbid"}
    state: str | None = Field(None, pattern=f"^({'|'.join(STATES)})$",
                              description="only jobs in this state")
    limit: int = Field(100, ge=1, le=1000, description="at most this many, newest first")


class HealthView(BaseModel):
    status: str
    api_version: str
    devices: int


class DeviceView(BaseModel):
    device_id: str
    backend: str
    queued: int
    running: bool


class ProgramView(BaseModel):
    sha256: str
    size_bytes: int


class UploadView(ProgramView):
    created: bool


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
    api = APIRouter(dependencies=[Depends(_token_guard(token))], responses=_errors(401))

    @app.exception_handler(UnknownName)
    async def unknown(_: Request, err: UnknownName) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404)

    @app.exception_handler(UnsafeName)
    async def unsafe(_: Request, err: UnsafeName) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad input, which fails to render (a 500) when it
        # holds a NaN or an infinity.
        return JSONResponse({"detail": _sendable(jsonable_encoder(err.errors()))}, status_code=422)

    @app.exception_handler(OSError)
    async def storage_failed(_: Request, err: OSError) -> JSONResponse:
        return JSONResponse({"detail": f"the agent's data directory failed it ({err})"},
                            status_code=503)

    @app.get("/health", response_model=HealthView)
    def health() -> HealthView:
        return HealthView(status="ok", api_version=API_VERSION, devices=len(service.backends))

    @api.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @api.get("/devices", response_model=list[DeviceView])
    def devices() -> list[dict[str, Any]]:
        return service.devices()

    @api.get("/programs/{sha256}", response_model=ProgramView, responses=_errors(404, 422))
    @api.head("/programs/{sha256}", include_in_schema=False)
    def program(sha256: Sha256) -> ProgramView:
        if not service.storage.has_program(sha256):
            raise UnknownName(f"program {sha256} is not stored")
        return ProgramView(sha256=sha256, size_bytes=service.storage.program_size(sha256))

    @api.put("/programs/{sha256}", status_code=201, response_model=UploadView,
             responses={200: {"model": UploadView, "description": "already stored"},
                        **_errors(400, 413, 422, 503)},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload(request: Request, response: Response, sha256: Sha256) -> UploadView:
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
        except ClientDisconnect as err:
            raise HTTPException(400, "the upload was cut short; nothing was kept") from err
        if not created:
            response.status_code = 200
        return UploadView(sha256=sha256, size_bytes=size, created=created)

    @api.post("/jobs", status_code=202, response_model=JobView,
              responses={200: {"model": JobView, "description": "an identical pending job, or "
                                                                "a cached measurement"},
                         **_errors(400, 404, 422, 503)})
    def submit(request: JobRequest, response: Response) -> JobView:
        try:
            protocol = MeasurementProtocol.from_dict(request.protocol)
        except SpecError as err:
            raise HTTPException(422, str(err)) from err
        job, created = service.submit(request.device_id, request.program_sha256, protocol)
        if not created or job.cached:
            response.status_code = 200
        return _view(job)

    @api.get("/jobs/{job_id}", response_model=JobView, responses=_errors(404, 422))
    def job(job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN)]) -> JobView:
        return _view(service.job(job_id))

    @api.get("/jobs", response_model=list[JobView], responses=_errors(422))
    def jobs(query: Annotated[JobQuery, Query()]) -> list[JobView]:
        return [_view(job) for job in service.jobs(query.state, query.limit)]

    app.include_router(api)
    return app
