"""Problems the gateway answers (RFC 9457), as exceptions with the spec's stable ``code``."""

from __future__ import annotations

from typing import Any


class EsdError(Exception):
    """Base of every error of this client."""


class TransportError(EsdError):
    """The gateway could not be reached or did not answer (after the retries allowed)."""


class ApiError(EsdError):
    """A problem answer: ``status``, ``code`` (e.g. ``unknown_sku``), ``title``, ``detail``."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, problem: dict[str, Any]
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.problem = problem


class BadRequest(ApiError):
    """400/413/422: the request is wrong; sending it again will not help."""


class Unauthorized(ApiError):
    """401: the API key is missing, wrong or revoked."""


class Forbidden(ApiError):
    """403."""


class NotFound(ApiError):
    """404: no such resource for this partner (another partner's id answers the same)."""


class Conflict(ApiError):
    """409: e.g. ``idempotency_conflict`` (an external_id reused with another body) or
    ``not_cancellable``."""


class RateLimited(ApiError):
    """429 after the retries allowed; ``retry_after`` seconds as the gateway asked."""

    def __init__(self, *args: Any, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx after the retries allowed (``service_unavailable``, ``internal_error``)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    422: BadRequest,
    429: RateLimited,
}


def from_problem(
    status: int, body: Any, retry_after: float | None = None, fallback: str = ""
) -> ApiError:
    """The typed exception of a problem body (or of a bare status when the body is not one)."""
    problem = body if isinstance(body, dict) else {}
    code = str(problem.get("code") or ("internal_error" if status >= 500 else "http_error"))
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or fallback or title)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if cls is RateLimited:
        return RateLimited(status, code, title, detail, problem, retry_after=retry_after)
    return cls(status, code, title, detail, problem)
