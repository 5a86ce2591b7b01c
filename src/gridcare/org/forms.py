from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from . import services
from .models import User


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's login form plus the lockout after repeated failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码错误。"),
        "locked": _("连续登录失败次数过多，账号已锁定，请 %(minutes)s 分钟后再试或联系管理员解锁。"),
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        user = User.objects.filter(username=username).first() if username else None
        if user is not None and services.is_locked_out(user):
            from django.conf import settings

            raise forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": settings.GRIDCARE_LOCKOUT_MINUTES},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if user is not None:
                locked = services.record_failed_login(user=user, request=self.request)
                if locked:
                    from django.conf import settings

                    raise forms.ValidationError(
                        self.error_messages["locked"],
                        code="locked",
                        params={"minutes": settings.GRIDCARE_LOCKOUT_MINUTES},
                    ) from None
            raise
        services.record_successful_login(user=self.get_user())
        return cleaned
