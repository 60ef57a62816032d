"""RFC 9457 problem details for every error, with the spec's stable ``code``.

Nothing below ever puts a stack trace or an exception's text from inside the server into a
response: unexpected errors answer a generic 500 and are logged with their trace.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from esd_platform.logging import get_logger
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from gateway.domain.errors import Conflict, NotFound, Refusal, Unavailable

PROBLEM_JSON = "application/problem+json"

log = get_logger("esd.gateway.http")

_CODE_BY_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "validation_error",
    415: "validation_error",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An HTTP answer other than success, with its stable ``code``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def problem(
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:esd:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def on_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code, exc.detail, exc.headers, **exc.extra)


def on_refusal(_: Request[Any, Any, Any], exc: Refusal) -> Response[dict[str, Any]]:
    return problem(422, exc.code, exc.detail)


def on_not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[dict[str, Any]]:
    return problem(404, "not_found", exc.detail)


def on_conflict(_: Request[Any, Any, Any], exc: Conflict) -> Response[dict[str, Any]]:
    return problem(409, exc.code, exc.detail)


def on_unavailable(_: Request[Any, Any, Any], exc: Unavailable) -> Response[dict[str, Any]]:
    log.warning("dependency_unavailable", detail=exc.detail)
    return problem(503, "service_unavailable", exc.detail, headers={"Retry-After": "1"})


def on_validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """Wrong shape or type: 422 ``validation_error``; a wrong ``quantity`` is ``invalid_quantity``.

    The messages are the validator's own (field names and expected types), never server state.
    """
    errors = [
        {"field": str(e.get("key", "")), "message": str(e.get("message", ""))}
        for e in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(e, dict)
    ]
    if any(e["field"] == "quantity" for e in errors):
        return problem(
            422, "invalid_quantity", "quantity must be an integer in 1..1000", errors=errors
        )
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem(422, "validation_error", detail, errors=errors)


def on_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    code = _CODE_BY_STATUS.get(status, "validation_error" if status < 500 else "internal_error")
    if status >= 500:
        return problem(status, code, HTTPStatus(status).phrase)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else HTTPStatus(status).phrase
    return problem(status, code, detail, headers=exc.headers)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return problem(500, "internal_error", "internal error; the request may be retried")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    Refusal: on_refusal,
    NotFound: on_not_found,
    Conflict: on_conflict,
    Unavailable: on_unavailable,
    ValidationException: on_validation_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
