"""Every 4xx/5xx answer is an RFC 9457 problem document (``application/problem+json``)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response

from runtara.errors import ServiceError
from runtara.runtime.api.fields import NO_NUL
from runtara.runtime.api.storable import MAX_JSON_DEPTH

log = logging.getLogger("runtara.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ValidationProblem(BaseModel):
    location: str = Field(description="the request field, with a JSON path inside a value")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem document; more members say more (``field``: the field at fault;
    ``errors``: every invalid field; ``instance_status``: how an instance ended)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ValidationProblem] | None = None
    field: str | None = None


#: Every error answer the API may give, documented on every operation.
ERROR_STATUSES = {
    400: "the request cannot be read",
    401: "no, or a wrong, API key or instance token",
    403: "the key may not do this (the problem's `field` names what it asked for)",
    404: "not found in this tenant",
    408: "the request body did not arrive in time",
    409: "the current state refuses it",
    413: "the request body is over the size limit",
    422: "invalid input (`errors` names each field, with its JSON path)",
    503: "the server lacks configuration this needs, or its database",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, description in ERROR_STATUSES.items()
}


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        json.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


#: The request patterns in words: a regular expression is no answer to give a person.
PATTERN_WORDS = {
    NO_NUL: "must not contain NUL characters",
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$": (
        "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'"
    ),
    r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$": (
        "must start with a letter or digit and contain only letters, digits, '.', '_', ':', "
        "'@' and '-'"
    ),
}


def _validation_error(err: dict[str, Any]) -> dict[str, str]:
    ctx = err.get("ctx") or {}
    if err.get("type") == "json_invalid":  # its loc is ("body", character offset)
        offset = err.get("loc", ("body", "?"))[-1]
        reason = ctx.get("error", "invalid JSON")
        return {"location": "body", "message": f"malformed JSON at character {offset}: {reason}"}
    message = err.get("msg", "invalid")
    if err.get("type") == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_WORDS:
        message = PATTERN_WORDS[ctx["pattern"]]
    location = _location(err.get("loc", ()))
    json_path = ctx.get("json_path")  # where inside a JSON value (storable.py)
    if isinstance(json_path, str) and json_path != "$":
        location = json_path[1:] if location == "body" else location + json_path[1:]
    return {"location": location, "message": message}


def install(app: FastAPI) -> None:
    """Answer every error as a problem document, and say so in the OpenAPI document."""
    _document(app)

    @app.exception_handler(ServiceError)
    async def runtara_error(request: Request, exc: ServiceError) -> Response:
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        unreadable = _unreadable_body(exc)
        if unreadable is not None:
            return problem(
                422,
                "Invalid request",
                f"body: {unreadable}",
                errors=[{"location": "body", "message": unreadable}],
            )
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [_validation_error(err) for err in exc.errors()]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal server error", f"{type(exc).__name__}: see the server log")


def _unreadable_body(exc: HTTPException) -> str | None:
    """Why FastAPI could not parse a JSON body it answers with a bare 400, in words
    (it is the request's content at fault: 422 like every other invalid request)."""
    if exc.status_code != 400:
        return None
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        return f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
    if isinstance(cause, UnicodeDecodeError):
        return f"not UTF-8 (byte {cause.start})"
    return None


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _document(app: FastAPI) -> None:
    """The ``Problem`` schema in the OpenAPI components (the responses refer to it)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components.update(components["Problem"].pop("$defs", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
