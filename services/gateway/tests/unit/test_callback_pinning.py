"""Webhooks connect to the address the guard checked, not to a second DNS answer (rebinding)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpcore
import httpx
import pytest
from esd_platform.service import Service
from gateway.domain.callback_guard import CallbackPolicy
from gateway.domain.errors import Refusal
from gateway.service_layer import callback_policy
from gateway.service_layer.callback_policy import PinnedBackend, pinned_transport, set_policy


class FakeService:
    """Enough of a Service for the policy lookup (keyed by the object)."""


class Recorder(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def connect_tcp(
        self, host: str, port: int, *_: Any, **__: Any
    ) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        raise httpcore.ConnectError("recorded")


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Service:
    answers = {
        "shop.example": [["93.184.215.14"], ["10.0.0.5"]],  # public when checked, then inside
        "inside.example": [["10.0.0.5"]],
    }

    async def fake_resolve(host: str) -> list[str]:
        found = answers.get(host)
        return found.pop(0) if found and len(found) > 1 else (found[0] if found else [])

    monkeypatch.setattr(callback_policy, "resolve", fake_resolve)
    fake = cast(Service, FakeService())
    set_policy(fake, CallbackPolicy(allow_private=False))
    return fake


async def test_the_socket_goes_to_the_checked_address(service: Service) -> None:
    recorder = Recorder()
    backend = PinnedBackend(service, recorder)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("shop.example", 443)
    assert recorder.hosts == ["93.184.215.14"]  # not the name: a second answer is never asked


async def test_an_internal_answer_is_refused_before_any_connection(service: Service) -> None:
    recorder = Recorder()
    backend = PinnedBackend(service, recorder)
    with pytest.raises(Refusal, match="internal address"):
        await backend.connect_tcp("inside.example", 443)
    with pytest.raises(Refusal, match="does not resolve"):
        await backend.connect_tcp("gone.example", 443)
    assert recorder.hosts == []


async def test_the_webhook_client_really_connects_through_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name no DNS knows reaches a local server: only the pinned address can explain it."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def local(host: str) -> list[str]:
        return ["127.0.0.1"] if host == "stub.invalid" else []

    monkeypatch.setattr(callback_policy, "resolve", local)
    monkeypatch.setattr(callback_policy, "check_addresses", lambda *_: None)  # a local stand-in
    try:
        async with httpx.AsyncClient(transport=pinned_transport(service)) as client:
            response = await client.post(f"http://stub.invalid:{port}/hook", content=b"{}")
        assert response.status_code == 204
    finally:
        server.close()
        await server.wait_closed()
