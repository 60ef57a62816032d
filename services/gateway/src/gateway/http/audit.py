"""The audit log of ops actions, recorded for every mutation under ``/api/v1/admin`` at once.

:class:`AuditMiddleware` (on every route) marks an admin mutation and keeps a copy of its
request body (up to 64 KiB); the ``before_send`` hook :func:`record` learns the answer's status
and, just before the answer's last byte leaves, appends one row: who (a fingerprint of the
bearer token, never the token), the action (the handler's name, e.g. ``approve``,
``go_live``), the target (the path's ids), the method and path, a summary of the request with
every secret-looking field blanked, and the status — refused attempts (401/403/409/422) too.
Answers produced by the error handlers pass the same hook, so nothing escapes it; a failure to
write the row is logged and does not fail the ops call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from defusedxml.ElementTree import fromstring as safe_fromstring
from esd_platform.logging import get_logger
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from gateway.adapters import audit as store

log = get_logger("esd.gateway.audit")

ADMIN_PREFIX = "/api/v1/admin"
MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEPT_BODY_BYTES = 64 * 1024
SCOPE_KEY = "esd.audit"
_SECRET_WORDS = ("secret", "password", "token", "key", "code", "authorization", "signature")
REDACTED = "***"


@dataclass
class _Capture:
    body: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    size: int = 0
    status: int | None = None
    written: bool = False


def actor_of(scope: Scope) -> str:
    """``ops:<12 hex>`` for the ops token, ``bearer:<12 hex>`` for any other, ``anonymous``."""
    token = None
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                token = rest.strip()
    if token is None:
        return "anonymous"
    fingerprint = hashlib.sha256(token.encode()).hexdigest()[:12]
    gateway = scope["app"].state.gateway
    ops = gateway.settings.ops_token
    is_ops = hmac.compare_digest(token.encode(), ops.encode())
    return f"ops:{fingerprint}" if is_ops else f"bearer:{fingerprint}"


def _clean(text: str) -> str:
    """Text PostgreSQL's jsonb takes: no NUL, no unpaired surrogate."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def redact(value: Any) -> Any:
    """The value with every field whose name looks secret blanked, at any depth."""
    if isinstance(value, dict):
        return {
            _clean(str(k)): REDACTED
            if any(w in str(k).lower() for w in _SECRET_WORDS)
            else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _clean(value)
    return value


def summary_of(scope: Scope, capture: _Capture) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        summary["query"] = redact(dict(parse_qsl(query)))
    content_type = ""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-type":
            content_type = value.decode("latin-1").split(";")[0].strip().lower()
    if capture.size:
        summary["content_type"] = content_type
        summary["bytes"] = capture.size
        if capture.truncated:
            return summary
        if capture.body.lstrip().startswith(b"<"):  # XML (the XML layer may relabel it JSON)
            summary["body"] = _xml_fields(bytes(capture.body))
        elif content_type.endswith("json"):
            try:
                summary["body"] = redact(json.loads(capture.body))
                json.dumps(summary["body"])  # raises on what jsonb would refuse
            except (ValueError, RecursionError):
                summary["body"] = "<not JSON>"
    return summary


def _xml_fields(raw: bytes) -> Any:
    """An XML body's fields as a dict (safe parser: no DTD, no entities), redacted."""

    def fields(element: Any) -> Any:
        children = list(element)
        if not children:
            return (element.text or "").strip()
        return {child.tag: fields(child) for child in children}

    try:
        return redact(fields(safe_fromstring(raw)))
    except Exception:  # not XML we can read: say so, keep nothing of it
        return "<not XML>"


class AuditMiddleware:
    """Marks an admin mutation and keeps a bounded copy of its body for :func:`record`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope.get("method") not in MUTATIONS
            or not scope["path"].startswith(ADMIN_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        capture = _Capture()
        scope[SCOPE_KEY] = capture  # type: ignore[literal-required]

        async def teed() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                capture.size += len(chunk)
                room = KEPT_BODY_BYTES - len(capture.body)
                if len(chunk) > room:
                    capture.truncated = True
                capture.body += chunk[: max(room, 0)]
            return message

        await self.app(scope, teed, send)


async def record(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the status from the answer's start, the row before its end."""
    capture: _Capture | None = scope.get(SCOPE_KEY)  # type: ignore[assignment]
    if capture is None or capture.written:
        return
    if message["type"] == "http.response.start":
        capture.status = int(message["status"])
        return
    if message["type"] != "http.response.body" or message.get("more_body", False):
        return
    capture.written = True
    handler = scope.get("route_handler")
    action = getattr(handler, "handler_name", None) or "unknown"
    params = scope.get("path_params") or {}
    target = "/".join(str(v) for v in params.values()) or None
    try:
        gateway = scope["app"].state.gateway
        async with gateway.service.engine.begin() as conn:
            await store.append(
                conn,
                at=gateway.service.clock.now(),
                actor=actor_of(scope),
                action=action,
                target=target,
                method=str(scope.get("method", "")),
                path=_clean(scope["path"]),
                status=capture.status or 0,
                summary=summary_of(scope, capture),
            )
    except Exception:  # the ops call has happened; a missing audit row is logged loudly
        log.exception("audit entry not recorded", action=action, target=target)
