"""The portal in a real browser (headless Chromium): apply → ops approves → the partner sets
a password and signs in → finds a product by a Russian query → orders 3 → the 3 keys appear
on the result page without a reload → downloads them as CSV → the balance shows the debt →
today's document shows the line. Also: a wrong password, a form without its CSRF token (403),
another partner's order (404), the language switch, a phone's screen.

Screenshots of the main pages go to tests/artifacts/portal/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.portal.conftest import Served
from tests.support import OPS, OPS_TOKEN, eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "s3cret-portal-pass"
CYRILLIC = re.compile(r"[А-Яа-яЁё]{4,}")


def rub(amount: Decimal) -> str:
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return whole.replace(",", "\u00a0") + "," + cents + "\u00a0₽"


async def shot(served: Served, page: Any, name: str) -> None:
    await page.screenshot(path=str(served.screenshots / f"{name}.png"), full_page=True)


async def sign_up(served: Served, company: str, inn: str, email: str) -> Any:
    """Apply, approve as ops, set the password, sign in: the partner's browser page."""
    browser, base = served.browser, served.base_url
    public = await browser.new_page()
    await public.goto(f"{base}/portal/apply")
    await public.fill("input[name=company_name]", company)
    await public.fill("input[name=inn]", inn)
    await public.fill("input[name=email]", email)
    await public.fill("input[name=region]", "Москва")
    await shot(served, public, "apply")
    await public.click("#apply-send")
    await public.wait_for_selector("#applied")
    await public.close()

    ops = await browser.new_page()
    await ops.goto(f"{base}/portal/ops/login")
    await ops.fill("input[name=token]", OPS_TOKEN)
    await ops.click("#ops-sign-in")
    await ops.wait_for_url(f"{base}/portal/ops")
    await ops.click(f'button.approve[data-company="{company}"]')
    link = await (await ops.wait_for_selector("#password-link")).inner_text()
    await shot(served, ops, "ops-approved")
    row = f'tr.partner[data-company="{company}"]'
    await ops.fill(f"{row} input[name=contract_number]", "Д-2026/77")
    await ops.click(f"{row} button.go-live")
    await ops.wait_for_selector(f'tr.partner[data-company="{company}"]:not(:has(button.go-live))')
    await ops.close()

    page = await browser.new_page()
    await page.goto(base + link)
    await page.fill("input[name=password]", PASSWORD)
    await page.fill("input[name=password2]", PASSWORD)
    await page.click("#set-password")
    await page.wait_for_selector("#sign-in")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#sign-in")
    await page.wait_for_url(f"{base}/portal/catalog")
    return page


