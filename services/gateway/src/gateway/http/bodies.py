"""Strict decoding of request bodies where a lax coercion would change meaning.

Litestar converts bodies leniently (``"3"`` becomes ``3``); an order's ``quantity`` must be a
JSON integer, so the order body is decoded once more with msgspec's strict rules.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request

from gateway.http.errors import ApiError

T = TypeVar("T")

_PATH = re.compile(r" - at `\$\.?([^`]*)`$")


def field_of(error: msgspec.ValidationError) -> tuple[str, str]:
    """(field path, message) of a msgspec validation error."""
    message = str(error)
    match = _PATH.search(message)
    if match is None:
        return "", message
    return match.group(1), message[: match.start()]


def validation_problem(exc: msgspec.ValidationError) -> ApiError:
    """The 422 of a body that does not fit its schema, the same for JSON and XML callers."""
    field, message = field_of(exc)
    errors = [{"field": field, "message": message}]
    if field == "quantity":
        return ApiError(
            422,
            "invalid_quantity",
            "quantity must be an integer in 1..1000",
            extra={"errors": errors},
        )
    return ApiError(
        422,
        "validation_error",
        f"{field}: {message}" if field else message,
        extra={"errors": errors},
    )


async def strict_body(request: Request[Any, Any, Any], target: type[T]) -> T:
    try:
        return msgspec.json.decode(await request.body(), type=target, strict=True)
    except msgspec.ValidationError as exc:
        raise validation_problem(exc) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "validation_error", "the body is not valid JSON") from exc
