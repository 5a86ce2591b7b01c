"""The one authentication backend: every ``authenticate()`` (the login page, the admin site,
anything else) checks the password through ``services.check_login`` — throttles, lockout, audit."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from . import services
from .models import User


class LockoutBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            return services.check_login(username=username, password=password, request=request)
        except services.LoginRefused as refused:
            if request is not None:
                request.gridcare_login_refused = refused.code
            return None