async def test_apply_approve_order_keys_balance_document(served: Served) -> None:
    platform, base = served.platform, served.base_url
    product = await platform.product(
        lambda p: (
            bool(CYRILLIC.search(p["name"]))
            and not p["required_fields"]
            and p["kind"] == "key"
            and Decimal(p["price"]) < 5000
        )
    )
    page = await sign_up(served, "ООО «Браузер»", "7744001497", "browser@portal.test")

    # wrong password: refused, no session
    stranger = await served.browser.new_page()
    await stranger.goto(f"{base}/portal/login")
    await stranger.fill("input[name=email]", "browser@portal.test")
    await stranger.fill("input[name=password]", "not-the-password")
    await stranger.click("#sign-in")
    await stranger.wait_for_selector("#login-error")
    await stranger.goto(f"{base}/portal/catalog")
    assert stranger.url.endswith("/portal/login")
    await stranger.close()

    # the catalog finds the product by its Russian name
    await page.fill("#search", product["name"])
    await page.click("#find")
    await page.wait_for_selector(f'a[href="/portal/catalog/{product["sku"]}"]')
    await shot(served, page, "catalog")
    await page.click(f'a[href="/portal/catalog/{product["sku"]}"]')
    await page.wait_for_selector("#quantity")
    await shot(served, page, "product")
    before = await platform.balance(platform_partner := await partner_of(served, "browser"))
    await page.fill("#quantity", "3")
    if await page.is_checked("input[name=test]"):
        await page.uncheck("input[name=test]")
    await page.click("#order")
    await page.wait_for_selector("#confirm")
    amount = Decimal(product["price"]) * 3
    assert rub(amount) in await page.inner_text("#amount")
    assert rub(Decimal(before["available"])) in await page.inner_text("#available-now")
    await shot(served, page, "confirm")
    await page.click("#confirm")
    await page.wait_for_url(re.compile(r".*/portal/orders/[0-9a-f-]{36}$"))
    order_url = page.url
    # the keys appear on this page without a reload (htmx asks until the order is final)
    await page.wait_for_function("document.querySelectorAll('tr.key').length === 3", timeout=30_000)
    assert await page.inner_text("#status") in ("Выполнен", "Completed")
    await shot(served, page, "order-keys")
    assert "Ключи (3)" in await page.inner_text("#live")
    async with page.expect_download() as download_info:
        await page.click("#download-csv")
    download = await download_info.value
    saved = await download.path()
    csv_text = await asyncio.to_thread(saved.read_text, encoding="utf-8-sig")
    rows = [line for line in csv_text.splitlines() if line]
    assert rows[0].startswith("order_id;sku;activation_code")
    assert len(rows) == 4
    codes = [await c.inner_text() for c in await page.query_selector_all("code.code")]
    assert all(code in csv_text for code in codes)
    txt = await page.request.get(base + await page.get_attribute("#download-txt", "href") or "")
    assert txt.status == 200
    assert sorted(line.split("\t")[0] for line in (await txt.text()).splitlines()) == sorted(codes)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    await page.click("#copy-all")
    await page.wait_for_selector("#copy-all[data-copied='1']", timeout=5000)
    assert sorted((await page.evaluate("navigator.clipboard.readText()")).split()) == sorted(codes)

    # the balance panel shows the debt by the amount
    await page.click("a[href='/portal/balance']")
    await page.wait_for_selector("#balance")
    debt = Decimal(before["debt"]) + amount
    assert rub(debt) in await page.inner_text("#debt")
    limit = Decimal(before["limit"])
    assert rub(limit - debt) in await page.inner_text("#remainder")
    await shot(served, page, "balance")

    # today's document has the line
    async def document_has_line() -> bool:
        await page.goto(f"{base}/portal/documents")
        return product["sku"] in await page.inner_text("main")

    await eventually(document_has_line, timeout=20)
    await shot(served, page, "documents")
    pdf = await page.request.get(base + await page.get_attribute("a:text('PDF')", "href") or "")
    assert pdf.status == 200
    assert (await pdf.body()).startswith(b"%PDF")
    upd = await page.request.get(base + await page.get_attribute("a:text('УПД XML')", "href") or "")
    assert upd.status == 200
    assert b"windows-1251" in (await upd.body())[:100]

    # a form posted without its CSRF token is refused (403) and issues no key
    refused = await page.request.post(f"{base}/portal/api-keys", form={"x": "1"})
    assert refused.status == 403
    keys_page = await page.goto(f"{base}/portal/api-keys")
    assert keys_page is not None
    assert len(await page.query_selector_all("tr.api-key")) == 2  # approval + partner_of

    # another partner opening this order's URL sees 404
    other = await sign_up(served, "ООО «Другой»", "7825706086", "other@portal.test")
    response = await other.goto(order_url)
    assert response is not None
    assert response.status == 404
    assert "Ключи" not in await other.inner_text("main")

    # language switch
    await other.goto(f"{base}/portal/catalog")
    await other.click("#lang-switch")
    await other.wait_for_selector("text=Catalog")
    assert await other.get_attribute("html", "lang") == "en"
    await other.close()

    # a phone's screen: the order page fits without sideways scrolling
    phone = await served.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone_page = await phone.new_page()
    await phone_page.goto(f"{base}/portal/login")
    await phone_page.fill("input[name=email]", "browser@portal.test")
    await phone_page.fill("input[name=password]", PASSWORD)
    await phone_page.click("#sign-in")
    await phone_page.wait_for_url(f"{base}/portal/catalog")
    for path in ("/portal/catalog", order_url.removeprefix(base), "/portal/balance"):
        await phone_page.goto(base + path)
        overflow = await phone_page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (path, overflow)
    await shot(served, phone_page, "phone-balance")
    await phone.close()
    await page.close()

    # 16 days on (15-day term): the debt is overdue, the partner is blocked; the portal says
    # why and since when, and offers no order button (the old session has expired meanwhile)
    moved = await platform.client.post(
        "/api/v1/admin/clock", json={"advance_days": 16}, headers=OPS
    )
    assert moved.status_code == 200, moved.text

    async def blocked() -> bool:
        return bool((await platform.balance(platform_partner))["blocked"])

    await eventually(blocked, timeout=20)
    late = await served.browser.new_page()
    await late.goto(f"{base}/portal/balance")
    assert late.url.endswith("/portal/login")
    await late.fill("input[name=email]", "browser@portal.test")
    await late.fill("input[name=password]", PASSWORD)
    await late.click("#sign-in")
    await late.wait_for_url(f"{base}/portal/catalog")
    await late.goto(f"{base}/portal/balance")
    reason = await late.inner_text("#blocked")
    assert rub(amount) in reason
    assert re.search(r"\d{2}\.\d{2}\.\d{4}", reason)
    assert rub(amount) in await late.inner_text("#overdue")
    await shot(served, late, "blocked-balance")
    await late.goto(f"{base}/portal/catalog/{product['sku']}")
    await late.wait_for_selector("#blocked")
    assert await late.is_disabled("#order")
    await late.close()


