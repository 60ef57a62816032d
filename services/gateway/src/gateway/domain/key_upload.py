"""A pool upload as ops send it (a text file, one key a line, or JSON), read into keys.

Pure: no I/O. The keys service decides duplicates; this only turns a body into a list of keys
with the line each came from, and refuses a body that is not a key list at all, so that a wrong
file changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_KEYS = 10_000
"""Keys per upload: one request/reply with the keys service must stay well inside its timeout."""
MAX_KEY_LENGTH = 200


class UploadRefused(Exception):
    """The body is not a usable key list; nothing is loaded. ``code`` is a stable error code."""

    def __init__(self, detail: str, status: int = 422, code: str = "validation_error") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Upload:
    """Keys to load, ``lines[i]`` being where ``keys[i]`` stood in the upload (1-based)."""

    keys: tuple[str, ...]
    lines: tuple[int, ...]
    low_threshold: int | None = None


def read_upload(body: bytes, content_type: str) -> Upload:
    """Text (``text/plain``, ``text/csv``, ``application/octet-stream``): one key a line, blank
    lines skipped. JSON: ``["K1", …]`` or ``{"keys": ["K1", …], "low_threshold": 5}``."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("application/json", "") and body.lstrip()[:1] in (b"[", b"{"):
        return _read_json(body)
    if media == "application/json":
        raise UploadRefused("the body is not a JSON key list")
    if media in ("text/plain", "text/csv", "application/octet-stream", ""):
        return _read_text(body)
    raise UploadRefused(
        f"unsupported content type {media!r}: send text/plain (one key a line) or JSON",
        status=415,
    )


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRefused("the file is not UTF-8 text") from exc


def _read_text(body: bytes) -> Upload:
    keys: list[str] = []
    lines: list[int] = []
    for number, raw in enumerate(_decode(body).splitlines(), start=1):
        key = raw.strip()
        if key:
            keys.append(_checked(key, number))
            lines.append(number)
    return _upload(keys, lines, None)


def _read_json(body: bytes) -> Upload:
    try:
        data: Any = json.loads(_decode(body))
    except json.JSONDecodeError as exc:
        raise UploadRefused("the body is not valid JSON", status=400) from exc
    threshold: Any = None
    if isinstance(data, dict):
        unknown = set(data) - {"keys", "low_threshold"}
        if unknown:
            raise UploadRefused(f"unknown fields: {', '.join(sorted(unknown))}")
        threshold = data.get("low_threshold")
        data = data.get("keys")
    if not isinstance(data, list):
        raise UploadRefused('"keys" must be a list of strings')
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0
    ):
        raise UploadRefused("low_threshold must be a non-negative integer")
    keys: list[str] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, str):
            raise UploadRefused(f"item {number}: a key must be a string")
        # JSON items keep their positions; a blank one is reported back as "empty"
        keys.append(_checked(item.strip(), number) if item.strip() else "")
    return _upload(keys, list(range(1, len(keys) + 1)), threshold)


def _checked(key: str, line: int) -> str:
    if len(key) > MAX_KEY_LENGTH:
        raise UploadRefused(f"line {line}: a key is at most {MAX_KEY_LENGTH} characters")
    if any(not ch.isprintable() for ch in key):
        raise UploadRefused(f"line {line}: a key holds control characters")
    return key


def _upload(keys: list[str], lines: list[int], threshold: int | None) -> Upload:
    if not keys:
        raise UploadRefused("no keys in the upload")
    if len(keys) > MAX_KEYS:
        raise UploadRefused(f"at most {MAX_KEYS} keys per upload", status=413)
    return Upload(tuple(keys), tuple(lines), threshold)
