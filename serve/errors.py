"""Errors in OpenAI's shape ``{"error": {message, type, param, code}}``, so the official client raises
the matching exception: ``ApiError``, the OpenAPI error responses of each status, and the app's
exception handlers (bad input is a 4xx naming the field, never a 500)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serve import schemas

ERRORS = {
    status: {"model": schemas.ErrorResponse, "description": text}
    for status, text in [(400, "invalid request (names the field)"), (401, "missing or wrong API key"),
                         (404, "unknown model or comparison"),
                         (409, "the comparison already has its vote"), (413, "request body too large"),
                         (429, "queue full; retry after Retry-After seconds"), (500, "server error"),
                         (502, "proxied endpoint failed"), (503, "shutting down or unavailable"),
                         (504, "request timed out")]
}
GENERATION_ERRORS = (400, 401, 404, 413, 429, 500, 502, 503, 504)  # what a generating route may answer


def responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that may answer these error statuses."""
    return {status: ERRORS[status] for status in statuses}


class ApiError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return schemas.error_body(self.message, self.type, self.param, self.code)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def _field_name(loc: tuple) -> str | None:
    parts = [str(p) for p in loc if p != "body"]
    # pydantic adds the union member's type name (e.g. "str", "list[TextPart]") to the location
    parts = [p for p in parts if not (p[:1].isalpha() and ("[" in p or p in {"str", "int", "float", "bool", "list"}))]
    return ".".join(parts) or None


def validation_error(err: RequestValidationError) -> ApiError:
    """A request pydantic refused, as a 400 naming the field."""
    # of a union's failed members, the one that got furthest into the value says what is wrong with it
    first = max(err.errors(), key=lambda e: len(e.get("loc", ())), default={"loc": (), "msg": "invalid request",
                                                                            "type": ""})
    if first.get("type") == "json_invalid":
        return ApiError(400, f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})",
                        code="invalid_json")
    param = _field_name(tuple(first.get("loc", ())))
    message = f"{param or 'body'}: {first.get('msg', 'invalid value')}"
    if first.get("type") == "missing":
        message = f"{param}: this field is required"
    if first.get("type") == "bool_type":
        message = f"{param}: must be a JSON boolean, true or false (not a string or a number)"
    if first.get("type") == "string_unicode":  # pydantic's own check, for fields with a length limit
        message = f"{param}: the text is not valid Unicode (a lone surrogate?); send UTF-8 text"
    return ApiError(400, message, param=param, code="invalid_value")


async def _api_error(request: Request, err: ApiError):
    return err.response()


async def _invalid(request: Request, err: RequestValidationError):
    return validation_error(err).response()


async def _http_error(request: Request, err: StarletteHTTPException):
    kind = "not_found" if err.status_code == 404 else "invalid_request_error"
    message = f"no route {request.url.path}" if err.status_code == 404 else str(err.detail)
    return ApiError(err.status_code, message, kind, headers=getattr(err, "headers", None) or {}).response()


async def _crash(request: Request, err: Exception):
    return ApiError(500, f"internal error ({type(err).__name__})", "server_error").response()


def add_error_handlers(app: FastAPI) -> None:
    """Answer every error in OpenAI's shape: ours, pydantic's, Starlette's (404, 405) and crashes (500)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _crash)
