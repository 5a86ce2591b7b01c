"""The WSGI application: token-authenticated API requests take a shorter middleware chain.

A request to ``/api/`` that carries ``Authorization: Bearer …`` is a machine talking to the API
(IVR/CTI, the WeChat channel, other systems, the benchmarks): it has no session, no CSRF token,
no flash messages, no htmx and no unit switcher, so the middleware that serves those — about a
tenth of such a request's time — is left out (``GRIDCARE_TOKEN_API_MIDDLEWARE``; the language is GridCare's working language, zh-hans). It is
authenticated by its token alone: a bad token is a 401, never a fall back to a session cookie.
Every other request takes ``MIDDLEWARE`` whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import translation


class TokenRequestMiddleware:
    """What the API's views read of the full chain: an anonymous ``request.user`` until the
    token is checked, and no unit chosen in a switcher."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.user = AnonymousUser()
        request.active_unit = None  # type: ignore[attr-defined]  # GridCare's own request attribute
        # GridCare's working language, as the locale middleware would pick it for a request
        # without a language cookie (a machine client has none); set anew for every request, as
        # the worker's previous request may have been a page in English.
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        return self.get_response(request)


class _TokenApiHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; give it the token chain for the
        # moment the chain is built (once, at start-up).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.GRIDCARE_TOKEN_API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def is_token_api_request(environ: dict[str, Any]) -> bool:
    return bool(
        environ.get("PATH_INFO", "").startswith("/api/")
        and environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer ")
    )


class Application:
    def __init__(self) -> None:
        self.full = WSGIHandler()
        self.token_api = _TokenApiHandler()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        handler = self.token_api if is_token_api_request(environ) else self.full
        return handler(environ, start_response)
