from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .forms import LockoutAuthenticationForm
from .home import tiles as home_tiles
from .middleware import SESSION_KEY
from .models import Unit
from .scoping import assignments_of, root_units


class LoginView(auth_views.LoginView):
    template_name = "org/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "org/password_change.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "org/password_change_done.html"


@login_required
def home(request):
    units = root_units(request.user, request.active_unit)
    return render(
        request,
        "org/home.html",
        {"scope_units": units, "assignments": assignments_of(request.user), "tiles": home_tiles(request)},
    )


@login_required
@require_POST
def switch_unit(request):
    """The unit switcher: narrow what I see to one of my units (empty = all of them)."""
    unit_id = request.POST.get("unit", "")
    if unit_id:
        unit = Unit.objects.filter(pk=unit_id).first() if unit_id.isdigit() else None
        allowed = unit is not None and (
            request.user.is_superuser
            or any(unit.path.startswith(a.unit.path) for a in assignments_of(request.user))
        )
        if not allowed:
            return HttpResponseBadRequest("无权切换到该单位")
        request.session[SESSION_KEY] = unit.pk
    else:
        request.session.pop(SESSION_KEY, None)
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return redirect(next_url)
