"""Rendering helpers of the portal: a page with its words and CSRF token, errors as pages."""

from __future__ import annotations

from collections.abc import MutableMapping
from decimal import Decimal
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect, Template

from gateway.domain.errors import NotFound, Unavailable
from gateway.portal import auth
from gateway.portal.i18n import language, translator


class SignInRequired(Exception):
    """No (valid) session: the page sends the browser to the sign-in form."""

    def __init__(self, where: str = "/portal/login") -> None:
        super().__init__(where)
        self.where = where


def lang_of(request: Request[Any, Any, Any]) -> str:
    return language(request.cookies.get(auth.LANG_COOKIE))


def rub(value: Any) -> str:
    """12 345,67 ₽ — the Russian way of writing money."""
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    whole, _, cents = f"{amount:,.2f}".partition(".")
    nbsp = "\u00a0"
    return whole.replace(",", nbsp) + "," + cents + nbsp + "₽"


def page(
    request: Request[Any, Any, Any],
    template: str,
    viewer: auth.Viewer | None = None,
    status: int = 200,
    **context: Any,
) -> Response[Any]:
    token, new = auth.csrf_token(request)
    lang = lang_of(request)
    response = Template(
        template_name=template,
        context={
            "t": translator(lang),
            "lang": lang,
            "viewer": viewer,
            "csrf": token,
            "path": request.url.path,
            "query": request.url.query,
            "rub": rub,
            # an error page knows no viewer; a session cookie still earns the way back
            "signed_in": viewer is not None or auth.SESSION_COOKIE in request.cookies,
            **context,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
    return auth.with_csrf_cookie(request, response, token, new)


def see_other(where: str) -> Redirect:
    return Redirect(path=where, status_code=303)


def _error(request: Request[Any, Any, Any], status: int, key: str) -> Response[Any]:
    return page(request, "error.html", status=status, message_key=key)


def on_not_found(request: Request[Any, Any, Any], _: NotFound) -> Response[Any]:
    return _error(request, 404, "not_found")


def on_csrf(request: Request[Any, Any, Any], _: auth.CsrfRefused) -> Response[Any]:
    return _error(request, 403, "forbidden")


def on_unavailable(request: Request[Any, Any, Any], _: Unavailable) -> Response[Any]:
    return _error(request, 503, "unavailable")


def on_sign_in(_: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    return see_other(exc.where)


EXCEPTION_HANDLERS: MutableMapping[int | type[Exception], Any] = {
    NotFound: on_not_found,
    auth.CsrfRefused: on_csrf,
    Unavailable: on_unavailable,
    SignInRequired: on_sign_in,
}
