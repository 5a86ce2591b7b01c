from __future__ import annotations


class ApiError(Exception):
    """A business error with a stable code, answered as JSON ``{code, message}`` by the API."""

    def __init__(self, code: str, message: str, status: int = 400, **extra) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra
