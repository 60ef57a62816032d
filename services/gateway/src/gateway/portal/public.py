"""Pages without a session: sign-in and out, the language switch, the application form, the
one-time set-password link, the static files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import File

from gateway.domain.errors import NotFound, Refusal
from gateway.portal import auth, store
from gateway.portal.i18n import language
from gateway.portal.web import EXCEPTION_HANDLERS, page, see_other
from gateway.runtime import Gateway
from gateway.service_layer import onboarding

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {
    "htmx.min.js": "text/javascript",
    "portal.css": "text/css",
    "portal.js": "text/javascript",
}


def _session_response(request: Request[Any, Any, Any], token: str, where: str) -> Response[Any]:
    response = see_other(where)
    response.set_cookie(
        auth.cookie(
            request, auth.SESSION_COOKIE, token, max_age=int(auth.SESSION_TTL.total_seconds())
        )
    )
    return response


class PublicPages(Controller):
    path = "/portal"
    include_in_schema = False
    exception_handlers = EXCEPTION_HANDLERS

    @get("/static/{name:str}")
    async def static(self, name: FromPath[str]) -> File:
        if name not in STATIC_FILES:
            raise NotFound("file")
        return File(
            path=STATIC / name,
            media_type=STATIC_FILES[name],
            content_disposition_type="inline",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @get("/lang/{code:str}")
    async def switch_language(
        self,
        code: FromPath[str],
        request: Request[Any, Any, Any],
        back: FromQuery[str | None] = None,
    ) -> Response[Any]:
        where = back if back and back.startswith("/portal") and not urlparse(back).netloc else None
        response = see_other(where or "/portal/")
        response.set_cookie(
            auth.cookie(request, auth.LANG_COOKIE, language(code), max_age=365 * 86400)
        )
        return response

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "login.html", error=None, email="")

    @post("/login")
    async def login(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        form = await auth.check_csrf(request)
        email = form.get("email", "").strip()[:320]
        user_id = await auth.sign_in(gateway, email, form.get("password", "")[:1024])
        if user_id is None:
            return page(request, "login.html", status=401, error="wrong_credentials", email=email)
        token = await auth.open_session(gateway, "partner", user_id)
        return _session_response(request, token, "/portal/catalog")

    @post("/logout")
    async def logout(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        await auth.check_csrf(request)
        await auth.close_session(gateway, request)
        response = see_other("/portal/login")
        response.delete_cookie(auth.SESSION_COOKIE, path="/portal")
        return response

    @get("/ops/login")
    async def ops_login_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "ops_login.html", error=None)

    @post("/ops/login")
    async def ops_login(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        form = await auth.check_csrf(request)
        if not auth.is_ops_token(gateway, form.get("token", "")):
            return page(request, "ops_login.html", status=401, error="wrong_credentials")
        token = await auth.open_session(gateway, "ops", None)
        return _session_response(request, token, "/portal/ops")

    @get("/apply")
    async def apply_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "apply.html", form={}, error=None, done=False)

    @post("/apply")
    async def apply(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        form = await auth.check_csrf(request)
        values = {k: form.get(k, "").strip()[:300] for k in ("company_name", "inn", "kpp", "email")}
        region = form.get("region", "").strip()[:200]
        distributor = form.get("distributor_reseller_id", "").strip()[:64] or None
        missing = not values["company_name"] or "@" not in values["email"] or not region
        try:
            if missing:
                raise Refusal("validation_error", "company, e-mail and region are required")
            await onboarding.submit_application(
                gateway.service,
                company_name=values["company_name"],
                inn=values["inn"],
                kpp=values["kpp"] or None,
                email=values["email"],
                region=region,
                distributor_reseller_id=distributor,
            )
        except Refusal as refusal:
            return page(
                request, "apply.html", status=422, form=form, error=refusal.detail, done=False
            )
        return page(request, "apply.html", form={}, error=None, done=True)

    @get("/set-password/{token:str}")
    async def set_password_form(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        async with gateway.service.engine.connect() as conn:
            link = await store.usable_link(
                conn, auth.token_hash(token), gateway.service.clock.now()
            )
        if link is None:
            return page(request, "set_password.html", status=404, link=None, error="link_invalid")
        return page(request, "set_password.html", link=link, token=token, error=None)

    @post("/set-password/{token:str}")
    async def set_password(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        form = await auth.check_csrf(request)
        password = form.get("password", "")
        async with gateway.service.engine.connect() as conn:
            link = await store.usable_link(
                conn, auth.token_hash(token), gateway.service.clock.now()
            )
        if link is None:
            return page(request, "set_password.html", status=404, link=None, error="link_invalid")
        if len(password) < auth.MIN_PASSWORD or password != form.get("password2", ""):
            return page(
                request,
                "set_password.html",
                status=422,
                link=link,
                token=token,
                error="password_rules",
            )
        hashed = await asyncio.to_thread(auth.hash_password, password)
        async with gateway.service.uow.transaction() as tx:
            done = await store.use_link(
                tx.conn, auth.token_hash(token), hashed, gateway.service.clock.now()
            )
        if not done:
            return page(request, "set_password.html", status=404, link=None, error="link_invalid")
        return page(request, "login.html", error=None, email=link.email, notice="password_set")
