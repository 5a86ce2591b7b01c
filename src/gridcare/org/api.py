from __future__ import annotations

from ninja.security import HttpBearer

from .services import authenticate_token


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` issued by ``gridcare create-token``."""

    def authenticate(self, request, token: str):
        user = authenticate_token(token)
        if user is not None:
            request.user = user
            request.active_unit = None
        return user
