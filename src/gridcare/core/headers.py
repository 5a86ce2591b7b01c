"""Security headers on every answer: Content-Security-Policy and ``Cache-Control: no-store``.

- The policy allows scripts only from this site (no inline script, no ``eval``): pages keep their
  behaviour in static files (``static/gridcare/gridcare.js``) wired by data attributes, and htmx is
  configured not to evaluate (``allowEval: false`` in the ``htmx-config`` meta tag). ``style-src``
  keeps ``'unsafe-inline'`` because templates set widths and colours with ``style=""`` attributes
  (bars, badges) and htmx swaps them in; styles cannot run script.
- Pages and API answers may carry personal data (phones, addresses, account numbers), so nothing
  but static files is cached by the browser or a shared proxy (``no-store``). Static files served by
  WhiteNoise keep their long cache headers: WhiteNoise answers before this middleware runs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

DEFAULT_CSP = (
    "default-src 'self'; "
    "script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "GRIDCARE_CSP", DEFAULT_CSP)
        self.report_only = getattr(settings, "GRIDCARE_CSP_REPORT_ONLY", False)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.policy:
            header = "Content-Security-Policy-Report-Only" if self.report_only else "Content-Security-Policy"
            response.headers.setdefault(header, self.policy)
        if not request.path.startswith(settings.STATIC_URL):
            # Replace whatever caching a view allowed: personal data must not stay in a cache.
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
