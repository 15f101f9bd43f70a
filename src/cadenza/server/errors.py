"""Errors as JSON, in OpenAI's shape so that every client library shows the message:

{"error": {"message": "...", "type": "invalid_request_error", "param": "budget",
           "code": null}}
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from ..errors import (
    InvalidTaskError,
    ModelNotFoundError,
    UnknownModelError,
    UnknownValidatorError,
    UsageError,
)
from .run_errors import (
    ModelNotAllowed,
    RunNotFound,
    RunNotInProgress,
    RunRequestError,
    RunServiceError,
    ServerBusy,
    ServiceUnavailable,
)

__all__ = ["ApiError", "error_body", "error_response", "install_error_handlers", "usage_error"]

log = logging.getLogger("cadenza.server")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    421: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "server_error",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers


def error_body(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error"),
            "param": param,
            "code": code,
        }
    }


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(status, message, param=param, code=code), status_code=status, headers=headers
    )


def usage_error(exc: UsageError, *, param: str | None = None) -> ApiError:
    """The HTTP form of a cadenza `UsageError`: 400 for an unknown model, else 422."""
    if isinstance(exc, UnknownModelError | ModelNotFoundError):
        return ApiError(400, str(exc), param=param or "models", code="model_not_found")
    if isinstance(exc, UnknownValidatorError):
        return ApiError(422, str(exc), param=param or "requirements", code="unknown_validator")
    if isinstance(exc, InvalidTaskError):
        return ApiError(422, str(exc), param=param, code="invalid_task")
    return ApiError(422, str(exc), param=param, code="invalid_request")


def service_error_status(exc: RunServiceError) -> int:
    """The HTTP status of a run service error."""
    if isinstance(exc, ModelNotAllowed):
        return 400
    if isinstance(exc, RunRequestError):
        return 422
    if isinstance(exc, RunNotFound):
        return 404
    if isinstance(exc, RunNotInProgress):
        return 409
    if isinstance(exc, ServerBusy):
        return 429
    if isinstance(exc, ServiceUnavailable):
        return 503
    return 500


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        head, rest = parts[0], parts[1:]
        return (".".join(rest) or head) if head == "body" else f"{head}.{'.'.join(rest)}"
    return ".".join(parts)


def validation_message(errors: list[Any]) -> tuple[str, str | None]:
    parts = []
    for err in errors[:10]:
        where = _loc(err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            where, msg = "body", "the body is not valid JSON"
        parts.append(f"{where}: {msg}")
    if len(errors) > 10:
        parts.append(f"... and {len(errors) - 10} more")
    first = _loc(errors[0].get("loc", ())) if errors else None
    return "invalid request: " + "; ".join(parts), first


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status, exc.message, param=exc.param, code=exc.code, headers=exc.headers
        )

    @app.exception_handler(RunServiceError)
    async def _service_error(request: Request, exc: RunServiceError) -> JSONResponse:
        status = service_error_status(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ServerBusy) else None
        return error_response(status, exc.message, param=exc.param, code=exc.code, headers=headers)

    @app.exception_handler(UsageError)
    async def _usage_error(request: Request, exc: UsageError) -> JSONResponse:
        err = usage_error(exc)
        return error_response(err.status, err.message, param=err.param, code=err.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        message, param = validation_message(errors)
        body = error_body(422, message, param=param, code="invalid_request")
        body["detail"] = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in errors
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, message, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # The body says only that it happened: an exception's class or text could tell a
        # client about the server's code, files or upstreams.
        request_id = uuid.uuid4().hex[:16]
        log.exception("internal error %s on %s %s", request_id, request.method, request.url.path)
        return error_response(
            500,
            f"internal error; the server log has the details under request id {request_id}",
            code="internal_error",
            headers={"X-Request-Id": request_id},
        )
