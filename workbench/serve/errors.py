"""Errors in the OpenAI shape: ``{"error": {"message", "type", "code"}}`` with the right status.

Clients written against the OpenAI API read ``error.message`` and branch on the status, so
every failure — a ``WorkbenchError`` from the runner, a bad body, a missing key, an unknown
route — leaves the server in that one shape. The status follows the reason: 400 for input
the model cannot take (an image for a text model, a bad setting), 401 without the key, 404
for an unknown model, 413 over a size limit, 503 when the pool has no room (its own message)
or a cluster's ranks are down (at its load or in the middle of a chat).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from workbench.core import errors as core

INVALID = "invalid_request_error"
# WorkbenchError subclass → (status, type, code). Subclasses not listed fall back to their
# nearest listed base (every one derives from WorkbenchError).
STATUS: dict[type[core.WorkbenchError], tuple[int, str, str]] = {
    core.ModelNotFoundError: (404, INVALID, "model_not_found"),
    core.AmbiguousModelError: (400, INVALID, "ambiguous_model"),
    core.UnusableModelError: (400, INVALID, "model_unusable"),
    core.WrongModelKindError: (400, INVALID, "wrong_model_kind"),
    core.ImageTooLarge: (413, INVALID, "request_too_large"),
    core.ImageError: (400, INVALID, "invalid_image"),
    core.InputError: (400, INVALID, "invalid_value"),
    core.HostMemoryError: (503, "server_error", "insufficient_memory"),
    core.ClusterPlanError: (400, INVALID, "model_not_splittable"),
    core.ClusterDown: (503, "server_error", "cluster_down"),
    core.InsufficientMemoryError: (503, "server_error", "insufficient_memory"),
    core.GGUFError: (500, "server_error", "model_import_failed"),
    core.CancelledError: (503, "server_error", "cancelled"),
    core.WorkbenchError: (500, "server_error", "internal_error"),
}
CODES_BY_STATUS = {
    400: (INVALID, "invalid_request"),
    401: (INVALID, "invalid_api_key"),
    404: (INVALID, "not_found"),
    405: (INVALID, "method_not_allowed"),
    413: (INVALID, "request_too_large"),
    503: ("server_error", "unavailable"),
}


class ApiError(HTTPException):
    """An error response: ``status``, one-line ``message``, OpenAI ``type`` and ``code``."""

    def __init__(self, status: int, message: str, code: str | None = None, kind: str = "") -> None:
        default_kind, default_code = CODES_BY_STATUS.get(status, ("server_error", "error"))
        super().__init__(status_code=status, detail=message)
        self.message = message
        self.code = code or default_code
        self.kind = kind or default_kind


class TooLarge(ApiError):
    """A body or an image over the server's limits (413)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message, "request_too_large")


def from_workbench(exc: core.WorkbenchError) -> ApiError:
    """The response a ``WorkbenchError`` (raised here or reported by the runner) becomes."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            status, error_type, code = STATUS[kind]
            return ApiError(status, str(exc), code, error_type)
    return ApiError(500, str(exc), "internal_error", "server_error")


def error_body(error: ApiError) -> dict:
    """``{"error": {"message", "type", "param", "code"}}``."""
    return {
        "error": {"message": error.message, "type": error.kind, "param": None, "code": error.code}
    }


def error_response(error: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
    return JSONResponse(error_body(error), status_code=error.status_code, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for item in exc.errors()[:3]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        problems.append(f"{where}: {item.get('msg', 'invalid')}" if where else item.get("msg", ""))
    return "invalid request: " + "; ".join(problems or ["malformed body"])


def install_handlers(app: FastAPI) -> None:
    """Every error the app can raise → the OpenAI error shape."""

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc, ApiError):
            return error_response(exc)
        return error_response(ApiError(exc.status_code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(ApiError(400, _validation_message(exc)))

    @app.exception_handler(core.WorkbenchError)
    async def workbench(_request: Request, exc: core.WorkbenchError) -> JSONResponse:
        return error_response(from_workbench(exc))
