"""Ops around a partner beyond the first approval: the applicant's e-mail (outbox → SMTP or a
drop folder), the signed contract before go-live, the audit log of ops actions, a partner's
own request budget, and the callback URL guard — on the real database and broker."""

from __future__ import annotations

import asyncio
import email
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from esd_platform.testing import isolated_settings
from gateway.adapters.mail import FileDropTransport, MailSettings, SmtpTransport, transport_for
from gateway.bootstrap import create_app
from gateway.domain.callback_guard import CallbackPolicy
from gateway.domain.errors import Refusal
from gateway.runtime import Gateway
from gateway.service_layer import callback_policy
from gateway.service_layer.callback_policy import check_before_send, set_policy
from gateway.service_layer.mail import MailRelay, send_later
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client
from litestar import Litestar
from sqlalchemy import text

from services.gateway.tests.integration.helpers import (
    OPS,
    OPS_TOKEN,
    VALID_INN,
    bearer,
    onboard,
    product,
    scalar,
    seed_products,
)

pytestmark = pytest.mark.integration


@dataclass
class Inbox:
    """What the local SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class World:
    app: Litestar
    client: httpx.AsyncClient
    gateway: Gateway
    inbox: Inbox
    smtp_port: int

    def relay(self, transport: Any = None, **overrides: Any) -> MailRelay:
        settings = MailSettings(
            smtp_host="127.0.0.1",
            smtp_port=self.smtp_port,
            smtp_timeout=5,
            mail_backoff_base=60,
            **overrides,
        )
        return MailRelay(self.gateway.service, settings, transport)


@pytest.fixture(scope="module")
async def world(smtp: tuple[Inbox, int]) -> AsyncIterator[World]:
    """A gateway whose own mail relay is off: each test drives a relay itself."""
    inbox, port = smtp
    async with isolated_settings() as settings:
        app = create_app(settings, GatewaySettings(ops_token=OPS_TOKEN, query_timeout=2.0))
        app.state.mail_settings = MailSettings(mail_enabled=False)
        async with in_loop_client(app) as client:
            yield World(app, client, app.state.gateway, inbox, port)


async def apply(client: httpx.AsyncClient, email_address: str) -> str:
    response = await client.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО Ромашка",
            "inn": VALID_INN,
            "email": email_address,
            "region": "Москва",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["application_id"])


async def mail_rows(world: World, recipient: str) -> list[Any]:
    async with world.gateway.service.engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text("SELECT * FROM mail_outbox WHERE recipient = :r"), {"r": recipient}
                )
            ).all()
        )


class TestOnboardingMail:
    async def test_approval_mail_goes_over_smtp_without_key_or_secret(self, world: World) -> None:
        address = f"{uuid.uuid4().hex[:8]}@shop.example"
        app_id = await apply(world.client, address)
        approved = await world.client.post(
            f"/api/v1/admin/applications/{app_id}/approve", headers=OPS
        )
        assert approved.status_code == 200
        approval = approved.json()
        # queued with the decision, in its transaction
        [row] = await mail_rows(world, address)
        assert row.status == "pending"
        assert row.kind == "application_approved"
        await world.relay().relay_once()
        [message] = world.inbox.to(address)
        body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
        assert approval["reseller_id"] in body
        assert "/schema" in body  # a link to the API reference
        assert "test" in body  # next steps: test orders until go-live
        assert approval["api_key"] not in body
        assert approval["webhook_secret"] not in body
        assert approval["api_key"] not in str(message)
        assert message["Message-ID"] == f"<{row.id}@esd.local>"
        [sent] = await mail_rows(world, address)
        assert (sent.status, sent.transport, sent.attempts) == ("sent", "smtp", 1)
        # a second round sends nothing again
        await world.relay().relay_once()
        assert len(world.inbox.to(address)) == 1

    async def test_rejection_mail_carries_the_reason_into_the_drop_folder_once(
        self, world: World, tmp_path: Path
    ) -> None:
        address = f"{uuid.uuid4().hex[:8]}@shop.example"
        app_id = await apply(world.client, address)
        rejected = await world.client.post(
            f"/api/v1/admin/applications/{app_id}/reject",
            json={"reason": "ИНН не совпадает с данными ЕГРЮЛ"},
            headers=OPS,
        )
        assert rejected.status_code == 200
        drop = FileDropTransport(tmp_path / "mail")
        await world.relay(drop).relay_once()
        [row] = await mail_rows(world, address)
        assert (row.status, row.transport) == ("sent", "file")
        files = list((tmp_path / "mail").glob("*.eml"))
        assert files == [drop.path_of(row.id)]
        parsed = email.message_from_bytes(files[0].read_bytes())
        assert parsed["To"] == address
        text_body = parsed.get_payload(decode=True).decode()  # type: ignore[union-attr]
        assert "ИНН не совпадает с данными ЕГРЮЛ" in text_body
        first = files[0].read_bytes()
        # a crash after the hand-over but before "sent" was recorded: the row is due again
        async with world.gateway.service.engine.begin() as conn:
            await conn.execute(
                text("UPDATE mail_outbox SET status = 'pending', claim_id = NULL WHERE id = :id"),
                {"id": row.id},
            )
        await world.relay(drop).relay_once()
        assert list((tmp_path / "mail").glob("*.eml")) == files
        assert files[0].read_bytes() == first
        # a refused second decision queues no second mail
        again = await world.client.post(
            f"/api/v1/admin/applications/{app_id}/reject", json={"reason": "x"}, headers=OPS
        )
        assert again.status_code == 409
        assert len(await mail_rows(world, address)) == 1

    async def test_smtp_down_is_retried_later_and_then_sent_once(self, world: World) -> None:
        address = f"{uuid.uuid4().hex[:8]}@shop.example"
        await send_later(
            world.gateway.service,
            recipient=address,
            subject="Set your password",
            body="https://portal.example/set-password/abc",
            kind="portal_password",
        )
        down = world.relay(SmtpTransport(MailSettings(smtp_host="127.0.0.1", smtp_port=1)))
        await down.relay_once()
        [row] = await mail_rows(world, address)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error
        assert row.next_attempt_at > world.gateway.service.clock.now()
        await world.relay().relay_once()  # not due yet: nothing sent
        assert world.inbox.to(address) == []
        async with world.gateway.service.engine.begin() as conn:
            await conn.execute(
                text("UPDATE mail_outbox SET next_attempt_at = now() WHERE id = :id"),
                {"id": row.id},
            )
        # two relays at once (two gateway processes): the lease gives the mail to one
        await asyncio.gather(world.relay().relay_once(), world.relay().relay_once())
        assert len(world.inbox.to(address)) == 1
        [sent] = await mail_rows(world, address)
        assert (sent.status, sent.attempts) == ("sent", 2)

    async def test_gives_up_after_the_last_attempt(self, world: World) -> None:
        address = f"{uuid.uuid4().hex[:8]}@shop.example"
        await send_later(
            world.gateway.service, recipient=address, subject="s", body="b", kind="test"
        )
        down = SmtpTransport(MailSettings(smtp_host="127.0.0.1", smtp_port=1))
        await world.relay(down, mail_max_attempts=1).relay_once()
        [row] = await mail_rows(world, address)
        assert (row.status, row.attempts) == ("failed", 1)
        # ops see it, with the reason, and send it again
        failed = await world.client.get("/api/v1/admin/mail?status=failed", headers=OPS)
        [shown] = [m for m in failed.json()["items"] if m["recipient"] == address]
        assert shown["last_error"]
        retried = await world.client.post(f"/api/v1/admin/mail/{row.id}/retry", headers=OPS)
        assert retried.status_code == 200
        assert retried.json()["status"] == "pending"
        await world.relay().relay_once()
        assert len(world.inbox.to(address)) == 1
        again = await world.client.post(f"/api/v1/admin/mail/{row.id}/retry", headers=OPS)
        assert again.status_code == 404  # a sent mail is not sent twice

    def test_no_smtp_server_means_the_drop_folder(self) -> None:
        assert isinstance(transport_for(MailSettings(smtp_host="")), FileDropTransport)
        assert isinstance(transport_for(MailSettings(smtp_host="mx.example")), SmtpTransport)


class TestContract:
    async def test_go_live_needs_the_signed_contract(self, world: World) -> None:
        pid = (await onboard(world.client))["partner_id"]
        refused = await world.client.post(f"/api/v1/admin/partners/{pid}/go-live", headers=OPS)
        assert refused.status_code == 409
        assert refused.json()["code"] == "contract_not_signed"
        shown = (await world.client.get(f"/api/v1/admin/partners/{pid}", headers=OPS)).json()
        assert (shown["live"], shown["contract_signed"], shown["contract_number"]) == (
            False,
            False,
            None,
        )
        bad = await world.client.post(
            f"/api/v1/admin/partners/{pid}/contract-signed",
            json={"number": "Д-17/2026"},
            headers=OPS,
        )
        assert bad.status_code in (400, 422)
        assert bad.json()["code"] == "validation_error"
        signed = await world.client.post(
            f"/api/v1/admin/partners/{pid}/contract-signed",
            json={"number": "Д-17/2026", "date": "2026-11-20"},
            headers=OPS,
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["contract_signed"] is True
        assert signed.json()["contract_date"] == "2026-11-20"
        live = await world.client.post(f"/api/v1/admin/partners/{pid}/go-live", headers=OPS)
        assert live.status_code == 200
        assert live.json()["live"] is True
        assert live.json()["contract_number"] == "Д-17/2026"

    async def test_unknown_partner_and_partner_key_are_refused(self, world: World) -> None:
        approval = await onboard(world.client)
        missing = await world.client.post(
            f"/api/v1/admin/partners/{uuid.uuid4()}/contract-signed",
            json={"number": "1", "date": "2026-01-01"},
            headers=OPS,
        )
        assert missing.status_code == 404
        as_partner = await world.client.post(
            f"/api/v1/admin/partners/{approval['partner_id']}/contract-signed",
            json={"number": "1", "date": "2026-01-01"},
            headers=bearer(approval["api_key"]),
        )
        assert as_partner.status_code == 403


class TestAuditLog:
    async def test_ops_mutations_are_recorded_without_secrets(self, world: World) -> None:
        approval = await onboard(world.client)
        pid = approval["partner_id"]
        await world.client.put(
            f"/api/v1/admin/partners/{pid}/credit",
            json={"limit": "70000.00", "term_days": 20},
            headers=OPS,
        )
        await world.client.post(f"/api/v1/admin/partners/{pid}/go-live", headers=OPS)  # 409
        await world.client.post(f"/api/v1/admin/partners/{pid}/api-keys", headers=OPS)
        await world.client.post(  # a partner's attempt is recorded too
            f"/api/v1/admin/partners/{pid}/go-live", headers=bearer(approval["api_key"])
        )
        page = await world.client.get(f"/api/v1/admin/audit?target={pid}", headers=OPS)
        assert page.status_code == 200
        entries = page.json()["items"]
        assert [(e["action"], e["status"]) for e in entries] == [
            ("go_live", 403),
            ("issue_key", 201),
            ("go_live", 409),
            ("set_credit", 200),
        ]
        credit = entries[-1]
        assert credit["summary"]["body"] == {"limit": "70000.00", "term_days": 20}
        assert credit["method"] == "PUT"
        assert credit["actor"].startswith("ops:")
        assert OPS_TOKEN not in credit["actor"]
        assert entries[0]["actor"].startswith("bearer:")
        everything = (await world.client.get("/api/v1/admin/audit?limit=500", headers=OPS)).text
        assert approval["api_key"] not in everything
        assert OPS_TOKEN not in everything
        approvals = (
            await world.client.get("/api/v1/admin/audit?action=approve&limit=500", headers=OPS)
        ).json()["items"]
        assert any(e["target"] is not None and e["status"] == 200 for e in approvals)
        # reads are not mutations
        assert not any(e["method"] == "GET" for e in approvals)

    async def test_secret_fields_are_blanked_and_pages_follow_the_cursor(
        self, world: World
    ) -> None:
        pid = (await onboard(world.client))["partner_id"]
        for n in range(3):
            await world.client.post(
                f"/api/v1/admin/partners/{pid}/contract-signed",
                json={"number": f"N-{n}", "date": "2026-01-01"},
                headers=OPS,
            )
        first = (
            await world.client.get(
                f"/api/v1/admin/audit?target={pid}&action=record_contract&limit=2", headers=OPS
            )
        ).json()
        assert [e["summary"]["body"]["number"] for e in first["items"]] == ["N-2", "N-1"]
        rest = (
            await world.client.get(
                f"/api/v1/admin/audit?target={pid}&action=record_contract&limit=2"
                f"&cursor={first['next_cursor']}",
                headers=OPS,
            )
        ).json()
        assert [e["summary"]["body"]["number"] for e in rest["items"]] == ["N-0"]
        assert rest["next_cursor"] is None
        # a body field that looks secret is never kept
        await world.client.post(
            "/api/v1/admin/applications/" + str(uuid.uuid4()) + "/reject",
            json={"reason": "x", "api_key": "esd_leaked", "password": "p"},
            headers=OPS,
        )
        rejects = (
            await world.client.get("/api/v1/admin/audit?action=reject&limit=1", headers=OPS)
        ).json()["items"]
        assert rejects[0]["summary"]["body"]["api_key"] == "***"
        assert "esd_leaked" not in str(rejects)
        bad = await world.client.get("/api/v1/admin/audit?cursor=abc", headers=OPS)
        assert bad.status_code == 422
        assert (await world.client.get("/api/v1/admin/audit")).status_code == 401


class TestPartnerRateLimit:
    async def test_ops_sets_a_budget_and_the_partner_gets_429_with_retry_after(
        self, world: World
    ) -> None:
        a, b = await onboard(world.client), await onboard(world.client)
        set_ = await world.client.put(
            f"/api/v1/admin/partners/{a['partner_id']}/rate-limit",
            json={"per_minute": 3},
            headers=OPS,
        )
        assert set_.status_code == 200, set_.text
        assert set_.json()["rate_limit_per_minute"] == 3
        for _ in range(3):
            ok = await world.client.get("/api/v1/orders", headers=bearer(a["api_key"]))
            assert ok.status_code == 200
        limited = await world.client.get("/api/v1/orders", headers=bearer(a["api_key"]))
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 20
        # another partner keeps the default budget
        assert (await world.client.get("/api/v1/orders", headers=bearer(b["api_key"]))).is_success
        # back to the default: at once
        reset = await world.client.put(
            f"/api/v1/admin/partners/{a['partner_id']}/rate-limit",
            json={"per_minute": None},
            headers=OPS,
        )
        assert reset.json()["rate_limit_per_minute"] is None
        assert (await world.client.get("/api/v1/orders", headers=bearer(a["api_key"]))).is_success

    async def test_a_bad_budget_is_refused(self, world: World) -> None:
        pid = (await onboard(world.client))["partner_id"]
        for body in ({"per_minute": 0}, {"per_minute": "many"}, {}):
            bad = await world.client.put(
                f"/api/v1/admin/partners/{pid}/rate-limit", json=body, headers=OPS
            )
            assert bad.status_code in (400, 422), body
            assert bad.json()["code"] == "validation_error"


class TestCallbackGuard:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:192.168.0.1]/hook",
            "http://2130706433/hook",
            "http://metadata.internal/hook",
            "ftp://shop.example/hook",
            "file:///etc/passwd",
            "https://user:pw@shop.example/hook",
            "not a url",
        ],
    )
    async def test_internal_or_odd_urls_are_refused_at_intake(self, world: World, url: str) -> None:
        set_policy(world.gateway.service, CallbackPolicy(allow_private=False))
        try:
            await seed_products(world.gateway, product(sku="GUARD-1"))
            key = (await _partner(world))["api_key"]
            answer = await world.client.post(
                "/api/v1/orders",
                json={"external_id": "g-1", "sku": "GUARD-1", "quantity": 1, "test": True}
                | {"callback_url": url},
                headers=bearer(key),
            )
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "validation_error"
            assert (
                await scalar(world.gateway, "SELECT count(*) FROM orders WHERE sku = 'GUARD-1'")
                == 0
            )
        finally:
            set_policy(world.gateway.service, CallbackPolicy(allow_private=True))

    async def test_names_are_resolved_at_send_time(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dns = {"shop.example": ["93.184.215.14"], "rebound.example": ["93.184.215.14", "10.0.0.5"]}

        async def fake_resolve(host: str) -> list[str]:
            return dns.get(host, [])

        monkeypatch.setattr(callback_policy, "resolve", fake_resolve)
        set_policy(world.gateway.service, CallbackPolicy(allow_private=False))
        try:
            service = world.gateway.service
            await check_before_send(service, "https://shop.example/hook")  # public: fine
            # accepted at intake as a name; by send time it resolves inside: refused
            with pytest.raises(Refusal, match="internal address"):
                await check_before_send(service, "https://rebound.example/hook")
            with pytest.raises(Refusal, match="does not resolve"):
                await check_before_send(service, "https://gone.example/hook")
            set_policy(
                world.gateway.service,
                CallbackPolicy(allow_private=False, allow_hosts=frozenset({"localhost"})),
            )
            await check_before_send(world.gateway.service, "http://localhost:9/x")  # allowed
        finally:
            set_policy(world.gateway.service, CallbackPolicy(allow_private=True))


_partners: dict[int, dict[str, Any]] = {}


async def _partner(world: World) -> dict[str, Any]:
    if id(world) not in _partners:
        _partners[id(world)] = await onboard(world.client)
    return _partners[id(world)]


class TestUnstorableText:
    @pytest.mark.parametrize(
        "raw",
        [
            b'{"external_id": "a\\u0000b", "sku": "X", "quantity": 1}',
            b'{"external_id": "a\\ud800", "sku": "X", "quantity": 1}',
            b'{"external_id": "a\\udc00", "sku": "X", "quantity": 1}',
        ],
    )
    async def test_nul_and_lone_surrogates_are_422_not_500(self, world: World, raw: bytes) -> None:
        key = (await _partner(world))["api_key"]
        answer = await world.client.post(
            "/api/v1/orders",
            content=raw,
            headers={**bearer(key), "Content-Type": "application/json"},
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_error"

    async def test_a_paired_surrogate_and_an_escaped_backslash_pass(self, world: World) -> None:
        key = (await _partner(world))["api_key"]
        raw = b'{"external_id": "emoji-\\ud83d\\ude00-\\\\u0000", "sku": "NOPE", "quantity": 1}'
        answer = await world.client.post(
            "/api/v1/orders",
            content=raw,
            headers={**bearer(key), "Content-Type": "application/json"},
        )
        assert answer.json()["code"] == "unknown_sku"  # reached the intake rules

    async def test_nul_in_the_query_is_422(self, world: World) -> None:
        key = (await _partner(world))["api_key"]
        answer = await world.client.get("/api/v1/catalog/products?q=a%00b", headers=bearer(key))
        assert answer.status_code == 422


class TestXml:
    async def test_contract_and_budget_in_xml(self, world: World) -> None:
        pid = (await onboard(world.client))["partner_id"]
        xml = {**OPS, "Content-Type": "application/xml", "Accept": "application/xml"}
        signed = await world.client.post(
            f"/api/v1/admin/partners/{pid}/contract-signed",
            content=b"<contract><number>X-1</number><date>2026-02-03</date></contract>",
            headers=xml,
        )
        assert signed.status_code == 200, signed.text
        assert signed.headers["content-type"].startswith("application/xml")
        assert "<contract_number>X-1</contract_number>" in signed.text
        bad = await world.client.put(
            f"/api/v1/admin/partners/{pid}/rate-limit",
            content=b"<rate_limit><per_minute>0</per_minute></rate_limit>",
            headers=xml,
        )
        assert bad.status_code in (400, 422)
        assert bad.headers["content-type"].startswith("application/problem+xml")
        audit = await world.client.get(
            f"/api/v1/admin/audit?target={pid}&action=record_contract", headers=OPS
        )
        [entry] = audit.json()["items"]
        # the XML layer hands the body on as JSON: the audit keeps its fields either way
        assert entry["summary"]["body"] == {"number": "X-1", "date": "2026-02-03"}