async def partner_of(served: Served, marker: str) -> Any:
    """The API view of the portal user's partner (to read its balance over the API)."""
    import asyncpg

    from tests.support import Partner

    gateway = served.platform.client._transport.app.state.gateway  # type: ignore[attr-defined]
    from gateway.service_layer import onboarding

    conn = await asyncpg.connect(served.platform.settings.database_url.replace("+asyncpg", ""))
    try:
        partner_id = await conn.fetchval(
            "SELECT partner_id FROM gateway.portal_users WHERE email LIKE $1", f"{marker}@%"
        )
    finally:
        await conn.close()
    _, key = await onboarding.issue_api_key(gateway.service, partner_id)
    return Partner(str(partner_id), key)


async def test_subscriptions_and_ops_stock_and_payments(served: Served) -> None:
    """A partner changes a subscription's seats, suspends and resumes it in the portal; ops
    see the key stock and the payment posted to the partner."""
    from gateway.portal import auth

    platform, base = served.platform, served.base_url
    partner = await platform.new_partner(live=True)
    gateway = platform.client._transport.app.state.gateway  # type: ignore[attr-defined]
    email = f"subs-{partner.partner_id[:8]}@portal.test"
    import uuid as _uuid

    link = await auth.password_link(gateway, _uuid.UUID(partner.partner_id), email)
    product = await platform.product(lambda p: p["kind"] == "subscription", key_source=None)
    page = await served.browser.new_page()
    await page.goto(base + link)
    await page.fill("input[name=password]", PASSWORD)
    await page.fill("input[name=password2]", PASSWORD)
    await page.click("#set-password")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#sign-in")
    await page.wait_for_url(f"{base}/portal/catalog")
    # subscribe from the product page (2 seats)
    await page.goto(f"{base}/portal/catalog/{product['sku']}")
    await page.fill("#seats", "2")
    if await page.is_checked("input[name=test]"):
        await page.uncheck("input[name=test]")
    await page.click("#subscribe")
    await page.wait_for_url(f"{base}/portal/subscriptions")
    listed = await platform.client.get("/api/v1/subscriptions", headers=partner.headers)
    items = listed.json()["items"]
    assert len(items) == 1
    sub_id = items[0]["id"]
    card = f"#sub-{sub_id}"
    assert await page.inner_text(f"{card} .seats") == "2"
    await page.fill(f"{card} input[name=quantity]", "3")
    await page.click(f"{card} button.change-quantity")
    await page.wait_for_url(f"{base}/portal/subscriptions")
    assert await page.inner_text(f"{card} .seats") == "3"
    assert "₽" in await page.inner_text(f"{card} .charge")
    await shot(served, page, "subscriptions")
    await page.click(f"{card} button.suspend")
    await page.wait_for_selector(f"{card} button.resume")
    assert await page.inner_text(f"{card} .sub-status") == "Приостановлена"
    await page.click(f"{card} button.resume")
    await page.wait_for_selector(f"{card} button.suspend")
    assert await page.inner_text(f"{card} .sub-status") == "Активна"

    import asyncpg

    conn = await asyncpg.connect(platform.settings.database_url.replace("+asyncpg", ""))
    try:
        # the category filter reaches the end of the catalog (keyset pages of the search)
        last = await conn.fetchrow(
            "SELECT sku, category FROM gateway.products WHERE active ORDER BY sku DESC LIMIT 1"
        )
        await page.goto(f"{base}/portal/catalog")
        await page.select_option("#category", last["category"])
        await page.click("#find")
        await page.wait_for_url(re.compile(r".*category=.*"))
        sku_link = f'a[href="/portal/catalog/{last["sku"]}"]'
        while await page.query_selector(sku_link) is None:
            await page.click("text=Дальше")
        await page.close()
        inn = await conn.fetchval(
            "SELECT inn FROM gateway.partners WHERE partner_id = $1",
            _uuid.UUID(partner.partner_id),
        )
    finally:
        await conn.close()
    today = platform.services["credit"].clock.today_moscow()
    paid = await platform.client.post(
        "/api/v1/admin/payments",
        json={"payer_inn": inn, "amount": "1000.00", "date": today.isoformat(), "number": "ПП-77"},
        headers=OPS,
    )
    assert paid.status_code == 200, paid.text
    ops = await served.browser.new_page()
    await ops.goto(f"{base}/portal/ops/login")
    await ops.fill("input[name=token]", OPS_TOKEN)
    await ops.click("#ops-sign-in")
    await ops.wait_for_url(f"{base}/portal/ops")
    await ops.click("#stock-link")
    await ops.wait_for_selector("#stock")
    await shot(served, ops, "ops-stock")
    await ops.goto(f"{base}/portal/ops/partners/{partner.partner_id}")
    assert "ПП-77" in await ops.inner_text("#payments")
    await shot(served, ops, "ops-partner")
    await ops.close()
