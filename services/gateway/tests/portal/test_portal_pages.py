"""The portal's pages over HTTP against the gateway alone: the onboarding path (apply → ops
approves → set-password link → sign in), refusals (wrong password, no CSRF token, a link used
twice, another partner's order), the catalog search in Russian, API keys, the language."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from esd_contracts.catalog.events import ProductChanged, RequiredField
from gateway.runtime import Gateway
from sqlalchemy import text

from services.gateway.tests.integration.helpers import publish, scalar, wait_for
from services.gateway.tests.portal.conftest import OPS_TOKEN

Running = tuple[httpx.AsyncClient, Gateway]
INNS = iter(
    [
        "7707083893",
        "7728168971",
        "7736207543",
        "7702070139",
        "7710140679",
        "7744001497",
        "7825706086",
        "6663003127",
    ]
)


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A fresh cookie jar on the same app: one person's browser."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url, timeout=30)


async def post_form(
    who: httpx.AsyncClient, path: str, page: str, data: dict[str, str]
) -> httpx.Response:
    form = await who.get(page)
    return await who.post(path, data={"_csrf": csrf_of(form.text), **data})


async def onboard(
    client: httpx.AsyncClient, email: str, ops_token: str = OPS_TOKEN
) -> tuple[httpx.AsyncClient, str]:
    """Apply in the portal, approve as ops in the portal, set the password: a signed-in user."""
    public = browser(client)
    applied = await post_form(
        public,
        "/portal/apply",
        "/portal/apply",
        {
            "company_name": f"ООО «Портал {email}»",
            "inn": next(INNS),
            "kpp": "",
            "email": email,
            "region": "Москва",
        },
    )
    assert applied.status_code == 200, applied.text
    assert 'id="applied"' in applied.text
    ops = browser(client)
    signed = await post_form(ops, "/portal/ops/login", "/portal/ops/login", {"token": ops_token})
    assert signed.status_code == 303
    overview = await ops.get("/portal/ops")
    match = re.search(
        r'action="/portal/ops/applications/([0-9a-f-]+)/approve"[^<]*<input type="hidden" '
        rf'name="_csrf" value="[^"]+">\s*<button type="submit" class="approve" '
        rf'data-company="ООО «Портал {re.escape(email)}»"',
        overview.text,
    )
    assert match, overview.text
    approved = await ops.post(
        f"/portal/ops/applications/{match.group(1)}/approve",
        data={"_csrf": csrf_of(overview.text)},
    )
    assert approved.status_code == 200
    link = re.search(r'id="password-link">([^<]+)<', approved.text)
    assert link
    user = browser(client)
    set_form = await user.get(link.group(1))
    assert set_form.status_code == 200
    assert email in set_form.text
    done = await user.post(
        link.group(1),
        data={
            "_csrf": csrf_of(set_form.text),
            "password": "correct horse 1",
            "password2": "correct horse 1",
        },
    )
    assert done.status_code == 200
    assert "password_set" not in done.text
    again = await user.post(
        link.group(1),
        data={
            "_csrf": csrf_of(set_form.text),
            "password": "other pass 22",
            "password2": "other pass 22",
        },
    )
    assert again.status_code == 404  # a set-password link works once
    signed = await post_form(
        user, "/portal/login", "/portal/login", {"email": email, "password": "correct horse 1"}
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/portal/catalog"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")
    await ops.aclose()
    await public.aclose()
    return user, match.group(1)


async def test_onboarding_to_sign_in_and_refusals(running: Running) -> None:
    client, gateway = running
    user, application_id = await onboard(client, "first@portal.test")
    # the ops approval in the portal is in the ops audit log, like the ops API's
    audited = await scalar(
        gateway,
        "SELECT actor || ' ' || action || ' ' || status || ' ' || path FROM audit_log "
        "WHERE target = :t",
        t=application_id,
    )
    assert audited.startswith("ops:")
    assert audited.endswith(f" approve 200 /portal/ops/applications/{application_id}/approve")
    catalog = await user.get("/portal/catalog")
    assert catalog.status_code == 200
    assert "ООО «Портал first@portal.test»" in catalog.text
    stored = await scalar(
        gateway, "SELECT password_hash FROM portal_users WHERE email = 'first@portal.test'"
    )
    assert stored.startswith("$argon2id$")
    # wrong password: 401, no session
    stranger = browser(client)
    wrong = await post_form(
        stranger,
        "/portal/login",
        "/portal/login",
        {"email": "first@portal.test", "password": "not the password"},
    )
    assert wrong.status_code == 401
    assert 'id="login-error"' in wrong.text
    assert (await stranger.get("/portal/catalog")).status_code == 303
    # a form without its CSRF token is refused and changes nothing
    keys_before = await scalar(gateway, "SELECT count(*) FROM api_keys")
    refused = await user.post("/portal/api-keys", data={})
    assert refused.status_code == 403
    forged = await user.post("/portal/api-keys", data={"_csrf": "x" * 43})
    assert forged.status_code == 403
    assert await scalar(gateway, "SELECT count(*) FROM api_keys") == keys_before
    refused_login = await stranger.post(
        "/portal/login", data={"email": "first@portal.test", "password": "correct horse 1"}
    )
    assert refused_login.status_code == 403
    # sign out ends the session in the database too
    page = await user.get("/portal/catalog")
    out = await user.post("/portal/logout", data={"_csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert (await user.get("/portal/catalog")).status_code == 303
    await user.aclose()
    await stranger.aclose()


async def test_catalog_search_in_russian_and_filters(running: Running) -> None:
    client, gateway = running
    user, _ = await onboard(client, "catalog@portal.test")
    now = datetime.now(UTC)
    base = {
        "correlation_id": uuid.uuid4(),
        "occurred_at": now,
        "version": "2026",
        "kind": "key",
        "vat_rate": "exempt",
        "download_url": "https://example.ru/x.exe",
        "key_source": "generator",
        "active": True,
        "revision": 1,
    }
    await publish(
        gateway,
        ProductChanged(
            **base,
            sku="PORTAL-AV-1",
            name="Антивирус Портальный, 1 год",
            vendor="Лаборатория",
            category="Антивирусы",
            base_price=Decimal("1234.50"),
            required_fields=(RequiredField(name="inn", title="ИНН клиента", pattern=r"\d{10}"),),
        ),
    )
    await publish(
        gateway,
        ProductChanged(
            **base,
            sku="PORTAL-OF-1",
            name="Офисный пакет",
            vendor="МойОфис",
            category="Офис",
            base_price=Decimal("999.00"),
            required_fields=(),
        ),
    )

    async def replicated() -> bool:
        count = await scalar(gateway, "SELECT count(*) FROM products WHERE sku LIKE 'PORTAL-%'")
        return bool(count == 2)

    await wait_for(replicated)
    found = await user.get("/portal/catalog", params={"q": "антивирус портальный"})
    assert "PORTAL-AV-1" in found.text
    assert "PORTAL-OF-1" not in found.text
    assert "1\u00a0234,50\u00a0₽" in found.text
    by_vendor = await user.get("/portal/catalog", params={"vendor": "МойОфис"})
    assert "PORTAL-OF-1" in by_vendor.text
    assert "PORTAL-AV-1" not in by_vendor.text
    by_category = await user.get("/portal/catalog", params={"category": "Антивирусы"})
    assert "PORTAL-AV-1" in by_category.text
    assert "PORTAL-OF-1" not in by_category.text
    product = await user.get("/portal/catalog/PORTAL-AV-1")
    assert product.status_code == 200
    assert 'name="field_inn"' in product.text
    assert "ИНН клиента" in product.text
    # the intake rule refuses a wrong required field before anything is ordered
    refused = await user.post(
        "/portal/order/confirm",
        data={
            "_csrf": csrf_of(product.text),
            "sku": "PORTAL-AV-1",
            "quantity": "3",
            "field_inn": "12",
        },
    )
    assert refused.status_code == 422
    assert 'id="order-error"' in refused.text
    confirm = await user.post(
        "/portal/order/confirm",
        data={
            "_csrf": csrf_of(product.text),
            "sku": "PORTAL-AV-1",
            "quantity": "3",
            "field_inn": "7707083893",
        },
    )
    assert confirm.status_code == 200
    assert "3\u00a0703,50\u00a0₽" in confirm.text
    assert await scalar(gateway, "SELECT count(*) FROM orders WHERE sku = 'PORTAL-AV-1'") == 0
    missing = await user.get("/portal/catalog/NO-SUCH-SKU")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    await user.aclose()


async def test_other_partners_order_is_404_and_api_keys(running: Running) -> None:
    client, gateway = running
    owner, _ = await onboard(client, "owner@portal.test")
    other, _ = await onboard(client, "other@portal.test")
    owner_id = await scalar(
        gateway, "SELECT partner_id FROM portal_users WHERE email = 'owner@portal.test'"
    )
    order_id = uuid.uuid4()
    async with gateway.service.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO orders (id, partner_id, external_id, fingerprint, sku, name, "
                "quantity, unit_price, amount, vat_rate, vat_amount, test, created_at) VALUES "
                "(:id, :p, 'portal-x', 'f', 'S', 'Товар', 1, 1, 1, 'exempt', 0, true, now())"
            ),
            {"id": order_id, "p": owner_id},
        )
    assert (await owner.get(f"/portal/orders/{order_id}")).status_code == 200
    foreign = await other.get(f"/portal/orders/{order_id}")
    assert foreign.status_code == 404
    assert "Товар" not in foreign.text
    assert (await other.get(f"/portal/orders/{order_id}/keys/csv")).status_code == 404
    listing = await owner.get("/portal/orders", params={"status": "pending"})
    assert f"/portal/orders/{order_id}" in listing.text
    assert f"/portal/orders/{order_id}" not in (await other.get("/portal/orders")).text
    # API keys: issue (shown once), revoke; the revoked key no longer opens the API
    keys_page = await owner.get("/portal/api-keys")
    issued = await owner.post("/portal/api-keys", data={"_csrf": csrf_of(keys_page.text)})
    new_key = re.search(r'id="new-key">([^<]+)<', issued.text)
    assert new_key
    headers = {"Authorization": f"Bearer {new_key.group(1)}"}
    assert (await client.get("/api/v1/catalog/products", headers=headers)).status_code == 200
    key_ids = re.findall(r"/portal/api-keys/([0-9a-f-]+)/revoke", issued.text)
    assert len(key_ids) == 2
    for key_id in key_ids:
        revoked = await owner.post(
            f"/portal/api-keys/{key_id}/revoke", data={"_csrf": csrf_of(issued.text)}
        )
        assert revoked.status_code == 303
    assert (await client.get("/api/v1/catalog/products", headers=headers)).status_code == 401
    # another partner cannot revoke the owner's keys
    assert (
        await other.post(
            f"/portal/api-keys/{key_ids[0]}/revoke",
            data={"_csrf": csrf_of((await other.get("/portal/api-keys")).text)},
        )
    ).status_code == 404
    await owner.aclose()
    await other.aclose()


async def test_language_switch_and_public_pages(running: Running) -> None:
    client, _ = running
    person = browser(client)
    russian = await person.get("/portal/login")
    assert "Войти" in russian.text
    assert 'lang="ru"' in russian.text
    switched = await person.get("/portal/lang/en", params={"back": "/portal/login"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/portal/login"
    english = await person.get("/portal/login")
    assert "Sign in" in english.text
    assert 'lang="en"' in english.text
    elsewhere = await person.get("/portal/lang/ru", params={"back": "https://evil.example/"})
    assert elsewhere.headers["location"] == "/portal/"  # no open redirect
    bad_inn = await post_form(
        person,
        "/portal/apply",
        "/portal/apply",
        {"company_name": "ООО Х", "inn": "123", "email": "x@x.ru", "region": "Тула"},
    )
    assert bad_inn.status_code == 422
    assert (await person.get("/portal/static/htmx.min.js")).status_code == 200
    assert (await person.get("/portal/static/../auth.py")).status_code == 404
    assert (await person.get("/portal/ops")).headers["location"] == "/portal/ops/login"
    wrong_ops = await post_form(person, "/portal/ops/login", "/portal/ops/login", {"token": "no"})
    assert wrong_ops.status_code == 401
    # served over HTTPS (any non-local host), the portal's cookies are Secure too
    remote = httpx.AsyncClient(transport=client._transport, base_url="https://portal.example")
    cookie = (await remote.get("/portal/login")).headers["set-cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    await remote.aclose()
    await person.aclose()


async def test_distributor_sees_and_sets_its_partners_terms_only(running: Running) -> None:
    client, gateway = running
    distributor, _ = await onboard(client, "dist@portal.test")
    stranger, _ = await onboard(client, "stranger@portal.test")
    reseller_id = await scalar(
        gateway,
        "SELECT p.reseller_id FROM partners p JOIN portal_users u USING (partner_id) "
        "WHERE u.email = 'dist@portal.test'",
    )
    ops = {"Authorization": f"Bearer {OPS_TOKEN}"}
    applied = await client.post(
        "/api/v1/applications",
        json={
            "company_name": "ООО «Субпартнёр»",
            "inn": next(INNS),
            "email": "sub@portal.test",
            "region": "Тверь",
            "distributor_reseller_id": reseller_id,
        },
    )
    approved = await client.post(
        f"/api/v1/admin/applications/{applied.json()['application_id']}/approve", headers=ops
    )
    sub_id = approved.json()["partner_id"]
    mine = await distributor.get("/portal/my-partners")
    assert "ООО «Субпартнёр»" in mine.text
    assert "ООО «Субпартнёр»" not in (await stranger.get("/portal/my-partners")).text
    # the stranger can neither set the terms nor see the orders of another's partner
    stranger_page = await stranger.get("/portal/my-partners")
    refused = await stranger.post(
        f"/portal/my-partners/{sub_id}/terms",
        data={"_csrf": csrf_of(stranger_page.text), "limit": "1", "term_days": "1"},
    )
    assert refused.status_code == 404
    assert (await stranger.get(f"/portal/my-partners/{sub_id}/orders")).status_code == 404
    bad = await distributor.post(
        f"/portal/my-partners/{sub_id}/terms",
        data={"_csrf": csrf_of(mine.text), "limit": "много", "term_days": "10"},
    )
    assert bad.status_code == 422
    done = await distributor.post(
        f"/portal/my-partners/{sub_id}/terms",
        data={"_csrf": csrf_of(mine.text), "limit": "77000.00", "term_days": "20"},
    )
    assert done.status_code == 303
    terms = await scalar(
        gateway,
        "SELECT credit_limit::text || '/' || term_days FROM partners WHERE partner_id = :p",
        p=uuid.UUID(sub_id),
    )
    assert terms == "77000.00/20"
    # a price outside -100..1000 % is refused before anything is asked of the catalog
    odd = await distributor.post(
        f"/portal/my-partners/{sub_id}/terms",
        data={"_csrf": csrf_of(mine.text), "limit": "1", "term_days": "1", "percent": "-150"},
    )
    assert odd.status_code == 422
    orders = await distributor.get(f"/portal/my-partners/{sub_id}/orders")
    assert orders.status_code == 200
    await distributor.aclose()
    await stranger.aclose()
