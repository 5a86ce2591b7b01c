from __future__ import annotations


class ApiError(Exception):
    """A business error with a stable code, answered as JSON ``{code, message}`` by the API."""

    def __init__(self, code: str, message: str, status: int = 400, **extra) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


# Stored as "<user id>:<scope>:<key>" in columns of 80 characters or more.
IDEMPOTENCY_KEY_MAX = 60


def idempotency_key(request) -> str | None:
    """The request's ``Idempotency-Key`` header (None when absent); 400 when it is too long."""
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApiError(
            "invalid_idempotency_key",
            f"Idempotency-Key must be at most {IDEMPOTENCY_KEY_MAX} characters.",
            status=400,
        )
    return key


def stored_idempotency_key(actor, key: str | None, scope: str = "") -> str | None:
    """How a client's ``Idempotency-Key`` is stored: per user, as two clients may pick the same
    key, and per ``scope`` where one table takes keys from two APIs ("<user id>:[<scope>:]<key>")."""
    if not key:
        return None
    return f"{getattr(actor, 'pk', '')}:{scope}:{key}" if scope else f"{getattr(actor, 'pk', '')}:{key}"


class TooManyRequests(ApiError):
    """429 ``too_many_requests``: a throttle's limit is reached; ``Retry-After`` tells when to retry.
    Pages render it too (``core.middleware.SessionLifetimeMiddleware``)."""

    code_name = "too_many_requests"

    def __init__(self, retry_after: int, message: str = "Too many requests; retry later.") -> None:
        super().__init__(self.code_name, message, status=429)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}
