"""EDO operators: where a closed document's UPD goes, and how its fate comes back.

One interface, :class:`EdoOperator`: ``send`` hands over a signed-ready UPD file and returns
``sent``; ``statuses`` reports what the operator knows since (``delivered`` when the buyer's
EDO received it, ``rejected`` with the reason when the operator or the buyer refused it).

* :class:`FileDropOperator` is the adapter for an operator's desktop agent (Контур.Диадок,
  СБИС, Такском agents all watch a folder): it writes ``<dir>/outbox/<file>.xml`` atomically
  (temp file, fsync, rename) so the agent never picks up half a file, and reads receipts the
  agent drops as ``<dir>/receipts/<file>.delivered`` or ``<file>.rejected`` (its text = reason).
  Signing happens in the agent, with the company's qualified signature.
* :class:`StubOperator` keeps files in memory and answers a configured outcome: for tests and
  for running without an operator.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

EdoStatus = Literal["sent", "delivered", "rejected"]


@dataclass(frozen=True)
class EdoReport:
    """What the operator says of one file."""

    status: EdoStatus
    message: str | None = None


class EdoOperator(Protocol):
    name: str

    async def send(self, file_name: str, content: bytes) -> EdoReport:
        """Hand the file over; idempotent by file name (a resend replaces the same file)."""
        ...

    async def statuses(self, file_names: Iterable[str]) -> dict[str, EdoReport]:
        """Final reports for those of ``file_names`` the operator has settled."""
        ...


class FileDropOperator:
    name = "file"

    def __init__(self, directory: Path) -> None:
        self.outbox = directory / "outbox"
        self.receipts = directory / "receipts"

    async def send(self, file_name: str, content: bytes) -> EdoReport:
        await asyncio.to_thread(self._write, file_name, content)
        return EdoReport("sent")

    def _write(self, file_name: str, content: bytes) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        self.receipts.mkdir(parents=True, exist_ok=True)
        target = self.outbox / file_name
        temporary = self.outbox / f".{file_name}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)

    async def statuses(self, file_names: Iterable[str]) -> dict[str, EdoReport]:
        return await asyncio.to_thread(self._read_receipts, list(file_names))

    def _read_receipts(self, file_names: list[str]) -> dict[str, EdoReport]:
        reports: dict[str, EdoReport] = {}
        for file_name in file_names:
            delivered = self.receipts / f"{file_name}.delivered"
            rejected = self.receipts / f"{file_name}.rejected"
            if rejected.exists():
                reason = rejected.read_text(encoding="utf-8", errors="replace").strip()
                reports[file_name] = EdoReport("rejected", reason or None)
            elif delivered.exists():
                reports[file_name] = EdoReport("delivered")
        return reports


class StubOperator:
    name = "stub"

    def __init__(self, outcome: EdoStatus = "delivered", reason: str | None = None) -> None:
        self.outcome: EdoStatus = outcome
        self.reason = reason
        self.files: dict[str, bytes] = {}

    async def send(self, file_name: str, content: bytes) -> EdoReport:
        self.files[file_name] = content
        return EdoReport("sent")

    async def statuses(self, file_names: Iterable[str]) -> dict[str, EdoReport]:
        if self.outcome == "sent":
            return {}
        return {
            name: EdoReport(self.outcome, self.reason) for name in file_names if name in self.files
        }


def operator_from(kind: str, directory: Path) -> EdoOperator | None:
    """The configured operator; ``None`` when EDO is off."""
    if kind == "none":
        return None
    if kind == "file":
        return FileDropOperator(directory)
    if kind == "stub":
        return StubOperator()
    raise ValueError(f"unknown EDO adapter {kind!r}: use 'none', 'file' or 'stub'")
