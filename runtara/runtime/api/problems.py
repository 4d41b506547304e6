"""Every 4xx/5xx answer is an RFC 9457 problem document (``application/problem+json``)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from runtara.errors import ServiceError
from runtara.runtime.api.fields import NO_NUL

log = logging.getLogger("runtara.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


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
    return {"location": _location(err.get("loc", ())), "message": message}


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def runtara_error(request: Request, exc: ServiceError) -> Response:
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
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


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
