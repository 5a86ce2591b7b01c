"""The command wall's pages (供电服务指挥大屏), for a screen with no one at the keyboard.

A screen is opened once with its secret link (``/quality/wall/open/KEY/``): that sets a signed,
HTTP-only cookie naming the screen and sends it to ``/quality/wall/``, which refreshes itself from
``/quality/wall/data/`` every few seconds. The wall never signs anyone in: its requests carry no
staff session, and if the browser holds one (a person signed in on the same machine) the wall's
requests neither extend nor end it. It shows counts and names of its unit's subtree, never
personal data. Deactivating the screen (admin) blanks it at its next refresh."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from gridcare.core.clock import now as clock_now

from . import wall
from .models import WallScreen

COOKIE = "gc_wall"
SALT = "gridcare.quality.wall"
REFRESH_SECONDS = 5


def _detach_session(request: HttpRequest) -> None:
    """The wall's request has no session: SessionMiddleware, finding none on the way out, neither
    saves (and so extends — SESSION_SAVE_EVERY_REQUEST) nor deletes a staff session whose cookie
    the browser sent."""
    if hasattr(request, "session"):
        del request.session


def _screen(request: HttpRequest) -> WallScreen | None:
    value = request.COOKIES.get(COOKIE, "")
    try:
        pk, key_hash = signing.loads(value, salt=SALT, max_age=None)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return WallScreen.objects.filter(pk=pk, key_hash=key_hash, is_active=True).select_related("unit").first()


def _refused() -> HttpResponse:
    return HttpResponse(
        render_to_string("quality/wall_closed.html", {"message": _("请用指挥大屏的专用链接打开本页面")}),
        status=403,
    )


@never_cache
def open_screen(request: HttpRequest, key: str) -> HttpResponse:
    _detach_session(request)
    screen = WallScreen.objects.filter(key_hash=WallScreen.hash_key(key), is_active=True).first()
    if screen is None:
        return _refused()
    response = HttpResponseRedirect("/quality/wall/")
    response.set_cookie(
        COOKIE,
        signing.dumps([screen.pk, screen.key_hash], salt=SALT),
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure(),
        path="/quality/wall/",
    )
    return response


@never_cache
def screen(request: HttpRequest) -> HttpResponse:
    _detach_session(request)
    found = _screen(request)
    if found is None:
        return _refused()
    return HttpResponse(
        render_to_string("quality/wall.html", {"screen": found, "refresh": REFRESH_SECONDS * 1000})
    )


@never_cache
def data(request: HttpRequest) -> JsonResponse:
    _detach_session(request)
    found = _screen(request)
    if found is None:
        return JsonResponse({"code": "wall_closed", "message": _("该大屏已停用")}, status=403)
    WallScreen.objects.filter(pk=found.pk).update(last_seen_at=clock_now())
    return JsonResponse(wall.snapshot(found.unit), json_dumps_params={"ensure_ascii": False})
