from __future__ import annotations

import segno
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from gridcare.core import clock

from . import services
from .forms import LockoutAuthenticationForm, MfaSetupForm, ThrottledPasswordChangeForm, TotpForm
from .home import tiles as home_tiles
from .middleware import SESSION_KEY
from .models import Unit, User
from .scoping import assignments_of, root_units

# A login waiting for its second factor: user id, when the password was right, where to go next,
# and (while enrolling) the new secret.
MFA_PENDING = "gridcare_mfa_pending"
MFA_PENDING_SECONDS = 300
BACKEND = "gridcare.org.backends.LockoutBackend"


class LoginView(auth_views.LoginView):
    """The one login page (``/admin/login/`` redirects here): password, then a TOTP code where
    ``services.mfa_required``."""

    template_name = "org/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not services.mfa_required(user):
            return super().form_valid(form)
        self.request.session.cycle_key()
        self.request.session[MFA_PENDING] = {
            "user": user.pk,
            "at": int(clock.now().timestamp()),
            "next": self.get_redirect_url(),
            "secret": "" if user.totp_secret else services.new_totp_secret(),
        }
        return redirect("login_mfa")


def _qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG, made on the server (no script, no CDN)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#212529")


@never_cache
def login_mfa(request):
    """Second step of a login: the TOTP code, or the enrolment (QR code) of a user who must have
    one and has none yet."""
    pending = request.session.get(MFA_PENDING)
    if not pending or clock.now().timestamp() - pending["at"] > MFA_PENDING_SECONDS:
        request.session.pop(MFA_PENDING, None)
        return redirect("login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(MFA_PENDING, None)
        return redirect("login")
    secret = pending["secret"]
    form = TotpForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            ok = services.verify_totp(
                user=user, code=form.cleaned_data["code"], secret=secret, request=request
            )
        except services.LoginRefused:
            request.session.pop(MFA_PENDING, None)
            return redirect("login")
        if ok:
            if secret:
                services.enrol_totp(user=user, secret=secret, request=request)
            request.session.pop(MFA_PENDING, None)
            auth_login(request, user, backend=BACKEND)
            next_url = pending["next"] or reverse("home")
            return redirect(next_url)
        error = _("动态口令错误，请重新输入。")
        status = 422
    context = {"form": form, "error": error, "enrolling": bool(secret)}
    if secret:
        context |= {"qr_svg": mark_safe(_qr_svg(services.totp_uri(user, secret))), "secret": secret}  # noqa: S308
    return render(request, "org/login_mfa.html", context, status=status)


@never_cache
@login_required
def mfa_setup(request):
    """Enrol (or replace) my TOTP authenticator: a QR code made on the server and a code to confirm."""
    secret = request.session.get("gridcare_mfa_new_secret") or services.new_totp_secret()
    request.session["gridcare_mfa_new_secret"] = secret
    form = MfaSetupForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        # The password first (throttled, audited when wrong); only then is a code counted.
        password_ok = services.check_old_password(
            user=request.user, password=form.cleaned_data["password"], request=request
        )
        try:
            ok = password_ok and services.verify_totp(
                user=request.user, code=form.cleaned_data["code"], secret=secret, request=request
            )
        except services.LoginRefused:
            ok = False
        if not password_ok:
            error = _("密码错误，请重新输入。")
            status = 422
        elif ok:
            services.enrol_totp(user=request.user, secret=secret, request=request)
            request.session.pop("gridcare_mfa_new_secret", None)
            return render(request, "org/mfa_setup.html", {"done": True})
        else:
            error = _("动态口令错误，请重新输入。")
            status = 422
    elif request.method == "POST":
        error = _("请输入密码和动态口令。")
        status = 422
    return render(
        request,
        "org/mfa_setup.html",
        {
            "form": form,
            "error": error,
            "secret": secret,
            "qr_svg": mark_safe(_qr_svg(services.totp_uri(request.user, secret))),  # noqa: S308
            "enrolled": bool(request.user.totp_secret),
        },
        status=status,
    )


def admin_login(request):
    """``/admin/login/``: the admin site logs in through the one login page (lockout, throttles,
    second factor, audit)."""
    next_url = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        # Logged in but not let into the admin site: a 403, not a loop through the login page.
        from django.contrib import admin

        if admin.site.has_permission(request):  # the 三员 areas decide, not is_staff alone
            return redirect(next_url)
        raise PermissionDenied
    query = QueryDict(mutable=True)
    query["next"] = next_url
    return redirect(f"{reverse('login')}?{query.urlencode()}")


def admin_password_change(request):
    """``/admin/password_change/``: the one password change page (throttled old-password check)."""
    return redirect("password_change")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "org/password_change.html"
    success_url = reverse_lazy("password_change_done")
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"request": self.request}


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
