from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from . import services


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's login form; the lockout and throttles live in the backend (org.backends)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码错误。"),
        "locked": _("连续登录失败次数过多，账号已锁定，请 %(minutes)s 分钟后再试或联系管理员解锁。"),
    }

    def get_invalid_login_error(self):
        if getattr(self.request, "gridcare_login_refused", "") == "locked":
            return forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": settings.GRIDCARE_LOCKOUT_MINUTES},
            )
        return super().get_invalid_login_error()


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The old password is checked through the service: throttled per account and address."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if not services.check_old_password(user=self.user, password=old_password, request=self.request):
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class TotpForm(forms.Form):
    code = forms.CharField(label=_("动态口令"), max_length=8, min_length=6)


class MfaSetupForm(TotpForm):
    """Enrolling or replacing an authenticator while logged in asks for the password again: an
    unattended or stolen session cannot put its own authenticator on the account."""

    password = forms.CharField(label=_("密码"), strip=False, max_length=4096, widget=forms.PasswordInput)
