from __future__ import annotations

from django.conf import settings
from ninja.security import HttpBearer

from gridcare.core import audit, throttle

from .services import authenticate_token


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` issued by ``gridcare create-token``.

    Throttled: unknown tokens per client address (``GRIDCARE_THROTTLE_BAD_TOKEN_IP``) and requests
    per token (``GRIDCARE_THROTTLE_TOKEN``); over the limit the API answers 429 with Retry-After.
    """

    def authenticate(self, request, token: str):
        ip = audit.client_ip(request)
        rate = settings.GRIDCARE_THROTTLE_BAD_TOKEN_IP
        # Checked only before a database lookup: a token this process knows costs nothing more.
        user = authenticate_token(token, before_lookup=lambda: throttle.check("api-bad-token", ip, rate))
        if user is None:
            throttle.hit("api-bad-token", ip, rate, raise_over=False)
            return None
        throttle.hit("api-token", token, settings.GRIDCARE_THROTTLE_TOKEN)
        request.user = user
        request.active_unit = None
        return user
